/*
 * The rule set: loading rule and correlation documents, the Castellan field mapping, reference
 * resolution, routing events to rules by logsource, the lifecycle-script view of SageMaker
 * events, and the findings of a run. Never changes a record it is given: views are shallow
 * copies.
 */
#include "detect/ruleset_int.h"

#include "detect/incident.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/str.h"
#include "core/yaml.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SCRIPT_LINES 4096
#define EXCERPT_LINES 5
#define EXCERPT_LINE_BYTES 200

/* ---- shared helpers ---- */

json_t *
cst__rs_get(json_t *v, const char *path)
{
	const char *dot;
	json_t *c;
	char key[256];
	size_t n;

	while (v != NULL) {
		if (json_is_array(v))
			v = json_array_get(v, 0);
		if (!json_is_object(v))
			return NULL;
		if ((c = json_object_get(v, path)) != NULL)
			return c;	/* the rest of the path as one key */
		if ((dot = strchr(path, '.')) == NULL)
			return NULL;
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		path = dot + 1;
	}
	return NULL;
}

char *
cst__rs_text(json_t *v)
{
	char buf[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return cst_strndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return cst_strdup(buf);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return cst_strdup(buf);
	case JSON_TRUE:
		return cst_strdup("true");
	case JSON_FALSE:
		return cst_strdup("false");
	default:
		return NULL;
	}
}

void
cst__rs_hit_free(struct rs_hit *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n_ev; i++)
		cst_ev_rec_unref(h->ev[i].rec);
	cst_free(h->ev);
	json_decref(h->fields);
	cst_free(h);
}

int
cst__rs_hit_push(struct rs_hitvec *hv, struct rs_hit *h)
{
	struct rs_hit **nv;

	if (hv->n == hv->cap) {
		size_t cap = hv->cap ? hv->cap * 2 : 16;

		if ((nv = cst_reallocarray(hv->v, cap, sizeof(*nv))) == NULL) {
			cst__rs_hit_free(h);
			return CST_ENOMEM;
		}
		hv->v = nv;
		hv->cap = cap;
	}
	hv->v[hv->n++] = h;
	return 0;
}

static void
finding_clear(struct cst_finding *f)
{
	size_t i;

	for (i = 0; i < f->n_ev; i++)
		cst_ev_rec_unref(f->ev[i].rec);
	cst_free(f->ev);
	cst_free(f->group);
	cst_free(f->excerpt);
}

int
cst__rs_add_finding(struct cst_rs *rs, const struct rs_hit *h, const char *group,
    const char *excerpt)
{
	struct cst_finding *f, *nv;
	size_t i;

	if (rs->n_f == rs->cap_f) {
		size_t cap = rs->cap_f ? rs->cap_f * 2 : 64;

		if ((nv = cst_reallocarray(rs->f, cap, sizeof(*nv))) == NULL)
			return CST_ENOMEM;
		rs->f = nv;
		rs->cap_f = cap;
	}
	f = &rs->f[rs->n_f];
	memset(f, 0, sizeof(*f));
	f->rule = h->entry;
	f->time_ms = h->t;
	f->first_ms = h->first;
	f->n_total = h->n_total;
	f->n_failed = h->n_failed;
	f->value = h->value;
	if ((f->ev = cst_calloc(h->n_ev ? h->n_ev : 1, sizeof(*f->ev))) == NULL ||
	    (group && (f->group = cst_strdup(group)) == NULL) ||
	    (excerpt && (f->excerpt = cst_strdup(excerpt)) == NULL)) {
		finding_clear(f);
		return CST_ENOMEM;
	}
	for (i = 0; i < h->n_ev; i++) {
		f->ev[i] = h->ev[i];
		cst_ev_rec_ref(f->ev[i].rec);
	}
	f->n_ev = h->n_ev;
	rs->n_f++;
	rs->sorted = false;
	return 0;
}

/* ---- the set ---- */

int
cst_rs_new(struct cst_rs **out)
{
	struct cst_rs *rs = cst_calloc(1, sizeof(*rs));

	if (rs == NULL)
		return CST_ENOMEM;
	rs->map_product = "castellan";
	rs->latest = -1;
	rs->reach_ms = -1;
	*out = rs;
	return 0;
}

static void
entry_clear(struct rs_entry *e)
{
	size_t i;

	cst_sigma_rule_free(e->rule);
	cst_free(e->meta.tags);		/* a correlation's own (a rule's are in the rule) */
	json_decref(e->doc);
	cst_free(e->file);
	cst_free(e->ref_text);
	cst_free(e->refs);
	cst_free(e->group);
	for (i = 0; i < e->n_alias; i++) {
		cst_free(e->alias[i].rule);
		cst_free(e->alias[i].field);
	}
	cst_free(e->alias);
	for (i = 0; i < e->hits.n; i++)
		cst__rs_hit_free(e->hits.v[i]);
	cst_free(e->hits.v);
}

static void
map_clear(struct cst_rs *rs)
{
	size_t i;

	for (i = 0; i < rs->n_map; i++)
		cst_free(rs->map[i].path);
	cst_free(rs->map);
	rs->map = NULL;
	rs->n_map = 0;
	json_decref(rs->map_doc);
	rs->map_doc = NULL;
	rs->map_product = "castellan";
	rs->map_service = rs->map_category = NULL;
}

void
cst_rs_free(struct cst_rs *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	cst__rs_index_clear(rs);
	for (i = 0; i < rs->n; i++)
		entry_clear(&rs->e[i]);
	cst_free(rs->e);
	cst_free(rs->order);
	map_clear(rs);
	for (i = 0; i < rs->n_f; i++)
		finding_clear(&rs->f[i]);
	cst_free(rs->f);
	cst_strv_free(rs->files, rs->n_files);
	cst_free(rs);
}

size_t
cst_rs_count(const struct cst_rs *rs)
{
	return rs->n;
}

const struct cst_sigma_meta *
cst_rs_meta(const struct cst_rs *rs, size_t i)
{
	return rs->e[i].rule ? cst_sigma_rule_meta(rs->e[i].rule) : &rs->e[i].meta;
}

