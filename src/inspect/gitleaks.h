/*
 * Secret-detection rule files in the gitleaks format (v8: config/gitleaks.toml and files like
 * it), read into rule descriptions that the inspection engine can compile. Nothing here
 * scans text: this module loads, validates and translates.
 *
 * Each [[rules]] entry is accepted or rejected, with a one-line reason for each rejection:
 *   - no id, a duplicate id, a field of the wrong type, neither regex nor path;
 *   - a path-only rule (this engine scans text, not files);
 *   - a composite rule ([[rules.required]]) or a skipReport rule (a composite's component);
 *   - a regex or allowlist regex that is not Go RE2 syntax as gitleaks accepts it
 *     (backreferences, lookaround, atomic groups, possessive quantifiers, recursion,
 *     conditionals, PCRE verbs, escapes RE2 lacks such as \Z \K \G \C \h \R), or that
 *     PCRE2 cannot compile after translation;
 *   - secretGroup past the regex's capture groups, a negative entropy;
 *   - an empty allowlist, an unknown condition or regexTarget, or both the old
 *     [rules.allowlist] table and [[rules.allowlists]].
 * A top-level [extend] (building on another configuration) is not followed: it is listed as a
 * rejection with the id "[extend]", and only this file's own rules are loaded.
 *
 * Translation from Go RE2 to PCRE2: the pattern text is kept, except that "{," (a literal in
 * RE2) is escaped; RE2's semantics come from the compile options CST_GITLEAKS_PCRE2_OPTIONS:
 * UTF-8 (invalid subjects allowed), ASCII-only \d \w \s \b as in RE2, and "$" matching only at
 * the very end of the subject, as RE2's "$" does without (?m). Two differences remain: PCRE2's
 * \s also matches a vertical tab, which RE2's does not; and a byte of invalid UTF-8 in the
 * subject is matched by nothing (a match may end before it or start after it), where RE2
 * reads it as U+FFFD, which "." and negated classes match.
 *
 * Rule paths and the paths and commits of allowlists can only be evaluated against a file
 * name or a commit that the caller knows. A caller that has none must treat them as not met:
 * a rule with a path then never applies (4 of the default rules), and an allowlist criterion
 * on paths or commits never suppresses a finding.
 */
#ifndef CST_INSPECT_GITLEAKS_H
#define CST_INSPECT_GITLEAKS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

/* The options every translated pattern is compiled with. */
#define CST_GITLEAKS_PCRE2_OPTIONS                                                   \
	(PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |                \
	    PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UCP)

/* Largest rule file cst_gitleaks_load_file reads. */
#define CST_GITLEAKS_MAX_FILE (16u << 20)

/* One pattern in both syntaxes. */
struct cst_gitleaks_regex {
	char *go;	/* as written in the file (Go RE2); NULL when the field is absent */
	char *pcre2;	/* translated; compile with CST_GITLEAKS_PCRE2_OPTIONS */
};

enum cst_gitleaks_condition {
	CST_GITLEAKS_OR,	/* any criterion allows the finding (default) */
	CST_GITLEAKS_AND,	/* every criterion given must hold */
};

enum cst_gitleaks_target {
	CST_GITLEAKS_SECRET,	/* regexes test the secret (the secret group) (default) */
	CST_GITLEAKS_MATCH,	/* the whole regex match */
	CST_GITLEAKS_LINE,	/* the line holding the match */
};

struct cst_gitleaks_allowlist {
	char *description;		/* NULL if none */
	enum cst_gitleaks_condition condition;
	enum cst_gitleaks_target target;
	struct cst_gitleaks_regex *regexes;
	size_t n_regexes;
	struct cst_gitleaks_regex *paths;
	size_t n_paths;
	char **stopwords;		/* a secret containing one is allowed */
	size_t n_stopwords;
	char **commits;
	size_t n_commits;
	char **target_rules;		/* global allowlists only: the rule ids it applies to;
					 * none means every rule */
	size_t n_target_rules;
};

struct cst_gitleaks_rule {
	char *id;
	char *description;		/* "" if none */
	struct cst_gitleaks_regex regex;	/* always present in an accepted rule */
	struct cst_gitleaks_regex path;		/* .go NULL if the rule has no path */
	int secret_group;		/* capture group holding the secret; 0: unset (gitleaks
					 * then takes the first non-empty group, else the match) */
	double entropy;			/* minimum Shannon entropy of the secret; 0: unset */
	char **keywords;		/* ASCII lower-cased; none: the rule always runs */
	size_t n_keywords;
	char **tags;
	size_t n_tags;
	struct cst_gitleaks_allowlist *allowlists;
	size_t n_allowlists;
};

struct cst_gitleaks_rejection {
	char *id;	/* the rule id, "[[rules]] #N" (1-based) if it has none, or "[extend]" */
	char *reason;	/* one line */
};

struct cst_gitleaks_config {
	char *title;				/* NULL if none */
	struct cst_gitleaks_rule *rules;	/* accepted, in file order */
	size_t n_rules;
	struct cst_gitleaks_rejection *rejected;	/* in file order */
	size_t n_rejected;
	struct cst_gitleaks_allowlist *allowlists;	/* global: [allowlist] or [[allowlists]] */
	size_t n_allowlists;
};

/*
 * Translates the Go RE2 pattern go into PCRE2 syntax (a new string in *out, cst_free) and
 * checks that PCRE2 compiles it; *groups (if not NULL) gets its number of capture groups.
 * 0; CST_EINVAL with a one-line reason in why (why_len bytes) when the pattern is not RE2
 * syntax or does not compile; CST_ENOMEM.
 */
int cst_gitleaks_translate(const char *go, char **out, uint32_t *groups, char *why,
    size_t why_len);

/*
 * Compiles a translated pattern with CST_GITLEAKS_PCRE2_OPTIONS. Returns the code (the caller
 * frees it with pcre2_code_free) or NULL (a pattern from this module does not fail but for
 * lack of memory).
 */
pcre2_code *cst_gitleaks_compile(const char *pcre2_pattern);

/*
 * Builds the rules of a loaded gitleaks configuration (from cst_toml_load; borrowed). 0 with
 * *out (free with cst_gitleaks_free), whatever number of rules was rejected; CST_EINVAL with a
 * message in err when the file as a whole is unusable (the document or "rules" has the wrong
 * shape; a global allowlist is empty, malformed, has a regex that does not translate, names a
 * rule the file does not have, or both [allowlist] and [[allowlists]] are given); CST_ENOMEM.
 */
int cst_gitleaks_from_json(const json_t *doc, struct cst_gitleaks_config **out, char *err,
    size_t err_len);

/*
 * Reads the TOML file at path (at most CST_GITLEAKS_MAX_FILE bytes) and builds its rules as
 * cst_gitleaks_from_json does. Also CST_ENOENT, CST_EIO, CST_ELIMIT (file or TOML limits),
 * CST_EINVAL for TOML errors; err then names the file and the line.
 */
int cst_gitleaks_load_file(const char *path, struct cst_gitleaks_config **out, char *err,
    size_t err_len);

/* Frees a configuration and everything it owns. Accepts NULL. */
void cst_gitleaks_free(struct cst_gitleaks_config *c);

#endif
