/*
 * Request bodies: decode, validate, rewrite, encode. Every field the gateway relies on is
 * type-checked; unknown fields are passed through untouched (model servers add their own).
 */
#include "gateway/request.h"

#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

enum cst_route
cst_route_match(struct cst_str method, struct cst_str target)
{
	const char *q = memchr(target.p, '?', target.len);
	struct cst_str path = cst_str_make(target.p, q ? (size_t)(q - target.p) : target.len);

	if (cst_str_eq(method, "POST")) {
		if (cst_str_eq(path, "/v1/chat/completions"))
			return CST_ROUTE_CHAT;
		if (cst_str_eq(path, "/v1/completions"))
			return CST_ROUTE_COMPLETIONS;
		if (cst_str_eq(path, "/v1/embeddings"))
			return CST_ROUTE_EMBEDDINGS;
		if (cst_str_eq(path, "/v1/tokens"))
			return CST_ROUTE_TOKENS;
	} else if (cst_str_eq(method, "GET") && cst_str_eq(path, "/v1/models")) {
		return CST_ROUTE_MODELS;
	}
	return CST_ROUTE_NONE;
}

const char *
cst_route_name(enum cst_route r)
{
	switch (r) {
	case CST_ROUTE_CHAT: return "chat.completions";
	case CST_ROUTE_COMPLETIONS: return "completions";
	case CST_ROUTE_EMBEDDINGS: return "embeddings";
	case CST_ROUTE_MODELS: return "models";
	case CST_ROUTE_TOKENS: return "tokens";
	case CST_ROUTE_NONE: break;
	}
	return "none";
}

const char *
cst_route_upstream_path(enum cst_route r)
{
	switch (r) {
	case CST_ROUTE_CHAT: return "/chat/completions";
	case CST_ROUTE_COMPLETIONS: return "/completions";
	case CST_ROUTE_EMBEDDINGS: return "/embeddings";
	default: return "/";
	}
}

static int
bad(char *err, size_t len, int r, const char *msg)
{
	snprintf(err, len, "%s", msg);
	return r;
}

/* Whether a is a list of token ids (integers only). */
static bool
token_ids(json_t *a)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
		if (!json_is_integer(e))
			return false;
	return true;
}

/* Adds the text bytes of a prompt value: a string, or an array of strings, token ids and
 * lists of token ids. */
static int
prompt_text(json_t *v, uint64_t *bytes, char *err, size_t len, const char *field)
{
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		*bytes += json_string_length(v);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		snprintf(err, len, "'%s' must be a string or a non-empty array", field);
		return CST_EINVAL;
	}
	json_array_foreach(v, i, e) {
		if (json_is_string(e))
			*bytes += json_string_length(e);
		else if (json_is_integer(e))
			*bytes += 4;
		else if (json_is_array(e) && token_ids(e))
			*bytes += 4 * json_array_size(e);
		else {
			snprintf(err, len, "'%s[%zu]' must be a string or token ids", field, i);
			return CST_EINVAL;
		}
	}
	return 0;
}

static int
check_messages(json_t *msgs, const struct cst_request_limits *lim, struct cst_model_request *r,
    char *err, size_t len)
{
	static const char *const roles[] = { "system", "user", "assistant", "tool", "developer",
		"function", NULL };
	size_t i, j;
	json_t *m, *part;

	if (!json_is_array(msgs) || json_array_size(msgs) == 0)
		return bad(err, len, CST_EINVAL, "'messages' must be a non-empty array");
	if (json_array_size(msgs) > lim->messages) {
		snprintf(err, len, "'messages' has %zu entries, more than the limit of %zu",
		    json_array_size(msgs), lim->messages);
		return CST_ELIMIT;
	}
	r->n_messages = json_array_size(msgs);
	json_array_foreach(msgs, i, m) {
		json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
		const char *const *rp;

		if (!json_is_object(m)) {
			snprintf(err, len, "'messages[%zu]' must be an object", i);
			return CST_EINVAL;
		}
		if (!json_is_string(role)) {
			snprintf(err, len, "'messages[%zu].role' must be a string", i);
			return CST_EINVAL;
		}
		for (rp = roles; *rp; rp++)
			if (strcmp(*rp, json_string_value(role)) == 0)
				break;
		if (*rp == NULL) {
			snprintf(err, len, "'messages[%zu].role' is not a known role", i);
			return CST_EINVAL;
		}
		if (content == NULL || json_is_null(content))
			continue;
		if (json_is_string(content)) {
			r->prompt_bytes += json_string_length(content);
			continue;
		}
		if (!json_is_array(content)) {
			snprintf(err, len, "'messages[%zu].content' must be a string or an array", i);
			return CST_EINVAL;
		}
		json_array_foreach(content, j, part) {
			json_t *type = json_object_get(part, "type"), *text = json_object_get(part, "text");

			if (!json_is_object(part) || !json_is_string(type)) {
				snprintf(err, len, "'messages[%zu].content[%zu]' must be an object with a "
				    "'type'", i, j);
				return CST_EINVAL;
			}
			if (strcmp(json_string_value(type), "text") == 0) {
				if (!json_is_string(text)) {
					snprintf(err, len, "'messages[%zu].content[%zu].text' must be a "
					    "string", i, j);
					return CST_EINVAL;
				}
				r->prompt_bytes += json_string_length(text);
			} else {
				r->n_media++;
			}
		}
	}
	return 0;
}