const char *
cst_rs_type(const struct cst_rs *rs, size_t i)
{
	static const char *const names[] = { "rule", "event_count", "value_count", "temporal",
		"temporal_ordered", "value_sum", "value_avg" };

	return names[rs->e[i].type];
}

const struct cst_sigma_rule *
cst_rs_rule(const struct cst_rs *rs, size_t i)
{
	return rs->e[i].rule;
}

bool
cst_rs_disabled(const struct cst_rs *rs, size_t i)
{
	return rs->e[i].disabled;
}

uint64_t
cst_rs_kept(const struct cst_rs *rs)
{
	return rs->kept;
}

uint64_t
cst_rs_bad_scripts(const struct cst_rs *rs)
{
	return rs->bad_scripts;
}

uint64_t
cst_rs_regex_limits(const struct cst_rs *rs)
{
	return rs->regex_limits;
}

static const char *
level_at(const struct cst_rs *rs, size_t i, int depth)
{
	static const char *const order[] = { "informational", "low", "medium", "high",
		"critical" };
	const char *own = cst_rs_meta(rs, i)->level, *best = NULL, *l;
	size_t k, a, b;

	if (own != NULL || rs->e[i].type == RS_RULE || depth > 16)
		return own;
	for (k = 0; k < rs->e[i].n_refs && rs->e[i].refs != NULL; k++) {
		if ((l = level_at(rs, rs->e[i].refs[k], depth + 1)) == NULL)
			continue;
		for (a = 0; a < 5 && strcmp(order[a], l) != 0; a++)
			;
		for (b = 0; best != NULL && b < 5 && strcmp(order[b], best) != 0; b++)
			;
		if (best == NULL || a > b)
			best = l;
	}
	return best;
}

const char *
cst_rs_level(const struct cst_rs *rs, size_t i)
{
	return level_at(rs, i, 0);
}

void
cst_rs_set_max_kept(struct cst_rs *rs, uint64_t max)
{
	rs->max_kept = max;
}

uint64_t
cst_rs_evicted(const struct cst_rs *rs)
{
	return rs->evicted;
}

uint64_t
cst_rs_kept_peak(const struct cst_rs *rs)
{
	return rs->peak;
}

/* ---- correlation documents ---- */

/* "<int><s|m|h|d|w|M|y>" to milliseconds (at most ten years). */
static int
parse_timespan(const char *s, int64_t *out)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 },
		{ 'w', 604800000 }, { 'M', 2629746000LL }, { 'y', 31556952000LL } };
	uint64_t v;
	size_t n = strlen(s), i;

	if (n < 2 || cst_parse_u64(cst_str_make(s, n - 1), 1000000000, &v) != 0 || v == 0)
		return CST_EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n - 1] == units[i].unit) {
			if ((int64_t)v > 315576000000LL / units[i].ms)
				return CST_EINVAL;
			*out = (int64_t)v * units[i].ms;
			return 0;
		}
	return CST_EINVAL;
}

/* A list of strings (or one string) into a new array of borrowed pointers. */
static int
str_list(json_t *v, const char ***out, size_t *n, const char *what, char *err, size_t err_len)
{
	const char **a;
	json_t *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (json_is_string(v)) {
		if ((a = cst_calloc(1, sizeof(*a))) == NULL)
			return CST_ENOMEM;
		a[0] = json_string_value(v);
		*out = a;
		*n = 1;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cst_einval(err, err_len, "%s: must be a string or a non-empty list of "
		    "strings",
		    what);
	if ((a = cst_calloc(json_array_size(v), sizeof(*a))) == NULL)
		return CST_ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0) {
			cst_free(a);
			return cst_einval(err, err_len, "%s: entry %zu is not a non-empty "
			    "string", what, i);
		}
		a[i] = json_string_value(e);
	}
	*out = a;
	*n = json_array_size(v);
	return 0;
}

static int
load_condition(struct rs_entry *e, json_t *cond, char *err, size_t err_len)
{
	static const char *const names[] = { "gt", "gte", "lt", "lte", "eq", "neq" };
	const char *k;
	json_t *v;
	size_t i;

	if (cond == NULL) {
		if (e->type == RS_TEMPORAL || e->type == RS_TEMPORAL_ORDERED) {
			e->cmp[0] = RS_GTE;	/* every referenced rule */
			e->cv[0] = (double)e->n_refs;
			e->n_cmp = 1;
			return 0;
		}
		return cst_einval(err, err_len, "correlation.condition: missing (required for %s)",
		    e->type == RS_EVENT_COUNT ? "event_count" : "this type");
	}
	if (json_is_string(cond))
		return cst_einval(err, err_len, "correlation.condition: an expression over rule "
		    "names is "
		    "not supported; give a count (e.g. gte: 2)");
	if (!json_is_object(cond))
		return cst_einval(err, err_len, "correlation.condition: must be a mapping");
	json_object_foreach(cond, k, v) {
		if (strcmp(k, "field") == 0) {
			if (!json_is_string(v) || json_string_length(v) == 0)
				return cst_einval(err, err_len, "correlation.condition.field: "
				    "must be a "
				    "field name");
			e->field = json_string_value(v);
			continue;
		}
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return cst_einval(err, err_len, "correlation.condition: unknown key '%s' "
			    "(gt, gte, "
			    "lt, lte, eq, neq, field)", k);
		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			return cst_einval(err, err_len, "correlation.condition.%s: must be a "
			    "number", k);
		if (e->n_cmp == 2)
			return cst_einval(err, err_len, "correlation.condition: at most two "
			    "comparisons");
		e->cmp[e->n_cmp] = (enum rs_cmp)i;
		e->cv[e->n_cmp++] = json_number_value(v);
	}
	if (e->n_cmp == 0)
		return cst_einval(err, err_len, "correlation.condition: no comparison (gt, gte, "
		    "lt, lte, "
		    "eq, neq)");
	if ((e->type == RS_VALUE_COUNT || e->type == RS_VALUE_SUM || e->type == RS_VALUE_AVG) &&
	    e->field == NULL)
		return cst_einval(err, err_len, "correlation.condition.field: required for %s",
		    e->type == RS_VALUE_COUNT ? "value_count" : e->type == RS_VALUE_SUM ?
		    "value_sum" : "value_avg");
	if (e->field != NULL && !(e->type == RS_VALUE_COUNT || e->type == RS_VALUE_SUM ||
	    e->type == RS_VALUE_AVG))
		return cst_einval(err, err_len, "correlation.condition.field: only for "
		    "value_count, "
		    "value_sum and value_avg");
	return 0;
}

