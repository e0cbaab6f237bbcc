/*
 * stub_upstream: a small, fast, deterministic OpenAI-compatible model server that stands in for
 * vLLM or llama.cpp behind castellan in the black-box tests (tests/e2e) and the benchmarks
 * (bench/). It serves /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/models,
 * streaming included, and misbehaves on request: a path prefix "/x/<directives>" (or the
 * process-wide --defaults) asks for delays, error statuses, dropped or hung connections, and so
 * on (see dir_keys[] below). Every /v1 request it receives is recorded, in memory and optionally
 * as JSON lines in a file, so tests can assert on what the gateway forwarded.
 *
 * It is test code and must never be linked into castellan. It must never read anything but its
 * command line, its certificate files and its sockets; never make an outgoing connection; never
 * answer differently for the same request and directives except for the "id" counter and the
 * "created"/"time_ms" clocks; and never touch the file system or sleep on the hot path (no
 * --record, no delay). Requests are hostile input like any other: bad directives, bodies and
 * headers fail the request (400), never the process.
 *
 * Threads: --workers N event loops, each with its own event_base and evhttp, accept on the same
 * port through SO_REUSEPORT. A request lives entirely on the worker that accepted it; the only
 * shared state is the recorder (a mutex) and the response id counter (atomic). The main thread
 * waits for SIGTERM/SIGINT, stops the loops and frees everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define STUB_MAX_WORKERS	64
#define STUB_MAX_BODY		(64u * 1024 * 1024)	/* request body limit, bytes */
#define STUB_MAX_HEADERS	(256u * 1024)		/* request header block limit, bytes */
#define STUB_IO_TIMEOUT_S	300			/* idle keep-alive / stalled write limit */
#define STUB_RECORD_MAX_DFL	100000			/* requests kept in memory by default */
#define STUB_DROP_POLL_MS	1			/* drop_after: output drain poll period */
#define STUB_DROP_POLL_MAX	5000			/* ... and how many polls before closing anyway */
#define STUB_EMBED_DIM		8

/* ------------------------------------------------------------------------------------------ */
/* Directives                                                                                 */

/* Directive keys. Values are unsigned decimal integers in [min, max]; anything else, and any
 * key not listed here, is a 400 for the request (or a start-up error for --defaults). */
enum dir_key {
	D_DELAY_MS,		/* wait this long before the response headers */
	D_EVENT_MS,		/* streaming: wait this long between SSE events */
	D_EVENTS,		/* content chunks (streaming) or content words (non-streaming) */
	D_STATUS,		/* answer this HTTP status with an OpenAI error body */
	D_CLOSE,		/* 1: close the connection without any response */
	D_HANG,			/* 1: never respond, keep the connection open */
	D_DROP_AFTER,		/* streaming: close after this many content events */
	D_USAGE,		/* 0: omit "usage" */
	D_COMPLETION_TOKENS,	/* report this completion_tokens instead of the word count */
	D_ECHO_AUTH,		/* 1: put the received Authorization value into the content */
	D_ECHO,			/* N > 0: the content is the last message's content (the prompt),
				 * streamed in events of N bytes */
	D_N
};

static const struct {
	const char *name;
	unsigned long min, max, dflt;
} dir_keys[D_N] = {
	[D_DELAY_MS]		= { "delay_ms", 0, 3600000, 0 },
	[D_EVENT_MS]		= { "event_ms", 0, 3600000, 0 },
	[D_EVENTS]		= { "events", 0, 100000, 3 },
	[D_STATUS]		= { "status", 200, 599, 0 },
	[D_CLOSE]		= { "close", 0, 1, 0 },
	[D_HANG]		= { "hang", 0, 1, 0 },
	[D_DROP_AFTER]		= { "drop_after", 0, 100000, 0 },
	[D_USAGE]		= { "usage", 0, 1, 1 },
	[D_COMPLETION_TOKENS]	= { "completion_tokens", 0, 1000000000, 0 },
	[D_ECHO_AUTH]		= { "echo_auth", 0, 1, 0 },
	[D_ECHO]		= { "echo", 0, 1000000, 0 },
};

/* The effective directives of one request: v[k] is the value, bit k of set says whether it was
 * given (by --defaults or the path) rather than defaulted. */
struct stub_dirs {
	unsigned long v[D_N];
	unsigned int set;
};

#define DIR_SET(d, k)	(((d)->set >> (k)) & 1u)

static void
dirs_init(struct stub_dirs *d)
{
	for (int k = 0; k < D_N; k++)
		d->v[k] = dir_keys[k].dflt;
	d->set = 0;
}

/* Parses an unsigned decimal in [p, end) no greater than max into *out. Returns 0, or -1 for an
 * empty string, a non-digit or a value over max (checked before it could overflow). */
