/*
 * Correlations over the matches a run kept: grouping by the group-by values (aliases
 * resolved per rule), sorting each group by time, and the sliding windows of each type. Reads
 * the kept matches, adds findings and (for chains) the correlation's own matches; never reads
 * input again and never depends on the order the matches were found in.
 */
#include "detect/ruleset_int.h"
#include "detect/sigma_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct input {
	struct rs_hit *h;
	char *key;		/* the group: its group-by values, encoded by make_input */
	char *val;		/* value_count: the field's text; NULL if absent */
	double num;		/* value_sum, value_avg: the field as a number ... */
	bool has_num;		/* ... if it is one */
	size_t ref;		/* position of the hit's rule in the correlation's rules */
	const char *id;		/* eventID of its first event (ordering) */
	bool dup;		/* the same event as the input before it: not counted twice */
};

/* The field group-by name g stands for in the events of the rule with metadata m. */
static const char *
field_for(const struct rs_entry *c, const struct cst_sigma_meta *m, const char *g)
{
	size_t i, j;

	for (i = 0; i < c->n_alias; i++) {
		if (strcmp(c->alias[i].alias, g) != 0)
			continue;
		for (j = 0; j < c->alias[i].n; j++)
			if ((m->name && strcmp(c->alias[i].rule[j], m->name) == 0) ||
			    (m->id && strcmp(c->alias[i].rule[j], m->id) == 0))
				return c->alias[i].field[j];
	}
	return g;
}

/*
 * A field of a match: a chained correlation's group-by value (JSON null when its group had
 * none), else its first event's.
 */
static json_t *
value_of(const struct rs_hit *h, const char *field)
{
	json_t *v;

	if (h->fields && (v = json_object_get(h->fields, field)) != NULL)
		return v;
	return cst__rs_get(h->ev[0].rec->json, field);
}

/*
 * The group-by value v (borrowed, NULL when the field is missing) as text in *out (owned):
 * a string, number or boolean has its text; a missing field, null, an object or an array has
 * no value (*out NULL): the events without one form a group of their own, as SQL's GROUP BY
 * groups NULL. 0; CST_ENOMEM.
 */
static int
group_value(json_t *v, char **out)
{
	*out = NULL;
	if (v == NULL || !(json_is_string(v) || json_is_number(v) || json_is_boolean(v)))
		return 0;
	return (*out = cst__rs_text(v)) != NULL ? 0 : CST_ENOMEM;
}

/* How the group text shows a group-by name without a value. */
#define GROUP_NONE "(none)"

static bool
number_of(json_t *v, double *out)
{
	const char *s;
	char *end;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out);
	}
	/* text only in the JSON number grammar, as rule matching reads numbers: no hex, no
	 * spaces, no "inf" */
	if ((s = json_string_value(v)) == NULL || !cst__sg_number_text(s))
		return false;
	*out = strtod(s, &end);
	return *end == '\0' && isfinite(*out);
}

static int
input_cmp(const void *pa, const void *pb)
{
	const struct input *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->key, b->key)) != 0)
		return c;
	if (a->h->t != b->h->t)
		return a->h->t < b->h->t ? -1 : 1;
	if ((c = strcmp(a->id ? a->id : "", b->id ? b->id : "")) != 0)
		return c;
	if (a->h->entry != b->h->entry)
		return a->h->entry < b->h->entry ? -1 : 1;
	return a->h->first < b->h->first ? -1 : a->h->first > b->h->first;
}