static int
load_aliases(struct rs_entry *e, json_t *al, char *err, size_t err_len)
{
	const char *k, *rk;
	json_t *v, *rv;
	size_t i = 0, j;

	if (al == NULL || json_is_null(al))
		return 0;
	if (!json_is_object(al))
		return cst_einval(err, err_len, "correlation.aliases: must be a mapping");
	if ((e->alias = cst_calloc(json_object_size(al) + 1, sizeof(*e->alias))) == NULL)
		return CST_ENOMEM;
	json_object_foreach(al, k, v) {
		struct rs_alias *a = &e->alias[i++];

		e->n_alias = i;
		a->alias = k;
		if (!json_is_object(v) || json_object_size(v) == 0)
			return cst_einval(err, err_len, "correlation.aliases.%s: must map rule "
			    "names to "
			    "fields", k);
		a->rule = cst_calloc(json_object_size(v), sizeof(*a->rule));
		a->field = cst_calloc(json_object_size(v), sizeof(*a->field));
		if (a->rule == NULL || a->field == NULL)
			return CST_ENOMEM;
		j = 0;
		json_object_foreach(v, rk, rv) {
			if (!json_is_string(rv) || json_string_length(rv) == 0)
				return cst_einval(err, err_len, "correlation.aliases.%s.%s: must "
				    "be a field "
				    "name", k, rk);
			a->rule[j] = rk;
			a->field[j++] = json_string_value(rv);
		}
		a->n = j;
	}
	return 0;
}

/* A correlation document into e (doc: a reference taken). */
static int
load_correlation(struct rs_entry *e, json_t *doc, char *err, size_t err_len)
{
	static const struct {
		const char *name;
		enum rs_type type;
	} types[] = { { "event_count", RS_EVENT_COUNT }, { "value_count", RS_VALUE_COUNT },
		{ "temporal", RS_TEMPORAL }, { "temporal_ordered", RS_TEMPORAL_ORDERED },
		{ "value_sum", RS_VALUE_SUM }, { "value_avg", RS_VALUE_AVG } };
	json_t *c = json_object_get(doc, "correlation"), *v, *x;
	const char *t, *k;
	size_t i;
	int r;

	e->doc = doc;
	if ((r = cst_sigma_meta_read(doc, false, &e->meta, err, err_len)) != 0)
		return r;
	if (!json_is_object(c))
		return cst_einval(err, err_len, "correlation: must be a mapping");
	if (json_object_get(doc, "detection") != NULL)
		return cst_einval(err, err_len, "a document cannot hold both detection and "
		    "correlation");
	if ((t = json_string_value(json_object_get(c, "type"))) == NULL)
		return cst_einval(err, err_len, "correlation.type: missing");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i].name) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		if (strcmp(t, "value_percentile") == 0)
			return cst_einval(err, err_len, "correlation.type: value_percentile is not "
			    "supported (the specification defines neither the population nor the "
			    "moment over which the percentile is taken)");
		return cst_einval(err, err_len, "correlation.type: unknown type '%s'", t);
	}
	e->type = types[i].type;
	if ((v = json_object_get(c, "rules")) == NULL)
		return cst_einval(err, err_len, "correlation.rules: missing");
	if ((r = str_list(v, &e->ref_text, &e->n_refs, "correlation.rules", err, err_len)) != 0)
		return r;
	if ((e->type == RS_TEMPORAL || e->type == RS_TEMPORAL_ORDERED) && e->n_refs < 2)
		return cst_einval(err, err_len, "correlation.rules: %s needs at least two "
		    "rules", t);
	if ((e->refs = cst_calloc(e->n_refs, sizeof(*e->refs))) == NULL)
		return CST_ENOMEM;
	if ((v = json_object_get(c, "group-by")) != NULL && !json_is_null(v) &&
	    (r = str_list(v, &e->group, &e->n_group, "correlation.group-by", err, err_len)) != 0)
		return r;
	if ((t = json_string_value(json_object_get(c, "timespan"))) == NULL)
		return cst_einval(err, err_len, "correlation.timespan: missing");
	if (parse_timespan(t, &e->span_ms) != 0)
		return cst_einval(err, err_len, "correlation.timespan: '%s' is not "
		    "<number><s|m|h|d|w|M|y> "
		    "(at most ten years)", t);
	if ((r = load_aliases(e, json_object_get(c, "aliases"), err, err_len)) != 0)
		return r;
	v = json_object_get(c, "generate");
	if (v == NULL)
		v = json_object_get(doc, "generate");
	if (v != NULL && !json_is_boolean(v))
		return cst_einval(err, err_len, "generate: must be true or false");
	e->generate = json_is_true(v);
	json_object_foreach(c, k, x)
		if (strcmp(k, "type") && strcmp(k, "rules") && strcmp(k, "group-by") &&
		    strcmp(k, "timespan") && strcmp(k, "condition") && strcmp(k, "aliases") &&
		    strcmp(k, "generate"))
			return cst_einval(err, err_len, "correlation.%s: unknown key", k);
	return load_condition(e, json_object_get(c, "condition"), err, err_len);
}

static int
push_entry(struct cst_rs *rs, struct rs_entry **out)
{
	struct rs_entry *nv;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;

		if ((nv = cst_reallocarray(rs->e, cap, sizeof(*nv))) == NULL)
			return CST_ENOMEM;
		rs->e = nv;
		rs->cap = cap;
	}
	*out = &rs->e[rs->n];
	memset(*out, 0, sizeof(**out));
	return 0;
}

