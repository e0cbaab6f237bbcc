/*
 * The human detection report (report.h): one renderer for text and Markdown. Everything that
 * reaches the output other than the style's own markup goes through the style's escaper, our
 * own words included (escaping them changes nothing a reader sees), so a log field can never
 * end a line, open a link or start a heading. Commands are the only text written unescaped:
 * cst_inc_shell_quote guarantees they hold no control characters.
 */
#include "detect/report.h"

#include "core/str.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#define MAX_EVIDENCE_SHOWN 10	/* evidence lines per correlation finding */
#define MAX_TIMELINE_SHOWN 50	/* timeline lines per incident */

void
cst_rep_esc_text(FILE *o, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputs("-", o);
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			fprintf(o, "\\x%02x", *p);
		else
			putc(*p, o);
	}
}

void
cst_rep_esc_md(FILE *o, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputs("-", o);
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(o, "\\\\x%02x", *p);
		else if (*p < 0x80 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", *p) != NULL)
			fprintf(o, "\\%c", *p);
		else
			putc(*p, o);
	}
}

/* How a format writes what the renderer says. */
struct style {
	void (*esc)(FILE *o, const char *s);
	const char *pre[3];	/* starts a line: a finding, its details, its evidence */
	const char *eol;	/* ends a line inside a block */
	const char *end;	/* ends a block */
	const char *head[3];	/* starts a heading: report section, incident, incident part */
	const char *head_end;
	const char *item;	/* starts a fact of an incident ("label: value") */
	const char *strong[2];
	bool md;
};

static const struct style text_style = {
	cst_rep_esc_text, { "", "    ", "      " }, "\n", "",
	{ "\n", "", "    " }, "\n", "    ", { "", "" }, false,
};

static const struct style md_style = {
	cst_rep_esc_md, { "- ", "  ", "  " }, "  \n", "",
	{ "## ", "### ", "#### " }, "\n\n", "- ", { "**", "**" }, true,
};

struct rep {
	FILE *o;
	const struct style *st;
};

static void
put(const struct rep *r, const char *s)
{
	r->st->esc(r->o, s);
}

