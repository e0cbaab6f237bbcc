/*
 * libFuzzer target for the request model (src/gateway/request.h): cst_request_decode, then
 * cst_request_apply and cst_request_encode, as the DECODE, ADMIT and ROUTE stages use them.
 * The first input byte chooses the options, the rest is the JSON body:
 *   bits 0-1  route: chat completions, completions, embeddings, chat completions
 *   bits 2-3  extraction parameters: strip, reject, allow, strip
 *   bit 4     max_tokens over the cap: clamp (0) or reject (1)
 *   bit 5     rewrite the model name for the upstream
 *   bits 6-7  limits: config defaults, tight, cap below the default, generous
 * (stream and stream_options.include_usage come from the body, as in the gateway).
 * Invariants:
 *  - decode returns 0, CST_EINVAL or CST_ELIMIT (only for depth or the message count); an
 *    error leaves *out untouched and writes a non-empty message; a success describes the body
 *    (model 1..256 bytes, stream flags, message count within the limit, positive max_tokens,
 *    extraction bits exactly for the values that turn a feature on, by an independent
 *    reading of the body); routes without a model request fail;
 *  - apply fails exactly when the policy rejects (extraction parameters under reject, a
 *    max_tokens over the cap under reject), with a message; on success, for chat and
 *    completions, the body holds max_tokens (1..cap, as reported; injected or clamped as
 *    reported) and no max_completion_tokens; unless the policy is allow, no value that turns
 *    on logprobs, top_logprobs, logit_bias, n or best_of above 1, or prompt_logprobs (values
 *    that ask for nothing may stay), and a stripped logprobs takes top_logprobs with it; a
 *    streamed body
 *    asks for usage (stream_options.include_usage true); the upstream model name is set;
 *  - encode gives valid JSON, without duplicate keys, equal to the tree; decoding it again
 *    succeeds, re-encodes to the same bytes, and applying the same policy again changes
 *    nothing (no extraction parameter left under strip or reject, nothing clamped or
 *    injected, the same bytes).
 * Inputs over 64 KiB are skipped. A violated invariant calls abort(). This file must never leak
 * or keep state between inputs.
 */
#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "../fuzz_check.h"
#include "gateway/request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)
#define UPSTREAM_MODEL "upstream/model-x"
#define ENCODE_MAX (16 * 1024 * 1024)

struct opts {
	enum cst_route route;
	enum cst_param_action extraction;
	enum cst_clamp_action clamp;
	const char *upstream_model;
	struct cst_request_limits lim;	/* json_depth, messages, max_tokens, default_max_tokens */
};

static void
choose(uint8_t b, struct opts *o)
{
	static const enum cst_route routes[] = { CST_ROUTE_CHAT, CST_ROUTE_COMPLETIONS,
		CST_ROUTE_EMBEDDINGS, CST_ROUTE_CHAT };
	static const enum cst_param_action actions[] = { CST_PARAM_STRIP, CST_PARAM_REJECT,
		CST_PARAM_ALLOW, CST_PARAM_STRIP };
	/* { json_depth, messages, max_tokens (the cap), default_max_tokens } */
	static const int64_t presets[4][4] = {
		{ 32, 256, 4096, 1024 },	/* castellan's defaults */
		{ 3, 1, 16, 16 },		/* tight (a chat body is at least 3 deep) */
		{ 2, 3, 1, 1000 },		/* smallest depth; default above the cap */
		{ 256, 100000, 10000000, 10000000 },
	};
	const int64_t *p = presets[b >> 6];

	memset(o, 0, sizeof(*o));
	o->route = routes[b & 3];
	o->extraction = actions[(b >> 2) & 3];
	o->clamp = (b & 16) ? CST_CLAMP_REJECT : CST_CLAMP;
	o->upstream_model = (b & 32) ? UPSTREAM_MODEL : NULL;
	o->lim.json_depth = (size_t)p[0];
	o->lim.messages = (size_t)p[1];
	o->lim.max_tokens = p[2];
	o->lim.default_max_tokens = p[3];
}

static bool
absent_or_null(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	return v == NULL || json_is_null(v);
}

/* n, best_of: absent, null or 1 (decode already refused non-integers and values below 1). */
static bool
at_most_one(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	return v == NULL || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 1);
}