int
cst_rs_add(struct cst_rs *rs, const char *data, size_t len, const char *name, char *err,
    size_t err_len)
{
	char yerr[256], sub[384];
	struct rs_entry *e;
	size_t n0 = rs->n, i, nd;
	json_t *docs, *doc;
	int r = 0;

	if (len > CST_SIGMA_MAX_RULE_BYTES) {
		snprintf(err, err_len, "larger than %zu bytes", CST_SIGMA_MAX_RULE_BYTES);
		return CST_ELIMIT;
	}
	if ((r = cst_yaml_load_all(data, len, &cst_sigma_yaml_limits, &docs, yerr,
	    sizeof(yerr))) != 0) {
		snprintf(err, err_len, "%s%s", r == CST_ENOMEM ? "" : "YAML: ",
		    r == CST_ENOMEM ? "out of memory" : yerr);
		return r;
	}
	nd = json_array_size(docs);
	if (nd == 0) {
		json_decref(docs);
		return cst_einval(err, err_len, "no YAML document");
	}
	for (i = 0; i < nd && r == 0; i++) {
		doc = json_array_get(docs, i);
		json_incref(doc);
		if ((r = push_entry(rs, &e)) != 0) {
			json_decref(doc);
			break;
		}
		sub[0] = '\0';
		if (json_is_object(doc) && json_object_get(doc, "correlation") != NULL) {
			rs->n++;
			if ((e->file = cst_strdup(name)) == NULL) {
				json_decref(doc);
				r = CST_ENOMEM;
				break;
			}
			e->meta.file = e->file;
			r = load_correlation(e, doc, sub, sizeof(sub));
		} else {
			r = cst_sigma_rule_from_doc(doc, name, &e->rule, sub, sizeof(sub));
			if (r == 0)
				rs->n++;
		}
		if (r != 0 && r != CST_ENOMEM) {
			if (nd > 1)
				snprintf(err, err_len, "document %zu: %s", i + 1, sub);
			else
				snprintf(err, err_len, "%s", sub);
		}
	}
	json_decref(docs);
	if (r != 0) {
		if (r == CST_ENOMEM)
			snprintf(err, err_len, "out of memory");
		while (rs->n > n0)
			entry_clear(&rs->e[--rs->n]);
		return r;
	}
	rs->resolved = false;
	return 0;
}

int
cst_rs_add_file(struct cst_rs *rs, const char *path, char *err, size_t err_len)
{
	size_t len;
	char *data;
	int r;

	if ((r = cst_read_file(path, CST_SIGMA_MAX_RULE_BYTES, &data, &len)) != 0) {
		snprintf(err, err_len, "%s", r == CST_ELIMIT ? "larger than the rule size limit" :
		    cst_strerror(r));
		return r;
	}
	r = cst_rs_add(rs, data, len, path, err, err_len);
	cst_free(data);
	return r;
}

/* ---- the mapping ---- */

int
cst_rs_set_mapping(struct cst_rs *rs, const char *data, size_t len, const char *name,
    char *err, size_t err_len)
{
	char yerr[256];
	json_t *doc, *ls, *fields, *v;
	struct rs_map_field *m = NULL;
	const char *k, *product, *service, *category;
	size_t n = 0;
	int r;

	if ((r = cst_yaml_load(data, len, &cst_sigma_yaml_limits, &doc, yerr, sizeof(yerr))) != 0) {
		snprintf(err, err_len, "%s: %s%s", name, r == CST_ENOMEM ? "" : "YAML: ",
		    r == CST_ENOMEM ? "out of memory" : yerr);
		return r;
	}
	ls = json_object_get(doc, "logsource");
	fields = json_object_get(doc, "fields");
	if (!json_is_object(doc) || !json_is_object(ls) || (fields && !json_is_object(fields))) {
		json_decref(doc);
		return cst_einval(err, err_len, "%s: a mapping needs logsource (a mapping) and "
		    "fields (a "
		    "mapping of Sigma field names to record fields)", name);
	}
	product = json_string_value(json_object_get(ls, "product"));
	service = json_string_value(json_object_get(ls, "service"));
	category = json_string_value(json_object_get(ls, "category"));
	if (product == NULL && service == NULL && category == NULL) {
		json_decref(doc);
		return cst_einval(err, err_len, "%s: logsource names no product, service or "
		    "category",
		    name);
	}
	if (fields && (m = cst_calloc(json_object_size(fields) + 1, sizeof(*m))) == NULL) {
		json_decref(doc);
		return CST_ENOMEM;
	}
	if (fields) {
		json_object_foreach(fields, k, v) {
			m[n].name = k;
			r = str_list(v, &m[n].path, &m[n].n_path, "fields", err, err_len);
			if (r != 0) {
				while (n > 0)
					cst_free(m[--n].path);
				cst_free(m);
				json_decref(doc);
				if (r == CST_EINVAL)
					snprintf(err, err_len, "%s: fields.%s: must be a record field or a "
					    "list of them", name, k);
				return r;
			}
			n++;
		}
	}
	map_clear(rs);
	rs->map_doc = doc;
	rs->map = m;
	rs->n_map = n;
	rs->map_product = product;
	rs->map_service = service;
	rs->map_category = category;
	rs->resolved = false;
	return 0;
}

int
cst_rs_set_threshold(struct cst_rs *rs, const char *ref, double value)
{
	size_t i, k;

	for (i = 0; i < rs->n; i++) {
		struct rs_entry *e = &rs->e[i];

		if (e->type == RS_RULE || !((e->meta.id && strcmp(e->meta.id, ref) == 0) ||
		    (e->meta.name && strcmp(e->meta.name, ref) == 0)))
			continue;
		for (k = 0; k < e->n_cmp; k++)
			if (e->cmp[k] == RS_GT || e->cmp[k] == RS_GTE || e->n_cmp == 1) {
				e->cv[k] = value;
				return 0;
			}
		return CST_EINVAL;
	}
	return CST_ENOENT;
}

/* ---- resolution ---- */

static bool
ls_fits(const char *rule, const char *have)
{
	return rule == NULL || (have != NULL && strcasecmp(rule, have) == 0);
}

/* The kinds a rule runs on, from its logsource. */
static unsigned
rule_kinds(const struct cst_rs *rs, const struct cst_sigma_meta *m)
{
	unsigned k = 0;

	if (m->product == NULL || strcasecmp(m->product, "aws") == 0) {
		if (m->service == NULL || strcasecmp(m->service, "cloudtrail") == 0)
			k |= 1u << CST_EV_CLOUDTRAIL;
		if (m->service == NULL || strcasecmp(m->service, "bedrock") == 0)
			k |= 1u << CST_EV_BEDROCK;
	}
	if (ls_fits(m->product, rs->map_product) && ls_fits(m->service, rs->map_service) &&
	    ls_fits(m->category, rs->map_category))
		k |= 1u << CST_EV_CASTELLAN;
	return k;
}

