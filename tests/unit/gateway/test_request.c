/*
 * Unit tests for src/gateway/request.c: route matching, then request bodies decoded and
 * validated (table-driven over valid chat, completions and embeddings bodies with every field
 * the gateway reads, and over invalid bodies with the exact code and client message, *out
 * left alone), the parameter policy (extraction parameters stripped, rejected or allowed;
 * max_tokens injected, clamped or rejected; the upstream model name; include_usage for
 * streams), the prompt estimate, the ceilings of what a request is charged, and the
 * re-encoded body, compared with json_equal to the expected JSON. Behaviour follows docs/configuration.md section 4. These tests must never
 * pass on a stub.
 */
#include "../check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "gateway/request.h"

static struct cst_request_limits
limits(void)
{
	struct cst_request_limits l;

	memset(&l, 0, sizeof(l));
	l.json_depth = 8;
	l.messages = 4;
	return l;
}

/* Decodes from an exact-size heap copy, so a read past the body is caught. */
static int
decode(enum cst_route route, const char *body, const struct cst_request_limits *lim,
    struct cst_model_request *out, char *err, size_t err_len)
{
	size_t n = strlen(body);
	char *p = exact(body, n);
	int r = cst_request_decode(route, p, n, lim, out, err, err_len);

	free(p);
	return r;
}

/* The re-encoded body equals the JSON text want. */
static void
check_body(const char *name, const struct cst_model_request *r, const char *want)
{
	struct cst_buf b;
	json_error_t je;
	json_t *got, *w;

	cst_buf_init(&b, 1 << 20);
	CHECK_INT(name, cst_request_encode(r, &b), 0);
	got = json_loadb(b.p, b.len, 0, &je);
	w = json_loads(want, 0, &je);
	CHECK(name, w != NULL);
	if (got == NULL || !json_equal(got, w)) {
		print_error("case \"%s\": body %s, want %s\n", name, b.p, want);
		json_decref(got);
		json_decref(w);
		cst_buf_free(&b);
		fail();
	}
	/* Compact: no whitespace between tokens. */
	CHECK(name, strstr(b.p, "\": ") == NULL && strstr(b.p, ", \"") == NULL);
	json_decref(got);
	json_decref(w);
	cst_buf_free(&b);
}

/* ---- routes ------------------------------------------------------------------------ */

struct route_case {
	const char *method;
	const char *target;
	enum cst_route want;
};

static const struct route_case route_cases[] = {
	{ "POST", "/v1/chat/completions", CST_ROUTE_CHAT },
	{ "POST", "/v1/chat/completions?api-version=1", CST_ROUTE_CHAT },
	{ "POST", "/v1/completions", CST_ROUTE_COMPLETIONS },
	{ "POST", "/v1/embeddings", CST_ROUTE_EMBEDDINGS },
	{ "POST", "/v1/tokens", CST_ROUTE_TOKENS },
	{ "GET", "/v1/models", CST_ROUTE_MODELS },
	{ "GET", "/v1/models?", CST_ROUTE_MODELS },
	{ "GET", "/v1/chat/completions", CST_ROUTE_NONE },
	{ "POST", "/v1/models", CST_ROUTE_NONE },
	{ "GET", "/v1/tokens", CST_ROUTE_NONE },
	{ "post", "/v1/chat/completions", CST_ROUTE_NONE },
	{ "PUT", "/v1/chat/completions", CST_ROUTE_NONE },
	{ "POST", "/v1/chat/completions/", CST_ROUTE_NONE },
	{ "POST", "/V1/chat/completions", CST_ROUTE_NONE },
	{ "POST", "/v1/chat/completion", CST_ROUTE_NONE },
	{ "POST", "//v1/chat/completions", CST_ROUTE_NONE },
	{ "POST", "/v1/chat/completions#x", CST_ROUTE_NONE },
	{ "POST", "/v1/chat/../chat/completions", CST_ROUTE_NONE },
	{ "POST", "http://h/v1/chat/completions", CST_ROUTE_NONE },
	{ "POST", "", CST_ROUTE_NONE },
	{ "POST", "?/v1/chat/completions", CST_ROUTE_NONE },
	{ "", "/v1/models", CST_ROUTE_NONE },
};

static void
test_routes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(route_cases); i++) {
		const struct route_case *c = &route_cases[i];
		size_t n = strlen(c->target);
		char *t = exact(c->target, n);
		char name[96];

		snprintf(name, sizeof(name), "%s %s", c->method, c->target);
		CHECK_INT(name, cst_route_match(cst_str_make(c->method, strlen(c->method)),
		    cst_str_make(t, n)), c->want);
		free(t);
	}
	assert_string_equal(cst_route_name(CST_ROUTE_CHAT), "chat.completions");
	assert_string_equal(cst_route_name(CST_ROUTE_COMPLETIONS), "completions");
	assert_string_equal(cst_route_name(CST_ROUTE_EMBEDDINGS), "embeddings");
	assert_string_equal(cst_route_name(CST_ROUTE_MODELS), "models");
	assert_string_equal(cst_route_name(CST_ROUTE_TOKENS), "tokens");
	assert_string_equal(cst_route_name(CST_ROUTE_NONE), "none");
	assert_string_equal(cst_route_upstream_path(CST_ROUTE_CHAT), "/chat/completions");
	assert_string_equal(cst_route_upstream_path(CST_ROUTE_COMPLETIONS), "/completions");
	assert_string_equal(cst_route_upstream_path(CST_ROUTE_EMBEDDINGS), "/embeddings");
}

/* ---- decode: valid bodies ---------------------------------------------------------- */

struct ok_case {
	const char *name;
	enum cst_route route;
	const char *body;
	const char *model;
	bool stream, wants_usage, has_max;
	int64_t max_tokens;
	size_t n_messages;
	uint64_t prompt_bytes;
	unsigned xp;
};