static int
parse_ulong(const char *p, const char *end, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (p >= end)
		return -1;
	for (; p < end; p++) {
		unsigned long digit;

		if (*p < '0' || *p > '9')
			return -1;
		digit = (unsigned long)(*p - '0');
		if (digit > max || v > (max - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	*out = v;
	return 0;
}

/* Applies the comma-separated key=value list in p[0..len) (not NUL-terminated, untrusted) on
 * top of *d. Empty items are ignored. Returns 0, or -1 with a message in why[why_len]; on
 * failure *d may hold some of the items already applied. */
static int
dirs_parse(struct stub_dirs *d, const char *p, size_t len, char *why, size_t why_len)
{
	const char *end = p + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *eq;
		unsigned long v;
		int k;

		if (comma == NULL)
			comma = end;
		if (comma == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(comma - p));
		if (eq == NULL) {
			snprintf(why, why_len, "directive without value: %.*s",
			    (int)(comma - p), p);
			return -1;
		}
		for (k = 0; k < D_N; k++) {
			if (strlen(dir_keys[k].name) == (size_t)(eq - p) &&
			    memcmp(dir_keys[k].name, p, (size_t)(eq - p)) == 0)
				break;
		}
		if (k == D_N) {
			snprintf(why, why_len, "unknown directive: %.*s", (int)(eq - p), p);
			return -1;
		}
		if (parse_ulong(eq + 1, comma, dir_keys[k].max, &v) != 0 ||
		    v < dir_keys[k].min) {
			snprintf(why, why_len, "bad value for %s (want %lu..%lu)",
			    dir_keys[k].name, dir_keys[k].min, dir_keys[k].max);
			return -1;
		}
		d->v[k] = v;
		d->set |= 1u << k;
		p = comma < end ? comma + 1 : end;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Process state                                                                              */

/* The in-memory and on-disk request log. Each entry is one compact JSON object (a line of the
 * --record file). The ring keeps the newest cap entries; cap 0 keeps none. */
struct recorder {
	pthread_mutex_t mu;
	FILE *file;		/* owned; NULL without --record */
	char **ring;		/* owned, cap slots, each NULL or an owned line */
	size_t cap, head, n;	/* oldest entry at head, n entries */
};

struct stub {
	const char *host;		/* borrowed from argv */
	unsigned long port;
	unsigned long n_workers;
	const char *api_key;		/* borrowed from argv; NULL: no check */
	size_t api_key_len;
	SSL_CTX *ssl_ctx;		/* owned; NULL: plain HTTP */
	struct stub_dirs defaults;
	struct recorder rec;
	atomic_ullong next_id;
};

struct op;

struct worker {
	struct stub *stub;		/* borrowed */
	int fd;				/* listening socket; owned by http once accepted on */
	struct event_base *base;	/* owned */
	struct evhttp *http;		/* owned */
	pthread_t thread;
	struct op *ops;			/* pending asynchronous requests, owned */
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                              */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF), else 0. */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Appends s[0..len) to b escaped for the inside of a JSON string literal (no quotes). With
 * raw != 0 the bytes are untrusted and may not be UTF-8: each byte >= 0x80 is written as \u00XX
 * (Latin-1), so the output is always valid JSON. With raw == 0, s must already be valid UTF-8
 * (jansson strings are). Returns 0, or -1 when out of memory. */
static int
put_jesc(struct evbuffer *b, const char *s, size_t len, int raw)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t esc_len;

		if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || !raw))
			continue;
		if (i > run && evbuffer_add(b, s + run, i - run) != 0)
			return -1;
		run = i + 1;
		esc[0] = '\\';
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			esc_len = 2;
		} else if (c == '\n') {
			esc[1] = 'n';
			esc_len = 2;
		} else {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc_len = 6;
		}
		if (evbuffer_add(b, esc, esc_len) != 0)
			return -1;
	}
	if (len > run && evbuffer_add(b, s + run, len - run) != 0)
		return -1;
	return 0;
}

/* put_jesc with the quotes: a whole JSON string literal. */
static int
put_jstr(struct evbuffer *b, const char *s, size_t len, int raw)
{
	if (evbuffer_add(b, "\"", 1) != 0 || put_jesc(b, s, len, raw) != 0)
		return -1;
	return evbuffer_add(b, "\"", 1);
}

/* Counts whitespace-separated words in s[0..len). */
static unsigned long
count_words(const char *s, size_t len)
{
	unsigned long n = 0;
	int in_word = 0;

	for (size_t i = 0; i < len; i++) {
		int space = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
		    s[i] == '\f' || s[i] == '\v';

		if (!space && !in_word)
			n++;
		in_word = !space;
	}
	return n;
}

/* Words in a JSON string, or in the "text" of each part of an array of content parts, or in
 * each string of an array of strings; 0 for anything else. */