static void
putf(const struct rep *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(const struct rep *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(r, buf);
}

static void
put_time(const struct rep *r, int64_t ms)
{
	char t[32];

	if (ms < 0) {
		put(r, "-");
		return;
	}
	cst_time_iso((uint64_t)ms, t);
	put(r, t);
}

static void
put_attack(const struct rep *r, const struct cst_sigma_meta *m)
{
	bool first = true;
	size_t t;

	for (t = 0; t < m->n_tags; t++)
		if (strncmp(m->tags[t], "attack.", 7) == 0) {
			put(r, first ? "" : ",");
			put(r, m->tags[t] + 7);
			first = false;
		}
	if (first)
		put(r, "-");
}

static void
line(const struct rep *r, int depth)
{
	fputs(r->st->pre[depth], r->o);
}

static void
eol(const struct rep *r)
{
	fputs(r->st->eol, r->o);
}

const char *
cst_rep_outcome(const struct cst_finding *f)
{
	return f->n_failed < f->n_total ? "success" : "failure";
}

/* "TIME NAME OUTCOME (ERROR) principal=P event=ID at=FILE:INDEX" of one event. */
static void
event_line(const struct rep *r, const struct cst_evref *e)
{
	struct cst_ev_facts x;

	x = e->rec->facts;
	put_time(r, e->time_ms);
	put(r, " ");
	put(r, x.name);
	put(r, x.failed ? " failure" : " success");
	if (x.error) {
		put(r, " (");
		put(r, x.error);
		put(r, ")");
	}
	put(r, " principal=");
	put(r, x.principal);
	put(r, " event=");
	put(r, x.id);
	put(r, " at=");
	put(r, e->file);
	putf(r, ":%zu", e->index);
}

static void
finding(const struct rep *r, const struct cst_rs *rs, const struct cst_finding *f)
{
	const struct cst_sigma_meta *m = cst_rs_meta(rs, f->rule);
	const char *type = cst_rs_type(rs, f->rule);
	struct cst_ev_facts x;
	size_t k;

	line(r, 0);
	put_time(r, f->time_ms);
	putf(r, "  %s  ", m->level ? m->level : "-");
	put(r, m->title);
	put(r, " [");
	put(r, m->id ? m->id : m->name ? m->name : m->file);
	put(r, "]");
	if (f->group != NULL || strcmp(type, "rule") != 0) {
		putf(r, " (%s)", type);
		eol(r);
		line(r, 1);
		put(r, "group: ");
		put(r, f->group && *f->group ? f->group : "(all events)");
		putf(r, "  value=%g  events=%zu  outcome=%s (%zu failed)  first=", f->value,
		    f->n_total, cst_rep_outcome(f), f->n_failed);
		put_time(r, f->first_ms);
		put(r, "  attack=");
		put_attack(r, m);
		for (k = 0; k < f->n_ev && k < MAX_EVIDENCE_SHOWN; k++) {
			eol(r);
			line(r, 2);
			event_line(r, &f->ev[k]);
		}
		if (f->n_total > k) {
			eol(r);
			line(r, 2);
			putf(r, "... and %zu more", f->n_total - k);
		}
		fputs("\n", r->o);
		return;
	}
	x = f->ev[0].rec->facts;
	eol(r);
	line(r, 1);
	put(r, x.source);
	put(r, " ");
	put(r, x.name);
	putf(r, "  outcome=%s", x.failed ? "failure" : "success");
	if (x.error) {
		put(r, " (");
		put(r, x.error);
		put(r, ")");
	}
	put(r, "  principal=");
	put(r, x.principal);
	put(r, "  ip=");
	put(r, x.ip);
	eol(r);
	line(r, 1);
	put(r, "event=");
	put(r, x.id);
	put(r, "  attack=");
	put_attack(r, m);
	put(r, "  at=");
	put(r, f->ev[0].file);
	putf(r, ":%zu", f->ev[0].index);
	if (f->excerpt) {
		const char *p = f->excerpt, *nl;

		for (; p; p = nl ? nl + 1 : NULL) {
			char ln[256];
			size_t len;

			nl = strchr(p, '\n');
			len = nl ? (size_t)(nl - p) : strlen(p);
			if (len >= sizeof(ln))
				len = sizeof(ln) - 1;
			memcpy(ln, p, len);
			ln[len] = '\0';
			eol(r);
			line(r, 1);
			put(r, "script: ");
			put(r, ln);
		}
	}
	fputs("\n", r->o);
}

static const struct style *
style_of(enum cst_rep_format fmt)
{
	return fmt == CST_REP_MARKDOWN ? &md_style : &text_style;
}

void
cst_rep_findings(FILE *o, enum cst_rep_format fmt, const struct cst_rs *rs,
    const struct cst_finding *fs, size_t n)
{
	struct rep r = { o, style_of(fmt) };
	size_t i;

	if (r.st->md) {
		fputs(r.st->head[0], o);
		putf(&r, "Findings (%zu)", n);
		fputs(r.st->head_end, o);
	}
	for (i = 0; i < n; i++)
		finding(&r, rs, &fs[i]);
	if (r.st->md && n > 0)
		fputs("\n", o);
}

static void
heading(const struct rep *r, int level, const char *s)
{
	fputs(r->st->head[level], r->o);
	put(r, s);
	fputs(r->st->head_end, r->o);
}

/* "label: a, b, c" */
static void
fact_set(const struct rep *r, const char *label, const struct cst_inc_set *s)
{
	size_t i;

	fputs(r->st->item, r->o);
	fputs(r->st->strong[0], r->o);
	put(r, label);
	fputs(r->st->strong[1], r->o);
	put(r, ": ");
	for (i = 0; i < s->n; i++) {
		if (i)
			put(r, ", ");
		put(r, s->v[i]);
	}
	if (s->n == 0)
		put(r, "-");
	fputs("\n", r->o);
}

static void
fact(const struct rep *r, const char *label, const char *v)
{
	struct cst_inc_set s = { (char **)&v, v ? 1 : 0, 0 };

	fact_set(r, label, &s);
}

/* A code fence longer than any run of backticks in s. */
static void
fence(FILE *o, const char *s)
{
	size_t run = 0, best = 2, i;

	for (; *s; s++) {
		run = *s == '`' ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	for (i = 0; i <= best; i++)
		putc('`', o);
}

static void
incident(const struct rep *r, const struct cst_rs *rs, const struct cst_finding *fs,
    const struct cst_incident *in)
{
	char t[32], num[64];
	size_t i, k;

	fputs(r->st->head[1], r->o);
	put(r, in->id);
	put(r, r->st->md ? ": " : "  ");
	put(r, in->principal);
	fputs(r->st->head_end, r->o);
	fact(r, "severity", in->level);
	snprintf(num, sizeof(num), "%zu", in->n_findings);
	fact(r, "findings", num);
	if (in->first_ms >= 0)
		cst_time_iso((uint64_t)in->first_ms, t);
	fact(r, "first seen", in->first_ms >= 0 ? t : NULL);
	if (in->last_ms >= 0)
		cst_time_iso((uint64_t)in->last_ms, t);
	fact(r, "last seen", in->last_ms >= 0 ? t : NULL);
	fact_set(r, "principals", &in->principals);
	fact_set(r, "access keys", &in->keys);
	fact_set(r, "source addresses", &in->ips);
	fact_set(r, "user agents", &in->agents);
	fact_set(r, "regions", &in->regions);
	fact_set(r, "affected resources", &in->resources);
	fact_set(r, "ATT&CK tactics", &in->tactics);
	fact_set(r, "ATT&CK techniques", &in->techniques);
	if (r->st->md)
		fputs("\n", r->o);
	heading(r, 2, "Timeline");
	for (i = 0; i < in->n_timeline && i < MAX_TIMELINE_SHOWN; i++) {
		line(r, r->st->md ? 0 : 2);
		event_line(r, in->timeline[i].ev);
		put(r, " rules=");
		for (k = 0; k < in->timeline[i].n_findings; k++) {
			const struct cst_sigma_meta *m = cst_rs_meta(rs,
			    fs[in->timeline[i].findings[k]].rule);

			put(r, k ? "; " : "");
			put(r, m->title);
		}
		fputs("\n", r->o);
	}
	if (in->n_timeline > i) {
		line(r, r->st->md ? 0 : 2);
		putf(r, "... and %zu more", in->n_timeline - i);
		fputs("\n", r->o);
	}
	if (r->st->md)
		fputs("\n", r->o);
	heading(r, 2, "Analysis");
	for (i = 0; i < CST_INC_N_QUESTIONS; i++) {
		fprintf(r->o, "%s%zu. ", r->st->md ? "" : "      ", i + 1);
		fputs(r->st->strong[0], r->o);
		put(r, cst_inc_question(i));
		fputs(r->st->strong[1], r->o);
		fputs(r->st->md ? "  \n   " : "\n         ", r->o);
		put(r, in->answers[i]);
		fputs("\n", r->o);
	}
	if (r->st->md)
		fputs("\n", r->o);
	heading(r, 2, "Containment (printed, never executed)");
	for (i = 0; i < in->n_steps; i++) {
		line(r, r->st->md ? 0 : 2);
		put(r, in->steps[i].why);
		fputs("\n", r->o);
		if (in->steps[i].cmd == NULL)
			continue;
		if (r->st->md) {
			fputs("\n  ", r->o);
			fence(r->o, in->steps[i].cmd);
			fputs("sh\n  ", r->o);
			fputs(in->steps[i].cmd, r->o);
			fputs("\n  ", r->o);
			fence(r->o, in->steps[i].cmd);
			fputs("\n\n", r->o);
		} else {
			fprintf(r->o, "        %s\n", in->steps[i].cmd);
		}
	}
	if (in->n_steps == 0) {
		line(r, r->st->md ? 0 : 2);
		put(r, "none derived from these logs");
		fputs("\n", r->o);
	}
	fputs("\n", r->o);
}

void
cst_rep_incidents(FILE *o, enum cst_rep_format fmt, const struct cst_rs *rs,
    const struct cst_finding *fs, const struct cst_incidents *inc)
{
	struct rep r = { o, style_of(fmt) };
	char title[64];
	size_t i;

	if (inc->n == 0)
		return;
	snprintf(title, sizeof(title), "Incidents (%zu)", inc->n);
	heading(&r, 0, title);
	for (i = 0; i < inc->n; i++)
		incident(&r, rs, fs, &inc->v[i]);
}

/* ---- JSON ---- */

json_t *
cst_rep_json_time(int64_t ms)
{
	char t[32];

	if (ms < 0)
		return json_null();
	cst_time_iso((uint64_t)ms, t);
	return json_string(t);
}

json_t *
cst_rep_json_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

void
cst_rep_put_time(struct cst_jsonw *w, int64_t ms)
{
	char t[32];

	if (ms < 0) {
		cst_jsonw_null(w);
		return;
	}
	cst_time_iso((uint64_t)ms, t);
	cst_jsonw_str(w, t);
}

void
cst_rep_put_member(struct cst_jsonw *w, const char *key, const char *s)
{
	cst_jsonw_key(w, key);
	cst_jsonw_str(w, s);
}

static void
put_set(struct cst_jsonw *w, const char *key, const struct cst_inc_set *s)
{
	size_t i;

	cst_jsonw_key(w, key);
	cst_jsonw_open(w, '[');
	for (i = 0; i < s->n; i++)
		cst_jsonw_str(w, s->v[i]);
	cst_jsonw_close(w, ']');
}

static void
put_indices(struct cst_jsonw *w, const char *key, const size_t *v, size_t n)
{
	size_t i;

	cst_jsonw_key(w, key);
	cst_jsonw_open(w, '[');
	for (i = 0; i < n; i++)
		cst_jsonw_int(w, (int64_t)v[i]);
	cst_jsonw_close(w, ']');
}

static void
put_incident(struct cst_jsonw *w, const struct cst_incident *in)
{
	const struct cst_ev_facts *x;
	size_t i;

	cst_jsonw_open(w, '{');
	cst_rep_put_member(w, "id", in->id);
	cst_rep_put_member(w, "principal", in->principal);
	cst_rep_put_member(w, "level", in->level);
	cst_jsonw_key(w, "first_seen");
	cst_rep_put_time(w, in->first_ms);
	cst_jsonw_key(w, "last_seen");
	cst_rep_put_time(w, in->last_ms);
	put_set(w, "principals", &in->principals);
	put_set(w, "access_keys", &in->keys);
	put_set(w, "source_ips", &in->ips);
	put_set(w, "user_agents", &in->agents);
	put_set(w, "regions", &in->regions);
	put_set(w, "resources", &in->resources);
	put_set(w, "tactics", &in->tactics);
	put_set(w, "techniques", &in->techniques);
	put_indices(w, "findings", in->findings, in->n_findings);
	cst_jsonw_key(w, "timeline");
	cst_jsonw_open(w, '[');
	for (i = 0; i < in->n_timeline && cst_jsonw_error(w) == 0; i++) {
		const struct cst_evref *e = in->timeline[i].ev;

		x = &e->rec->facts;
		cst_jsonw_open(w, '{');
		cst_jsonw_key(w, "time");
		cst_rep_put_time(w, e->time_ms);
		cst_rep_put_member(w, "id", x->id);
		cst_rep_put_member(w, "event_source", x->source);
		cst_rep_put_member(w, "event_name", x->name);
		cst_rep_put_member(w, "outcome", x->failed ? "failure" : "success");
		cst_rep_put_member(w, "file", e->file);
		cst_jsonw_key(w, "index");
		cst_jsonw_int(w, (int64_t)e->index);
		put_indices(w, "findings", in->timeline[i].findings, in->timeline[i].n_findings);
		cst_jsonw_close(w, '}');
	}
	cst_jsonw_close(w, ']');
	cst_jsonw_key(w, "analysis");
	cst_jsonw_open(w, '[');
	for (i = 0; i < CST_INC_N_QUESTIONS; i++) {
		cst_jsonw_open(w, '{');
		cst_rep_put_member(w, "question", cst_inc_question(i));
		cst_rep_put_member(w, "answer", in->answers[i]);
		cst_jsonw_close(w, '}');
	}
	cst_jsonw_close(w, ']');
	cst_jsonw_key(w, "containment");
	cst_jsonw_open(w, '[');
	for (i = 0; i < in->n_steps; i++) {
		cst_jsonw_open(w, '{');
		cst_rep_put_member(w, "why", in->steps[i].why);
		cst_rep_put_member(w, "command", in->steps[i].cmd);
		cst_jsonw_close(w, '}');
	}
	cst_jsonw_close(w, ']');
	cst_jsonw_close(w, '}');
}

void
cst_rep_incidents_json(struct cst_jsonw *w, const struct cst_incidents *inc)
{
	size_t i;

	cst_jsonw_open(w, '[');
	for (i = 0; i < inc->n && cst_jsonw_error(w) == 0; i++)
		put_incident(w, &inc->v[i]);
	cst_jsonw_close(w, ']');
}
