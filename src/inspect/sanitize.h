/*
 * Output sanitisation against exfiltration and injection into the caller's UI: the rules of
 * category "exfil" find markdown images, links and reference definitions, active HTML tags,
 * event-handler attributes and script URLs in a model's answer; this module decides whether a
 * markdown URL points outside the policy's host allow-list and rewrites a finding so that no
 * renderer acts on it. Internal to src/inspect/.
 */
#ifndef CST_INSPECT_SANITIZE_H
#define CST_INSPECT_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hosts a markdown image or link may point to: "example.com" or "*.example.com". */
struct cst_host_list {
	char **hosts;		/* lower-case, without a trailing dot */
	size_t n;
};

/*
 * Judges the URL in s[0..n), the span an exfil rule matched: "](URL" (a markdown image or
 * link), "]: URL" (a reference definition), "<URL>" (an autolink) or "<a ... href=URL" (an
 * HTML anchor). True when it must be reported: its scheme is other than http, https, mailto
 * and tel (javascript:, vbscript:, data:, file: ...), or it names a host outside allow (also
 * protocol-relative "//host"); *confidence is then 1000, or 800 for an outside host when the
 * URL carries no data (no query, fragment or path beyond "/"). Relative URLs are allowed:
 * they reach no third party.
 */
bool cst_sanitize_url_flagged(const char *s, size_t n, const struct cst_host_list *allow,
    uint16_t *confidence);

/* Writes n bytes; 0 or an error code that the caller passes on. */
typedef int (*cst_sanitize_put_fn)(void *arg, const char *s, size_t n);

/*
 * Writes the neutralised form of s[0..n): what renders as text, never as an element. Every
 * '<' becomes "&lt;" (no tag, attribute or event handler is parsed), "](" becomes "] (" and
 * "]:" becomes "] :" (no inline link, image or reference definition in CommonMark), and a
 * script scheme (javascript:, vbscript:, livescript:) gets the prefix "unsafe:".
 */
int cst_sanitize_neutralize(const char *s, size_t n, cst_sanitize_put_fn put, void *arg);

#endif
