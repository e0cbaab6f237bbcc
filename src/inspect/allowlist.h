/*
 * gitleaks allowlists, compiled and evaluated: what the inspection engine applies to every
 * finding of a gitleaks rule (and, for a file's global allowlists, of any secret rule), and
 * what `castellan secrets` completes with the file path and commit it knows.
 *
 * An allowlist has up to four criteria: regexes (tested on the secret, the rule's whole match
 * or the line holding the match, as its regexTarget says), stopwords (a case-insensitive
 * substring of the secret), paths (regexes on a file path) and commits (commit ids, compared
 * case-insensitively). With condition OR any criterion that is given and holds allows the
 * finding; with AND every criterion given must hold. A path or commit the caller does not
 * know (the gateway, `castellan inspect`) is an unmet criterion: it never allows a finding on
 * its own, and an AND allowlist that has one never allows.
 *
 * Evaluation is split in two so that a scanner can judge a text once and its findings for
 * many paths and commits: cst_allowlist_eval computes the text criteria (regexes and
 * stopwords) of a rule's allowlists as bit masks, cst_allowlist_first decides with a path and
 * a commit. Regex evaluation is bounded (PCRE2 match and depth limits, a line at most
 * CST_ALLOWLIST_MAX_LINE bytes either side of the match); a regex that hits a limit counts
 * as not matching, so the finding is kept. Nothing here allocates during evaluation.
 */
#ifndef CST_INSPECT_ALLOWLIST_H
#define CST_INSPECT_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/gitleaks.h"

/* Most allowlists that apply to one rule (its own and the global ones): a mask's bits. */
#define CST_ALLOWLIST_MAX 64
/* How far a "line" target reaches either side of the match, in bytes. */
#define CST_ALLOWLIST_MAX_LINE (64u << 10)

struct cst_allowlist;		/* one compiled allowlist, self-contained */
struct cst_allowlist_set;	/* the compiled allowlists of some gitleaks configurations */
struct cst_allowlist_scratch;	/* per thread: PCRE2 match data and limits */

/* What a finding's text criteria are judged on; offsets into text[0..len). */
struct cst_allowlist_subject {
	const char *text;
	size_t len;
	size_t match_start, match_end;		/* the rule's whole match */
	size_t secret_start, secret_end;	/* the secret (secretGroup, or the match) */
};

/*
 * Compiles the allowlists of the configurations gl[0..n_gl) (borrowed, and only while
 * cst_allowlist_set_for is called: what the set keeps is its own). 0 with *out (free with
 * cst_allowlist_set_free); CST_ENOMEM.
 */
int cst_allowlist_set_new(const struct cst_gitleaks_config *const *gl, size_t n_gl,
    struct cst_allowlist_set **out);
void cst_allowlist_set_free(struct cst_allowlist_set *s);

/*
 * The allowlists that apply to a finding of the rule with this id: rule's own (rule is one
 * of the configurations' accepted rules, or NULL for a rule of no configuration), then each
 * global allowlist of every configuration, in order, whose targetRules is empty or names id.
 * *out (owned by s, valid while s is) and *n; *n 0 and *out NULL when none applies.
 * 0; CST_ELIMIT with a message in err naming the rule when more than CST_ALLOWLIST_MAX
 * apply; CST_ENOMEM.
 */
int cst_allowlist_set_for(struct cst_allowlist_set *s, const struct cst_gitleaks_rule *rule,
    const char *id, const struct cst_allowlist *const **out, size_t *n, char *err,
    size_t err_len);

int cst_allowlist_scratch_new(struct cst_allowlist_scratch **out);	/* 0; CST_ENOMEM */
void cst_allowlist_scratch_free(struct cst_allowlist_scratch *sc);

/*
 * The text criteria of al[0..n) (n <= CST_ALLOWLIST_MAX) for one finding: bit i of *regex
 * when a regex of al[i] matches its target (an empty target matches nothing), bit i of *stop
 * when a stopword of al[i] occurs in the secret.
 */
void cst_allowlist_eval(const struct cst_allowlist *const *al, size_t n,
    const struct cst_allowlist_subject *s, struct cst_allowlist_scratch *sc, uint64_t *regex,
    uint64_t *stop);

/*
 * The first of al[0..n) that allows a finding whose text criteria are regex and stop (from
 * cst_allowlist_eval), found at path in commit; NULL path or commit: not known (unmet).
 * Returns its index, or -1 when none allows.
 */
int cst_allowlist_first(const struct cst_allowlist *const *al, size_t n, uint64_t regex,
    uint64_t stop, const char *path, const char *commit, struct cst_allowlist_scratch *sc);

/* The allowlist's description, or NULL if it has none. */
const char *cst_allowlist_description(const struct cst_allowlist *a);

#endif