/*
 * The independent reading of which extraction parameters a (decoded) body turns on: chat
 * logprobs true, completions logprobs any integer, top_logprobs above 0, a non-empty
 * logit_bias, n or best_of above 1, any prompt_logprobs.
 */
static unsigned
enabled(json_t *root, enum cst_route route)
{
	json_t *lp = json_object_get(root, "logprobs"), *tl = json_object_get(root, "top_logprobs");
	json_t *lb = json_object_get(root, "logit_bias");
	unsigned m = 0;

	if (route == CST_ROUTE_EMBEDDINGS)
		return 0;
	if (route == CST_ROUTE_CHAT ? json_is_true(lp) : json_is_integer(lp))
		m |= CST_XP_LOGPROBS;
	if (json_is_integer(tl) && json_integer_value(tl) > 0)
		m |= CST_XP_TOP_LOGPROBS;
	if (json_is_object(lb) && json_object_size(lb) > 0)
		m |= CST_XP_LOGIT_BIAS;
	if (!at_most_one(root, "n"))
		m |= CST_XP_N;
	if (!at_most_one(root, "best_of"))
		m |= CST_XP_BEST_OF;
	if (!absent_or_null(root, "prompt_logprobs"))
		m |= CST_XP_PROMPT_LOGPROBS;
	return m;
}

static void
check_decoded(const struct opts *o, const struct cst_model_request *r, size_t len)
{
	json_t *v;

	check(r->route == o->route && json_is_object(r->root));
	v = json_object_get(r->root, "model");
	check(r->model != NULL && json_is_string(v) && r->model == json_string_value(v));
	check(json_string_length(v) >= 1 && json_string_length(v) <= 256);
	check(r->stream == json_is_true(json_object_get(r->root, "stream")));
	check(r->client_wants_usage ==
	    json_is_true(json_object_get(json_object_get(r->root, "stream_options"),
	    "include_usage")));
	check(!r->has_max_tokens || r->max_tokens >= 1);
	check(r->prompt_bytes <= 4 * (uint64_t)len);	/* no count beyond what the body holds */
	check(cst_request_prompt_estimate(r) >= 0);
	switch (o->route) {
	case CST_ROUTE_CHAT:
		check(r->n_messages >= 1 && r->n_messages <= o->lim.messages);
		check(r->n_messages == json_array_size(json_object_get(r->root, "messages")));
		break;
	case CST_ROUTE_COMPLETIONS:
		check(r->n_messages == 0 && json_object_get(r->root, "prompt") != NULL);
		break;
	default:
		check(o->route == CST_ROUTE_EMBEDDINGS);
		check(r->n_messages == 0 && !r->stream && r->extraction == 0 &&
		    json_object_get(r->root, "input") != NULL);
		break;
	}
	check(r->extraction == enabled(r->root, o->route));
}

/* Decodes body; on success checks the result. Returns decode's code. */
static int
decode(const struct opts *o, const char *body, size_t len, struct cst_model_request *r)
{
	static json_t sentinel;
	char err[256];
	int rc, depth;

	memset(r, 0, sizeof(*r));
	r->root = &sentinel;
	memset(err, 'x', sizeof(err));
	rc = cst_request_decode(o->route, body, len, &o->lim, r, err, sizeof(err));
	check(rc == 0 || rc == CST_EINVAL || rc == CST_ELIMIT);
	if (rc != 0) {
		check(r->root == &sentinel);
		check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		if (rc == CST_ELIMIT) {
			depth = cst_json_check_depth(body, len, o->lim.json_depth);
			check(depth == CST_ELIMIT || o->route == CST_ROUTE_CHAT);
		}
		r->root = NULL;
		return rc;
	}
	check_decoded(o, r, len);
	return 0;
}

static void
encode(const struct cst_model_request *r, struct cst_buf *b)
{
	json_t *back;

	cst_buf_init(b, ENCODE_MAX);
	check(cst_request_encode(r, b) == 0);
	check(b->len > 0);
	back = json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, NULL);
	check(back != NULL && json_equal(back, r->root));
	json_decref(back);
}

static int
apply(const struct opts *o, struct cst_model_request *r, struct cst_policy_result *res)
{
	char err[256];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = cst_request_apply(r, o->extraction, o->lim.max_tokens, o->lim.default_max_tokens,
	    o->clamp, o->upstream_model, res, err, sizeof(err));
	check(rc == 0 || rc == CST_EINVAL);
	if (rc != 0)
		check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	return rc;
}