#define CHAT CST_ROUTE_CHAT
#define COMP CST_ROUTE_COMPLETIONS
#define EMB CST_ROUTE_EMBEDDINGS
#define U1 "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"

static const struct ok_case ok_cases[] = {
	{ "minimal chat", CHAT, "{\"model\":\"m\"," U1 "}", "m", false, false, false, 0, 1, 5, 0 },
	{ "content parts", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
	  "{\"type\":\"text\",\"text\":\"ab\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
	  "\"data:x\"}},{\"type\":\"text\",\"text\":\"cde\"}]}]}", "m", false, false, false, 0, 1,
	  5, 0 },
	{ "every role, null content", CHAT, "{\"model\":\"m\",\"messages\":["
	  "{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"developer\",\"content\":\"d\"},"
	  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]},"
	  "{\"role\":\"tool\",\"content\":\"tt\",\"tool_call_id\":\"x\"}]}", "m", false, false,
	  false, 0, 4, 4, 0 },
	{ "function role, no content", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"function\","
	  "\"name\":\"f\"}]}", "m", false, false, false, 0, 1, 0, 0 },
	{ "UTF-8 bytes counted", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	  "\"content\":\"\\u00e9\\ud83d\\ude00\"}]}", "m", false, false, false, 0, 1, 6, 0 },
	{ "max_tokens", CHAT, "{\"model\":\"m\"," U1 ",\"max_tokens\":100}", "m", false, false,
	  true, 100, 1, 5, 0 },
	{ "max_completion_tokens", CHAT, "{\"model\":\"m\"," U1 ",\"max_completion_tokens\":50}",
	  "m", false, false, true, 50, 1, 5, 0 },
	{ "both: max_tokens wins", CHAT, "{\"model\":\"m\",\"max_tokens\":100," U1
	  ",\"max_completion_tokens\":50}", "m", false, false, true, 100, 1, 5, 0 },
	{ "null max_tokens", CHAT, "{\"model\":\"m\"," U1 ",\"max_tokens\":null}", "m", false,
	  false, false, 0, 1, 5, 0 },
	{ "stream with usage", CHAT, "{\"model\":\"m\"," U1 ",\"stream\":true,\"stream_options\":"
	  "{\"include_usage\":true}}", "m", true, true, false, 0, 1, 5, 0 },
	{ "stream without usage", CHAT, "{\"model\":\"m\"," U1 ",\"stream\":true,"
	  "\"stream_options\":{\"include_usage\":false}}", "m", true, false, false, 0, 1, 5, 0 },
	{ "stream options empty", CHAT, "{\"model\":\"m\"," U1 ",\"stream\":true,"
	  "\"stream_options\":{}}", "m", true, false, false, 0, 1, 5, 0 },
	{ "stream false", CHAT, "{\"model\":\"m\"," U1 ",\"stream\":false}", "m", false, false,
	  false, 0, 1, 5, 0 },
	{ "stream null", CHAT, "{\"model\":\"m\"," U1 ",\"stream\":null,\"stream_options\":null}",
	  "m", false, false, false, 0, 1, 5, 0 },
	{ "logprobs true", CHAT, "{\"model\":\"m\"," U1 ",\"logprobs\":true}", "m", false, false,
	  false, 0, 1, 5, CST_XP_LOGPROBS },
	{ "logprobs false asks nothing", CHAT, "{\"model\":\"m\"," U1 ",\"logprobs\":false}", "m",
	  false, false, false, 0, 1, 5, 0 },
	{ "logprobs null", CHAT, "{\"model\":\"m\"," U1 ",\"logprobs\":null}", "m", false, false,
	  false, 0, 1, 5, 0 },
	{ "top_logprobs 0", CHAT, "{\"model\":\"m\"," U1 ",\"top_logprobs\":0}", "m", false, false,
	  false, 0, 1, 5, 0 },
	{ "top_logprobs 1", CHAT, "{\"model\":\"m\"," U1 ",\"top_logprobs\":1}", "m", false, false,
	  false, 0, 1, 5, CST_XP_TOP_LOGPROBS },
	{ "logit_bias empty", CHAT, "{\"model\":\"m\"," U1 ",\"logit_bias\":{}}", "m", false,
	  false, false, 0, 1, 5, 0 },
	{ "inert values", CHAT, "{\"model\":\"m\"," U1 ",\"logprobs\":false,\"top_logprobs\":0,"
	  "\"logit_bias\":{},\"n\":1,\"best_of\":1,\"prompt_logprobs\":null}", "m", false,
	  false, false, 0, 1, 5, 0 },
	{ "chat best_of 9", CHAT, "{\"model\":\"m\"," U1 ",\"best_of\":9}", "m", false, false,
	  false, 0, 1, 5, CST_XP_BEST_OF },
	{ "prompt_logprobs 0", CHAT, "{\"model\":\"m\"," U1 ",\"prompt_logprobs\":0}", "m",
	  false, false, false, 0, 1, 5, CST_XP_PROMPT_LOGPROBS },
	{ "logit_bias", CHAT, "{\"model\":\"m\"," U1 ",\"logit_bias\":{\"50256\":-100}}", "m",
	  false, false, false, 0, 1, 5, CST_XP_LOGIT_BIAS },
	{ "n 1", CHAT, "{\"model\":\"m\"," U1 ",\"n\":1}", "m", false, false, false, 0, 1, 5, 0 },
	{ "n 2", CHAT, "{\"model\":\"m\"," U1 ",\"n\":2}", "m", false, false, false, 0, 1, 5,
	  CST_XP_N },
	{ "all extraction", CHAT, "{\"model\":\"m\"," U1 ",\"logprobs\":true,\"top_logprobs\":5,"
	  "\"logit_bias\":{\"1\":1},\"n\":3,\"best_of\":4}", "m", false, false, false, 0, 1, 5,
	  CST_XP_LOGPROBS | CST_XP_TOP_LOGPROBS | CST_XP_LOGIT_BIAS | CST_XP_N | CST_XP_BEST_OF },
	{ "unknown fields", CHAT, "{\"model\":\"m\"," U1 ",\"temperature\":0.2,\"tools\":[],"
	  "\"x-vendor\":{\"a\":[1]}}", "m", false, false, false, 0, 1, 5, 0 },
	{ "messages at limit", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},"
	  "{\"role\":\"user\"},{\"role\":\"user\"},{\"role\":\"user\",\"content\":\"x\"}]}", "m",
	  false, false, false, 0, 4, 1, 0 },
	/* Completions. */
	{ "prompt string", COMP, "{\"model\":\"c\",\"prompt\":\"abc\"}", "c", false, false, false,
	  0, 0, 3, 0 },
	{ "prompt strings", COMP, "{\"model\":\"c\",\"prompt\":[\"ab\",\"c\"]}", "c", false, false,
	  false, 0, 0, 3, 0 },
	{ "prompt token ids", COMP, "{\"model\":\"c\",\"prompt\":[1,2,3]}", "c", false, false,
	  false, 0, 0, 12, 0 },
	{ "prompt token id lists", COMP, "{\"model\":\"c\",\"prompt\":[[1,2],[3]]}", "c", false,
	  false, false, 0, 0, 12, 0 },
	{ "prompt empty string", COMP, "{\"model\":\"c\",\"prompt\":\"\"}", "c", false, false,
	  false, 0, 0, 0, 0 },
	{ "completions logprobs 0", COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"logprobs\":0}", "c",
	  false, false, false, 0, 0, 1, CST_XP_LOGPROBS },
	{ "best_of 1", COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"best_of\":1}", "c", false, false,
	  false, 0, 0, 1, 0 },
	{ "best_of 3, n 2", COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"best_of\":3,\"n\":2}", "c",
	  false, false, false, 0, 0, 1, CST_XP_BEST_OF | CST_XP_N },
	{ "completions max_tokens", COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"max_tokens\":7,"
	  "\"stream\":true}", "c", true, false, true, 7, 0, 1, 0 },
	{ "completions ignore max_completion_tokens", COMP, "{\"model\":\"c\",\"prompt\":\"a\","
	  "\"max_completion_tokens\":\"x\"}", "c", false, false, false, 0, 0, 1, 0 },
	/* Embeddings. */
	{ "input string", EMB, "{\"model\":\"e\",\"input\":\"abcd\"}", "e", false, false, false, 0,
	  0, 4, 0 },
	{ "input list", EMB, "{\"model\":\"e\",\"input\":[\"a\",\"bc\"],\"stream\":false}", "e",
	  false, false, false, 0, 0, 3, 0 },
	{ "embeddings ignore chat fields", EMB, "{\"model\":\"e\",\"input\":\"a\",\"n\":\"x\","
	  "\"max_tokens\":-1,\"logprobs\":\"y\"}", "e", false, false, false, 0, 0, 1, 0 },
};