/* Entries whose id or name is ref; -1 none, -2 more than one. */
static long
find_ref(const struct cst_rs *rs, const char *ref)
{
	long found = -1;
	size_t i;

	for (i = 0; i < rs->n; i++) {
		const struct cst_sigma_meta *m = cst_rs_meta(rs, i);

		if ((m->id && strcmp(m->id, ref) == 0) || (m->name && strcmp(m->name, ref) == 0)) {
			if (found >= 0)
				return -2;
			found = (long)i;
		}
	}
	return found;
}

/* Depth-first: appends c after what it references; 0, or -1 on a cycle. */
static int
visit(struct cst_rs *rs, size_t c, unsigned char *mark)
{
	struct rs_entry *e = &rs->e[c];
	size_t i;

	if (mark[c] == 2 || e->type == RS_RULE)
		return 0;
	if (mark[c] == 1)
		return -1;
	mark[c] = 1;
	for (i = 0; i < e->n_refs; i++)
		if (!e->disabled && visit(rs, e->refs[i], mark) != 0)
			return -1;
	mark[c] = 2;
	rs->order[rs->n_order++] = c;
	return 0;
}

static void
quiet(void *arg, const char *file, const char *msg)
{
	(void)arg;
	(void)file;
	(void)msg;
}

long
cst_rs_resolve(struct cst_rs *rs, void (*fn)(void *arg, const char *file, const char *msg),
    void *arg)
{
	unsigned char *mark;
	char msg[512];
	long disabled = 0;
	void (*say)(void *, const char *, const char *) = fn ? fn : quiet;
	bool changed;
	size_t i, j, k;

	cst_free(rs->order);
	rs->n_order = 0;
	if ((rs->order = cst_calloc(rs->n + 1, sizeof(*rs->order))) == NULL ||
	    (mark = cst_calloc(rs->n + 1, 1)) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < rs->n; i++) {
		struct rs_entry *e = &rs->e[i];

		e->referenced = e->generated = false;
		if (e->type == RS_RULE) {
			e->kinds = rule_kinds(rs, cst_sigma_rule_meta(e->rule));
			continue;
		}
		for (j = 0; j < e->n_refs && !e->disabled; j++) {
			long f = find_ref(rs, e->ref_text[j]);

			if (f < 0) {
				snprintf(msg, sizeof(msg), "correlation '%s': rule '%s' %s: the "
				    "correlation is disabled", e->meta.title, e->ref_text[j], f == -1 ?
				    "is not loaded (no rule has that id or name)" :
				    "is ambiguous (several rules have that id or name)");
				say(arg, e->file, msg);
				e->disabled = true;
				disabled++;
			} else {
				e->refs[j] = (size_t)f;
				for (k = 0; k < j && e->refs[k] != (size_t)f; k++)
					;
				if (k == j)
					continue;
				/* each listed rule is one input: a rule listed twice could never
				   fill both places, so the correlation is refused */
				snprintf(msg, sizeof(msg), "correlation '%s': rule '%s' is listed "
				    "twice (also as '%s'): list each rule once; the correlation is "
				    "disabled", e->meta.title, e->ref_text[j], e->ref_text[k]);
				say(arg, e->file, msg);
				e->disabled = true;
				disabled++;
			}
		}
	}
	for (i = 0; i < rs->n; i++)
		if (!rs->e[i].disabled && visit(rs, i, mark) != 0) {
			snprintf(msg, sizeof(msg), "correlation '%s': its references form a cycle: the "
			    "correlation is disabled", rs->e[i].meta.title);
			say(arg, rs->e[i].file, msg);
			rs->e[i].disabled = true;
			disabled++;
			memset(mark, 0, rs->n);
			rs->n_order = 0;
			i = (size_t)-1;	/* start again without it */
		}
	cst_free(mark);
	do {	/* a correlation over a disabled one is disabled too */
		changed = false;
		for (i = 0; i < rs->n; i++) {
			struct rs_entry *e = &rs->e[i];

			for (j = 0; j < e->n_refs && !e->disabled && e->type != RS_RULE; j++)
				if (rs->e[e->refs[j]].disabled) {
					snprintf(msg, sizeof(msg), "correlation '%s': it references the "
					    "disabled correlation '%s': disabled too", e->meta.title,
					    rs->e[e->refs[j]].meta.title);
					say(arg, e->file, msg);
					e->disabled = changed = true;
					disabled++;
				}
		}
	} while (changed);
	for (i = 0; i < rs->n; i++) {
		struct rs_entry *e = &rs->e[i];

		if (e->type == RS_RULE || e->disabled)
			continue;
		for (j = 0; j < e->n_refs; j++) {
			rs->e[e->refs[j]].referenced = true;
			if (e->generate)
				rs->e[e->refs[j]].generated = true;
		}
	}
	if (cst__rs_index_build(rs) != 0)
		return CST_ENOMEM;
	rs->resolved = true;
	return disabled;
}

/* ---- matching ---- */

static const char *
intern_file(struct cst_rs *rs, const char *file)
{
	char **nv;

	if (file == NULL)
		return NULL;
	if (rs->n_files > 0 && strcmp(rs->files[rs->n_files - 1], file) == 0)
		return rs->files[rs->n_files - 1];
	if ((nv = cst_reallocarray(rs->files, rs->n_files + 1, sizeof(*nv))) == NULL)
		return NULL;
	rs->files = nv;
	if ((nv[rs->n_files] = cst_strdup(file)) == NULL)
		return NULL;
	return rs->files[rs->n_files++];
}

