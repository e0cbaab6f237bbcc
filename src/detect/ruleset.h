/*
 * A rule set and one detection run over it: Sigma rules and Sigma 2.1 correlation rules
 * (meta-rules) loaded from YAML streams of any number of documents, the field mapping that
 * presents Castellan's audit records to rules, the routing of events to rules by logsource,
 * and the findings of a run.
 *
 * Correlations supported: event_count, value_count, temporal, temporal_ordered, value_sum and
 * value_avg, with rules referenced by id or name (other correlations included, so chains),
 * group-by, aliases, generate, timespan (s m h d w M y) and conditions gt gte lt lte eq neq
 * (two keys: a range). Refused with a message: value_percentile (the specification defines no
 * population or evaluation time for the percentile), a condition written as an expression,
 * references that do not resolve or that form a cycle.
 *
 * Windows slide: for every group, each matching event in time order opens the window
 * [t, t + timespan] and the condition is tested on everything in it, unless that window ends
 * with the same event as the one before (it is then part of that one: so "lte: 3" does not
 * fire on the tail of a burst of ten); a window that fires consumes its events (they open no
 * further window of that correlation). temporal_ordered windows open at matches of the first
 * rule and take the earliest match of each next rule in turn. Events reach the
 * correlations sorted by (time, eventID, rule), after the whole input was read, so the
 * result does not depend on file order; only matches of rules that a correlation references
 * are kept for this, never other events.
 *
 * A rule referenced by a correlation reports no finding of its own unless a correlation
 * referencing it says generate: true. Never prints; everything taken from events is stored
 * as it is (the caller escapes it).
 */
#ifndef CST_DETECT_RULESET_H
#define CST_DETECT_RULESET_H

#include "detect/events.h"
#include "detect/sigma.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cst_rs;

/* One event a finding rests on: the record (a reference held by the run) and where it was. */
struct cst_evref {
	struct cst_ev_rec *rec;
	enum cst_ev_kind kind;
	const char *file;	/* interned in the run */
	size_t index;
	int64_t time_ms;
};

#define CST_RS_MAX_EVIDENCE 1000	/* events kept per finding (counted beyond that) */

struct cst_finding {
	size_t rule;		/* entry of the set (cst_rs_meta) */
	int64_t time_ms;	/* the event's time; a correlation: its last event's */
	int64_t first_ms;	/* a correlation: its first event's; else time_ms */
	struct cst_evref *ev;	/* evidence in time order: one event, or a correlation's */
	size_t n_ev;
	size_t n_total;		/* events behind the finding (>= n_ev) */
	size_t n_failed;	/* of those, events whose call failed */
	char *group;		/* correlation: "field=value, ..." of its group-by; else NULL */
	double value;		/* correlation: the count, distinct values, sum or average */
	char *excerpt;		/* decoded evidence (lifecycle-script lines), raw bytes; or NULL */
};

/* A new, empty set. 0; CST_ENOMEM. */
int cst_rs_new(struct cst_rs **out);
/* Frees the set, its rules and its run (findings and kept records). Accepts NULL. */
void cst_rs_free(struct cst_rs *rs);

/*
 * Adds every document of the YAML stream data[0..len), named name: Sigma rules and
 * correlations. All or nothing: 0; CST_EINVAL / CST_ELIMIT with err naming the document and
 * the problem (nothing of the stream is added); CST_ENOMEM.
 */
int cst_rs_add(struct cst_rs *rs, const char *data, size_t len, const char *name, char *err,
    size_t err_len);
/* Reads the file at path (at most CST_SIGMA_MAX_RULE_BYTES) and adds it. Also CST_EIO,
 * CST_ENOENT. */
int cst_rs_add_file(struct cst_rs *rs, const char *path, char *err, size_t err_len);

/*
 * Sets the field mapping for Castellan's audit records from YAML text:
 *   logsource: {product: castellan, service: audit}   # how rules see these records
 *   fields:                                           # Sigma field: record field(s)
 *     sourceIPAddress: source
 *     userIdentity.arn: [principal, actor]            # the first one present
 * A rule runs on Castellan's records when its logsource matches the mapping's (each of
 * product, service, category unset in the rule or equal); its field names are looked up in
 * the mapped view: the record with each mapped name added. Replaces an earlier mapping.
 * 0; CST_EINVAL with err; CST_ENOMEM.
 */
int cst_rs_set_mapping(struct cst_rs *rs, const char *data, size_t len, const char *name,
    char *err, size_t err_len);

/*
 * Resolves the correlations' references; must be called once after the last add and before
 * matching. A correlation whose references do not resolve (unknown, ambiguous or cyclic) is
 * disabled and named through fn (file, message; fn may be NULL). Returns how many were disabled; CST_ENOMEM
 * as a negative value.
 */
long cst_rs_resolve(struct cst_rs *rs, void (*fn)(void *arg, const char *file,
    const char *msg), void *arg);

/*
 * Sets the threshold of the correlation whose name or id is ref: the value of its gt or gte
 * comparison (else of its only comparison) becomes value. 0; CST_ENOENT (no such
 * correlation); CST_EINVAL (it has several comparisons and none is gt or gte).
 */
