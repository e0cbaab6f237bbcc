/*
 * libFuzzer target for a streamed answer's output inspection (src/gateway/stage_inspect_out.c)
 * with a policy that redacts PII and secrets and blocks the denied phrase "project nightjar".
 * The first byte chooses the route (even: chat, odd: completions); the rest is the stream's
 * data events, one per line, each decoded as the gateway does and passed in order, then the
 * flush. Every event sent must be JSON, and none of the texts it releases (a choice's content,
 * its parts, refusal, reasoning, tool-call name and arguments, logprobs tokens; every string
 * of an event that is not a completion chunk but its metadata) may hold the denied phrase as
 * a whole phrase: a text holding it is blocked before any of it leaves. Nothing is sent after
 * a block. A violated invariant calls abort(). This file must never leak or keep state
 * between inputs.
 */
#include "core/err.h"
#include "core/json.h"
#include "../fuzz_check.h"
#include "gateway/gateway_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CONFIG[] =
	"listen:\n"
	"  tls:\n"
	"    enabled: false\n"
	"admin:\n"
	"  port: 0\n"
	"upstreams:\n"
	"  - name: u\n"
	"    url: http://127.0.0.1:8081\n"
	"models:\n"
	"  - name: m\n"
	"    upstream: u\n"
	"limits:\n"
	"  response_bytes: 8192\n"
	"inspection:\n"
	"  output:\n"
	"    pii: { action: redact }\n"
	"    secrets: { action: redact }\n"
	"    denied:\n"
	"      action: block\n"
	"      words: [\"project nightjar\"]\n";

static struct cst_config *cfg;
static struct cst_gateway gw;
static struct cst_worker worker;

static void
setup(void)
{
	char err[256];

	if (cfg != NULL)
		return;
	if (cst_config_parse(CONFIG, sizeof(CONFIG) - 1, ".", &cfg, err, sizeof(err)) != 0 ||
	    cst_config_prepare(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "inspect_out: the configuration: %s\n", err);
		abort();
	}
	check((gw.metrics = cst_metrics_new()) != NULL);
	worker.gw = &gw;
}