static int
positive_int(json_t *obj, const char *key, bool *has, int64_t *out, char *err, size_t len)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		snprintf(err, len, "'%s' must be a positive integer", key);
		return CST_EINVAL;
	}
	if (has)
		*has = true;
	*out = json_integer_value(v);
	return 0;
}

/*
 * Other servers' names for max_tokens (llama.cpp reads n_predict before max_tokens; TGI and
 * others read max_new_tokens). A positive integer counts where max_tokens and
 * max_completion_tokens are absent; anything else (llama.cpp's -1, no limit) counts as no
 * value. cst_request_apply removes them, so the upstream reads only max_tokens.
 */
static const char *const max_aliases[] = { "n_predict", "max_new_tokens" };

static void
max_alias(struct cst_model_request *r)
{
	size_t i;

	for (i = 0; i < sizeof(max_aliases) / sizeof(max_aliases[0]) && !r->has_max_tokens;
	    i++) {
		json_t *v = json_object_get(r->root, max_aliases[i]);

		if (json_is_integer(v) && json_integer_value(v) >= 1) {
			r->has_max_tokens = true;
			r->max_tokens = json_integer_value(v);
		}
	}
}

/*
 * key's value when present and not null: a non-negative integer into *out; absent or null,
 * *out is -1. 0, or CST_EINVAL with a message naming key.
 */
