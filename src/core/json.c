/*
 * Bounded JSON decoding. The depth pre-scan is a single pass with O(1) memory; the member
 * scanner allocates nothing.
 */
#include "core/json.h"

#include "core/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int
cst_json_check_depth(const char *data, size_t len, size_t max_depth)
{
	size_t depth = 0, i;
	int in_str = 0, esc = 0;

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case '[':
		case '{':
			if (++depth > max_depth)
				return CST_ELIMIT;
			break;
		case ']':
		case '}':
			if (depth == 0)
				return CST_EINVAL;
			depth--;
			break;
		default:
			break;
		}
	}
	return (in_str || depth != 0) ? CST_EINVAL : 0;
}

int
cst_json_decode(const char *data, size_t len, size_t max_depth, json_t **out, char *err,
    size_t err_len)
{
	json_error_t je;
	json_t *v;
	int r;

	if ((r = cst_json_check_depth(data, len, max_depth)) != 0) {
		snprintf(err, err_len, r == CST_ELIMIT ? "JSON nested deeper than %zu levels" :
		    "malformed JSON (unbalanced brackets or unterminated string)", max_depth);
		return r;
	}
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		snprintf(err, err_len, "malformed JSON at byte %d: %s", je.position, je.text);
		return CST_EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * The non-allocating scanner behind cst_json_member: recursive descent over one value, with
 * the nesting bounded by max_depth.
 */
struct scan {
	const char *p, *end;
	size_t depth, max_depth;
};

static void
scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool
scan_lit(struct scan *s, const char *lit, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	return true;
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At '"': skips the string; *body is its raw contents (escapes left as they are). */
static int
scan_string(struct scan *s, struct cst_str *body)
{
	const char *start = ++s->p;

	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;

		if (c == '"') {
			*body = cst_str_make(start, (size_t)(s->p - start));
			s->p++;
			return 0;
		}
		if (c < 0x20)
			return CST_EINVAL;
		if (c != '\\') {
			s->p++;
			continue;
		}
		if (++s->p >= s->end)
			return CST_EINVAL;
		c = (unsigned char)*s->p++;
		if (c == 'u') {
			if (s->end - s->p < 4 || !is_hex(s->p[0]) || !is_hex(s->p[1]) ||
			    !is_hex(s->p[2]) || !is_hex(s->p[3]))
				return CST_EINVAL;
			s->p += 4;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
			return CST_EINVAL;
		}
	}
	return CST_EINVAL;
}

static bool
scan_digits(struct scan *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
scan_number(struct scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!scan_digits(s))
		return CST_EINVAL;
	if (s->p < s->end && *s->p == '.' && (s->p++, !scan_digits(s)))
		return CST_EINVAL;
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!scan_digits(s))
			return CST_EINVAL;
	}
	return 0;
}

static int scan_value(struct scan *s, const char *key, struct cst_str *found, int *hits);

/*
 * At '{' or '['. When key is set (the top-level object only), a member named key (compared
 * byte for byte with the raw name) is stored in *found and counted in *hits.
 */
static int
scan_container(struct scan *s, const char *key, struct cst_str *found, int *hits)
{
	char close = *s->p == '{' ? '}' : ']';
	bool first = true;
	int r;

	if (++s->depth > s->max_depth)
		return CST_ELIMIT;
	s->p++;
	for (;;) {
		struct cst_str name = { NULL, 0 };
		const char *vstart;

		scan_ws(s);
		if (s->p >= s->end)
			return CST_EINVAL;
		if (*s->p == close && first)
			break;
		if (!first) {
			if (*s->p == close)
				break;
			if (*s->p != ',')
				return CST_EINVAL;
			s->p++;
			scan_ws(s);
		}
		first = false;
		if (close == '}') {
			if (s->p >= s->end || *s->p != '"' || (r = scan_string(s, &name)) != 0)
				return CST_EINVAL;
			scan_ws(s);
			if (s->p >= s->end || *s->p++ != ':')
				return CST_EINVAL;
			scan_ws(s);
		}
		vstart = s->p;
		if ((r = scan_value(s, NULL, NULL, NULL)) != 0)
			return r;
		if (key && cst_str_eq(name, key)) {
			*found = cst_str_make(vstart, (size_t)(s->p - vstart));
			(*hits)++;
		}
	}
	s->p++;
	s->depth--;
	return 0;
}

static int
scan_value(struct scan *s, const char *key, struct cst_str *found, int *hits)
{
	struct cst_str ignored;

	if (s->p >= s->end)
		return CST_EINVAL;
	switch (*s->p) {
	case '{':
	case '[':
		return scan_container(s, key, found, hits);
	case '"':
		return scan_string(s, &ignored);
	case 't':
		return scan_lit(s, "true", 4) ? 0 : CST_EINVAL;
	case 'f':
		return scan_lit(s, "false", 5) ? 0 : CST_EINVAL;
	case 'n':
		return scan_lit(s, "null", 4) ? 0 : CST_EINVAL;
	default:
		return scan_number(s);
	}
}

int
cst_json_member(const char *data, size_t len, size_t max_depth, const char *key,
    struct cst_str *out)
{
	struct scan s = { data, data + len, 0, max_depth };
	struct cst_str found = { NULL, 0 };
	int hits = 0, r;

	scan_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return CST_EINVAL;
	if ((r = scan_container(&s, key, &found, &hits)) != 0)
		return r;
	scan_ws(&s);
	if (s.p != s.end || hits > 1)
		return CST_EINVAL;
	if (hits == 0)
		return CST_ENOENT;
	*out = found;
	return 0;
}

json_t *
cst_json_dotted(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while ((dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_object_get(o, path);
}