static bool
cond_ok(const struct rs_entry *c, double v)
{
	size_t i;

	for (i = 0; i < c->n_cmp; i++) {
		double w = c->cv[i];
		bool ok = false;

		switch (c->cmp[i]) {
		case RS_GT:
			ok = v > w;
			break;
		case RS_GTE:
			ok = v >= w;
			break;
		case RS_LT:
			ok = v < w;
			break;
		case RS_LTE:
			ok = v <= w;
			break;
		case RS_EQ:
			ok = v == w;
			break;
		case RS_NEQ:
			ok = v != w;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

static int
evref_cmp(const void *pa, const void *pb)
{
	const struct cst_evref *a = pa, *b = pb;
	int c;

	if (a->time_ms != b->time_ms)
		return a->time_ms < b->time_ms ? -1 : 1;
	if ((c = strcmp(a->file ? a->file : "", b->file ? b->file : "")) != 0)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

/*
 * Appends "g=value" ("g=(none)" for no value, group_value) for each group-by name to the group
 * text, and the value (JSON null for none) to the values object.
 */
static int
group_of(const struct rs_entry *c, const struct cst_rs *rs, const struct input *in,
    json_t *fields, char **text)
{
	size_t i, len = 0, cap = 256;
	char *out = cst_malloc(cap), *t, *nv;
	json_t *v;

	if (out == NULL)
		return CST_ENOMEM;
	out[0] = '\0';
	for (i = 0; i < c->n_group; i++) {
		const char *f = field_for(c, cst_rs_meta(rs, in->h->entry), c->group[i]);
		size_t need;

		v = value_of(in->h, f);
		if (group_value(v, &t) != 0) {
			cst_free(out);
			return CST_ENOMEM;
		}
		/* a chain sees null for a group without a value, never its first event's field */
		if (json_object_set_new(fields, c->group[i], t ? json_incref(v) : json_null()) != 0) {
			cst_free(t);
			cst_free(out);
			return CST_ENOMEM;
		}
		need = len + strlen(c->group[i]) + (t ? strlen(t) : strlen(GROUP_NONE)) + 4;
		if (need > cap) {
			cap = need * 2;
			if ((nv = cst_reallocarray(out, cap, 1)) == NULL) {
				cst_free(t);
				cst_free(out);
				return CST_ENOMEM;
			}
			out = nv;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", i ? ", " : "", c->group[i],
		    t ? t : GROUP_NONE);
		cst_free(t);
	}
	*text = out;
	return 0;
}

/* The correlation fired on the inputs sel[0..n): its match, finding and (if needed) hit. */
static int
fire(struct cst_rs *rs, size_t ci, struct input *const *sel, size_t n, double value)
{
	struct rs_entry *c = &rs->e[ci];
	struct rs_hit *h = cst_calloc(1, sizeof(*h));
	size_t i, j, cap = 0, k;
	char *group = NULL;
	int r;

	if (h == NULL)
		return CST_ENOMEM;
	h->entry = ci;
	h->value = value;
	h->t = INT64_MIN;
	h->first = INT64_MAX;
	for (i = 0; i < n; i++)
		if (!sel[i]->dup)
			cap += sel[i]->h->n_ev;
	if (cap > CST_RS_MAX_EVIDENCE)
		cap = CST_RS_MAX_EVIDENCE;
	if ((h->ev = cst_calloc(cap ? cap : 1, sizeof(*h->ev))) == NULL ||
	    (h->fields = json_object()) == NULL) {
		cst__rs_hit_free(h);
		return CST_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct rs_hit *in = sel[i]->h;

		if (in->t > h->t)
			h->t = in->t;
		if (in->first < h->first)
			h->first = in->first;
		if (sel[i]->dup)
			continue;
		h->n_total += in->n_total;
		h->n_failed += in->n_failed;
		for (j = 0; j < in->n_ev && h->n_ev < cap; j++) {
			for (k = 0; k < h->n_ev; k++)	/* an event two rules matched: once */
				if (h->ev[k].rec == in->ev[j].rec)
					break;
			if (k < h->n_ev) {
				h->n_total--;
				h->n_failed -= in->ev[j].rec->facts.failed && h->n_failed > 0;
				continue;
			}
			h->ev[h->n_ev] = in->ev[j];
			cst_ev_rec_ref(h->ev[h->n_ev++].rec);
		}
	}
	qsort(h->ev, h->n_ev, sizeof(*h->ev), evref_cmp);
	if ((r = group_of(c, rs, sel[0], h->fields, &group)) != 0) {
		cst__rs_hit_free(h);
		return r;
	}
	if (!c->referenced || c->generated)
		r = cst__rs_add_finding(rs, h, group, NULL);
	cst_free(group);
	if (r == 0 && c->referenced)
		return cst__rs_hit_push(&c->hits, h);
	cst__rs_hit_free(h);
	return r;
}

/* Distinct values of value_count: an open-addressing table of (value, count in window). */
struct vtab {
	const char **key;
	size_t *count;
	size_t cap, distinct;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static size_t *
vtab_slot(struct vtab *t, const char *k)
{
	size_t j;

	for (j = hash(k) & (t->cap - 1); t->key[j]; j = (j + 1) & (t->cap - 1))
		if (strcmp(t->key[j], k) == 0)
			return &t->count[j];
	t->key[j] = k;
	t->count[j] = 0;
	return &t->count[j];
}

/* The sliding-window state of one group. */
struct win {
	size_t count, *per_ref, distinct_refs, n_num;
	double sum;
	struct vtab vt;
};

static void
win_add(struct win *w, const struct input *in, bool add)
{
	size_t *c;

	if (in->dup)
		return;
	if (add) {
		w->count++;
		if (w->per_ref[in->ref]++ == 0)
			w->distinct_refs++;
		if (in->has_num) {
			w->sum += in->num;
			w->n_num++;
		}
		if (in->val && w->vt.cap && (*(c = vtab_slot(&w->vt, in->val)))++ == 0)
			w->vt.distinct++;
	} else {
		w->count--;
		if (--w->per_ref[in->ref] == 0)
			w->distinct_refs--;
		if (in->has_num) {
			w->sum -= in->num;
			w->n_num--;
		}
		if (in->val && w->vt.cap && --*(c = vtab_slot(&w->vt, in->val)) == 0)
			w->vt.distinct--;
	}
}

static void
win_reset(struct win *w, size_t n_refs)
{
	size_t i;

	w->count = w->distinct_refs = w->n_num = 0;
	w->sum = 0;
	for (i = 0; i < n_refs; i++)
		w->per_ref[i] = 0;
	for (i = 0; i < w->vt.cap; i++)
		w->vt.key[i] = NULL;
	w->vt.distinct = 0;
}

/* The window's figure for the correlation's condition; false if it has none (no numbers). */
static bool
win_value(const struct rs_entry *c, const struct win *w, double *out)
{
	switch (c->type) {
	case RS_EVENT_COUNT:
		*out = (double)w->count;
		return true;
	case RS_VALUE_COUNT:
		*out = (double)w->vt.distinct;
		return true;
	case RS_TEMPORAL:
		*out = (double)w->distinct_refs;
		return true;
	case RS_VALUE_SUM:
		*out = w->sum;
		return w->n_num > 0;
	case RS_VALUE_AVG:
		*out = w->n_num ? w->sum / (double)w->n_num : 0;
		return w->n_num > 0;
	default:
		return false;
	}
}

/* Every window of one group in[lo, hi) (time order) whose events meet the condition. */
static int
run_windows(struct cst_rs *rs, size_t ci, struct input *in, size_t lo, size_t hi,
    struct win *w, struct input **sel)
{
	const struct rs_entry *c = &rs->e[ci];
	size_t i = lo, j = lo, k, tested = lo;
	double v;
	int r;

	win_reset(w, c->n_refs);
	while (i < hi) {
		while (j < hi && in[j].h->t - in[i].h->t <= c->span_ms)
			win_add(w, &in[j++], true);
		/* a window that ends where the one before ended is part of it: not tested again */
		if (j > tested && win_value(c, w, &v) && cond_ok(c, v)) {
			for (k = i; k < j; k++)
				sel[k - i] = &in[k];
			if ((r = fire(rs, ci, sel, j - i, v)) != 0)
				return r;
			win_reset(w, c->n_refs);
			i = tested = j;
			continue;
		}
		tested = j;
		win_add(w, &in[i++], false);
	}
	return 0;
}

/* temporal_ordered: from each match of the first rule, the rules in order within timespan. */
static int
run_ordered(struct cst_rs *rs, size_t ci, struct input *in, size_t lo, size_t hi,
    struct input **sel)
{
	const struct rs_entry *c = &rs->e[ci];
	size_t i = lo, p, k;
	int r;

	while (i < hi) {
		if (in[i].ref != 0) {
			i++;
			continue;
		}
		sel[0] = &in[i];
		k = 1;
		for (p = i + 1; p < hi && k < c->n_refs && in[p].h->t - in[i].h->t <= c->span_ms;
		    p++)
			if (in[p].ref == k && in[p].h->ev[0].rec != sel[k - 1]->h->ev[0].rec)
				sel[k++] = &in[p];
		if (cond_ok(c, (double)k)) {
			if ((r = fire(rs, ci, sel, k, (double)k)) != 0)
				return r;
			for (p = i; p < hi && &in[p] != sel[k - 1]; p++)
				;
			i = p + 1;
			continue;
		}
		i++;
	}
	return 0;
}

/*
 * The group key of one input: for each group-by value in order, "-" when it has none
 * (group_value), else its text's length in decimal, ':' and the text. Every value is
 * delimited by its length, so no text (one holding '-', ':' or any control character
 * included) can make two different tuples of values one key, nor a value look like none.
 */
static int
make_input(struct cst_rs *rs, const struct rs_entry *c, struct rs_hit *h, size_t ref,
    struct input *in)
{
	const struct cst_sigma_meta *m = cst_rs_meta(rs, h->entry);
	size_t i, len = 0, cap = 64, tl, need;
	char *key = cst_malloc(cap), *t, *nv;
	json_t *v;

	memset(in, 0, sizeof(*in));
	if (key == NULL)
		return CST_ENOMEM;
	key[0] = '\0';
	for (i = 0; i < c->n_group; i++) {
		v = value_of(h, field_for(c, m, c->group[i]));
		if (group_value(v, &t) != 0) {
			cst_free(key);
			return CST_ENOMEM;
		}
		tl = t ? strlen(t) : 0;
		need = len + tl + 24;	/* the length's digits, ':' or '-', and the NUL */
		if (need > cap) {
			cap = need * 2;
			if ((nv = cst_reallocarray(key, cap, 1)) == NULL) {
				cst_free(t);
				cst_free(key);
				return CST_ENOMEM;
			}
			key = nv;
		}
		if (t != NULL)
			len += (size_t)snprintf(key + len, cap - len, "%zu:%s", tl, t);
		else
			len += (size_t)snprintf(key + len, cap - len, "-");
		cst_free(t);
	}
	in->key = key;
	in->h = h;
	in->ref = ref;
	in->id = h->ev[0].rec->facts.id;	/* borrowed from the record, which the hit holds */
	if (c->field) {
		v = value_of(h, field_for(c, m, c->field));
		if (v && !json_is_null(v)) {
			if (c->type == RS_VALUE_COUNT && (in->val = cst__rs_text(v)) == NULL &&
			    (json_is_string(v) || json_is_number(v) || json_is_boolean(v)))
				return CST_ENOMEM;
			if (c->type != RS_VALUE_COUNT)
				in->has_num = number_of(v, &in->num);
		}
	}
	return 0;
}

int
cst__rs_correlate_one(struct cst_rs *rs, size_t ci)
{
	const struct rs_entry *c = &rs->e[ci];
	struct input *in = NULL, **sel = NULL;
	struct win w;
	size_t n = 0, total = 0, i, j, lo;
	int r = 0;

	memset(&w, 0, sizeof(w));
	if (c->disabled)
		return 0;
	for (i = 0; i < c->n_refs; i++) {
		for (j = 0; j < i; j++)		/* a rule listed twice is read once */
			if (c->refs[j] == c->refs[i])
				break;
		if (j == i)
			total += rs->e[c->refs[i]].hits.n;
	}
	if (total == 0)
		return 0;
	if ((in = cst_calloc(total, sizeof(*in))) == NULL ||
	    (sel = cst_calloc(total, sizeof(*sel))) == NULL ||
	    (w.per_ref = cst_calloc(c->n_refs, sizeof(*w.per_ref))) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < c->n_refs && r == 0; i++) {
		const struct rs_hitvec *hv = &rs->e[c->refs[i]].hits;

		for (j = 0; j < i; j++)
			if (c->refs[j] == c->refs[i])
				break;
		for (j = (j == i ? 0 : hv->n); j < hv->n && r == 0; j++)
			if ((r = make_input(rs, c, hv->v[j], i, &in[n])) == 0)
				n++;
	}
	if (r != 0)
		goto out;
	if (c->type == RS_VALUE_COUNT) {
		for (w.vt.cap = 16; w.vt.cap < 2 * n; w.vt.cap *= 2)
			;
		w.vt.key = cst_calloc(w.vt.cap, sizeof(*w.vt.key));
		w.vt.count = cst_calloc(w.vt.cap, sizeof(*w.vt.count));
		if (w.vt.key == NULL || w.vt.count == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
	}
	qsort(in, n, sizeof(*in), input_cmp);
	for (i = 1; i < n; i++)
		in[i].dup = c->type != RS_TEMPORAL && c->type != RS_TEMPORAL_ORDERED &&
		    in[i].h->ev[0].rec == in[i - 1].h->ev[0].rec && in[i].h->n_ev == 1 &&
		    in[i - 1].h->n_ev == 1;
	for (lo = 0; lo < n && r == 0; lo = i) {
		for (i = lo + 1; i < n && strcmp(in[i].key, in[lo].key) == 0; i++)
			;
		if (c->type == RS_TEMPORAL_ORDERED)
			r = run_ordered(rs, ci, in, lo, i, sel);
		else
			r = run_windows(rs, ci, in, lo, i, &w, sel);
	}
out:
	for (i = 0; i < n; i++) {
		cst_free(in[i].key);
		cst_free(in[i].val);
	}
	cst_free(in);
	cst_free(sel);
	cst_free(w.per_ref);
	cst_free(w.vt.key);
	cst_free(w.vt.count);
	return r;
}