static unsigned long
count_json_words(const json_t *j)
{
	unsigned long n = 0;
	size_t i;
	json_t *e;

	if (json_is_string(j))
		return count_words(json_string_value(j), json_string_length(j));
	if (!json_is_array(j))
		return 0;
	json_array_foreach(j, i, e) {
		if (json_is_string(e))
			n += count_words(json_string_value(e), json_string_length(e));
		else if (json_is_object(e))
			n += count_json_words(json_object_get(e, "text"));
	}
	return n;
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_TRACE:		return "TRACE";
	case EVHTTP_REQ_CONNECT:	return "CONNECT";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	default:			return "UNKNOWN";
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                  */

/* Sends an OpenAI error body {"error":{"message":..,"type":..,"code":..}} with the given HTTP
 * status. message may hold untrusted bytes; type is a trusted literal; code_json is a trusted
 * JSON fragment (a number, a quoted string or null). The request is finished on return. */
static void
send_error(struct evhttp_request *req, int status, const char *message, const char *type,
    const char *code_json)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (evbuffer_add_printf(b, "{\"error\":{\"message\":") < 0 ||
	    put_jstr(b, message, strlen(message), 1) != 0 ||
	    evbuffer_add_printf(b, ",\"type\":\"%s\",\"code\":%s}}", type, code_json) < 0) {
		evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

/* Sends body (a NUL-terminated trusted string) with the given status and Content-Type. */
static void
send_text(struct evhttp_request *req, int status, const char *ctype, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add(b, body, strlen(body)) != 0) {
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

static void
send_json(struct evhttp_request *req, struct evbuffer *b)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evhttp_send_reply(req, HTTP_OK, NULL, b);
}

/* What a completion response is generated from. model and auth point into storage that outlives
 * every use (the request body's JSON, or the op that owns copies). */
struct gen {
	int chat;			/* 1: chat.completion(.chunk), 0: text_completion */
	unsigned long long id;
	long long created;
	const char *model;		/* valid UTF-8, NUL-terminated */
	size_t model_len;
	const char *auth;		/* raw Authorization value, or NULL */
	const char *echo;		/* the text echoed (D_ECHO), or NULL */
	size_t echo_len;
	unsigned long prompt_tokens;
	struct stub_dirs dirs;
};

/* Appends {"id":..,"object":..,"created":..,"model":.., (no closing brace). */
static int
put_head(struct evbuffer *b, const struct gen *g, int chunk)
{
	const char *object = g->chat ? (chunk ? "chat.completion.chunk" : "chat.completion") :
	    "text_completion";

	if (evbuffer_add_printf(b, "{\"id\":\"%s-stub-%llu\",\"object\":\"%s\",\"created\":%lld,"
	    "\"model\":", g->chat ? "chatcmpl" : "cmpl", g->id, object, g->created) < 0 ||
	    put_jstr(b, g->model, g->model_len, 0) != 0)
		return -1;
	return 0;
}

static unsigned long
gen_completion_tokens(const struct gen *g)
{
	if (DIR_SET(&g->dirs, D_COMPLETION_TOKENS))
		return g->dirs.v[D_COMPLETION_TOKENS];
	return g->dirs.v[D_EVENTS];
}

/* Appends "usage":{...} (no leading comma). */
static int
put_usage(struct evbuffer *b, const struct gen *g)
{
	unsigned long c = gen_completion_tokens(g);

	return evbuffer_add_printf(b, "\"usage\":{\"prompt_tokens\":%lu,\"completion_tokens\":%lu,"
	    "\"total_tokens\":%lu}", g->prompt_tokens, c, g->prompt_tokens + c) < 0 ? -1 : 0;
}

/* Builds the whole non-streaming completion body into b. Returns 0 or -1 (out of memory). */
static int
put_completion(struct evbuffer *b, const struct gen *g)
{
	unsigned long events = g->dirs.v[D_EVENTS];
	int echo = g->dirs.v[D_ECHO_AUTH] && g->auth != NULL;

	if (put_head(b, g, 0) != 0)
		return -1;
	if (evbuffer_add_printf(b, g->chat ?
	    ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" :
	    ",\"choices\":[{\"index\":0,\"text\":\"") < 0)
		return -1;
	if (g->echo != NULL) {
		if (put_jesc(b, g->echo, g->echo_len, 1) != 0)
			return -1;
		events = 0;
	} else if (echo) {
		if (put_jesc(b, g->auth, strlen(g->auth), 1) != 0 ||
		    (events > 0 && evbuffer_add(b, " ", 1) != 0))
			return -1;
	}
	for (unsigned long i = 0; i < events; i++) {
		if (evbuffer_add_printf(b, i + 1 < events ? "tok%lu " : "tok%lu", i) < 0)
			return -1;
	}
	if (evbuffer_add_printf(b, g->chat ? "\"},\"finish_reason\":\"stop\"}]" :
	    "\",\"finish_reason\":\"stop\"}]") < 0)
		return -1;
	if (g->dirs.v[D_USAGE] && (evbuffer_add(b, ",", 1) != 0 || put_usage(b, g) != 0))
		return -1;
	return evbuffer_add(b, "}", 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Recording                                                                                  */

static int
recorder_init(struct recorder *r, const char *path, size_t cap)
{
	memset(r, 0, sizeof(*r));
	if (pthread_mutex_init(&r->mu, NULL) != 0)
		return -1;
	r->cap = cap;
	if (cap > 0 && (r->ring = calloc(cap, sizeof(*r->ring))) == NULL)
		return -1;
	if (path != NULL && (r->file = fopen(path, "a")) == NULL) {
		fprintf(stderr, "stub_upstream: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
recorder_clear_locked(struct recorder *r)
{
	for (size_t i = 0; i < r->cap; i++) {
		free(r->ring[i]);
		r->ring[i] = NULL;
	}
	r->head = 0;
	r->n = 0;
}

static void
recorder_free(struct recorder *r)
{
	if (r->ring != NULL)
		recorder_clear_locked(r);
	free(r->ring);
	if (r->file != NULL)
		fclose(r->file);
	pthread_mutex_destroy(&r->mu);
}

/* Appends line (owned, transferred) to the file, flushed, and to the ring. */
static void
recorder_add(struct recorder *r, char *line)
{
	pthread_mutex_lock(&r->mu);
	if (r->file != NULL) {
		fputs(line, r->file);
		fputc('\n', r->file);
		fflush(r->file);
	}
	if (r->cap > 0) {
		size_t slot = (r->head + r->n) % r->cap;

		if (r->n == r->cap) {
			free(r->ring[r->head]);
			r->head = (r->head + 1) % r->cap;
			slot = (r->head + r->n - 1) % r->cap;
		} else {
			r->n++;
		}
		r->ring[slot] = line;
		line = NULL; /* transferred */
	}
	pthread_mutex_unlock(&r->mu);
	free(line);
}

/* Appends the JSON array of the recorded requests, oldest first, to b. */
static int
recorder_dump(struct recorder *r, struct evbuffer *b)
{
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	rc |= evbuffer_add(b, "[", 1);
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		const char *line = r->ring[(r->head + i) % r->cap];

		if (i > 0)
			rc |= evbuffer_add(b, ",", 1);
		rc |= evbuffer_add(b, line, strlen(line));
	}
	rc |= evbuffer_add(b, "]", 1);
	pthread_mutex_unlock(&r->mu);
	return rc == 0 ? 0 : -1;
}

static void
recorder_reset(struct recorder *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->ring != NULL)
		recorder_clear_locked(r);
	pthread_mutex_unlock(&r->mu);
}

/* Appends untrusted bytes as a JSON string: verbatim when they are well-formed UTF-8, else with
 * every byte >= 0x80 taken as Latin-1. Returns 0 or -1 (out of memory). */
static int
put_bytes(struct evbuffer *b, const char *p, size_t len)
{
	return put_jstr(b, p, len, !utf8_valid((const unsigned char *)p, len));
}

/* Appends the header name k lower-cased, as a JSON string. */
static int
put_header_name(struct evbuffer *b, const char *k)
{
	char small[128], *tmp = small;
	size_t kl = strlen(k);
	int rc;

	if (kl > sizeof(small) && (tmp = malloc(kl)) == NULL)
		return -1;
	for (size_t i = 0; i < kl; i++)
		tmp[i] = (k[i] >= 'A' && k[i] <= 'Z') ? (char)(k[i] - 'A' + 'a') : k[i];
	rc = put_bytes(b, tmp, kl);
	if (tmp != small)
		free(tmp);
	return rc;
}

/* Appends {"lower-case-name":"value",...}. A name that repeats (in any case) appears once, at
 * its first position, with its values joined by ", " in order. */
static int
put_headers(struct evbuffer *b, const struct evkeyvalq *hdrs)
{
	const struct evkeyval *kv, *prev, *more;
	int first = 1;

	if (evbuffer_add(b, "{", 1) != 0)
		return -1;
	TAILQ_FOREACH(kv, hdrs, next) {
		struct evbuffer *val;
		size_t vl;
		int rc, dup = 0;

		for (prev = TAILQ_FIRST(hdrs); prev != kv; prev = TAILQ_NEXT(prev, next)) {
			if (evutil_ascii_strcasecmp(prev->key, kv->key) == 0) {
				dup = 1;
				break;
			}
		}
		if (dup)
			continue;
		if ((!first && evbuffer_add(b, ",", 1) != 0) || put_header_name(b, kv->key) != 0 ||
		    evbuffer_add(b, ":", 1) != 0)
			return -1;
		first = 0;
		if ((val = evbuffer_new()) == NULL)
			return -1;
		rc = evbuffer_add(val, kv->value, strlen(kv->value));
		for (more = TAILQ_NEXT(kv, next); more != NULL; more = TAILQ_NEXT(more, next)) {
			if (evutil_ascii_strcasecmp(more->key, kv->key) == 0) {
				rc |= evbuffer_add(val, ", ", 2);
				rc |= evbuffer_add(val, more->value, strlen(more->value));
			}
		}
		vl = evbuffer_get_length(val);
		rc |= put_bytes(b, vl > 0 ? (const char *)evbuffer_pullup(val, -1) : "", vl);
		evbuffer_free(val);
		if (rc != 0)
			return -1;
	}
	return evbuffer_add(b, "}", 1);
}

/* Records req as {"method","path","headers","body","time_ms"} (one compact line). Out of memory
 * loses the record, not the request. */
static void
record_request(struct stub *s, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t body_len = evbuffer_get_length(in), len;
	const char *body = body_len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b = evbuffer_new();
	char *line = NULL;
	int rc = 0;

	if (b == NULL || body == NULL)
		goto out;
	rc |= evbuffer_add_printf(b, "{\"method\":\"%s\",\"path\":",
	    method_name(evhttp_request_get_command(req))) < 0;
	rc |= put_bytes(b, uri, strlen(uri));
	rc |= evbuffer_add(b, ",\"headers\":", 11);
	rc |= put_headers(b, evhttp_request_get_input_headers(req));
	rc |= evbuffer_add(b, ",\"body\":", 8);
	rc |= put_bytes(b, body, body_len);
	rc |= evbuffer_add_printf(b, ",\"time_ms\":%lld}", now_ms()) < 0;
	if (rc != 0)
		goto out;
	len = evbuffer_get_length(b);
	if ((line = malloc(len + 1)) == NULL)
		goto out;
	evbuffer_remove(b, line, len);
	line[len] = '\0';
	recorder_add(&s->rec, line);
	line = NULL; /* transferred */
out:
	free(line);
	if (b != NULL)
		evbuffer_free(b);
}

/* ------------------------------------------------------------------------------------------ */
/* Asynchronous requests                                                                      */

/*
 * An op is a request that is not answered inside its callback: a delay, a hang, a stream, a
 * close. Ownership rules (libevent 2.1 evhttp):
 *  - While the connection lives, evhttp owns req; we must finish it (send a reply or end the
 *    stream) or leave it to evhttp_connection_free.
 *  - When the peer goes away before we finish, evhttp detaches req (its connection becomes
 *    NULL), frees the connection and calls our close callback: from then on req is ours to
 *    evhttp_request_free.
 *  - The close callback is per connection and outlives the request on a keep-alive connection,
 *    so op_free always unhooks it. An op is freed before req is finished or freed, never after.
 */
enum op_kind {
	OP_CLOSE,	/* close the connection on the next loop turn */
	OP_HANG,	/* never answer */
	OP_DELAY,	/* answer when the timer fires */
	OP_STREAM,	/* send the next SSE event when the timer fires */
	OP_DROP,	/* close the connection once the output has drained */
};

struct op {
	struct worker *w;
	struct op *prev, *next;			/* in w->ops */
	struct evhttp_request *req;		/* see the ownership rules above */
	struct evhttp_connection *evcon;	/* NULL once the connection is gone */
	struct event *timer;			/* owned */
	enum op_kind kind;
	struct stub_dirs dirs;
	struct gen g;				/* streams: g.model and g.auth point into: */
	char *model;				/* owned */
	char *auth;				/* owned, or NULL */
	char *echo;				/* owned, or NULL */
	unsigned long sent;			/* content events sent */
	unsigned long polls;			/* OP_DROP drain polls so far */
};

static void op_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Unhooks and frees op. Does not touch op->req. */
static void
op_free(struct op *op)
{
	if (op->evcon != NULL)
		evhttp_connection_set_closecb(op->evcon, NULL, NULL);
	if (op->timer != NULL)
		event_free(op->timer);
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		op->w->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	free(op->model);
	free(op->auth);
	free(op->echo);
	free(op);
}

static void
op_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct op *op = arg;
	struct evhttp_request *req = op->req;
	int detached = evhttp_request_get_connection(req) == NULL;

	(void)evcon;
	op->evcon = NULL; /* being freed by evhttp */
	op_free(op);
	if (detached)
		evhttp_request_free(req);
}

/* Creates an op for req on w. Returns NULL when out of memory (req untouched). */
static struct op *
op_new(struct worker *w, struct evhttp_request *req, enum op_kind kind,
    const struct stub_dirs *dirs)
{
	struct op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	if ((op->timer = evtimer_new(w->base, op_timer_cb, op)) == NULL) {
		free(op);
		return NULL;
	}
	op->w = w;
	op->req = req;
	op->kind = kind;
	op->dirs = *dirs;
	op->evcon = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(op->evcon, op_close_cb, op);
	op->next = w->ops;
	if (w->ops != NULL)
		w->ops->prev = op;
	w->ops = op;
	return op;
}

static void
op_arm(struct op *op, unsigned long ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(op->timer, &tv);
}

/* Frees op and closes its connection without a (further) response; evhttp frees req. */
static void
op_close_connection(struct op *op)
{
	struct evhttp_connection *evcon = op->evcon;

	op_free(op);
	if (evcon != NULL)
		evhttp_connection_free(evcon);
}

/* Sends "data: <json>\n\n" as one HTTP chunk; b holds the JSON and is drained. */
static void
stream_send(struct op *op, struct evbuffer *b)
{
	evhttp_send_reply_chunk(op->req, b);
}

/* Sends the next event of the stream. Returns 1 when the stream has ended (op freed), else 0. */
static int
stream_step(struct op *op)
{
	struct gen *g = &op->g;
	struct evbuffer *b = evbuffer_new();
	struct evhttp_request *req;
	int rc = 0;

	if (b == NULL)
		goto fail;
	if (g->echo != NULL && op->sent * g->dirs.v[D_ECHO] < g->echo_len) {
		size_t at = op->sent * g->dirs.v[D_ECHO], n = g->echo_len - at;

		if (n > g->dirs.v[D_ECHO])
			n = g->dirs.v[D_ECHO];
		rc |= evbuffer_add(b, "data: ", 6);
		rc |= put_head(b, g, 1);
		rc |= evbuffer_add_printf(b, g->chat ?
		    ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" :
		    ",\"choices\":[{\"index\":0,\"text\":\"") < 0;
		rc |= put_jesc(b, g->echo + at, n, 1);
		rc |= evbuffer_add_printf(b, g->chat ? "\"},\"finish_reason\":null}]}\n\n" :
		    "\",\"finish_reason\":null}]}\n\n") < 0;
		if (rc != 0)
			goto fail;
		stream_send(op, b);
		op->sent++;
		evbuffer_free(b);
		return 0;
	}
	if (g->echo == NULL && op->sent < g->dirs.v[D_EVENTS]) {
		int echo = op->sent == 0 && g->dirs.v[D_ECHO_AUTH] && g->auth != NULL;

		rc |= evbuffer_add(b, "data: ", 6);
		rc |= put_head(b, g, 1);
		rc |= evbuffer_add_printf(b, g->chat ?
		    ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" :
		    ",\"choices\":[{\"index\":0,\"text\":\"") < 0;
		if (echo) {
			/* The first event carries "<auth> tok0 ". */
			rc |= put_jesc(b, g->auth, strlen(g->auth), 1);
			rc |= evbuffer_add(b, " ", 1);
		}
		rc |= evbuffer_add_printf(b, "tok%lu \"", op->sent) < 0;
		rc |= evbuffer_add_printf(b, g->chat ? "},\"finish_reason\":null}]}\n\n" :
		    ",\"finish_reason\":null}]}\n\n") < 0;
		if (rc != 0)
			goto fail;
		stream_send(op, b);
		op->sent++;
		evbuffer_free(b);
		return 0;
	}
	/* The end: finish_reason chunk, usage chunk, [DONE], terminating chunk. */
	rc |= evbuffer_add(b, "data: ", 6);
	rc |= put_head(b, g, 1);
	rc |= evbuffer_add_printf(b, g->chat ?
	    ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" :
	    ",\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"stop\"}]}\n\n") < 0;
	if (rc != 0)
		goto fail;
	stream_send(op, b);
	if (g->dirs.v[D_USAGE]) {
		rc |= evbuffer_add(b, "data: ", 6);
		rc |= put_head(b, g, 1);
		rc |= evbuffer_add_printf(b, ",\"choices\":[],") < 0;
		rc |= put_usage(b, g);
		rc |= evbuffer_add(b, "}\n\n", 3);
		if (rc != 0)
			goto fail;
		stream_send(op, b);
	}
	if (evbuffer_add(b, "data: [DONE]\n\n", 14) != 0)
		goto fail;
	stream_send(op, b);
	evbuffer_free(b);
	req = op->req;
	op_free(op);
	evhttp_send_reply_end(req);
	return 1;
fail:
	/* Out of memory mid-stream: the only honest thing left is to cut the connection. */
	if (b != NULL)
		evbuffer_free(b);
	op_close_connection(op);
	return 1;
}

/* Decides what follows the event just sent: a drop, a timer, or (event_ms 0) the next events
 * right away. */
static void
stream_advance(struct op *op)
{
	const struct stub_dirs *d = &op->g.dirs;

	for (;;) {
		if (DIR_SET(d, D_DROP_AFTER) &&
		    op->sent >= (d->v[D_DROP_AFTER] < d->v[D_EVENTS] ?
		    d->v[D_DROP_AFTER] : d->v[D_EVENTS])) {
			op->kind = OP_DROP;
			op_arm(op, 0);
			return;
		}
		if (d->v[D_EVENT_MS] > 0) {
			op_arm(op, d->v[D_EVENT_MS]);
			return;
		}
		if (stream_step(op) != 0)
			return;
	}
}

/* Starts the event stream for op (kind becomes OP_STREAM): headers, the role chunk for chat,
 * then the events as the directives say. */
static void
stream_begin(struct op *op)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(op->req);

	op->kind = OP_STREAM;
	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_send_reply_start(op->req, HTTP_OK, NULL);
	if (op->g.chat) {
		struct evbuffer *b = evbuffer_new();
		int rc;

		if (b == NULL) {
			op_close_connection(op);
			return;
		}
		rc = evbuffer_add(b, "data: ", 6);
		rc |= put_head(b, &op->g, 1);
		rc |= evbuffer_add_printf(b, ",\"choices\":[{\"index\":0,\"delta\":"
		    "{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n") < 0;
		if (rc != 0) {
			evbuffer_free(b);
			op_close_connection(op);
			return;
		}
		stream_send(op, b);
		evbuffer_free(b);
	}
	stream_advance(op);
}

/* ------------------------------------------------------------------------------------------ */
/* Routes                                                                                     */

enum route { R_NONE, R_CHAT, R_COMPLETIONS, R_EMBEDDINGS, R_MODELS };

static enum route
route_of(const char *path)
{
	if (strcmp(path, "/v1/chat/completions") == 0)
		return R_CHAT;
	if (strcmp(path, "/v1/completions") == 0)
		return R_COMPLETIONS;
	if (strcmp(path, "/v1/embeddings") == 0)
		return R_EMBEDDINGS;
	if (strcmp(path, "/v1/models") == 0)
		return R_MODELS;
	return R_NONE;
}

/* Parses the request body as a JSON object. Returns a new reference, or NULL with *why set to
 * the error to send: 400 for a body that is not a JSON object, 500 when out of memory. */
static json_t *
body_json(struct evhttp_request *req, int *why)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *p = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	json_error_t err;
	json_t *j;

	if (p == NULL) {
		*why = HTTP_INTERNAL;
		return NULL;
	}
	j = json_loadb(p, len, 0, &err);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		*why = HTTP_BADREQUEST;
		return NULL;
	}
	return j;
}

static void
send_body_error(struct evhttp_request *req, int why)
{
	if (why == HTTP_BADREQUEST)
		send_error(req, HTTP_BADREQUEST, "request body is not a JSON object",
		    "invalid_request_error", "null");
	else
		send_error(req, HTTP_INTERNAL, "out of memory", "server_error", "null");
}

static void
respond_models(struct evhttp_request *req)
{
	send_text(req, HTTP_OK, "application/json",
	    "{\"object\":\"list\",\"data\":[{\"id\":\"stub-model\",\"object\":\"model\","
	    "\"created\":0,\"owned_by\":\"stub\"}]}");
}

/* Deterministic embedding of s[0..len): FNV-1a of the text seeds an LCG; each value is in
 * [-1, 1) with six decimals. */
static int
put_embedding(struct evbuffer *b, size_t index, const char *s, size_t len)
{
	uint64_t x = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		x = (x ^ (unsigned char)s[i]) * 0x100000001b3ull;
	if (evbuffer_add_printf(b, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":[",
	    index > 0 ? "," : "", index) < 0)
		return -1;
	for (int k = 0; k < STUB_EMBED_DIM; k++) {
		double v;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		v = (double)(x >> 40) / (double)(1u << 24) * 2.0 - 1.0;
		if (evbuffer_add_printf(b, "%s%.6f", k > 0 ? "," : "", v) < 0)
			return -1;
	}
	return evbuffer_add(b, "]}", 2);
}

static void
respond_embeddings(struct evhttp_request *req, const struct stub_dirs *d)
{
	json_t *j, *input, *e;
	struct evbuffer *b = NULL;
	const char *model = "stub-model";
	size_t model_len = strlen(model), i;
	unsigned long p;
	int rc = 0, why;

	if ((j = body_json(req, &why)) == NULL) {
		send_body_error(req, why);
		return;
	}
	if (json_is_string(json_object_get(j, "model"))) {
		model = json_string_value(json_object_get(j, "model"));
		model_len = json_string_length(json_object_get(j, "model"));
	}
	input = json_object_get(j, "input");
	p = count_json_words(input);
	if (p < 1)
		p = 1;
	if ((b = evbuffer_new()) == NULL)
		goto oom;
	rc |= evbuffer_add_printf(b, "{\"object\":\"list\",\"data\":[") < 0;
	if (json_is_array(input) && json_array_size(input) > 0 &&
	    json_is_string(json_array_get(input, 0))) {
		json_array_foreach(input, i, e) {
			if (json_is_string(e))
				rc |= put_embedding(b, i, json_string_value(e),
				    json_string_length(e));
			else
				rc |= put_embedding(b, i, "", 0);
		}
	} else if (json_is_string(input)) {
		rc |= put_embedding(b, 0, json_string_value(input), json_string_length(input));
	} else {
		rc |= put_embedding(b, 0, "", 0);
	}
	rc |= evbuffer_add_printf(b, "],\"model\":") < 0;
	rc |= put_jstr(b, model, model_len, 0);
	if (d->v[D_USAGE])
		rc |= evbuffer_add_printf(b, ",\"usage\":{\"prompt_tokens\":%lu,"
		    "\"total_tokens\":%lu}", p, p) < 0;
	rc |= evbuffer_add(b, "}", 1);
	if (rc != 0)
		goto oom;
	send_json(req, b);
	evbuffer_free(b);
	json_decref(j);
	return;
oom:
	if (b != NULL)
		evbuffer_free(b);
	json_decref(j);
	send_error(req, HTTP_INTERNAL, "out of memory", "server_error", "null");
}

/* Chat and text completions, streaming or not. op is NULL or this request's op (after a delay);
 * for a stream it is created or reused, otherwise it is freed before the reply. */
static void
respond_completion(struct worker *w, struct evhttp_request *req, const struct stub_dirs *d,
    int chat, struct op *op)
{
	json_t *j, *m, *msg;
	struct gen g;
	size_t i;
	int why;

	if ((j = body_json(req, &why)) == NULL) {
		if (op != NULL)
			op_free(op);
		send_body_error(req, why);
		return;
	}
	memset(&g, 0, sizeof(g));
	g.chat = chat;
	g.id = atomic_fetch_add(&w->stub->next_id, 1);
	g.created = (long long)time(NULL);
	g.dirs = *d;
	g.model = "stub-model";
	g.model_len = strlen(g.model);
	m = json_object_get(j, "model");
	if (json_is_string(m)) {
		g.model = json_string_value(m);
		g.model_len = json_string_length(m);
	}
	if (d->v[D_ECHO_AUTH])
		g.auth = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Authorization");
	if (chat) {
		json_array_foreach(json_object_get(j, "messages"), i, msg) {
			g.prompt_tokens += count_json_words(json_object_get(msg, "content"));
			if (d->v[D_ECHO] && json_is_string(json_object_get(msg, "content"))) {
				g.echo = json_string_value(json_object_get(msg, "content"));
				g.echo_len = json_string_length(json_object_get(msg, "content"));
			}
		}
	} else {
		g.prompt_tokens = count_json_words(json_object_get(j, "prompt"));
		if (d->v[D_ECHO] && json_is_string(json_object_get(j, "prompt"))) {
			g.echo = json_string_value(json_object_get(j, "prompt"));
			g.echo_len = json_string_length(json_object_get(j, "prompt"));
		}
	}
	if (g.prompt_tokens < 1)
		g.prompt_tokens = 1;

	if (json_is_true(json_object_get(j, "stream"))) {
		if (op == NULL && (op = op_new(w, req, OP_STREAM, d)) == NULL)
			goto oom;
		if ((op->model = malloc(g.model_len + 1)) == NULL ||
		    (g.auth != NULL && (op->auth = strdup(g.auth)) == NULL) ||
		    (g.echo != NULL && (op->echo = malloc(g.echo_len + 1)) == NULL)) {
			op_free(op);
			goto oom;
		}
		if (g.echo != NULL) {
			memcpy(op->echo, g.echo, g.echo_len);
			g.echo = op->echo;
		}
		memcpy(op->model, g.model, g.model_len + 1);
		g.model = op->model;
		g.auth = op->auth;
		op->g = g;
		json_decref(j);
		stream_begin(op);
		return;
	}

	if (op != NULL)
		op_free(op);
	{
		struct evbuffer *b = evbuffer_new();

		if (b == NULL || put_completion(b, &g) != 0) {
			if (b != NULL)
				evbuffer_free(b);
			goto oom;
		}
		send_json(req, b);
		evbuffer_free(b);
	}
	json_decref(j);
	return;
oom:
	json_decref(j);
	send_error(req, HTTP_INTERNAL, "out of memory", "server_error", "null");
}

/* Answers a /v1 request whose directives have been applied and whose delay (if any) is over.
 * op is NULL or this request's op: it is consumed (freed, or kept by a stream). dirs may point
 * into op: it is copied before op can go. */
static void
respond(struct worker *w, struct evhttp_request *req, const struct stub_dirs *dirs,
    const char *path, struct op *op)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	enum route r = route_of(path);
	struct stub_dirs dl = *dirs;
	const struct stub_dirs *d = &dl;
	char code[24];

	if (d->v[D_STATUS] != 0) {
		if (op != NULL)
			op_free(op);
		snprintf(code, sizeof(code), "%lu", d->v[D_STATUS]);
		send_error(req, (int)d->v[D_STATUS], "stub failure", "server_error", code);
		return;
	}
	if (r == R_CHAT || r == R_COMPLETIONS) {
		if (method != EVHTTP_REQ_POST)
			goto bad_method;
		respond_completion(w, req, d, r == R_CHAT, op);
		return;
	}
	if (op != NULL)
		op_free(op);
	switch (r) {
	case R_EMBEDDINGS:
		if (method != EVHTTP_REQ_POST)
			goto bad_method;
		respond_embeddings(req, d);
		return;
	case R_MODELS:
		if (method != EVHTTP_REQ_GET)
			goto bad_method;
		respond_models(req);
		return;
	default:
		send_error(req, HTTP_NOTFOUND, "unknown route", "invalid_request_error", "null");
		return;
	}
bad_method:
	send_error(req, 405, "method not allowed", "invalid_request_error", "null");
}

