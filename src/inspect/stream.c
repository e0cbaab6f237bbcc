/*
 * Streamed inspection (stream.h).
 */
#include "inspect/stream.h"

#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

/* Release granularity: a piece is rescanned once this many bytes wait beyond the window. */
#define STEP 32
/* Openers further back than this cannot start a match of the exfil rules (their bounds). */
#define OPENER_REACH (16 * 1024)

struct cst_insp_stream {
	enum cst_insp_dir d;
	struct cst_insp_stream_conf conf;
	char *text;		/* released context (tail bytes), then the held bytes */
	size_t len, cap;
	size_t tail;		/* bytes of text already released */
	uint64_t base;		/* stream offset of text[0] */
	uint64_t stuck;		/* stream offset of the end of the last scan, when it released
				 * nothing (a long word held), else 0 */
	struct cst_insp_finding *found;	/* decided by the last feed */
	size_t n_found, found_cap;
	char *rel;		/* the released text of the last feed */
	size_t rel_cap;
	char *logt;		/* its log copy */
	size_t logt_cap;
	bool log_copy;
	bool blocked, ended, complete, hidden_seen;
	enum cst_insp_cat block_cat;
};

int
cst_insp_stream_new(const struct cst_insp_policy *p, enum cst_insp_dir d, bool log_copy,
    struct cst_insp_stream **out)
{
	struct cst_insp_stream *s = cst_calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return CST_ENOMEM;
	s->d = d;
	cst_insp_policy_stream(p, d, &s->conf);
	s->complete = true;
	s->log_copy = log_copy;
	*out = s;
	return 0;
}

void
cst_insp_stream_free(struct cst_insp_stream *s)
{
	if (s == NULL)
		return;
	cst_freezero(s->text, s->cap);
	cst_freezero(s->rel, s->rel_cap);
	cst_freezero(s->logt, s->logt_cap);
	cst_free(s->found);
	cst_free(s);
}

size_t
cst_insp_stream_held(const struct cst_insp_stream *s)
{
	return s->len - s->tail;
}