/* Whether byte c may be part of a word (the rule's \\w; any non-ASCII byte counts). */
static bool
wordish(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* Whether s holds the denied phrase, case-blind, between bytes that are not wordish. */
static bool
denied(const char *s, size_t n)
{
	static const char w[] = "project nightjar";
	const size_t wn = sizeof(w) - 1;
	size_t i;

	for (i = 0; n >= wn && i <= n - wn; i++)
		if (strncasecmp(s + i, w, wn) == 0 && (i == 0 || !wordish((unsigned char)s[i - 1])) &&
		    (i + wn == n || !wordish((unsigned char)s[i + wn])))
			return true;
	return false;
}

static void
check_text(json_t *v)
{
	if (json_is_string(v))
		check(!denied(json_string_value(v), json_string_length(v)));
}

/* Every string in v, at any depth. */
static void
check_strings(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	check_text(v);
	json_object_foreach(v, k, e)
		check_strings(e);
	json_array_foreach(v, i, e)
		check_strings(e);
}

static void
check_call(json_t *fn)
{
	check_text(json_object_get(fn, "name"));
	check_text(json_object_get(fn, "arguments"));
}

/* The texts one choice of a sent completion chunk releases. */
static void
check_choice(json_t *ch)
{
	static const char *const keys[] = { "content", "refusal", "reasoning_content",
		"reasoning" };
	json_t *d = json_object_get(ch, "delta"), *lp = json_object_get(ch, "logprobs"), *e, *q;
	size_t i, j;

	check_text(json_object_get(ch, "text"));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		check_text(json_object_get(d, keys[i]));
	json_array_foreach(json_object_get(d, "content"), i, e) {
		check_text(json_object_get(e, "text"));
		check_text(json_object_get(e, "refusal"));
		json_array_foreach(json_object_get(e, "thinking"), j, q)
			check_text(json_object_get(q, "text"));
	}
	json_array_foreach(json_object_get(d, "tool_calls"), i, e)
		check_call(json_object_get(e, "function"));
	check_call(json_object_get(d, "function_call"));
	json_array_foreach(json_object_get(lp, "content"), i, e)
		check_text(json_object_get(e, "token"));
	json_array_foreach(json_object_get(lp, "tokens"), i, e)
		check_text(e);
}

/* The data of one event sent: JSON whose texts are clean. */
static void
check_data(const char *d, size_t n)
{
	json_t *root, *choices, *ch;
	json_error_t je;
	const char *k;
	size_t i;

	root = json_loadb(d, n, 0, &je);
	check(root != NULL);
	choices = json_object_get(root, "choices");
	if (json_is_array(choices) && json_array_size(choices) > 0) {
		json_array_foreach(choices, i, ch)
			check_choice(ch);
	} else {
		json_object_foreach(root, k, ch)
			if (strcmp(k, "id") != 0 && strcmp(k, "object") != 0 &&
			    strcmp(k, "model") != 0 && strcmp(k, "created") != 0 &&
			    strcmp(k, "system_fingerprint") != 0 &&
			    strcmp(k, "service_tier") != 0 && strcmp(k, "usage") != 0)
				check_strings(ch);
	}
	json_decref(root);
}

/* The events the stage wrote into t->ev_out (one, or the held text and a usage event): each
 * ends with a blank line, and its data line, if any, is checked. */
static void
check_sent(struct cst_txn *t)
{
	const char *p = t->ev_out.p, *end = p + t->ev_out.len, *e, *line, *nl;

	check(p != NULL && t->ev_out.len >= 2);
	for (; p < end; p = e + 2) {
		e = memmem(p, (size_t)(end - p), "\n\n", 2);
		check(e != NULL);
		for (line = p; line <= e; line = nl + 1) {
			nl = memchr(line, '\n', (size_t)(e + 1 - line));
			if (e - line >= 6 && memcmp(line, "data: ", 6) == 0)
				check_data(line + 6, (size_t)(nl - line - 6));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_txn t;
	const char *p, *end, *nl;
	bool blocked = false;

	setup();
	if (size < 1)
		return 0;
	memset(&t, 0, sizeof(t));
	t.cfg = cfg;
	t.w = &worker;
	t.route = data[0] % 2 == 0 ? CST_ROUTE_CHAT : CST_ROUTE_COMPLETIONS;
	t.model = cst_config_model(cfg, "m", 1);
	cst_buf_init(&t.decisions, 16384);
	cst_buf_init(&t.content_out, 65536);
	cst_buf_init(&t.ev_out, cfg->limits.event_bytes * 4 + 65536);
	cst__inspect_out_stream_start(&t);
	check(t.ostream != NULL);

	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (; p < end && !blocked; p = nl + 1) {
		struct cst_sse_event ev;
		enum cst_out_verdict v;
		json_t *root;
		char err[128];

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (cst_json_decode(p, (size_t)(nl - p), 64, &root, err, sizeof(err)) != 0)
			continue;	/* the gateway blocks it before this stage */
		memset(&ev, 0, sizeof(ev));
		ev.data = cst_str_make(p, (size_t)(nl - p));
		ev.has_data = true;
		cst_buf_reset(&t.ev_out);
		v = cst__inspect_out_event(&t, &ev, root);
		json_decref(root);
		check(v != CST_OUT_FORWARD);
		if (v == CST_OUT_REWRITTEN)
			check_sent(&t);
		blocked = v == CST_OUT_BLOCK;
	}
	if (!blocked) {
		cst_buf_reset(&t.ev_out);
		if (cst__inspect_out_flush(&t) == CST_OUT_REWRITTEN)
			check_sent(&t);
	}
	cst__inspect_out_free(&t);
	cst_buf_free(&t.decisions);
	cst_buf_free(&t.content_out);
	cst_buf_free(&t.ev_out);
	return 0;
}
