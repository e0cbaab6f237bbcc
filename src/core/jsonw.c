/*
 * The streaming JSON writer. Layout follows jansson's dump: "{" or "[", then each element on
 * its own line indented one level deeper, "," after all but the last, the closing bracket on
 * its own line at the container's level; an empty container is "{}" or "[]". Reals are
 * formatted by jansson itself so that they match it whatever its build.
 */
#include "core/jsonw.h"

#include "core/err.h"
#include "core/str.h"

#include <string.h>

void
cst_jsonw_init(struct cst_jsonw *w, FILE *o, unsigned indent)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->indent = indent >= 1 && indent <= 31 ? indent : 1;
}

int
cst_jsonw_error(const struct cst_jsonw *w)
{
	return w->err;
}

static void
fail(struct cst_jsonw *w, int err)
{
	if (w->err == 0)
		w->err = err;
}

/* Writes s[0..n). A report is written by one thread: the FILE is not locked per call. */
static void
put(struct cst_jsonw *w, const char *s, size_t n)
{
	if (w->err == 0 && n > 0 && fwrite_unlocked(s, 1, n, w->o) != n)
		fail(w, CST_EIO);
}

/* A new line indented depth levels. */
static void
newline(struct cst_jsonw *w, int depth)
{
	static const char sp[] = "\n                                                               ";
	size_t n = (size_t)depth * w->indent;

	put(w, sp, 1);
	while (n > 0) {
		size_t k = n < sizeof(sp) - 2 ? n : sizeof(sp) - 2;

		put(w, sp + 1, k);
		n -= k;
	}
}

/* What goes before a value or a key: nothing after a key or at the top, else the separator
 * and the line of the next element. */
static bool
begin(struct cst_jsonw *w)
{
	if (w->err != 0)
		return false;
	if (w->after_key) {
		w->after_key = false;
		return true;
	}
	if (w->depth > 0) {
		if (!w->empty[w->depth - 1])
			put(w, ",", 1);
		w->empty[w->depth - 1] = false;
		newline(w, w->depth);
	}
	return w->err == 0;
}

static void
string(struct cst_jsonw *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
	char seq[16];
	uint32_t cp;
	size_t n;
	int k;

	put(w, "\"", 1);
	while (p < end && w->err == 0) {
		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
		put(w, (const char *)run, (size_t)(p - run));
		if ((n = cst_utf8_decode(p, (size_t)(end - p), &cp)) == 0) {
			fail(w, CST_EINVAL);
			return;
		}
		switch (cp) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\b': put(w, "\\b", 2); break;
		case '\f': put(w, "\\f", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default:
			if (cp < 0x10000) {
				k = snprintf(seq, sizeof(seq), "\\u%04X", (unsigned)cp);
			} else {
				cp -= 0x10000;
				k = snprintf(seq, sizeof(seq), "\\u%04X\\u%04X",
				    (unsigned)(0xD800 | (cp >> 10)), (unsigned)(0xDC00 | (cp & 0x3ff)));
			}
			put(w, seq, (size_t)k);
			break;
		}
		p += n;
		run = p;
	}
	put(w, (const char *)run, (size_t)(p - run));
	put(w, "\"", 1);
}

void
cst_jsonw_open(struct cst_jsonw *w, char c)
{
	if (!begin(w))
		return;
	if (w->depth >= CST_JSONW_MAX_DEPTH) {
		fail(w, CST_ELIMIT);
		return;
	}
	put(w, c == '{' ? "{" : "[", 1);
	w->empty[w->depth++] = true;
}

void
cst_jsonw_close(struct cst_jsonw *w, char c)
{
	if (w->err != 0)
		return;
	if (w->depth == 0 || w->after_key) {
		fail(w, CST_EINVAL);
		return;
	}
	if (!w->empty[--w->depth])
		newline(w, w->depth);
	put(w, c == '}' ? "}" : "]", 1);
}

void
cst_jsonw_key(struct cst_jsonw *w, const char *k)
{
	if (!begin(w))
		return;
	string(w, k, strlen(k));
	put(w, ": ", 2);
	w->after_key = true;
}

void
cst_jsonw_str(struct cst_jsonw *w, const char *s)
{
	if (s == NULL)
		cst_jsonw_null(w);
	else if (begin(w))
		string(w, s, strlen(s));
}

void
cst_jsonw_int(struct cst_jsonw *w, int64_t v)
{
	char b[32];
	int n;

	if (begin(w)) {
		n = snprintf(b, sizeof(b), "%lld", (long long)v);
		put(w, b, (size_t)n);
	}
}

void
cst_jsonw_real(struct cst_jsonw *w, double v)
{
	json_t *r;
	char b[128];
	size_t n;

	if (!begin(w))
		return;
	if ((r = json_real(v)) == NULL) {
		fail(w, CST_EINVAL);	/* jansson refuses NaN and infinities */
		return;
	}
	n = json_dumpb(r, b, sizeof(b), JSON_ENCODE_ANY);
	json_decref(r);
	if (n == 0 || n > sizeof(b))
		fail(w, CST_EINVAL);
	else
		put(w, b, n);
}

void
cst_jsonw_bool(struct cst_jsonw *w, bool v)
{
	if (begin(w))
		put(w, v ? "true" : "false", v ? 4 : 5);
}

void
cst_jsonw_null(struct cst_jsonw *w)
{
	if (begin(w))
		put(w, "null", 4);
}

void
cst_jsonw_value(struct cst_jsonw *w, const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT:
		cst_jsonw_open(w, '{');
		json_object_foreach((json_t *)v, key, m) {
			if (w->err != 0)
				return;
			cst_jsonw_key(w, key);
			cst_jsonw_value(w, m);
		}
		cst_jsonw_close(w, '}');
		break;
	case JSON_ARRAY:
		cst_jsonw_open(w, '[');
		for (i = 0; i < json_array_size(v) && w->err == 0; i++)
			cst_jsonw_value(w, json_array_get(v, i));
		cst_jsonw_close(w, ']');
		break;
	case JSON_STRING:
		if (begin(w))
			string(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		cst_jsonw_int(w, (int64_t)json_integer_value(v));
		break;
	case JSON_REAL:
		cst_jsonw_real(w, json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		cst_jsonw_bool(w, json_is_true(v));
		break;
	case JSON_NULL:
		if (v == NULL)
			fail(w, CST_EINVAL);
		else
			cst_jsonw_null(w);
		break;
	}
}