static void
check_applied(const struct opts *o, const struct cst_model_request *before,
    const struct cst_model_request *r, const struct cst_policy_result *res)
{
	json_t *root = r->root, *v;

	if (o->extraction == CST_PARAM_STRIP)
		check(res->stripped == before->extraction);
	else
		check(res->stripped == 0);
	if (o->route == CST_ROUTE_EMBEDDINGS) {
		check(res->max_tokens == 0 && !res->clamped && !res->injected);
	} else {
		v = json_object_get(root, "max_tokens");
		check(json_is_integer(v) && json_integer_value(v) == res->max_tokens);
		check(res->max_tokens >= 1 && res->max_tokens <= o->lim.max_tokens);
		check(json_object_get(root, "max_completion_tokens") == NULL);
		check(res->injected == !before->has_max_tokens);
		check(res->clamped == (before->has_max_tokens && before->max_tokens > o->lim.max_tokens));
		if (res->injected)
			check(res->max_tokens == (o->lim.default_max_tokens < o->lim.max_tokens ?
			    o->lim.default_max_tokens : o->lim.max_tokens));
		else if (!res->clamped)
			check(res->max_tokens == before->max_tokens);
		check(!res->clamped || o->clamp == CST_CLAMP);
		/* (a): nothing that helps extraction survives unless the policy allows it. */
		if (o->extraction != CST_PARAM_ALLOW) {
			check(enabled(root, o->route) == 0);
			/* stripping logprobs takes top_logprobs with it */
			check(!(before->extraction & CST_XP_LOGPROBS) || o->extraction != CST_PARAM_STRIP ||
			    json_object_get(root, "top_logprobs") == NULL);
		}
	}
	if (o->upstream_model) {
		v = json_object_get(root, "model");
		check(r->model == NULL && json_is_string(v) &&
		    strcmp(json_string_value(v), o->upstream_model) == 0);
	}
	if (r->stream)
		check(json_is_true(json_object_get(json_object_get(root, "stream_options"),
		    "include_usage")));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_model_request r, before, r2;
	struct cst_policy_result res, res2;
	struct cst_buf enc, enc2, enc3;
	struct opts o;
	const char *body;
	char err[256];
	int rc;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	choose(data[0], &o);
	body = (const char *)data + 1;
	size--;

	if (decode(&o, body, size, &r) != 0)
		return 0;
	/* Routes that take no model request refuse any body. */
	memset(err, 0, sizeof(err));
	check(cst_request_decode(CST_ROUTE_MODELS, body, size, &o.lim, &r2, err,
	    sizeof(err)) == CST_EINVAL && err[0] != '\0');

	before = r;
	rc = apply(&o, &r, &res);
	if (r.extraction != 0 && o.extraction == CST_PARAM_REJECT) {
		check(rc == CST_EINVAL);
	} else if (o.route != CST_ROUTE_EMBEDDINGS && o.clamp == CST_CLAMP_REJECT &&
	    r.has_max_tokens && before.max_tokens > o.lim.max_tokens) {
		check(rc == CST_EINVAL);
	} else {
		check(rc == 0);
	}
	if (rc != 0) {
		cst_request_free(&r);
		check(r.root == NULL);
		return 0;
	}
	check_applied(&o, &before, &r, &res);
	encode(&r, &enc);

	/* What is forwarded decodes again and encodes to the same bytes... */
	check(decode(&o, enc.p, enc.len, &r2) == 0);
	check(o.extraction == CST_PARAM_ALLOW || r2.extraction == 0);
	encode(&r2, &enc2);
	check(enc2.len == enc.len && memcmp(enc2.p, enc.p, enc.len) == 0);
	/* ...and the same policy finds nothing more to do. */
	check(apply(&o, &r2, &res2) == 0);
	check(res2.stripped == 0 && !res2.clamped && !res2.injected &&
	    res2.max_tokens == res.max_tokens);
	encode(&r2, &enc3);
	check(enc3.len == enc.len && memcmp(enc3.p, enc.p, enc.len) == 0);

	cst_buf_free(&enc);
	cst_buf_free(&enc2);
	cst_buf_free(&enc3);
	cst_request_free(&r2);
	cst_request_free(&r);
	return 0;
}