/* A JSON string of s[0..n) with every invalid UTF-8 byte replaced by U+FFFD. */
static json_t *
utf8_string(const unsigned char *s, size_t n)
{
	char *out = cst_malloc(n * 3 + 1), enc[4];
	size_t i = 0, o = 0, k;
	uint32_t cp;
	json_t *v;

	if (out == NULL)
		return NULL;
	while (i < n) {
		if ((k = cst_utf8_decode(s + i, n - i, &cp)) == 0 || cp == 0) {
			k = cst_utf8_encode(0xfffd, enc);
			memcpy(out + o, enc, k);
			o += k;
			i++;
			continue;
		}
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	v = json_stringn(out, o);
	cst_free(out);
	return v;
}

/* Decodes one base64 script (whitespace ignored) and appends its lines to lines. */
static int
add_script(json_t *content, json_t *lines, uint64_t *bad)
{
	const char *s = json_string_value(content);
	size_t n = json_string_length(content), i, o = 0, dl, start;
	unsigned char *dec;
	char *clean;
	json_t *line;
	int r = 0;

	if (s == NULL)
		return 0;
	if ((clean = cst_malloc(n + 1)) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
			clean[o++] = s[i];
	if ((dec = cst_malloc(o / 4 * 3 + 3)) == NULL) {
		cst_free(clean);
		return CST_ENOMEM;
	}
	if (cst_b64_decode(clean, o, dec, o / 4 * 3 + 3, &dl) != 0) {
		++*bad;
		goto out;
	}
	for (start = 0, i = 0; i <= dl; i++) {
		if (i < dl && dec[i] != '\n')
			continue;
		if (json_array_size(lines) >= MAX_SCRIPT_LINES)
			break;
		n = i - start;
		if (n > 0 && dec[start + n - 1] == '\r')
			n--;
		if (n > 0) {
			if ((line = utf8_string(dec + start, n)) == NULL ||
			    json_array_append_new(lines, line) != 0) {
				r = CST_ENOMEM;
				break;
			}
		}
		start = i + 1;
	}
out:
	cst_free(clean);
	cst_free(dec);
	return r;
}

/*
 * SageMaker lifecycle configurations: a view of rec with castellan.lifecycle_script, the
 * lines of every decoded script (onCreate/onStart contents of notebook-instance
 * configurations, the content of Studio ones). *view stays NULL for other events. Scripts
 * that are not valid base64 are counted in *bad.
 */
static int
lifecycle_view(json_t *rec, json_t **view, uint64_t *bad)
{
	static const char *const lists[] = { "onCreate", "onStart", "OnCreate", "OnStart" };
	const char *src = json_string_value(json_object_get(rec, "eventSource")), *name;
	json_t *rp, *lines, *obj, *e, *copy;
	size_t i, k;
	int r = 0;

	*view = NULL;
	name = json_string_value(json_object_get(rec, "eventName"));
	if (src == NULL || name == NULL || !cst__rs_lifecycle_event(src, strlen(src), name,
	    strlen(name)))
		return 0;
	if (!json_is_object(rp = json_object_get(rec, "requestParameters")))
		return 0;
	if ((lines = json_array()) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]) && r == 0; i++) {
		json_t *l = json_object_get(rp, lists[i]);

		if (json_is_object(l))
			r = add_script(json_object_get(l, "content"), lines, bad);
		else
			json_array_foreach(l, k, e)
				if (r == 0)
					r = add_script(json_object_get(e, "content"), lines, bad);
	}
	if (r == 0)
		r = add_script(json_object_get(rp, "studioLifecycleConfigContent"), lines, bad);
	if (r != 0 || json_array_size(lines) == 0) {
		json_decref(lines);
		return r;
	}
	if ((copy = json_copy(rec)) == NULL || (obj = json_object()) == NULL) {
		json_decref(copy);
		json_decref(lines);
		return CST_ENOMEM;
	}
	if (json_object_set_new(obj, "lifecycle_script", lines) != 0 ||
	    json_object_set_new(copy, "castellan", obj) != 0) {
		json_decref(copy);
		return CST_ENOMEM;
	}
	*view = copy;
	return 0;
}

/*
 * Castellan's records as rules see them: source_ip (the address of "source", which the
 * gateway writes as address:port) and each mapped name (the first path present) added.
 */
static int
mapped_view(const struct cst_rs *rs, json_t *rec, json_t **view)
{
	const char *src = json_string_value(json_object_get(rec, "source")), *colon;
	json_t *copy, *v;
	size_t i, j;

	*view = NULL;
	if ((copy = json_copy(rec)) == NULL)
		return CST_ENOMEM;
	if (src != NULL && (colon = strrchr(src, ':')) != NULL && colon[1] != '\0' &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    json_object_set_new(copy, "source_ip", json_stringn(src, (size_t)(colon - src))) != 0) {
		json_decref(copy);
		return CST_ENOMEM;
	}
	for (i = 0; i < rs->n_map; i++)
		for (j = 0; j < rs->map[i].n_path; j++)
			if ((v = cst__rs_get(copy, rs->map[i].path[j])) != NULL && !json_is_null(v)) {
				if (json_object_set(copy, rs->map[i].name, v) != 0) {
					json_decref(copy);
					return CST_ENOMEM;
				}
				break;
			}
	*view = copy;
	return 0;
}

/*
 * The lines of castellan.lifecycle_script on which the rule matches by themselves, joined by
 * newlines (each cut at EXCERPT_LINE_BYTES, at most EXCERPT_LINES); NULL if none does.
 */
static char *
script_excerpt(const struct cst_sigma_rule *rule, struct cst_sigma_ctx *ctx, json_t *view)
{
	json_t *lines = cst__rs_get(view, "castellan.lifecycle_script"), *one, *obj, *arr, *l;
	size_t i, n = 0, o = 0, len;
	char *out;

	if (!json_is_array(lines) || (out = cst_malloc(EXCERPT_LINES *
	    (EXCERPT_LINE_BYTES + 4) + 1)) == NULL)
		return NULL;
	json_array_foreach(lines, i, l) {
		if (n == EXCERPT_LINES)
			break;
		if ((one = json_copy(view)) == NULL)
			break;
		obj = json_object();
		arr = json_array();
		if (obj == NULL || arr == NULL || json_array_append(arr, l) != 0 ||
		    json_object_set_new(obj, "lifecycle_script", arr) != 0 ||
		    json_object_set_new(one, "castellan", obj) != 0) {
			if (obj == NULL)
				json_decref(arr);
			json_decref(one);
			break;
		}
		if (cst_sigma_rule_match(rule, ctx, one)) {
			len = json_string_length(l);
			if (len > EXCERPT_LINE_BYTES) {
				len = EXCERPT_LINE_BYTES;	/* back to a character boundary */
				while (len > 0 && (json_string_value(l)[len] & 0xc0) == 0x80)
					len--;
			}
			if (n++ > 0)
				out[o++] = '\n';
			memcpy(out + o, json_string_value(l), len);
			o += len;
		}
		json_decref(one);
	}
	out[o] = '\0';
	if (n == 0) {
		cst_free(out);
		return NULL;
	}
	return out;
}