static void
test_decode_ok(void **state)
{
	struct cst_request_limits lim = limits();
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(ok_cases); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct cst_model_request r;
		char err[256];

		memset(&r, 0x5a, sizeof(r));
		if (decode(c->route, c->body, &lim, &r, err, sizeof(err)) != 0) {
			print_error("case \"%s\": %s\n", c->name, err);
			fail();
		}
		CHECK_INT(c->name, r.route, c->route);
		CHECK(c->name, json_is_object(r.root));
		CHECK_STR(c->name, r.model, c->model);
		CHECK_INT(c->name, r.stream, c->stream);
		CHECK_INT(c->name, r.client_wants_usage, c->wants_usage);
		CHECK_INT(c->name, r.has_max_tokens, c->has_max);
		if (c->has_max)
			CHECK_INT(c->name, r.max_tokens, c->max_tokens);
		CHECK_INT(c->name, r.n_messages, c->n_messages);
		CHECK_INT(c->name, r.prompt_bytes, c->prompt_bytes);
		CHECK_INT(c->name, r.extraction, c->xp);
		/* Decoding changes nothing: the body re-encodes to the same JSON. */
		check_body(c->name, &r, c->body);
		cst_request_free(&r);
		CHECK(c->name, r.root == NULL);
		cst_request_free(&r);	/* twice is harmless */
	}
}

/* ---- decode: invalid bodies -------------------------------------------------------- */

struct bad_case {
	const char *name;
	enum cst_route route;
	const char *body;
	int want;
	const char *msg;	/* exact, or a prefix ending in '*' */
};