static int
grow(char **p, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 1024;
	char *g;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((g = cst_malloc(c)) == NULL)
		return CST_ENOMEM;
	if (*p != NULL)
		memcpy(g, *p, *cap);
	cst_freezero(*p, *cap);	/* the text may be sensitive: no stale copy */
	*p = g;
	*cap = c;
	return 0;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Last index of ch in t[from..len), or SIZE_MAX. */
static size_t
last_of(const char *t, size_t from, size_t len, char ch)
{
	size_t i = len;

	while (i > from)
		if (t[--i] == ch)
			return i;
	return SIZE_MAX;
}

/*
 * Moves cut back to the earliest markup opener in [lo, cut) that is not closed before len:
 * '<' starting a tag, '[' without ']', "](" without ')', "]:" without a line end.
 */
static size_t
hold_openers(const char *t, size_t lo, size_t cut, size_t len)
{
	size_t gt = last_of(t, lo, len, '>'), rb = last_of(t, lo, len, ']');
	size_t rp = last_of(t, lo, len, ')'), nl = last_of(t, lo, len, '\n'), i;

	if (cut > lo + OPENER_REACH)
		lo = cut - OPENER_REACH;
	for (i = lo; i < cut; i++) {
		char c = t[i], n = i + 1 < len ? t[i + 1] : '\0';

		if (c == '<' && (i + 1 == len || is_alpha(n) || n == '/') &&
		    (gt == SIZE_MAX || gt < i))
			return i;
		if (c == '[' && (rb == SIZE_MAX || rb < i))
			return i;
		if (c == ']' && (i + 1 == len || (n == '(' && (rp == SIZE_MAX || rp < i)) ||
		    (n == ':' && (nl == SIZE_MAX || nl < i))))
			return i;
	}
	return cut;
}

static int
keep_found(struct cst_insp_stream *s, const struct cst_insp_finding *f)
{
	if (s->n_found == s->found_cap) {
		size_t cap = s->found_cap ? s->found_cap * 2 : 16;
		struct cst_insp_finding *g = cst_reallocarray(s->found, cap, sizeof(*g));

		if (g == NULL)
			return CST_ENOMEM;
		s->found = g;
		s->found_cap = cap;
	}
	s->found[s->n_found] = *f;
	s->found[s->n_found].start += s->base;
	s->found[s->n_found].end += s->base;
	s->n_found++;
	return 0;
}

/* Whether f is the whole-text signal of hidden characters (no span to hold or rewrite). */
static bool
whole_text(const struct cst_insp_finding *f)
{
	return f->cat == CST_INSP_SMUGGLING;
}

static void
set_blocked(struct cst_insp_stream *s, enum cst_insp_cat cat)
{
	if (!s->blocked) {
		s->blocked = true;
		s->block_cat = cat;
	}
}

/* Fills out from the stream's state (text empty) and returns r. */
static int
report(struct cst_insp_stream *s, struct cst_insp_stream_out *out, int r)
{
	out->findings = s->found;
	out->n_findings = s->n_found;
	out->blocked = s->blocked;
	out->block_cat = s->block_cat;
	out->complete = s->complete;
	if (s->blocked) {
		out->text = "";
		out->len = 0;
	}
	return r;
}

/* Rewrites text[tail..cut) into rel (and its all-redacted copy into logt). */
static int
release(struct cst_insp_stream *s, struct cst_insp_ctx *c, size_t cut,
    struct cst_insp_finding *apply, size_t n_apply, struct cst_insp_stream_out *out)
{
	const char *t;
	size_t n, i;
	int r;

	if ((r = cst_insp_rewrite(c, s->text + s->tail, cut - s->tail, apply, n_apply, &t,
	    &n)) != 0 || (r = grow(&s->rel, &s->rel_cap, n + 1)) != 0)
		return r;
	memcpy(s->rel, t, n);
	out->text = s->rel;
	out->len = n;
	if (!s->log_copy)
		return 0;
	for (i = 0; i < n_apply; i++)
		apply[i].action = CST_INSP_REDACT;
	if ((r = cst_insp_rewrite(c, s->text + s->tail, cut - s->tail, apply, n_apply, &t,
	    &n)) != 0 || (r = grow(&s->logt, &s->logt_cap, n + 1)) != 0)
		return r;
	memcpy(s->logt, t, n);
	out->log_text = s->logt;
	out->log_len = n;
	return 0;
}

int
cst_insp_stream_feed(struct cst_insp_stream *s, struct cst_insp_ctx *c, const char *text,
    size_t n, enum cst_insp_feed mode, struct cst_insp_stream_out *out)
{
	struct cst_insp_result res;
	struct cst_insp_finding *apply = NULL;
	size_t cut, i, n_apply = 0, keep;
	bool changed, final = mode != CST_INSP_MORE;	/* release all */
	int r;

	memset(out, 0, sizeof(*out));
	out->text = "";
	s->n_found = 0;
	if (s->blocked || s->ended)
		return report(s, out, 0);
	if (n > 0 || s->text == NULL) {	/* the buffer exists even for an empty stream */
		if (s->len + n < n || (r = grow(&s->text, &s->cap, s->len + n + 1)) != 0) {
			set_blocked(s, CST_INSP_N_CAT);
			return report(s, out, CST_ENOMEM);
		}
		if (n > 0)
			memcpy(s->text + s->len, text, n);
		s->len += n;
	}
	if ((!final && s->len - s->tail < s->conf.window + STEP) ||
	    (mode == CST_INSP_FLUSH && s->len == s->tail))
		return report(s, out, 0);
	/* while the last scan released nothing, the next waits for half as much again, so a
	 * long word fed byte by byte costs linear time, not quadratic (up to max_hold) */
	if (!final && s->stuck > 0 && s->len - s->tail <= s->conf.max_hold &&
	    s->base + s->len - s->stuck < (s->len - s->tail) / 2)
		return report(s, out, 0);
	if ((r = cst_insp_scan(c, s->d, s->text, s->len, &res)) != 0) {
		set_blocked(s, CST_INSP_N_CAT);
		return report(s, out, r);
	}
	if (!res.complete)
		s->complete = false;
	/* The edge: the window, then the word and the markup it falls in, then findings. */
	cut = s->len;
	if (!final) {
		cut = s->len - s->conf.window;
		if (!is_space(s->text[cut]))
			while (cut > s->tail && !is_space(s->text[cut - 1]))
				cut--;
		cut = hold_openers(s->text, s->tail, cut, s->len);
	}
	do {
		changed = false;
		for (i = 0; i < res.n_findings; i++) {
			const struct cst_insp_finding *f = &res.findings[i];

			if (!whole_text(f) && f->end > s->tail && f->start < cut && f->end > cut) {
				cut = f->start > s->tail ? f->start : s->tail;
				changed = true;
			}
		}
	} while (changed);
	s->stuck = !final && cut == s->tail ? s->base + s->len : 0;
	if (!final && cut == s->tail && s->len - s->tail > s->conf.max_hold) {
		s->complete = false;
		if (s->conf.fail_closed) {
			set_blocked(s, CST_INSP_N_CAT);
			return report(s, out, 0);
		}
		cut = s->len - s->conf.window;	/* released beyond the window unexamined */
	}
	if (!res.complete && s->conf.fail_closed) {
		set_blocked(s, CST_INSP_N_CAT);
		return report(s, out, 0);
	}
	/* Decide the findings that end in the released part; apply them from the tail on. */
	if (res.n_findings > 0 && (apply = cst_calloc(res.n_findings, sizeof(*apply))) == NULL) {
		set_blocked(s, CST_INSP_N_CAT);
		return report(s, out, CST_ENOMEM);
	}
	for (i = 0; i < res.n_findings; i++) {
		struct cst_insp_finding f = res.findings[i];

		if (whole_text(&f)) {
			if (f.action == CST_INSP_BLOCK)
				set_blocked(s, f.cat);
			if (s->hidden_seen)
				continue;
			s->hidden_seen = true;
			f.action = f.action == CST_INSP_BLOCK ? f.action : CST_INSP_LOG;
		} else if (f.end <= s->tail || f.end > cut) {
			continue;	/* decided before, or not yet */
		}
		/* begun in text already released (after a flush, or longer than the window): its
		 * start went out before it could be decided, so no rewrite can undo it */
		if (f.action == CST_INSP_BLOCK || (!whole_text(&f) && f.start < s->tail &&
		    f.action != CST_INSP_LOG))
			set_blocked(s, f.cat);
		if ((r = keep_found(s, &f)) != 0) {
			cst_free(apply);
			set_blocked(s, CST_INSP_N_CAT);
			return report(s, out, r);
		}
		if (whole_text(&f))
			continue;
		f.start = f.start > s->tail ? f.start - s->tail : 0;
		f.end -= s->tail;
		apply[n_apply++] = f;
	}
	if (s->blocked) {
		cst_free(apply);
		return report(s, out, 0);
	}
	r = release(s, c, cut, apply, n_apply, out);
	cst_free(apply);
	if (r != 0) {
		set_blocked(s, CST_INSP_N_CAT);
		return report(s, out, r);
	}
	/* Keep up to a window of released text as the next scan's context. */
	keep = cut < s->conf.window ? cut : s->conf.window;
	memmove(s->text, s->text + cut - keep, s->len - (cut - keep));
	s->base += cut - keep;
	s->len -= cut - keep;
	s->tail = keep;
	if (mode == CST_INSP_FINAL)
		s->ended = true;
	return report(s, out, 0);
}
