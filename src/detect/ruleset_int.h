/*
 * What the rule set's files share (ruleset.c loads, resolves and matches; correlate.c runs the
 * correlations). Not for use outside src/detect/ruleset.c and correlate.c.
 */
#ifndef CST_DETECT_RULESET_INT_H
#define CST_DETECT_RULESET_INT_H

#include "detect/ruleset.h"

enum rs_type { RS_RULE, RS_EVENT_COUNT, RS_VALUE_COUNT, RS_TEMPORAL, RS_TEMPORAL_ORDERED,
	RS_VALUE_SUM, RS_VALUE_AVG };

enum rs_cmp { RS_GT, RS_GTE, RS_LT, RS_LTE, RS_EQ, RS_NEQ };

/* A match kept for correlations: a rule's (one event) or a correlation's (its window). */
struct rs_hit {
	size_t entry;
	int64_t t, first;		/* last and first event times */
	struct cst_evref *ev;		/* owned; records referenced */
	size_t n_ev, n_total, n_failed;
	json_t *fields;			/* a correlation's: its group-by values; else NULL */
	double value;
};

struct rs_hitvec {
	struct rs_hit **v;
	size_t n, cap;
};

/* aliases: alias -> (rule name -> field) */
struct rs_alias {
	const char *alias;
	const char **rule;		/* borrowed from the document */
	const char **field;
	size_t n;
};

struct rs_entry {
	enum rs_type type;
	struct cst_sigma_rule *rule;	/* RS_RULE */
	json_t *doc;			/* a correlation's document */
	struct cst_sigma_meta meta;	/* a correlation's metadata (borrowed from doc) */
	char *file;
	unsigned kinds;			/* rules: bit (1 << cst_ev_kind) per kind it runs on */
	/* correlations, strings borrowed from doc */
	const char **ref_text;
	size_t *refs, n_refs;
	const char **group;
	size_t n_group;
	struct rs_alias *alias;
	size_t n_alias;
	const char *field;		/* value_count, value_sum, value_avg */
	int64_t span_ms;
	enum rs_cmp cmp[2];
	double cv[2];
	size_t n_cmp;
	bool generate;
	/* resolution */
	bool disabled, referenced, generated;
	/* rules: the prefilter, and each clause's literals as ids of the index's literals */
	struct cst_sigma_prefilter pf;
	unsigned **pf_lit;
	struct rs_hitvec hits;		/* kept when referenced */
};

struct rs_map_field {
	const char *name;
	const char **path;		/* borrowed from the mapping document */
	size_t n_path;
};

/* Names -> rules whose prefilter has a clause of eventNames only (entries ascending). */
struct rs_name {
	const char *name;		/* lower-cased; borrowed from a prefilter */
	size_t len;
	size_t *ent, n;
};

/* The prefilter index, built by cst_rs_resolve (ruleset_index.c). */
struct rs_index {
	bool built;
	struct rs_name *slot;		/* open addressing; name NULL: empty */
	size_t cap;
	size_t *rest, n_rest;		/* rules not indexed by name, ascending */
	const char **lit;		/* distinct literals (borrowed), by id */
	size_t n_lit;
	void *db;			/* hs_database_t over lit's long ones, or NULL */
	unsigned *common;		/* ids of literals too short to look for: always present */
	size_t n_common;
};

struct cst_rs {
	struct rs_entry *e;
	size_t n, cap;
	size_t *order;			/* correlations in dependency order */
	size_t n_order;
	bool resolved;
	/* the mapping of Castellan's records */
	json_t *map_doc;
	const char *map_product, *map_service, *map_category;
	struct rs_map_field *map;
	size_t n_map;
	/* the run */
	struct cst_finding *f;
	size_t n_f, cap_f;
	bool sorted;
	char **files;
	size_t n_files;
	uint64_t kept, bad_scripts, regex_limits;
	/* the cap on kept matches (cst_rs_set_max_kept) */
	uint64_t max_kept;		/* 0: none */
	uint64_t live, peak, evicted;	/* held now, held at most, dropped */
	int64_t latest;			/* the latest event time matched; -1 before any */
	int64_t reach_ms;		/* the largest timespan (chains: summed); -1 not computed */
	struct rs_index ix;
	size_t *cand;			/* cst_rs_match's candidates (rs->n + 1) */
};

/* The value at a dotted path below v (objects; an array stands for its first element; a key
 * holding dots is found too); NULL if absent. Borrowed. */
json_t *cst__rs_get(json_t *v, const char *path);
/* The text of a scalar (strings as they are, numbers as written back, booleans); NULL for
 * anything else. Allocated (cst_free). */
char *cst__rs_text(json_t *v);
/* Frees a hit and releases its records. Accepts NULL. */
void cst__rs_hit_free(struct rs_hit *h);
/* Appends h to hv (ownership taken, also on failure). 0; CST_ENOMEM. */
int cst__rs_hit_push(struct rs_hitvec *hv, struct rs_hit *h);
/* Records a finding from hit h of entry (the hit stays the caller's; evidence referenced
 * again). group and excerpt are copied. 0; CST_ENOMEM. */
int cst__rs_add_finding(struct cst_rs *rs, const struct rs_hit *h, const char *group,
    const char *excerpt);
/* Whether (eventSource, eventName) is a SageMaker lifecycle-configuration call, whose scripts
 * rules see decoded. */
bool cst__rs_lifecycle_event(const char *src, size_t src_len, const char *name,
    size_t name_len);
/* Builds the prefilter index of the resolved set (rebuilding it). 0; CST_ENOMEM. */
int cst__rs_index_build(struct cst_rs *rs);
/* Frees the index and the rules' prefilters. */
void cst__rs_index_clear(struct cst_rs *rs);
/*
 * The rules to try on a record whose eventName (lower-cased) is name[0..len) (name NULL: no
 * eventName): merged, ascending, into out (room for rs->n). -1 when every rule must be tried
 * (no index, or a non-string eventName: has_name without name). The count otherwise.
 */
long cst__rs_candidates(const struct cst_rs *rs, const char *name, size_t len, bool has_name,
    size_t *out);
/* A scratch's matching context and room for rs->n + 1 candidates. */
struct cst_sigma_ctx *cst__rs_scratch_ctx(struct cst_rs_scratch *sc);
size_t *cst__rs_scratch_cand(struct cst_rs_scratch *sc);

/* Runs correlation c (entries it references already ran). 0; CST_ENOMEM. */
int cst__rs_correlate_one(struct cst_rs *rs, size_t c);

#endif