static const struct bad_case bad_cases[] = {
	{ "empty body", CHAT, "", CST_EINVAL, "the request body is empty; expected JSON" },
	{ "array", CHAT, "[]", CST_EINVAL, "the request body must be a JSON object" },
	{ "not JSON", CHAT, "model=m", CST_EINVAL, "malformed JSON at byte *" },
	{ "truncated", CHAT, "{\"model\":\"m\"", CST_EINVAL, "malformed JSON (unbalanced*" },
	{ "duplicate model", CHAT, "{\"model\":\"a\",\"model\":\"b\"," U1 "}", CST_EINVAL,
	  "malformed JSON at byte 20: duplicate object key near '\"model\"'" },
	{ "duplicate nested", CHAT, "{\"model\":\"a\",\"messages\":[{\"role\":\"user\","
	  "\"role\":\"system\"}]}", CST_EINVAL, "malformed JSON at byte *" },
	{ "too deep", CHAT, "{\"model\":\"m\"," U1 ",\"x\":[[[[[[[[1]]]]]]]]}", CST_ELIMIT,
	  "JSON nested deeper than 8 levels" },
	{ "NUL in string", CHAT, "{\"model\":\"m\\u0000x\"," U1 "}", CST_EINVAL,
	  "malformed JSON at byte *" },
	{ "model missing", CHAT, "{" U1 "}", CST_EINVAL,
	  "'model' must be a non-empty string of at most 256 bytes" },
	{ "model empty", CHAT, "{\"model\":\"\"," U1 "}", CST_EINVAL,
	  "'model' must be a non-empty string of at most 256 bytes" },
	{ "model a number", CHAT, "{\"model\":5," U1 "}", CST_EINVAL,
	  "'model' must be a non-empty string of at most 256 bytes" },
	{ "model null", CHAT, "{\"model\":null," U1 "}", CST_EINVAL,
	  "'model' must be a non-empty string of at most 256 bytes" },
	{ "stream a string", CHAT, "{\"model\":\"m\"," U1 ",\"stream\":\"true\"}", CST_EINVAL,
	  "'stream' must be true or false" },
	{ "stream a number", CHAT, "{\"model\":\"m\"," U1 ",\"stream\":1}", CST_EINVAL,
	  "'stream' must be true or false" },
	{ "stream_options a string", CHAT, "{\"model\":\"m\"," U1 ",\"stream_options\":\"x\"}",
	  CST_EINVAL, "'stream_options' must be an object; include_usage a boolean" },
	{ "include_usage a string", CHAT, "{\"model\":\"m\"," U1 ",\"stream_options\":"
	  "{\"include_usage\":\"yes\"}}", CST_EINVAL,
	  "'stream_options' must be an object; include_usage a boolean" },
	{ "messages missing", CHAT, "{\"model\":\"m\"}", CST_EINVAL,
	  "'messages' must be a non-empty array" },
	{ "messages empty", CHAT, "{\"model\":\"m\",\"messages\":[]}", CST_EINVAL,
	  "'messages' must be a non-empty array" },
	{ "messages an object", CHAT, "{\"model\":\"m\",\"messages\":{\"role\":\"user\"}}",
	  CST_EINVAL, "'messages' must be a non-empty array" },
	{ "messages over limit", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},"
	  "{\"role\":\"user\"},{\"role\":\"user\"},{\"role\":\"user\"},{\"role\":\"user\"}]}",
	  CST_ELIMIT, "'messages' has 5 entries, more than the limit of 4" },
	{ "message a string", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},\"hi\"]}",
	  CST_EINVAL, "'messages[1]' must be an object" },
	{ "role missing", CHAT, "{\"model\":\"m\",\"messages\":[{\"content\":\"hi\"}]}", CST_EINVAL,
	  "'messages[0].role' must be a string" },
	{ "role a number", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":1}]}", CST_EINVAL,
	  "'messages[0].role' must be a string" },
	{ "role unknown", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},"
	  "{\"role\":\"admin\"}]}", CST_EINVAL, "'messages[1].role' is not a known role" },
	{ "role upper case", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"User\"}]}",
	  CST_EINVAL, "'messages[0].role' is not a known role" },
	{ "content a number", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	  "\"content\":5}]}", CST_EINVAL, "'messages[0].content' must be a string or an array" },
	{ "content an object", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	  "\"content\":{\"type\":\"text\"}}]}", CST_EINVAL,
	  "'messages[0].content' must be a string or an array" },
	{ "part a string", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	  "\"content\":[\"hi\"]}]}", CST_EINVAL,
	  "'messages[0].content[0]' must be an object with a 'type'" },
	{ "part without type", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	  "\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"text\":\"b\"}]}]}", CST_EINVAL,
	  "'messages[0].content[1]' must be an object with a 'type'" },
	{ "text part without text", CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	  "\"content\":[{\"type\":\"text\",\"text\":5}]}]}", CST_EINVAL,
	  "'messages[0].content[0].text' must be a string" },
	{ "chat logprobs integer", CHAT, "{\"model\":\"m\"," U1 ",\"logprobs\":1}", CST_EINVAL,
	  "'logprobs' must be true or false" },
	{ "n_probs string", CHAT, "{\"model\":\"m\"," U1 ",\"n_probs\":\"5\"}", CST_EINVAL,
	  "'n_probs' must be a non-negative integer" },
	{ "prompt list with text in it", COMP, "{\"model\":\"c\",\"prompt\":[[1,\"x\"]]}",
	  CST_EINVAL, "'prompt[0]' must be a string or token ids" },
	{ "max_tokens 0", CHAT, "{\"model\":\"m\"," U1 ",\"max_tokens\":0}", CST_EINVAL,
	  "'max_tokens' must be a positive integer" },
	{ "max_tokens negative", CHAT, "{\"model\":\"m\"," U1 ",\"max_tokens\":-5}", CST_EINVAL,
	  "'max_tokens' must be a positive integer" },
	{ "max_tokens real", CHAT, "{\"model\":\"m\"," U1 ",\"max_tokens\":1.5}", CST_EINVAL,
	  "'max_tokens' must be a positive integer" },
	{ "max_tokens string", CHAT, "{\"model\":\"m\"," U1 ",\"max_tokens\":\"5\"}", CST_EINVAL,
	  "'max_tokens' must be a positive integer" },
	{ "max_completion_tokens 0", CHAT, "{\"model\":\"m\"," U1 ",\"max_completion_tokens\":0}",
	  CST_EINVAL, "'max_completion_tokens' must be a positive integer" },
	{ "top_logprobs negative", CHAT, "{\"model\":\"m\"," U1 ",\"top_logprobs\":-1}", CST_EINVAL,
	  "'top_logprobs' must be a non-negative integer" },
	{ "top_logprobs bool", CHAT, "{\"model\":\"m\"," U1 ",\"top_logprobs\":true}", CST_EINVAL,
	  "'top_logprobs' must be a non-negative integer" },
	{ "logit_bias a list", CHAT, "{\"model\":\"m\"," U1 ",\"logit_bias\":[]}", CST_EINVAL,
	  "'logit_bias' must be an object" },
	{ "n 0", CHAT, "{\"model\":\"m\"," U1 ",\"n\":0}", CST_EINVAL,
	  "'n' must be a positive integer" },
	{ "n a string", CHAT, "{\"model\":\"m\"," U1 ",\"n\":\"2\"}", CST_EINVAL,
	  "'n' must be a positive integer" },
	{ "prompt missing", COMP, "{\"model\":\"c\"}", CST_EINVAL, "'prompt' is required" },
	{ "prompt null", COMP, "{\"model\":\"c\",\"prompt\":null}", CST_EINVAL,
	  "'prompt' must be a string or a non-empty array" },
	{ "prompt a number", COMP, "{\"model\":\"c\",\"prompt\":5}", CST_EINVAL,
	  "'prompt' must be a string or a non-empty array" },
	{ "prompt empty list", COMP, "{\"model\":\"c\",\"prompt\":[]}", CST_EINVAL,
	  "'prompt' must be a string or a non-empty array" },
	{ "prompt bad element", COMP, "{\"model\":\"c\",\"prompt\":[\"a\",{}]}", CST_EINVAL,
	  "'prompt[1]' must be a string or token ids" },
	{ "completions logprobs bool", COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"logprobs\":true}",
	  CST_EINVAL, "'logprobs' must be a non-negative integer" },
	{ "completions logprobs negative", COMP, "{\"model\":\"c\",\"prompt\":\"a\","
	  "\"logprobs\":-1}", CST_EINVAL, "'logprobs' must be a non-negative integer" },
	{ "best_of 0", COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"best_of\":0}", CST_EINVAL,
	  "'best_of' must be a positive integer" },
	{ "prompt_logprobs negative", CHAT, "{\"model\":\"m\"," U1 ",\"prompt_logprobs\":-1}",
	  CST_EINVAL, "'prompt_logprobs' must be a non-negative integer" },
	{ "input missing", EMB, "{\"model\":\"e\"}", CST_EINVAL, "'input' is required" },
	{ "input an object", EMB, "{\"model\":\"e\",\"input\":{}}", CST_EINVAL,
	  "'input' must be a string or a non-empty array" },
	{ "input bad element", EMB, "{\"model\":\"e\",\"input\":[true]}", CST_EINVAL,
	  "'input[0]' must be a string or token ids" },
	{ "embeddings streamed", EMB, "{\"model\":\"e\",\"input\":\"a\",\"stream\":true}",
	  CST_EINVAL, "embeddings cannot be streamed" },
	{ "models route", CST_ROUTE_MODELS, "{\"model\":\"m\"}", CST_EINVAL,
	  "this route takes no model request" },
	{ "tokens route", CST_ROUTE_TOKENS, "{\"model\":\"m\"}", CST_EINVAL,
	  "this route takes no model request" },
};

