/*
 * What the Sigma engine's files share (sigma_rule.c loads, sigma_cond.c parses conditions,
 * sigma_match.c matches, sigma_lint.c lints). Not for use outside src/detect/sigma*.c.
 */
#ifndef CST_DETECT_SIGMA_INT_H
#define CST_DETECT_SIGMA_INT_H

#include "detect/sigma.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>

/* Expansion limits: values one rule value may become, and condition nesting. */
#define SG_MAX_VARIANTS 1024
#define SG_MAX_COND_DEPTH 64
#define SG_MAX_FIELD 256

/* A dotted field path, split; "" segments are refused at load. */
struct sg_path {
	char *text;		/* the whole name as written */
	char **seg;
	size_t n_seg;
};

/* Compiled string pattern: a literal byte, or (wild[i] != 0) the wildcard '*' or '?'. */
enum sg_shape { SG_EXACT, SG_PREFIX, SG_SUFFIX, SG_CONTAINS, SG_ANY, SG_GLOB };

struct sg_pat {
	unsigned char *b;	/* bytes; lower-cased unless the leaf is cased */
	unsigned char *wild;	/* per byte: 0, '*' or '?' */
	size_t len;
	enum sg_shape shape;
	size_t core_off, core_len;	/* the literal between the stars for the fast shapes */
};

enum sg_kind {
	SG_STR,		/* wildcard patterns */
	SG_NULL,	/* null: absent or JSON null */
	SG_RE,
	SG_CIDR,
	SG_NUM,		/* lt lte gt gte, or a time part compared for equality */
	SG_EXISTS,
	SG_FIELDREF,
};

enum sg_cmp { SG_EQ, SG_LT, SG_LTE, SG_GT, SG_GTE };
enum sg_timepart { SG_TP_NONE, SG_TP_MINUTE, SG_TP_HOUR, SG_TP_DAY, SG_TP_WEEK, SG_TP_MONTH,
	SG_TP_YEAR };

struct sg_val {
	struct sg_pat pat;		/* SG_STR */
	pcre2_code *re;			/* SG_RE */
	int family;			/* SG_CIDR: 4 or 6 */
	unsigned char addr[16];
	unsigned prefix;
	double num;			/* SG_NUM */
	bool exists;			/* SG_EXISTS */
	struct sg_path ref;		/* SG_FIELDREF */
	char *text;			/* the value as written, for messages and the linter */
};

/* The alternatives one written value became (base64offset, windash); OR'ed. */
struct sg_group {
	struct sg_val *alt;
	size_t n_alt;
};

struct sg_leaf {
	struct sg_path field;		/* n_seg == 0: keyword search over the whole event */
	enum sg_kind kind;
	bool all, neq, cased;
	bool has_contains;		/* written with |contains (for the linter) */
	enum sg_cmp cmp;
	enum sg_timepart tp;
	struct sg_group *groups;	/* OR'ed, or AND'ed with |all */
	size_t n_groups;
};

/* Leaves AND'ed. */
struct sg_conj {
	struct sg_leaf *leaf;
	size_t n_leaf;
};

/* A search identifier: its conjunctions OR'ed. */
struct sg_search {
	char *name;
	struct sg_conj *alt;
	size_t n_alt;
};

enum sg_op { SG_C_ID, SG_C_AND, SG_C_OR, SG_C_NOT, SG_C_OF };

struct sg_cond {
	enum sg_op op;
	struct sg_cond *a, *b;		/* AND/OR: both; NOT: a */
	size_t *ids;			/* ID: one; OF: the identifiers the pattern named */
	size_t n_ids;
	size_t need;			/* OF: how many must match (n_ids for "all of") */
};

struct cst_sigma_rule {
	struct cst_sigma_meta meta;
	json_t *doc;			/* the YAML tree; meta strings point into it */
	char *file;
	struct sg_search *search;
	size_t n_search;
	struct sg_cond **cond;		/* OR'ed */
	size_t n_cond;
};

struct cst_sigma_ctx {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	uint64_t regex_limits;
};

/*
 * Parses condition text against rule->search. 0 and *out; CST_EINVAL with err naming the
 * problem; CST_ELIMIT (nested too deep); CST_ENOMEM.
 */
int cst__sg_cond_parse(const struct cst_sigma_rule *rule, const char *text,
    struct sg_cond **out, char *err, size_t err_len);
void cst__sg_cond_free(struct sg_cond *c);
/* Evaluates c, calling cst__sg_search_match for identifiers. */
bool cst__sg_cond_eval(const struct sg_cond *c, const struct cst_sigma_rule *rule,
    struct cst_sigma_ctx *ctx, json_t *event);

/* 1 if the search identifier matches event. */
bool cst__sg_search_match(const struct sg_search *s, struct cst_sigma_ctx *ctx, json_t *event);

/*
 * Compiles the literal/wildcard sequence b/wild[0..len) into p (copies; lower-cases unless
 * cased). 0; CST_ENOMEM.
 */
int cst__sg_pat_compile(const unsigned char *b, const unsigned char *wild, size_t len,
    bool cased, struct sg_pat *p);
/* 1 if s[0..n) matches p (case-insensitively unless cased). */
bool cst__sg_pat_match(const struct sg_pat *p, bool cased, const char *s, size_t n);
/*
 * Whether the NUL-terminated s is a number in the JSON grammar,
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and nothing else: no space, sign '+', hex,
 * leading zero, "inf" or "nan".
 */
bool cst__sg_number_text(const char *s);
/* Parses "a.b.c.d[/n]" or an IPv6 address with an optional prefix; leading zeros in IPv4
 * octets are read as decimal. 0; CST_EINVAL. */
int cst__sg_parse_ip(const char *s, int *family, unsigned char addr[16], unsigned *prefix,
    bool allow_prefix);

#endif