/* Strips an optional "/x/<directives>" prefix from path. Sets *dirs and *dirs_len to the directive
 * text (empty without a prefix) and returns the rest, which points into path. */
static const char *
split_prefix(const char *path, const char **dirs, size_t *dirs_len)
{
	const char *slash;

	*dirs = "";
	*dirs_len = 0;
	if (strncmp(path, "/x/", 3) != 0)
		return path;
	*dirs = path + 3;
	slash = strchr(*dirs, '/');
	if (slash == NULL) {
		*dirs_len = strlen(*dirs);
		return "";
	}
	*dirs_len = (size_t)(slash - *dirs);
	return slash;
}

static void
handle_stub_route(struct stub *s, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);

	if (strcmp(path, "/_stub/health") == 0 && method == EVHTTP_REQ_GET) {
		send_text(req, HTTP_OK, "text/plain", "ok");
	} else if (strcmp(path, "/_stub/requests") == 0 && method == EVHTTP_REQ_GET) {
		struct evbuffer *b = evbuffer_new();

		if (b == NULL || recorder_dump(&s->rec, b) != 0) {
			if (b != NULL)
				evbuffer_free(b);
			send_error(req, HTTP_INTERNAL, "out of memory", "server_error", "null");
			return;
		}
		send_json(req, b);
		evbuffer_free(b);
	} else if (strcmp(path, "/_stub/reset") == 0 && method == EVHTTP_REQ_POST) {
		recorder_reset(&s->rec);
		send_text(req, HTTP_OK, "text/plain", "ok");
	} else {
		send_error(req, HTTP_NOTFOUND, "unknown stub route", "invalid_request_error",
		    "null");
	}
}