static void
test_decode_bad(void **state)
{
	struct cst_request_limits lim = limits();
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct cst_model_request r, before;
		char err[512];

		memset(&r, 0x5a, sizeof(r));
		before = r;
		err[0] = '\0';
		CHECK_INT(c->name, decode(c->route, c->body, &lim, &r, err, sizeof(err)), c->want);
		CHECK(c->name, memcmp(&r, &before, sizeof(r)) == 0);
		if (!msg_matches(err, c->msg)) {
			print_error("case \"%s\": message \"%s\", want \"%s\"\n", c->name, err, c->msg);
			fail();
		}
	}
}

/* 'model' may be 1 to 256 bytes. */
static void
test_model_length(void **state)
{
	struct cst_request_limits lim = limits();
	size_t n;

	(void)state;
	for (n = 254; n <= 258; n++) {
		char body[600], model[300], err[256];
		struct cst_model_request r;
		int rc;

		memset(model, 'm', n);
		model[n] = '\0';
		snprintf(body, sizeof(body), "{\"model\":\"%s\"," U1 "}", model);
		rc = decode(CHAT, body, &lim, &r, err, sizeof(err));
		if (n <= 256) {
			assert_int_equal(rc, 0);
			assert_string_equal(r.model, model);
			cst_request_free(&r);
		} else {
			assert_int_equal(rc, CST_EINVAL);
			assert_string_equal(err,
			    "'model' must be a non-empty string of at most 256 bytes");
		}
	}
}

/* ---- apply ------------------------------------------------------------------------- */

struct apply_case {
	const char *name;
	enum cst_route route;
	const char *body;
	enum cst_param_action xp;
	int64_t cap, def;
	enum cst_clamp_action clamp;
	const char *upstream_model;
	int want;
	const char *msg;	/* on failure */
	const char *out;	/* on success: the body sent upstream */
	unsigned stripped;
	bool clamped, injected;
	int64_t max_tokens;
};

#define XALL "\"logprobs\":true,\"top_logprobs\":2,\"logit_bias\":{\"1\":5},\"n\":3"
#define MSG "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define XP_CHAT (CST_XP_LOGPROBS | CST_XP_TOP_LOGPROBS | CST_XP_LOGIT_BIAS | CST_XP_N)