static int
nonneg_int(json_t *obj, const char *key, int64_t *out, char *err, size_t len)
{
	json_t *v = json_object_get(obj, key);

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(err, len, "'%s' must be a non-negative integer", key);
		return CST_EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

int
cst_request_decode(enum cst_route route, const char *body, size_t len,
    const struct cst_request_limits *lim, struct cst_model_request *out, char *err,
    size_t err_len)
{
	struct cst_model_request r;
	json_t *model, *v;
	int64_t n = 1, k;
	int rc;

	memset(&r, 0, sizeof(r));
	r.route = route;
	if (len == 0)
		return bad(err, err_len, CST_EINVAL, "the request body is empty; expected JSON");
	if ((rc = cst_json_decode(body, len, lim->json_depth, &r.root, err, err_len)) != 0)
		return rc;
	rc = CST_EINVAL;
	if (!json_is_object(r.root)) {
		bad(err, err_len, rc, "the request body must be a JSON object");
		goto fail;
	}
	model = json_object_get(r.root, "model");
	if (!json_is_string(model) || json_string_length(model) == 0 ||
	    json_string_length(model) > 256) {
		bad(err, err_len, rc, "'model' must be a non-empty string of at most 256 bytes");
		goto fail;
	}
	r.model = json_string_value(model);
	if ((v = json_object_get(r.root, "stream")) != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			bad(err, err_len, rc, "'stream' must be true or false");
			goto fail;
		}
		r.stream = json_is_true(v);
	}
	if ((v = json_object_get(r.root, "stream_options")) != NULL && !json_is_null(v)) {
		json_t *iu = json_object_get(v, "include_usage");

		if (!json_is_object(v) || (iu && !json_is_boolean(iu))) {
			bad(err, err_len, rc, "'stream_options' must be an object; include_usage a "
			    "boolean");
			goto fail;
		}
		r.client_wants_usage = json_is_true(iu);
	}
	switch (route) {
	case CST_ROUTE_CHAT:
		if ((rc = check_messages(json_object_get(r.root, "messages"), lim, &r, err,
		    err_len)) != 0)
			goto fail;
		rc = CST_EINVAL;
		if ((v = json_object_get(r.root, "logprobs")) != NULL && !json_is_null(v)) {
			if (!json_is_boolean(v)) {
				bad(err, err_len, rc, "'logprobs' must be true or false");
				goto fail;
			}
			if (json_is_true(v))	/* false asks for nothing */
				r.extraction |= CST_XP_LOGPROBS;
		}
		if (positive_int(r.root, "max_completion_tokens", &r.has_max_tokens, &r.max_tokens,
		    err, err_len) != 0)
			goto fail;
		break;
	case CST_ROUTE_COMPLETIONS:
		if ((v = json_object_get(r.root, "prompt")) == NULL) {
			bad(err, err_len, rc, "'prompt' is required");
			goto fail;
		}
		if ((rc = prompt_text(v, &r.prompt_bytes, err, err_len, "prompt")) != 0)
			goto fail;
		rc = CST_EINVAL;
		if (nonneg_int(r.root, "logprobs", &k, err, err_len) != 0)
			goto fail;
		if (k >= 0)	/* even 0 returns the sampled token's log probability here */
			r.extraction |= CST_XP_LOGPROBS;
		break;
	case CST_ROUTE_EMBEDDINGS:
		if ((v = json_object_get(r.root, "input")) == NULL) {
			bad(err, err_len, rc, "'input' is required");
			goto fail;
		}
		if ((rc = prompt_text(v, &r.prompt_bytes, err, err_len, "input")) != 0)
			goto fail;
		rc = CST_EINVAL;
		if (r.stream) {
			bad(err, err_len, rc, "embeddings cannot be streamed");
			goto fail;
		}
		break;
	default:
		bad(err, err_len, rc, "this route takes no model request");
		goto fail;
	}
	if (route != CST_ROUTE_EMBEDDINGS) {
		if (positive_int(r.root, "max_tokens", &r.has_max_tokens, &r.max_tokens, err,
		    err_len) != 0)
			goto fail;
		max_alias(&r);
		if (nonneg_int(r.root, "top_logprobs", &k, err, err_len) != 0)
			goto fail;
		if (k > 0)
			r.extraction |= CST_XP_TOP_LOGPROBS;
		if ((v = json_object_get(r.root, "logit_bias")) != NULL && !json_is_null(v)) {
			if (!json_is_object(v)) {
				bad(err, err_len, rc, "'logit_bias' must be an object");
				goto fail;
			}
			if (json_object_size(v) > 0)
				r.extraction |= CST_XP_LOGIT_BIAS;
		}
		if (positive_int(r.root, "n", NULL, &n, err, err_len) != 0)
			goto fail;
		if (n > 1)
			r.extraction |= CST_XP_N;
		/* best_of: completions, and chat on servers that accept it (vLLM). */
		n = 1;
		if (positive_int(r.root, "best_of", NULL, &n, err, err_len) != 0)
			goto fail;
		if (n > 1)
			r.extraction |= CST_XP_BEST_OF;
		/* vLLM's prompt_logprobs: even 0 returns the prompt tokens' log probabilities. */
		if (nonneg_int(r.root, "prompt_logprobs", &k, err, err_len) != 0)
			goto fail;
		if (k >= 0)
			r.extraction |= CST_XP_PROMPT_LOGPROBS;
		/* llama.cpp's n_probs: the probabilities of the n likeliest tokens. */
		if (nonneg_int(r.root, "n_probs", &k, err, err_len) != 0)
			goto fail;
		if (k > 0)
			r.extraction |= CST_XP_N_PROBS;
	}
	*out = r;
	return 0;
fail:
	json_decref(r.root);
	return rc;
}

void
cst_request_free(struct cst_model_request *r)
{
	json_decref(r->root);
	r->root = NULL;
}

void
cst_request_xp_names(unsigned mask, char *buf, size_t len)
{
	static const char *const names[] = { "logprobs", "top_logprobs", "logit_bias", "n",
		"best_of", "prompt_logprobs", "n_probs" };
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && off < len; i++)
		if (mask & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i]);
}

int
cst_request_apply(struct cst_model_request *r, enum cst_param_action extraction, int64_t cap,
    int64_t default_max, enum cst_clamp_action clamp, const char *upstream_model,
    struct cst_policy_result *res, char *err, size_t err_len)
{
	size_t i;