static int
auth_ok(const struct stub *s, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	size_t hl;

	if (h == NULL)
		return 0;
	hl = strlen(h);
	return hl == s->api_key_len + 7 && memcmp(h, "Bearer ", 7) == 0 &&
	    CRYPTO_memcmp(h + 7, s->api_key, s->api_key_len) == 0;
}

static void
op_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct op *op = arg;
	struct evhttp_request *req = op->req;

	(void)fd;
	(void)what;
	if (evhttp_request_get_connection(req) == NULL) {
		/* Detached without a close callback (should not happen): ours to free. */
		op->evcon = NULL;
		op_free(op);
		evhttp_request_free(req);
		return;
	}
	switch (op->kind) {
	case OP_CLOSE:
		op_close_connection(op);
		return;
	case OP_DROP: {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(op->evcon);

		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0 &&
		    ++op->polls < STUB_DROP_POLL_MAX) {
			op_arm(op, STUB_DROP_POLL_MS);
			return;
		}
		op_close_connection(op);
		return;
	}
	case OP_DELAY: {
		const char *dirs, *rest;
		size_t dirs_len;

		const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

		rest = split_prefix(path != NULL ? path : "", &dirs, &dirs_len);
		respond(op->w, req, &op->dirs, rest, op);
		return;
	}
	case OP_STREAM:
		if (stream_step(op) == 0)
			stream_advance(op);
		return;
	case OP_HANG:
	default:
		return;
	}
}

