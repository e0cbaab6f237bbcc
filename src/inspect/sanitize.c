/*
 * Output sanitisation (sanitize.h): URL judgement and neutralisation.
 */
#include "inspect/sanitize.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Longest host compared with the allow-list. */
#define MAX_HOST 253

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Whether host[0..n) (lower-case) is on the list: equal to an entry, or under a "*." one. */
static bool
host_allowed(const char *host, size_t n, const struct cst_host_list *allow)
{
	size_t i;

	for (i = 0; allow != NULL && i < allow->n; i++) {
		const char *h = allow->hosts[i];
		size_t hn = strlen(h);

		if (hn > 2 && h[0] == '*' && h[1] == '.') {
			if (n > hn - 1 && memcmp(host + n - (hn - 1), h + 1, hn - 1) == 0)
				return true;	/* ".example.com" ends the host */
		} else if (hn == n && memcmp(host, h, n) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * The host of the authority starting at u[0..n) (after the scheme and its slashes): up to the
 * first '/', '\', '?' or '#', after the last '@', without a port or trailing dot; lower-cased
 * into out. False when it is empty, too long, or holds a byte a plain host cannot hold
 * (percent escapes and non-ASCII are never on an allow-list, so they are judged outside it).
 */
static bool
authority_host(const char *u, size_t n, char out[MAX_HOST + 1], size_t *out_n)
{
	size_t end = 0, start = 0, k = 0, i;

	while (end < n && u[end] != '/' && u[end] != '\\' && u[end] != '?' && u[end] != '#')
		end++;
	for (i = 0; i < end; i++)
		if (u[i] == '@')
			start = i + 1;
	i = end;
	while (i > start && isdigit((unsigned char)u[i - 1]))
		i--;
	if (i > start && u[i - 1] == ':')
		end = i - 1;
	while (end > start && u[end - 1] == '.')
		end--;
	if (end == start || end - start > MAX_HOST)
		return false;
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)u[i];

		if (!(isalnum(c) || c == '.' || c == '-' || c == '_'))
			return false;
		out[k++] = (char)tolower(c);
	}
	out[k] = '\0';
	*out_n = k;
	return true;
}

/* Whether the URL carries data: a query, a fragment, or a path beyond "/". */
static bool
carries_data(const char *u, size_t n)
{
	const char *p = u;
	size_t i;

	for (i = 0; i < n; i++)
		if (u[i] == '?' || u[i] == '#')
			return true;
	while (p < u + n && (*p == '/' || *p == '\\'))	/* the slashes after the scheme */
		p++;
	while (p < u + n && *p != '/' && *p != '\\')
		p++;
	return u + n - p > 1;
}

/* Judges the URL u[0..n). */
static bool
url_flagged(const char *u, size_t n, const struct cst_host_list *allow, uint16_t *conf)
{
	char host[MAX_HOST + 1];
	size_t i = 0, hn;

	*conf = 1000;
	if (n >= 2 && (u[0] == '/' || u[0] == '\\') && (u[1] == '/' || u[1] == '\\'))
		goto authority;		/* protocol-relative: "//host", "/\host" */
	if (n > 0 && isalpha((unsigned char)u[0]))
		for (i = 1; i < n && (isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' ||
		    u[i] == '.'); i++)
			;
	if (i == 0 || i == n || u[i] != ':') {
		/* No scheme: relative, unless a ':' comes before any '/' or '?' (an obfuscated
		 * scheme such as "&#106;avascript:", which a renderer may decode). */
		for (i = 0; i < n && u[i] != '/' && u[i] != '?'; i++)
			if (u[i] == ':')
				return true;
		return false;
	}
	if ((i == 4 && strncasecmp(u, "http", 4) == 0) || (i == 5 && strncasecmp(u, "https", 5) == 0))
		goto authority;
	if ((i == 6 && strncasecmp(u, "mailto", 6) == 0) || (i == 3 && strncasecmp(u, "tel", 3) == 0))
		return false;
	return true;	/* javascript:, vbscript:, data:, file:, unknown schemes */
authority:
	u += i + (i > 0);	/* past "scheme:" */
	n -= i + (i > 0);
	i = 0;
	while (i < n && (u[i] == '/' || u[i] == '\\'))
		i++;
	if (!authority_host(u + i, n - i, host, &hn))
		return true;
	if (host_allowed(host, hn, allow))
		return false;
	*conf = carries_data(u, n) ? 1000 : 800;
	return true;
}

/* The destination starting at s[0..n) after "](" or "]:": spaces skipped, <...> unwrapped. */
static void
destination(const char *s, size_t n, const char **u, size_t *un)
{
	size_t i = 0, j;

	while (i < n && is_space(s[i]))
		i++;
	if (i < n && s[i] == '<') {
		for (j = ++i; j < n && s[j] != '>'; j++)
			;
	} else {
		for (j = i; j < n && !is_space(s[j]) && s[j] != ')'; j++)
			;
	}
	*u = s + i;
	*un = j - i;
}

bool
cst_sanitize_url_flagged(const char *s, size_t n, const struct cst_host_list *allow,
    uint16_t *confidence)
{
	const char *u;
	size_t i, un;

	*confidence = 0;
	for (i = 0; i + 1 < n; i++)
		if (s[i] == ']' && (s[i + 1] == '(' || s[i + 1] == ':'))
			break;
	if (i + 1 >= n) {
		/* "<https://...>" (autolink) or "<a ... href=URL" (HTML anchor) */
		const char *h = n > 1 && s[1] != 'a' && s[1] != 'A' ? s + 1 : NULL;

		for (i = 0; h == NULL && i + 4 < n; i++)
			if (strncasecmp(s + i, "href", 4) == 0) {
				for (i += 4; i < n && (is_space(s[i]) || s[i] == '=' || s[i] == '"' ||
				    s[i] == '\''); i++)
					;
				h = s + i;
			}
		if (h == NULL)
			return false;
		for (un = 0; h + un < s + n && !is_space(h[un]) && h[un] != '"' && h[un] != '\'' &&
		    h[un] != '>'; un++)
			;
		return url_flagged(h, un, allow, confidence);
	}
	destination(s + i + 2, n - i - 2, &u, &un);
	return url_flagged(u, un, allow, confidence);
}

int
cst_sanitize_neutralize(const char *s, size_t n, cst_sanitize_put_fn put, void *arg)
{
	static const char *const schemes[] = { "javascript:", "vbscript:", "livescript:" };
	size_t i, from = 0, k;
	int r;

	for (i = 0; i < n; i++) {
		const char *rep = NULL;
		size_t skip = 1;

		if (s[i] == '<') {
			rep = "&lt;";
		} else if (s[i] == ']' && i + 1 < n && (s[i + 1] == '(' || s[i + 1] == ':')) {
			rep = "] ";
			skip = 1;	/* the '(' or ':' follows the space */
		} else {
			for (k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
				size_t sl = strlen(schemes[k]);

				if (n - i >= sl && strncasecmp(s + i, schemes[k], sl) == 0 &&
				    (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
					if ((r = put(arg, s + from, i - from)) != 0 ||
					    (r = put(arg, "unsafe:", 7)) != 0)
						return r;
					from = i;
					i += sl - 1;
					break;
				}
			}
			continue;
		}
		if ((r = put(arg, s + from, i - from)) != 0 ||
		    (r = put(arg, rep, strlen(rep))) != 0)
			return r;
		from = i + skip;
	}
	return put(arg, s + from, n - from);
}
