/*
 * Sigma detection rules (specification 2.1.0) over JSON events: loading, matching and the
 * rule linter. A rule is loaded once (YAML through core/yaml.h, regular expressions compiled
 * with PCRE2 under match limits) and then matched against any number of events.
 *
 * Supported: search identifiers as maps (AND), lists of maps (OR) and keyword lists; value
 * lists (OR, or AND with |all); null (absent or JSON null) and ''; * and ? wildcards with the
 * spec's backslash escapes; case-insensitive matching (ASCII) unless |cased; dotted field names
 * through nested objects and any element of arrays; every value modifier of the 2.1.0 appendix
 * (contains startswith endswith all exists cased neq windash re+i/m/s base64 base64offset
 * utf16le/wide utf16be utf16 lt lte gt gte minute hour day week month year cidr expand
 * fieldref, and the pySigma spellings ignorecase multiline dotall); the whole condition
 * grammar (and, or, not, parentheses, "1 of"/"all of" a pattern or "them", list-valued
 * conditions). Refused, with a message naming the construct: unknown modifiers, conflicting
 * modifiers, |expand of an undefined placeholder, null inside a value list, legacy
 * aggregations ("| count()", timeframe), correlation and filter documents, invalid regexes.
 */
#ifndef CST_DETECT_SIGMA_H
#define CST_DETECT_SIGMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CST_SIGMA_MAX_RULE_BYTES ((size_t)1 << 20)
/*
 * Most bytes the values of one rule may compile to: each written value's text and the
 * variants its transformations give (windash, base64offset, utf16...), summed over the rule.
 */
#define CST_SIGMA_MAX_VALUE_BYTES ((size_t)32 << 20)

struct cst_sigma_rule;

/* Rule metadata; strings borrowed from the rule (NULL when absent). */
struct cst_sigma_meta {
	const char *file;	/* the name given to the loader */
	const char *title;
	const char *id;
	const char *name;
	const char *status;
	const char *level;	/* informational, low, medium, high or critical; NULL if unset */
	const char *author;
	const char *product, *service, *category;
	const char **tags;	/* n_tags entries */
	size_t n_tags;
	const char *description;	/* NULL when absent or not a string */
};

/*
 * Loads one rule from YAML text data[0..len), named name (copied) in messages. On success 0
 * and *out (cst_sigma_rule_free). CST_EINVAL: the rule is malformed or uses something this
 * engine does not support; err names the construct (e.g. "detection.selection: field
 * 'x|foo': unknown modifier 'foo'"). CST_ELIMIT: over a size limit. CST_ENOMEM.
 */
int cst_sigma_rule_load(const char *data, size_t len, const char *name,
    struct cst_sigma_rule **out, char *err, size_t err_len);

/* Reads the file at path (at most CST_SIGMA_MAX_RULE_BYTES) and loads it, named path. Also
 * CST_EIO / CST_ENOENT when the file cannot be read (err says so). */
int cst_sigma_rule_load_file(const char *path, struct cst_sigma_rule **out, char *err,
    size_t err_len);

/*
 * Loads one rule from a parsed document doc (a reference taken over, even on failure), named
 * name. As cst_sigma_rule_load otherwise.
 */
int cst_sigma_rule_from_doc(json_t *doc, const char *name, struct cst_sigma_rule **out,
    char *err, size_t err_len);

/* The YAML limits rules are read with (depth 32, 100,000 nodes, 128 KiB scalars). */
struct cst_yaml_limits;
extern const struct cst_yaml_limits cst_sigma_yaml_limits;

/*
 * Reads the metadata of a rule or correlation document doc into m (file left NULL): title
 * (required), id, name, status, level, author, logsource (required if need_logsource),
 * tags and description. Strings are borrowed from doc; m->tags is allocated (cst_free). 0; CST_EINVAL with err;
 * CST_ENOMEM. On failure m->tags may be set: free it.
 */
int cst_sigma_meta_read(json_t *doc, bool need_logsource, struct cst_sigma_meta *m, char *err,
    size_t err_len);

void cst_sigma_rule_free(struct cst_sigma_rule *rule);

const struct cst_sigma_meta *cst_sigma_rule_meta(const struct cst_sigma_rule *rule);

/*
 * Matching state for one thread: PCRE2 match data and limits, and counters. Rules are
 * read-only while matching, so one rule may be used by many contexts at once.
 */
struct cst_sigma_ctx;

int cst_sigma_ctx_new(struct cst_sigma_ctx **out);
void cst_sigma_ctx_free(struct cst_sigma_ctx *ctx);
/* Regex matches that stopped at the match or depth limit (each counted as no match). */
uint64_t cst_sigma_ctx_regex_limits(const struct cst_sigma_ctx *ctx);

/* 1 if event (a JSON object, borrowed) matches the rule's condition, else 0. */
int cst_sigma_rule_match(const struct cst_sigma_rule *rule, struct cst_sigma_ctx *ctx,
    json_t *event);

/*
 * A necessary condition for a rule to match a CloudTrail record, derived from its detection
 * (cst_sigma_prefilter): every clause must hold. A clause holds when the record's top-level
 * eventName, a string, equals one of names, or when one of lits occurs in the record's JSON
 * text; both compared ASCII case-insensitively (names and lits are lower-cased). A literal is
 * taken only from what every match must contain and holds no byte that JSON writes
 * differently from its value (quote, backslash, control characters, , : [ ] { }) and is not
 * made only of number characters, so it appears in the text of any record the rule matches
 * unless that text writes characters as \u or \/ escapes (then lits say nothing). No clause
 * (n == 0): nothing was found; the rule may match any record.
 */
struct cst_sigma_clause {
	char **names;
	size_t n_names;
	char **lits;
	size_t n_lits;
};

struct cst_sigma_prefilter {
	struct cst_sigma_clause *c;
	size_t n;
};

#define CST_SIGMA_PF_MAX_CLAUSES 8
#define CST_SIGMA_PF_MIN_LIT 3		/* shorter literals are not worth checking */

/* Derives rule's prefilter into out (at most CST_SIGMA_PF_MAX_CLAUSES clauses). 0;
 * CST_ENOMEM (out empty). */
int cst_sigma_prefilter(const struct cst_sigma_rule *rule, struct cst_sigma_prefilter *out);
void cst_sigma_prefilter_clear(struct cst_sigma_prefilter *pf);

/*
 * The linter. Calls fn once per problem found in rule, with a stable check id
 * ("unknown-event-name", "field-path-in-contains") and a message. known_ops, if not NULL, is
 * consulted for event names: it returns 1 if op is an operation of the service behind
 * eventSource (e.g. "sagemaker.amazonaws.com"), 0 if not, -1 if it has no list for that
 * source. Names the engine knows to be invented (from the SageMaker playbook) are flagged
 * even without known_ops. Returns the number of problems reported.
 */
typedef int (*cst_sigma_known_op_fn)(void *arg, const char *event_source, const char *op);
typedef void (*cst_sigma_lint_fn)(void *arg, const struct cst_sigma_rule *rule,
    const char *check, const char *msg);
size_t cst_sigma_lint(const struct cst_sigma_rule *rule, cst_sigma_known_op_fn known_ops,
    void *known_arg, cst_sigma_lint_fn fn, void *arg);

#endif