static const struct apply_case apply_cases[] = {
	{ "strip all", CHAT, "{\"model\":\"m\"," MSG "," XALL ",\"temperature\":1}",
	  CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"temperature\":1,\"max_tokens\":1024}", XP_CHAT, false, true,
	  1024 },
	{ "reject all", CHAT, "{\"model\":\"m\"," MSG "," XALL "}", CST_PARAM_REJECT, 4096, 1024,
	  CST_CLAMP, NULL, CST_EINVAL,
	  "parameters not allowed by policy: logprobs,top_logprobs,logit_bias,n", NULL, 0, false,
	  false, 0 },
	{ "reject one", CHAT, "{\"model\":\"m\"," MSG ",\"logprobs\":true}", CST_PARAM_REJECT,
	  4096, 1024, CST_CLAMP, NULL, CST_EINVAL, "parameters not allowed by policy: logprobs",
	  NULL, 0, false, false, 0 },
	{ "reject lets inert values through", CHAT, "{\"model\":\"m\"," MSG ",\"logprobs\":false,"
	  "\"top_logprobs\":0,\"logit_bias\":{},\"n\":1,\"max_tokens\":9}", CST_PARAM_REJECT,
	  4096, 1024, CST_CLAMP, NULL, 0, NULL, "{\"model\":\"m\"," MSG ",\"logprobs\":false,"
	  "\"top_logprobs\":0,\"logit_bias\":{},\"n\":1,\"max_tokens\":9}", 0, false, false,
	  9 },
	{ "strip leaves inert values", CHAT, "{\"model\":\"m\"," MSG ",\"logprobs\":false,"
	  "\"logit_bias\":{},\"n\":1,\"max_tokens\":9}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP,
	  NULL, 0, NULL, "{\"model\":\"m\"," MSG ",\"logprobs\":false,\"logit_bias\":{},"
	  "\"n\":1,\"max_tokens\":9}", 0, false, false, 9 },
	{ "strip logprobs takes top_logprobs 0", CHAT, "{\"model\":\"m\"," MSG ",\"logprobs\":true,"
	  "\"top_logprobs\":0,\"max_tokens\":9}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0,
	  NULL, "{\"model\":\"m\"," MSG ",\"max_tokens\":9}", CST_XP_LOGPROBS, false, false, 9 },
	{ "strip top_logprobs alone", CHAT, "{\"model\":\"m\"," MSG ",\"logprobs\":false,"
	  "\"top_logprobs\":3,\"max_tokens\":9}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0,
	  NULL, "{\"model\":\"m\"," MSG ",\"logprobs\":false,\"max_tokens\":9}",
	  CST_XP_TOP_LOGPROBS, false, false, 9 },
	{ "allow all", CHAT, "{\"model\":\"m\"," MSG "," XALL ",\"max_tokens\":10}",
	  CST_PARAM_ALLOW, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG "," XALL ",\"max_tokens\":10}", 0, false, false, 10 },
	{ "n 1 is kept", CHAT, "{\"model\":\"m\"," MSG ",\"n\":1,\"max_tokens\":5}",
	  CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"n\":1,\"max_tokens\":5}", 0, false, false, 5 },
	{ "reject with nothing to reject", CHAT, "{\"model\":\"m\"," MSG ",\"max_tokens\":5}",
	  CST_PARAM_REJECT, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"max_tokens\":5}", 0, false, false, 5 },
	{ "completions strip", COMP, "{\"model\":\"c\",\"prompt\":\"p\",\"logprobs\":3,"
	  "\"best_of\":2,\"echo\":true}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"c\",\"prompt\":\"p\",\"echo\":true,\"max_tokens\":1024}",
	  CST_XP_LOGPROBS | CST_XP_BEST_OF, false, true, 1024 },
	{ "completions reject best_of", COMP, "{\"model\":\"c\",\"prompt\":\"p\",\"best_of\":2}",
	  CST_PARAM_REJECT, 4096, 1024, CST_CLAMP, NULL, CST_EINVAL,
	  "parameters not allowed by policy: best_of", NULL, 0, false, false, 0 },
	{ "inject default", CHAT, "{\"model\":\"m\"," MSG "}", CST_PARAM_STRIP, 4096, 1024,
	  CST_CLAMP, NULL, 0, NULL, "{\"model\":\"m\"," MSG ",\"max_tokens\":1024}", 0, false,
	  true, 1024 },
	{ "inject capped by a lower ceiling", CHAT, "{\"model\":\"m\"," MSG "}", CST_PARAM_STRIP,
	  500, 1024, CST_CLAMP, NULL, 0, NULL, "{\"model\":\"m\"," MSG ",\"max_tokens\":500}", 0,
	  false, true, 500 },
	{ "clamp", CHAT, "{\"model\":\"m\"," MSG ",\"max_tokens\":5000}", CST_PARAM_STRIP, 4096,
	  1024, CST_CLAMP, NULL, 0, NULL, "{\"model\":\"m\"," MSG ",\"max_tokens\":4096}", 0, true,
	  false, 4096 },
	{ "at the ceiling", CHAT, "{\"model\":\"m\"," MSG ",\"max_tokens\":4096}", CST_PARAM_STRIP,
	  4096, 1024, CST_CLAMP_REJECT, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"max_tokens\":4096}", 0, false, false, 4096 },
	{ "reject over the ceiling", CHAT, "{\"model\":\"m\"," MSG ",\"max_tokens\":4097}",
	  CST_PARAM_STRIP, 4096, 1024, CST_CLAMP_REJECT, NULL, CST_EINVAL,
	  "max_tokens 4097 exceeds the limit of 4096", NULL, 0, false, false, 0 },
	{ "max_completion_tokens renamed", CHAT, "{\"model\":\"m\"," MSG
	  ",\"max_completion_tokens\":300}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"max_tokens\":300}", 0, false, false, 300 },
	{ "max_completion_tokens clamped", CHAT, "{\"model\":\"m\"," MSG
	  ",\"max_completion_tokens\":9000}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0,
	  NULL, "{\"model\":\"m\"," MSG ",\"max_tokens\":4096}", 0, true, false, 4096 },
	{ "both limits: max_tokens wins", CHAT, "{\"model\":\"m\"," MSG ",\"max_tokens\":20,"
	  "\"max_completion_tokens\":300}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"max_tokens\":20}", 0, false, false, 20 },
	{ "llama.cpp n_predict clamped and removed", CHAT, "{\"model\":\"m\"," MSG
	  ",\"n_predict\":1000000}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"max_tokens\":4096}", 0, true, false, 4096 },
	{ "n_predict and max_new_tokens beside max_tokens: removed, max_tokens counts", CHAT,
	  "{\"model\":\"m\"," MSG ",\"max_tokens\":10,\"n_predict\":1000000,"
	  "\"max_new_tokens\":99999}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"max_tokens\":10}", 0, false, false, 10 },
	{ "n_predict -1 (no limit) gets the default", COMP, "{\"model\":\"c\",\"prompt\":\"p\","
	  "\"n_predict\":-1}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP_REJECT, NULL, 0, NULL,
	  "{\"model\":\"c\",\"prompt\":\"p\",\"max_tokens\":1024}", 0, false, true, 1024 },
	{ "max_new_tokens over the ceiling rejected", COMP, "{\"model\":\"c\",\"prompt\":\"p\","
	  "\"max_new_tokens\":5000}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP_REJECT, NULL,
	  CST_EINVAL, "max_tokens 5000 exceeds the limit of 4096", NULL, 0, false, false, 0 },
	{ "llama.cpp n_probs rejected", CHAT, "{\"model\":\"m\"," MSG ",\"n_probs\":20,"
	  "\"post_sampling_probs\":true}", CST_PARAM_REJECT, 4096, 1024, CST_CLAMP, NULL,
	  CST_EINVAL, "parameters not allowed by policy: n_probs", NULL, 0, false, false, 0 },
	{ "llama.cpp n_probs stripped with post_sampling_probs", COMP, "{\"model\":\"c\","
	  "\"prompt\":\"p\",\"n_probs\":5,\"post_sampling_probs\":true,\"max_tokens\":3}",
	  CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"c\",\"prompt\":\"p\",\"max_tokens\":3}", CST_XP_N_PROBS, false,
	  false, 3 },
	{ "n_probs 0 asks for nothing", CHAT, "{\"model\":\"m\"," MSG ",\"n_probs\":0,"
	  "\"max_tokens\":3}", CST_PARAM_REJECT, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"n_probs\":0,\"max_tokens\":3}", 0, false, false, 3 },
	{ "embeddings: no max_tokens", EMB, "{\"model\":\"e\",\"input\":\"x\"}", CST_PARAM_REJECT,
	  10, 5, CST_CLAMP_REJECT, NULL, 0, NULL, "{\"model\":\"e\",\"input\":\"x\"}", 0, false,
	  false, 0 },
	{ "upstream model", CHAT, "{\"model\":\"alias\"," MSG ",\"max_tokens\":1}",
	  CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, "real-model-2024", 0, NULL,
	  "{\"model\":\"real-model-2024\"," MSG ",\"max_tokens\":1}", 0, false, false, 1 },
	{ "upstream model, embeddings", EMB, "{\"model\":\"e\",\"input\":\"x\"}", CST_PARAM_STRIP,
	  4096, 1024, CST_CLAMP, "text-embedding-3", 0, NULL,
	  "{\"model\":\"text-embedding-3\",\"input\":\"x\"}", 0, false, false, 0 },
	{ "stream: usage requested", CHAT, "{\"model\":\"m\"," MSG ",\"stream\":true,"
	  "\"max_tokens\":1}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL, 0, NULL,
	  "{\"model\":\"m\"," MSG ",\"stream\":true,\"max_tokens\":1,\"stream_options\":"
	  "{\"include_usage\":true}}", 0, false, false, 1 },
	{ "stream: client said no usage", CHAT, "{\"model\":\"m\"," MSG ",\"stream\":true,"
	  "\"stream_options\":{\"include_usage\":false,\"x\":1},\"max_tokens\":1}", CST_PARAM_STRIP,
	  4096, 1024, CST_CLAMP, NULL, 0, NULL, "{\"model\":\"m\"," MSG ",\"stream\":true,"
	  "\"stream_options\":{\"include_usage\":true,\"x\":1},\"max_tokens\":1}", 0, false, false,
	  1 },
	{ "stream: null options", COMP, "{\"model\":\"c\",\"prompt\":\"p\",\"stream\":true,"
	  "\"stream_options\":null,\"max_tokens\":1}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP, NULL,
	  0, NULL, "{\"model\":\"c\",\"prompt\":\"p\",\"stream\":true,\"stream_options\":"
	  "{\"include_usage\":true},\"max_tokens\":1}", 0, false, false, 1 },
	{ "not streamed: options untouched", CHAT, "{\"model\":\"m\"," MSG ",\"stream_options\":"
	  "{\"include_usage\":false},\"max_tokens\":1}", CST_PARAM_STRIP, 4096, 1024, CST_CLAMP,
	  NULL, 0, NULL, "{\"model\":\"m\"," MSG ",\"stream_options\":{\"include_usage\":false},"
	  "\"max_tokens\":1}", 0, false, false, 1 },
};