/* The one request callback: prefix, recording, directives, auth, then behaviour. */
static void
on_request(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	struct stub *s = w->stub;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	const char *dirs, *rest;
	size_t dirs_len;
	struct stub_dirs d;
	char why[256];
	struct op *op;

	if (path == NULL)
		path = "";
	rest = split_prefix(path, &dirs, &dirs_len);
	if (strncmp(rest, "/_stub/", 7) == 0) {
		handle_stub_route(s, req, rest);
		return;
	}
	if (strcmp(rest, "/v1") != 0 && strncmp(rest, "/v1/", 4) != 0) {
		send_error(req, HTTP_NOTFOUND, "unknown route", "invalid_request_error", "null");
		return;
	}
	if (s->rec.file != NULL || s->rec.cap > 0)
		record_request(s, req);

	d = s->defaults;
	if (dirs_parse(&d, dirs, dirs_len, why, sizeof(why)) != 0) {
		send_error(req, HTTP_BADREQUEST, why, "invalid_request_error", "null");
		return;
	}
	if (s->api_key != NULL && !auth_ok(s, req)) {
		send_error(req, 401, "invalid api key", "invalid_request_error",
		    "\"invalid_api_key\"");
		return;
	}
	if (d.v[D_CLOSE] || d.v[D_HANG] || d.v[D_DELAY_MS] > 0) {
		enum op_kind kind = d.v[D_CLOSE] ? OP_CLOSE : d.v[D_HANG] ? OP_HANG : OP_DELAY;

		if ((op = op_new(w, req, kind, &d)) == NULL) {
			send_error(req, HTTP_INTERNAL, "out of memory", "server_error", "null");
			return;
		}
		if (kind != OP_HANG)
			op_arm(op, kind == OP_DELAY ? d.v[D_DELAY_MS] : 0);
		return;
	}
	respond(w, req, &d, rest, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up                                                                                     */

static struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	SSL_CTX *ctx = arg;
	SSL *ssl = SSL_new(ctx);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	/* On failure libevent may or may not have freed ssl already; leak rather than risk a
	 * double free on this out-of-memory path. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static SSL_CTX *
tls_ctx_new(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail:
	fprintf(stderr, "stub_upstream: TLS set-up failed:\n");
	ERR_print_errors_fp(stderr);
	SSL_CTX_free(ctx);
	return NULL;
}

/* Opens n listening sockets on host:port sharing the port through SO_REUSEPORT (port 0: the
 * first picks one and the others follow). Stores them in fds[n] and the port in *bound.
 * Returns 0, or -1 after a message (every socket opened is closed). */
static int
listen_all(const char *host, unsigned long port, int *fds, unsigned long n, unsigned long *bound)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	char port_s[8];
	unsigned long i;
	int one = 1, rc;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port_s, sizeof(port_s), "%lu", port);
	if ((rc = getaddrinfo(host, port_s, &hints, &ai)) != 0) {
		fprintf(stderr, "stub_upstream: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	sl = ai->ai_addrlen;
	for (i = 0; i < n; i++) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			goto fail;
		fds[i] = fd;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
		    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0)
			goto fail;
		if (i == 0) {
			/* Port 0: every later socket must bind the port the first one got. */
			if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
				goto fail;
		}
	}
	*bound = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	freeaddrinfo(ai);
	return 0;
fail:
	fprintf(stderr, "stub_upstream: listen on %s:%lu: %s\n", host, port, strerror(errno));
	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	freeaddrinfo(ai);
	return -1;
}