int cst_rs_set_threshold(struct cst_rs *rs, const char *ref, double value);

/* Entries (rules and correlations), in the order added. */
size_t cst_rs_count(const struct cst_rs *rs);
/* Entry i's metadata (a correlation's own; its level overrides the rules'). */
const struct cst_sigma_meta *cst_rs_meta(const struct cst_rs *rs, size_t i);
/* Entry i's type: "rule", or the correlation type ("event_count", ...). */
const char *cst_rs_type(const struct cst_rs *rs, size_t i);
/* Entry i's Sigma rule, or NULL for a correlation. */
const struct cst_sigma_rule *cst_rs_rule(const struct cst_rs *rs, size_t i);
/* Whether entry i is disabled (a correlation that did not resolve). */
bool cst_rs_disabled(const struct cst_rs *rs, size_t i);

/*
 * Matches one event against every rule whose logsource fits the event's kind, records the
 * findings and keeps the matches that correlations need (the record is referenced, not
 * copied). SageMaker lifecycle-configuration events are given the decoded scripts first
 * (see docs/detection.md: castellan.lifecycle_script). 0; CST_ENOMEM.
 */
int cst_rs_match(struct cst_rs *rs, struct cst_sigma_ctx *ctx, const struct cst_event *ev);

/*
 * The fast path's question (PF-4): could some rule of the resolved set match the CloudTrail
 * record pk? Rules are indexed by the eventNames their detection pins, and the literals their
 * prefilters require (cst_sigma_prefilter) are looked for in pk->raw, so most records meet no
 * rule; never false for a record a rule matches. Reads rs only: threads may ask at once, each
 * with its own scratch (cst_rs_scratch_new, after cst_rs_resolve; CST_ENOMEM).
 */
struct cst_rs_scratch;
int cst_rs_scratch_new(const struct cst_rs *rs, struct cst_rs_scratch **out);
void cst_rs_scratch_free(struct cst_rs_scratch *sc);
bool cst_rs_wants(const struct cst_rs *rs, struct cst_rs_scratch *sc,
    const struct cst_ev_peek *pk);

/*
 * cst_rs_match in two steps, so that reader threads can match while the calling thread keeps
 * the run's order. cst_rs_eval reads rs only (threads may call it at once, each with its own
 * scratch): it matches ev against the rules and gives what was found in *out, or NULL when
 * there is nothing to record (no rule matched, no limit was met). The record is then held by
 * the verdict, not by ev. cst_rs_apply records a verdict (consumed; NULL: none) in the run:
 * findings, kept matches, counters, the latest event time; called in event order, from one
 * thread, with the ev the verdict came from (its rec is not read). 0; CST_ENOMEM.
 */
struct cst_rs_verdict;
int cst_rs_eval(const struct cst_rs *rs, struct cst_rs_scratch *sc, const struct cst_event *ev,
    struct cst_rs_verdict **out);
int cst_rs_apply(struct cst_rs *rs, const struct cst_event *ev, struct cst_rs_verdict *v);
/* Frees a verdict that will not be applied. Accepts NULL. */
void cst_rs_verdict_free(struct cst_rs_verdict *v);

/* Runs the correlations over the kept matches; once, after the last event. 0; CST_ENOMEM. */
int cst_rs_correlate(struct cst_rs *rs);

/* The findings, sorted by (time, eventID, rule id, file, index); valid until cst_rs_free. */
size_t cst_rs_findings(struct cst_rs *rs, const struct cst_finding **out);

/* Matches kept for correlations, and lifecycle scripts that were not valid base64. */
uint64_t cst_rs_kept(const struct cst_rs *rs);
uint64_t cst_rs_bad_scripts(const struct cst_rs *rs);
/* Regex matches of the run that stopped at the match or depth limit (counted as no match). */
uint64_t cst_rs_regex_limits(const struct cst_rs *rs);

/*
 * Entry i's Sigma level: its own (a correlation's overrides its rules'); for a correlation
 * without one, the highest level among the entries it references, chains followed; NULL if
 * none has one. Valid after cst_rs_resolve.
 */
const char *cst_rs_level(const struct cst_rs *rs, size_t i);

/*
 * Caps the matches kept for correlations at max (0, the default: no cap); call before
 * matching. Whenever one more would be held than max, the kept matches older than the latest
 * event time matched minus the largest correlation timespan (along a chain of correlations:
 * the sum of theirs) are dropped; if more than max - max/4 remain, the oldest are dropped down
 * to that. Dropped matches are counted: correlations may then miss windows that reached back
 * to them (input read in time order loses none to the first step). Memory held for
 * correlations is then at most max matches, each a record reference (the record stays alive
 * while referenced).
 */
void cst_rs_set_max_kept(struct cst_rs *rs, uint64_t max);
/* Matches dropped by the cap; the most matches held at once. */
uint64_t cst_rs_evicted(const struct cst_rs *rs);
uint64_t cst_rs_kept_peak(const struct cst_rs *rs);

#endif