static void
test_apply(void **state)
{
	struct cst_request_limits lim = limits();
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(apply_cases); i++) {
		const struct apply_case *c = &apply_cases[i];
		struct cst_model_request r;
		struct cst_policy_result res;
		char err[256];
		int rc;

		if (decode(c->route, c->body, &lim, &r, err, sizeof(err)) != 0) {
			print_error("case \"%s\": decode: %s\n", c->name, err);
			fail();
		}
		err[0] = '\0';
		memset(&res, 0x5a, sizeof(res));
		rc = cst_request_apply(&r, c->xp, c->cap, c->def, c->clamp, c->upstream_model, &res,
		    err, sizeof(err));
		CHECK_INT(c->name, rc, c->want);
		if (rc != 0) {
			CHECK_STR(c->name, err, c->msg);
			/* A refused request is not half-rewritten. */
			check_body(c->name, &r, c->body);
		} else {
			check_body(c->name, &r, c->out);
			CHECK_INT(c->name, res.stripped, c->stripped);
			CHECK_INT(c->name, res.clamped, c->clamped);
			CHECK_INT(c->name, res.injected, c->injected);
			CHECK_INT(c->name, res.max_tokens, c->max_tokens);
			if (c->route != EMB)
				CHECK_INT(c->name, r.max_tokens, c->max_tokens);
			if (c->upstream_model)
				CHECK(c->name, r.model == NULL);
			else
				CHECK(c->name, r.model != NULL &&
				    strcmp(r.model, json_string_value(json_object_get(r.root, "model")))
				    == 0);
		}
		cst_request_free(&r);
	}
}