/* Creates w's event base and HTTP server on w->fd (which it then owns). Returns 0 or -1. */
static int
worker_init(struct worker *w)
{
	if ((w->base = event_base_new()) == NULL || (w->http = evhttp_new(w->base)) == NULL)
		return -1;
	evhttp_set_max_body_size(w->http, STUB_MAX_BODY);
	evhttp_set_max_headers_size(w->http, STUB_MAX_HEADERS);
	evhttp_set_timeout(w->http, STUB_IO_TIMEOUT_S);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(w->http, on_request, w);
	if (w->stub->ssl_ctx != NULL)
		evhttp_set_bevcb(w->http, tls_bevcb, w->stub->ssl_ctx);
	if (evhttp_accept_socket_with_handle(w->http, w->fd) == NULL)
		return -1;
	w->fd = -1; /* transferred */
	return 0;
}

/* Frees everything w owns. Pending ops are unhooked first so evhttp_free, which frees the
 * connections and the requests still attached to them, never calls back into freed memory. */
static void
worker_free(struct worker *w)
{
	while (w->ops != NULL) {
		struct op *op = w->ops;
		struct evhttp_request *req = op->req;
		int detached = evhttp_request_get_connection(req) == NULL;

		op_free(op);
		if (detached)
			evhttp_request_free(req);
	}
	if (w->http != NULL)
		evhttp_free(w->http);
	if (w->base != NULL)
		event_base_free(w->base);
	if (w->fd >= 0)
		close(w->fd);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: stub_upstream [--host ADDR] [--port N] [--workers N] [--record FILE]\n"
	    "                     [--record-max N] [--api-key KEY]\n"
	    "                     [--tls-cert FILE --tls-key FILE] [--defaults DIRECTIVES]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "workers", required_argument, NULL, 'w' },
		{ "record", required_argument, NULL, 'r' },
		{ "record-max", required_argument, NULL, 'm' },
		{ "api-key", required_argument, NULL, 'k' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "defaults", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct stub s;
	struct worker w[STUB_MAX_WORKERS];
	int fds[STUB_MAX_WORKERS];
	const char *record = NULL, *cert = NULL, *key = NULL, *defaults = "";
	unsigned long record_max = STUB_RECORD_MAX_DFL, bound = 0, i, started = 0;
	sigset_t sigs;
	char why[256];
	int c, sig, status = 1;

	memset(&s, 0, sizeof(s));
	memset(w, 0, sizeof(w));
	for (i = 0; i < STUB_MAX_WORKERS; i++)
		w[i].fd = -1;
	s.host = "127.0.0.1";
	s.n_workers = 1;
	atomic_init(&s.next_id, 1);
	dirs_init(&s.defaults);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *a = optarg;
		const char *e = a != NULL ? a + strlen(a) : NULL;

		switch (c) {
		case 'h': s.host = a; break;
		case 'r': record = a; break;
		case 'k': s.api_key = a; s.api_key_len = strlen(a); break;
		case 'c': cert = a; break;
		case 'K': key = a; break;
		case 'd': defaults = a; break;
		case 'p':
			if (parse_ulong(a, e, 65535, &s.port) != 0)
				goto bad_usage;
			break;
		case 'w':
			if (parse_ulong(a, e, STUB_MAX_WORKERS, &s.n_workers) != 0 ||
			    s.n_workers < 1)
				goto bad_usage;
			break;
		case 'm':
			if (parse_ulong(a, e, 100000000, &record_max) != 0)
				goto bad_usage;
			break;
		default:
			goto bad_usage;
		}
	}
	if (optind != argc || (cert == NULL) != (key == NULL))
		goto bad_usage;
	if (dirs_parse(&s.defaults, defaults, strlen(defaults), why, sizeof(why)) != 0) {
		fprintf(stderr, "stub_upstream: --defaults: %s\n", why);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every worker */

	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "stub_upstream: evthread_use_pthreads failed\n");
		return 1;
	}
	if (recorder_init(&s.rec, record, record_max) != 0) {
		fprintf(stderr, "stub_upstream: recorder set-up failed\n");
		return 1;
	}
	if (cert != NULL && (s.ssl_ctx = tls_ctx_new(cert, key)) == NULL)
		goto out;
	if (listen_all(s.host, s.port, fds, s.n_workers, &bound) != 0)
		goto out;
	for (i = 0; i < s.n_workers; i++) {
		w[i].stub = &s;
		w[i].fd = fds[i];
	}
	for (i = 0; i < s.n_workers; i++) {
		if (worker_init(&w[i]) != 0) {
			fprintf(stderr, "stub_upstream: worker set-up failed\n");
			goto out;
		}
	}
	for (started = 0; started < s.n_workers; started++) {
		if (pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0) {
			fprintf(stderr, "stub_upstream: pthread_create failed\n");
			goto out;
		}
	}
	printf("listening on %lu\n", bound);
	fflush(stdout);

	do {
		if (sigwait(&sigs, &sig) != 0)
			break;
	} while (sig != SIGTERM && sig != SIGINT);
	status = 0;
out:
	/* loopexit, unlike loopbreak, is not lost if the loop has not started yet. */
	for (i = 0; i < started; i++)
		event_base_loopexit(w[i].base, NULL);
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	for (i = 0; i < s.n_workers; i++)
		worker_free(&w[i]);
	SSL_CTX_free(s.ssl_ctx);
	recorder_free(&s.rec);
	return status;
bad_usage:
	usage();
	return 2;
}
