/*
 * The OpenAI-compatible request model: which route a request is for, and a validated view of
 * its JSON body (model, stream, max_tokens, messages, extraction-prone parameters). Bodies are
 * decoded with a depth limit and duplicate keys refused, then re-encoded before forwarding so
 * the upstream sees exactly what was checked.
 */
#ifndef CST_GATEWAY_REQUEST_H
#define CST_GATEWAY_REQUEST_H

#include "core/buf.h"
#include "core/str.h"
#include "gateway/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum cst_route {
	CST_ROUTE_NONE,
	CST_ROUTE_CHAT,		/* POST /v1/chat/completions */
	CST_ROUTE_COMPLETIONS,	/* POST /v1/completions */
	CST_ROUTE_EMBEDDINGS,	/* POST /v1/embeddings */
	CST_ROUTE_MODELS,	/* GET  /v1/models */
	CST_ROUTE_TOKENS,	/* POST /v1/tokens: exchange an API key for a short-lived token */
};

/* Matches method and request-target (the query string is ignored). */
enum cst_route cst_route_match(struct cst_str method, struct cst_str target);
/* "chat.completions", "completions", ... for records and metrics. */
const char *cst_route_name(enum cst_route r);
/* The path appended to an upstream's base URL ("/chat/completions", ...). */
const char *cst_route_upstream_path(enum cst_route r);

/*
 * Parameters that help model extraction (OWASP LLM10). A bit is set only when the value turns
 * the feature on; values that ask for nothing (logprobs false, top_logprobs 0, logit_bias {},
 * n 1, best_of 1, null) set no bit, so a reject policy lets them through and a strip policy
 * forwards them unchanged.
 */
enum {
	CST_XP_LOGPROBS = 1,	/* chat: logprobs true; completions: logprobs any integer >= 0 */
	CST_XP_TOP_LOGPROBS = 2,	/* top_logprobs > 0 */
	CST_XP_LOGIT_BIAS = 4,	/* logit_bias with at least one entry */
	CST_XP_N = 8,		/* n > 1 */
	CST_XP_BEST_OF = 16,	/* best_of > 1 */
	CST_XP_PROMPT_LOGPROBS = 32,	/* vLLM prompt_logprobs, any integer >= 0 */
	CST_XP_N_PROBS = 64,		/* llama.cpp n_probs > 0 */
};

struct cst_model_request {
	enum cst_route route;
	json_t *root;			/* owned */
	const char *model;		/* view into root */
	bool stream;
	bool client_wants_usage;	/* stream_options.include_usage was set by the client */
	bool has_max_tokens;
	int64_t max_tokens;		/* max_tokens or max_completion_tokens */
	size_t n_messages;
	size_t n_media;			/* content parts that are not text (images, audio, ...) */
	uint64_t prompt_bytes;		/* bytes of prompt text, for the token estimate */
	unsigned extraction;		/* CST_XP_* the request turns on */
};

/*
 * Decodes and validates a body for route. Returns 0, or CST_EINVAL / CST_ELIMIT with a message
 * for the client in err (naming the field). Limits: json_depth, messages, body size is the
 * caller's. On failure *out holds nothing to free.
 */
int cst_request_decode(enum cst_route route, const char *body, size_t len,
    const struct cst_request_limits *lim, struct cst_model_request *out, char *err,
    size_t err_len);
void cst_request_free(struct cst_model_request *r);

/* What cst_request_apply did, for the record. */
struct cst_policy_result {
	unsigned stripped;		/* CST_XP_* removed */
	bool clamped;			/* max_tokens lowered to the cap */
	bool injected;			/* max_tokens added (the request had none) */
	int64_t max_tokens;		/* the value forwarded (0 for embeddings) */
};

/*
 * Applies the parameter policy: extraction parameters (strip / reject / allow: only those in
 * r->extraction count; stripping logprobs also removes any top_logprobs), the max_tokens
 * ceiling cap (clamp or reject; injects default_max when absent), the upstream model name
 * (NULL = unchanged), and asks a streaming upstream for usage. Returns 0 or CST_EINVAL with a
 * client message in err.
 */
int cst_request_apply(struct cst_model_request *r, enum cst_param_action extraction,
    int64_t cap, int64_t default_max, enum cst_clamp_action clamp, const char *upstream_model,
    struct cst_policy_result *res, char *err, size_t err_len);

/* Estimated prompt tokens (bytes / 4, rounded up, plus 4 per message). */
int64_t cst_request_prompt_estimate(const struct cst_model_request *r);

/*
 * The most tokens one count of usage is ever taken as (an upstream's claim, a ceiling): sums
 * of a few such counts cannot overflow an int64_t.
 */
#define CST_REQUEST_TOKENS_MAX ((int64_t)1 << 32)
/* What the prompt ceiling allows beyond the bytes sent: the chat template's own tokens. */
#define CST_REQUEST_TEMPLATE_TOKENS 1024
#define CST_REQUEST_MESSAGE_TOKENS 64	/* for each message (role markers, separators) */
/* For each content part that is not text: an image or audio clip the model encodes itself. */
#define CST_REQUEST_MEDIA_TOKENS 65536

/*
 * The most completion tokens the request, as forwarded, lets an honest upstream generate:
 * max_tokens for each sequence it asks for (the larger of n and best_of, 1 if absent). Read
 * after cst_request_apply (which may strip n and best_of). 0 for embeddings; at most
 * CST_REQUEST_TOKENS_MAX.
 */
int64_t cst_request_completion_ceiling(const struct cst_model_request *r);

/*
 * The most prompt tokens an honest upstream can count for a request whose JSON body, as
 * received or as sent (the larger), is body_bytes long: a tokenizer makes at most one token of
 * each byte of text (byte-level BPE, or SentencePiece's byte fallback), and text decoded from
 * JSON is never longer than its encoding; plus what the chat template adds
 * (CST_REQUEST_TEMPLATE_TOKENS, CST_REQUEST_MESSAGE_TOKENS for each message) and
 * CST_REQUEST_MEDIA_TOKENS for each media part. At most CST_REQUEST_TOKENS_MAX.
 */
int64_t cst_request_prompt_ceiling(const struct cst_model_request *r, uint64_t body_bytes);

/* Encodes the (possibly rewritten) body. CST_ENOMEM, CST_ELIMIT (out->max). */
int cst_request_encode(const struct cst_model_request *r, struct cst_buf *out);

/* Names of the CST_XP_* bits set in mask, comma-separated, into buf. */
void cst_request_xp_names(unsigned mask, char *buf, size_t len);

#endif