/* ---- the cap on kept matches ---- */

/* The largest timespan, a chain of correlations counting the sum of its spans. */
static int
reach(struct cst_rs *rs)
{
	int64_t *r, best = 0;
	size_t i, k;

	if (rs->reach_ms >= 0)
		return 0;
	if ((r = cst_calloc(rs->n + 1, sizeof(*r))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < rs->n; i++)
		r[i] = rs->e[i].type == RS_RULE || rs->e[i].disabled ? 0 : rs->e[i].span_ms;
	for (i = rs->n_order; i-- > 0;) {	/* a correlation after what it references */
		const struct rs_entry *d = &rs->e[rs->order[i]];

		for (k = 0; k < d->n_refs; k++)
			if (rs->e[d->refs[k]].type != RS_RULE &&
			    r[d->refs[k]] < rs->e[d->refs[k]].span_ms + r[rs->order[i]])
				r[d->refs[k]] = rs->e[d->refs[k]].span_ms + r[rs->order[i]];
	}
	for (i = 0; i < rs->n; i++)
		if (r[i] > best)
			best = r[i];
	cst_free(r);
	rs->reach_ms = best;
	return 0;
}

/* Drops the kept matches with t < cut, and then up to at_cut of those with t == cut. */
static void
prune(struct cst_rs *rs, int64_t cut, uint64_t at_cut)
{
	size_t i, j, k;

	for (i = 0; i < rs->n; i++) {
		struct rs_hitvec *hv = &rs->e[i].hits;

		for (j = k = 0; j < hv->n; j++) {
			if (hv->v[j]->t < cut || (hv->v[j]->t == cut && at_cut > 0)) {
				if (hv->v[j]->t == cut)
					at_cut--;
				cst__rs_hit_free(hv->v[j]);
				rs->live--;
				rs->evicted++;
			} else {
				hv->v[k++] = hv->v[j];
			}
		}
		hv->n = k;
	}
}

static int
i64_cmp(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return a < b ? -1 : a > b;
}

/* Brings the kept matches under the cap (cst_rs_set_max_kept says how). 0; CST_ENOMEM. */
static int
evict(struct cst_rs *rs)
{
	uint64_t target = rs->max_kept - rs->max_kept / 4, drop, below;
	int64_t *t;
	size_t i, j, n = 0;
	int r;

	if ((r = reach(rs)) != 0)
		return r;
	prune(rs, rs->latest - rs->reach_ms, 0);
	if (rs->live <= target)
		return 0;
	if ((t = cst_calloc((size_t)rs->live, sizeof(*t))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < rs->n; i++)
		for (j = 0; j < rs->e[i].hits.n; j++)
			t[n++] = rs->e[i].hits.v[j]->t;
	qsort(t, n, sizeof(*t), i64_cmp);
	drop = rs->live - target;
	for (below = drop - 1; below > 0 && t[below - 1] == t[drop - 1]; below--)
		;
	prune(rs, t[drop - 1], drop - below);
	cst_free(t);
	return 0;
}

/* What matching one event found, worked out from the rule set alone (cst_rs_eval). */
struct cst_rs_verdict {
	struct cst_ev_rec *kept;	/* the record as findings keep it; NULL if nothing matched */
	bool failed;			/* the event's call failed (facts of the record as read) */
	size_t n;			/* rules matched, in rule order */
	struct verdict_hit {
		size_t entry;
		char *excerpt;		/* the lifecycle-script lines it matched, or NULL */
	} *hit;
	uint64_t regex_limits, bad_scripts;
};

void
cst_rs_verdict_free(struct cst_rs_verdict *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++)
		cst_free(v->hit[i].excerpt);
	cst_free(v->hit);
	cst_ev_rec_unref(v->kept);
	cst_free(v);
}

/* Gives kept, whose tree is loaded, the brief incidents read instead. 0; CST_ENOMEM. */
static int
set_brief(struct cst_ev_rec *kept)
{
	json_t *b = cst_inc_brief(kept->json);
	int r = b != NULL ? cst_ev_rec_set_brief(kept, b) : CST_ENOMEM;

	json_decref(b);
	return r;
}

/* The verdict on ev with ctx and cand (room for rs->n + 1 candidates); see cst_rs_eval. */
static int
eval(const struct cst_rs *rs, struct cst_sigma_ctx *ctx, size_t *cand,
    const struct cst_event *ev, struct cst_rs_verdict **out)
{
	struct cst_rs_verdict *v;
	json_t *view = NULL, *rec, *nv;
	struct cst_ev_facts facts;
	uint64_t limits0 = cst_sigma_ctx_regex_limits(ctx), bad = 0;
	const char *name;
	size_t i, k;
	long nc;
	int r = 0;

	*out = NULL;
	if ((v = cst_calloc(1, sizeof(*v))) == NULL)
		return CST_ENOMEM;
	if (ev->kind == CST_EV_CASTELLAN)
		r = mapped_view(rs, ev->rec, &view);
	else if (ev->kind == CST_EV_CLOUDTRAIL)
		r = lifecycle_view(ev->rec, &view, &bad);
	rec = view ? view : ev->rec;
	/* only the rules that could match: by eventName, and those not indexed by it */
	nv = json_object_get(rec, "eventName");
	name = json_string_value(nv);
	nc = r != 0 ? 0 : cst__rs_candidates(rs, name, name ? json_string_length(nv) : 0,
	    nv != NULL, cand);
	for (k = 0; (nc < 0 ? k < rs->n : k < (size_t)nc) && r == 0; k++) {
		const struct rs_entry *e = &rs->e[i = nc < 0 ? k : cand[k]];
		struct verdict_hit *h;

		if (e->type != RS_RULE || !(e->kinds & (1u << ev->kind)) ||
		    !cst_sigma_rule_match(e->rule, ctx, rec))
			continue;
		if (v->kept == NULL) {
			if ((r = cst_ev_rec_new(rec, ev->kind, view ? NULL : ev->raw, ev->raw_len,
			    &v->kept)) != 0)
				break;
			if (view != NULL)
				cst_ev_facts(ev->rec, ev->kind, &facts);
			v->failed = view != NULL ? facts.failed : v->kept->facts.failed;
		}
		if ((h = cst_reallocarray(v->hit, v->n + 1, sizeof(*h))) == NULL) {
			r = CST_ENOMEM;
			break;
		}
		v->hit = h;
		h = &v->hit[v->n++];
		h->entry = i;
		h->excerpt = (!e->referenced || e->generated) && view &&
		    ev->kind == CST_EV_CLOUDTRAIL ? script_excerpt(e->rule, ctx, rec) : NULL;
		if (e->referenced && ev->time_ms >= 0)
			cst_ev_rec_pin(v->kept);	/* correlations will read its fields */
	}
	if (r == 0 && v->kept != NULL && v->kept->text != NULL && ev->kind == CST_EV_CLOUDTRAIL)
		r = set_brief(v->kept);
	if (v->kept != NULL)
		cst_ev_rec_unload(v->kept);	/* kept compact until a report reads it */
	json_decref(view);
	v->regex_limits = cst_sigma_ctx_regex_limits(ctx) - limits0;
	v->bad_scripts = bad;
	if (r != 0 || (v->n == 0 && v->regex_limits == 0 && v->bad_scripts == 0)) {
		cst_rs_verdict_free(v);
		return r;
	}
	*out = v;
	return 0;
}

int
cst_rs_eval(const struct cst_rs *rs, struct cst_rs_scratch *sc, const struct cst_event *ev,
    struct cst_rs_verdict **out)
{
	return eval(rs, cst__rs_scratch_ctx(sc), cst__rs_scratch_cand(sc), ev, out);
}

int
cst_rs_apply(struct cst_rs *rs, const struct cst_event *ev, struct cst_rs_verdict *v)
{
	struct rs_hit *h = NULL;
	const char *file = NULL;
	size_t k;
	int r = 0;

	if (ev->time_ms > rs->latest)
		rs->latest = ev->time_ms;
	if (v == NULL)
		return 0;
	rs->regex_limits += v->regex_limits;
	rs->bad_scripts += v->bad_scripts;
	if (v->n > 0 && (file = intern_file(rs, ev->file)) == NULL && ev->file != NULL)
		r = CST_ENOMEM;
	for (k = 0; k < v->n && r == 0; k++) {
		const struct rs_entry *e = &rs->e[v->hit[k].entry];

		if ((h = cst_calloc(1, sizeof(*h))) == NULL ||
		    (h->ev = cst_calloc(1, sizeof(*h->ev))) == NULL) {
			cst_free(h);
			r = CST_ENOMEM;
			break;
		}
		h->entry = v->hit[k].entry;
		h->t = h->first = ev->time_ms;
		h->ev[0].rec = cst_ev_rec_ref(v->kept);
		h->ev[0].kind = ev->kind;
		h->ev[0].file = file;
		h->ev[0].index = ev->index;
		h->ev[0].time_ms = ev->time_ms;
		h->n_ev = h->n_total = 1;
		h->n_failed = v->failed;
		if (!e->referenced || e->generated)
			r = cst__rs_add_finding(rs, h, NULL, v->hit[k].excerpt);
		if (r == 0 && e->referenced && ev->time_ms >= 0) {	/* pinned by eval */
			rs->kept++;
			if ((r = cst__rs_hit_push(&rs->e[h->entry].hits, h)) == 0 &&
			    ++rs->live > rs->max_kept && rs->max_kept > 0)
				r = evict(rs);
			if (rs->live > rs->peak)
				rs->peak = rs->live;
		} else {
			cst__rs_hit_free(h);
		}
	}
	cst_rs_verdict_free(v);
	return r;
}

int
cst_rs_match(struct cst_rs *rs, struct cst_sigma_ctx *ctx, const struct cst_event *ev)
{
	struct cst_rs_verdict *v;
	int r;

	if ((r = eval(rs, ctx, rs->cand, ev, &v)) != 0)
		return r;
	return cst_rs_apply(rs, ev, v);
}

int
cst_rs_correlate(struct cst_rs *rs)
{
	size_t i;
	int r;

	for (i = 0; i < rs->n_order; i++)
		if ((r = cst__rs_correlate_one(rs, rs->order[i])) != 0)
			return r;
	return 0;
}

/* ---- findings ---- */

static const struct cst_rs *sort_rs;	/* for finding_cmp: qsort has no argument */

static int
str_cmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
finding_cmp(const void *pa, const void *pb)
{
	const struct cst_finding *a = pa, *b = pb;
	const struct cst_sigma_meta *ma, *mb;
	int c;

	if (a->time_ms != b->time_ms)
		return a->time_ms < b->time_ms ? -1 : 1;
	if ((c = str_cmp0(a->ev[0].rec->facts.id, b->ev[0].rec->facts.id)) != 0)
		return c;
	ma = cst_rs_meta(sort_rs, a->rule);
	mb = cst_rs_meta(sort_rs, b->rule);
	if ((c = str_cmp0(ma->id, mb->id)) != 0)
		return c;
	if ((c = str_cmp0(ma->title, mb->title)) != 0)
		return c;
	if ((c = str_cmp0(ma->file, mb->file)) != 0)
		return c;
	if ((c = str_cmp0(a->ev[0].file, b->ev[0].file)) != 0)
		return c;
	if (a->ev[0].index != b->ev[0].index)
		return a->ev[0].index < b->ev[0].index ? -1 : 1;
	return str_cmp0(a->group, b->group);
}

size_t
cst_rs_findings(struct cst_rs *rs, const struct cst_finding **out)
{
	if (!rs->sorted && rs->n_f > 1) {
		sort_rs = rs;
		qsort(rs->f, rs->n_f, sizeof(*rs->f), finding_cmp);
	}
	rs->sorted = true;
	*out = rs->f;
	return rs->n_f;
}