	memset(res, 0, sizeof(*res));
	if (r->extraction && extraction == CST_PARAM_REJECT) {
		char names[96];

		cst_request_xp_names(r->extraction, names, sizeof(names));
		snprintf(err, err_len, "parameters not allowed by policy: %s", names);
		return CST_EINVAL;
	}
	if (r->extraction && extraction == CST_PARAM_STRIP) {
		/*
		 * top_logprobs goes with logprobs whatever its value: servers refuse top_logprobs
		 * without logprobs, and 0 means nothing once logprobs is gone.
		 */
		if (r->extraction & CST_XP_LOGPROBS) {
			json_object_del(r->root, "logprobs");
			json_object_del(r->root, "top_logprobs");
		}
		if (r->extraction & CST_XP_TOP_LOGPROBS)
			json_object_del(r->root, "top_logprobs");
		if (r->extraction & CST_XP_LOGIT_BIAS)
			json_object_del(r->root, "logit_bias");
		if (r->extraction & CST_XP_N)
			json_object_del(r->root, "n");
		if (r->extraction & CST_XP_BEST_OF)
			json_object_del(r->root, "best_of");
		if (r->extraction & CST_XP_PROMPT_LOGPROBS)
			json_object_del(r->root, "prompt_logprobs");
		/* post_sampling_probs only changes what n_probs returns */
		if (r->extraction & CST_XP_N_PROBS) {
			json_object_del(r->root, "n_probs");
			json_object_del(r->root, "post_sampling_probs");
		}
		res->stripped = r->extraction;
	}
	if (r->route != CST_ROUTE_EMBEDDINGS) {
		if (!r->has_max_tokens) {
			r->max_tokens = default_max < cap ? default_max : cap;
			res->injected = true;
		} else if (r->max_tokens > cap) {
			if (clamp == CST_CLAMP_REJECT) {
				snprintf(err, err_len, "max_tokens %lld exceeds the limit of %lld",
				    (long long)r->max_tokens, (long long)cap);
				return CST_EINVAL;
			}
			r->max_tokens = cap;
			res->clamped = true;
		}
		json_object_del(r->root, "max_completion_tokens");
		for (i = 0; i < sizeof(max_aliases) / sizeof(max_aliases[0]); i++)
			json_object_del(r->root, max_aliases[i]);
		if (json_object_set_new(r->root, "max_tokens", json_integer(r->max_tokens)) != 0)
			return CST_ENOMEM;
		res->max_tokens = r->max_tokens;
	}
	if (upstream_model) {
		if (json_object_set_new(r->root, "model", json_string(upstream_model)) != 0)
			return CST_ENOMEM;
		r->model = NULL;	/* the view died with the old value */
	}
	if (r->stream) {
		json_t *so = json_object_get(r->root, "stream_options");

		if (!json_is_object(so)) {
			so = json_object();
			if (so == NULL || json_object_set_new(r->root, "stream_options", so) != 0)
				return CST_ENOMEM;
		}
		if (json_object_set_new(so, "include_usage", json_true()) != 0)
			return CST_ENOMEM;
	}
	return 0;
}

int64_t
cst_request_prompt_estimate(const struct cst_model_request *r)
{
	return (int64_t)((r->prompt_bytes + 3) / 4 + 4 * r->n_messages);
}

/* a + b, or CST_REQUEST_TOKENS_MAX if that is more (a, b >= 0). */
static int64_t
tokens_add(int64_t a, int64_t b)
{
	int64_t s;

	if (__builtin_add_overflow(a, b, &s) || s > CST_REQUEST_TOKENS_MAX)
		return CST_REQUEST_TOKENS_MAX;
	return s;
}

/* a * b, or CST_REQUEST_TOKENS_MAX if that is more (a, b >= 0). */
static int64_t
tokens_mul(int64_t a, int64_t b)
{
	int64_t p;

	if (__builtin_mul_overflow(a, b, &p) || p > CST_REQUEST_TOKENS_MAX)
		return CST_REQUEST_TOKENS_MAX;
	return p;
}

int64_t
cst_request_completion_ceiling(const struct cst_model_request *r)
{
	static const char *const keys[] = { "n", "best_of" };
	int64_t seqs = 1;
	size_t i;

	if (r->route == CST_ROUTE_EMBEDDINGS)
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(r->root, keys[i]);

		/* decode accepted only positive integers (or null) */
		if (json_is_integer(v) && json_integer_value(v) > seqs)
			seqs = json_integer_value(v);
	}
	return tokens_mul(r->max_tokens > 0 ? r->max_tokens : 0, seqs);
}

int64_t
cst_request_prompt_ceiling(const struct cst_model_request *r, uint64_t body_bytes)
{
	int64_t n = body_bytes < (uint64_t)CST_REQUEST_TOKENS_MAX ? (int64_t)body_bytes :
	    CST_REQUEST_TOKENS_MAX;

	n = tokens_add(n, CST_REQUEST_TEMPLATE_TOKENS);
	n = tokens_add(n, tokens_mul((int64_t)r->n_messages, CST_REQUEST_MESSAGE_TOKENS));
	return tokens_add(n, tokens_mul((int64_t)r->n_media, CST_REQUEST_MEDIA_TOKENS));
}

static int
dump_cb(const char *buf, size_t size, void *data)
{
	return cst_buf_add(data, buf, size) == 0 ? 0 : -1;
}

int
cst_request_encode(const struct cst_model_request *r, struct cst_buf *out)
{
	return json_dump_callback(r->root, dump_cb, out, JSON_COMPACT) == 0 ? 0 : CST_ELIMIT;
}