/* ---- estimate, encode, names ------------------------------------------------------- */

static void
test_estimate(void **state)
{
	static const struct {
		enum cst_route route;
		const char *body;
		int64_t want;
	} cases[] = {
		{ CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"}]}",
		  1 + 4 },
		{ CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"abcde\"},"
		  "{\"role\":\"assistant\",\"content\":\"abcd\"}]}", 3 + 8 },
		{ CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}", 4 },
		{ COMP, "{\"model\":\"c\",\"prompt\":\"\"}", 0 },
		{ COMP, "{\"model\":\"c\",\"prompt\":\"a\"}", 1 },
		{ COMP, "{\"model\":\"c\",\"prompt\":[1,2]}", 2 },
		{ EMB, "{\"model\":\"e\",\"input\":\"0123456789\"}", 3 },
	};
	struct cst_request_limits lim = limits();
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_model_request r;
		char err[256];

		assert_int_equal(decode(cases[i].route, cases[i].body, &lim, &r, err, sizeof(err)),
		    0);
		CHECK_INT(cases[i].body, cst_request_prompt_estimate(&r), cases[i].want);
		cst_request_free(&r);
	}
}

/*
 * The ceilings of what a request can be charged: completion = max_tokens for each sequence the
 * forwarded request asks for (n or best_of, whichever is larger, once the policy has stripped
 * or kept them); prompt = body bytes + 1024 + 64 per message + 65536 per media part; both
 * saturate at CST_REQUEST_TOKENS_MAX.
 */
static void
test_ceilings(void **state)
{
	static const struct {
		enum cst_route route;
		const char *body;
		enum cst_param_action xp;
		int64_t completion;
		int64_t media;		/* media parts counted */
	} cases[] = {
		{ CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
		  "\"max_tokens\":16}", CST_PARAM_ALLOW, 16, 0 },
		{ CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
		  "\"max_tokens\":16,\"n\":3}", CST_PARAM_ALLOW, 48, 0 },
		{ CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
		  "\"max_tokens\":16,\"n\":3}", CST_PARAM_STRIP, 16, 0 },
		{ COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"max_tokens\":10,\"n\":2,\"best_of\":5}",
		  CST_PARAM_ALLOW, 50, 0 },
		{ COMP, "{\"model\":\"c\",\"prompt\":\"a\",\"max_tokens\":100,"
		  "\"n\":9007199254740991}", CST_PARAM_ALLOW, CST_REQUEST_TOKENS_MAX, 0 },
		{ CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
		  "{\"type\":\"text\",\"text\":\"what\"},{\"type\":\"image_url\",\"image_url\":"
		  "{\"url\":\"http://x/a.png\"}},{\"type\":\"input_audio\",\"input_audio\":{}}]}],"
		  "\"max_tokens\":7}", CST_PARAM_ALLOW, 7, 2 },
		{ EMB, "{\"model\":\"e\",\"input\":\"0123456789\"}", CST_PARAM_ALLOW, 0, 0 },
	};
	struct cst_request_limits lim = limits();
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_model_request r;
		struct cst_policy_result res;
		char err[256];
		int64_t want;

		assert_int_equal(decode(cases[i].route, cases[i].body, &lim, &r, err, sizeof(err)),
		    0);
		assert_int_equal(cst_request_apply(&r, cases[i].xp, 1000, 100, CST_CLAMP,
		    NULL, &res, err, sizeof(err)), 0);
		CHECK_INT(cases[i].body, cst_request_completion_ceiling(&r), cases[i].completion);
		CHECK_INT(cases[i].body, (int64_t)r.n_media, cases[i].media);
		want = 1000 + 1024 + 64 * (int64_t)r.n_messages + 65536 * cases[i].media;
		CHECK_INT(cases[i].body, cst_request_prompt_ceiling(&r, 1000), want);
		CHECK_INT(cases[i].body, cst_request_prompt_ceiling(&r, UINT64_MAX),
		    CST_REQUEST_TOKENS_MAX);
		cst_request_free(&r);
	}
}

static void
test_encode_limit(void **state)
{
	static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi\"}]}";
	struct cst_request_limits lim = limits();
	struct cst_model_request r;
	struct cst_buf b;
	char err[256];

	(void)state;
	assert_int_equal(decode(CHAT, body, &lim, &r, err, sizeof(err)), 0);
	/* The compact encoding is exactly as long as the (already compact) input. */
	cst_buf_init(&b, sizeof(body) - 1);
	assert_int_equal(cst_request_encode(&r, &b), 0);
	assert_int_equal(b.len, sizeof(body) - 1);
	assert_string_equal(b.p, body);
	cst_buf_free(&b);
	cst_buf_init(&b, sizeof(body) - 2);
	assert_int_equal(cst_request_encode(&r, &b), CST_ELIMIT);
	cst_buf_free(&b);
	cst_request_free(&r);
}

static void
test_xp_names(void **state)
{
	char buf[96], small[6];

	(void)state;
	cst_request_xp_names(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	cst_request_xp_names(CST_XP_N, buf, sizeof(buf));
	assert_string_equal(buf, "n");
	cst_request_xp_names(CST_XP_LOGIT_BIAS | CST_XP_BEST_OF, buf, sizeof(buf));
	assert_string_equal(buf, "logit_bias,best_of");
	cst_request_xp_names(0x1f, buf, sizeof(buf));
	assert_string_equal(buf, "logprobs,top_logprobs,logit_bias,n,best_of");
	cst_request_xp_names(0x1f, small, sizeof(small));
	assert_string_equal(small, "logpr");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_decode_ok),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test(test_model_length),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_estimate),
		cmocka_unit_test(test_ceilings),
		cmocka_unit_test(test_encode_limit),
		cmocka_unit_test(test_xp_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
