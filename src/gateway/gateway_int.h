/*
 * What the gateway's files share: the process-wide gateway state, the per-thread workers and
 * the per-request transaction that the pipeline stages read and write. Only src/gateway/
 * includes this header.
 */
#ifndef CST_GATEWAY_GATEWAY_INT_H
#define CST_GATEWAY_GATEWAY_INT_H

#include "audit/sink.h"
#include "core/buf.h"
#include "gateway/auth.h"
#include "gateway/config.h"
#include "gateway/integrity.h"
#include "gateway/limiter.h"
#include "gateway/metrics.h"
#include "gateway/request.h"
#include "net/server.h"
#include "net/sse.h"
#include "net/upstream.h"
#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct cst_txn;
struct cst_insp_ctx;
struct cst_insp_finding;
struct cst_out_stream;

struct cst_worker {
	struct cst_gateway *gw;
	int id;
	struct event_base *base;
	pthread_t thread;
	struct cst_listener *listener;
	struct cst_upool *pool;
	struct cst_txn *txns;		/* requests in progress on this worker */
	struct cst_buf record;		/* invocation record being built (reused) */
	struct cst_config *cfg;		/* this worker's references to gw->cfg and gw->db, */
	struct cst_authdb *db;		/* renewed by cst_worker_snapshot when snapshot_gen moves */
	unsigned snapshot_gen;
	unsigned char rid_prefix[8];	/* random per worker and run: request id = prefix + seq */
	uint64_t rid_seq;
	/* Inspection contexts (worker thread), one per content policy in use, found by the
	 * policy's serial number; emptied when full (after reloads). */
	struct {
		uint64_t serial;
		struct cst_insp_ctx *ctx;
	} insp[CST_CONFIG_MAX_POLICIES + 1];
};

struct cst_gateway {
	pthread_mutex_t mu;		/* guards cfg and db */
	struct cst_config *cfg;
	struct cst_authdb *db;
	unsigned char token_key[CST_TOKEN_KEY_LEN];
	struct cst_limiter *limiter;
	struct cst_metrics *metrics;
	struct cst_record_sink *sink;
	struct cst_integrity_monitor *integrity;	/* verifies the models upstreams serve */
	int64_t audit_cursor;		/* last command-line admin action logged (main thread) */
	struct cst_store *store;	/* main thread only */
	int64_t store_version;
	struct cst_worker *workers;
	int n_workers;
	struct event_base *main_base;
	struct cst_listener *admin;
	struct event *poll_ev, *sig_hup, *sig_term, *sig_int, *drain_ev;
	uint64_t started_ms;
	uint64_t drain_deadline_us;
	bool draining;
	unsigned generation;		/* bumped on reload: pool keys include it */
	unsigned snapshot_gen;		/* bumped (under mu, read atomically) when cfg or db changes */
};

/* Stage phases in the fixed order the runner applies them. */
enum cst_phase {
	CST_PHASE_PARSE,	/* route and framing */
	CST_PHASE_LOCKDOWN,
	CST_PHASE_AUTHN,
	CST_PHASE_DECODE,	/* JSON body, only after authentication */
	CST_PHASE_AUTHZ,
	CST_PHASE_ADMIT,	/* limits, quotas, parameter policy */
	CST_PHASE_INSPECT_IN,
	CST_PHASE_ROUTE,
	CST_PHASE_UPSTREAM,
	CST_PHASE_INSPECT_OUT,
	CST_PHASE_RESPOND,
	CST_PHASE_LOG,
	CST_PHASE_OBSERVE,
};

enum cst_verdict {
	CST_CONTINUE,		/* go on to the next stage */
	CST_RESPOND,		/* the response is decided (t->status set): skip to RESPOND */
	CST_SUSPEND,		/* waiting for I/O; the stage resumes the runner later */
};

struct cst_stage {
	enum cst_phase phase;
	const char *name;
	enum cst_verdict (*run)(struct cst_txn *t);
};

#define CST_REQUEST_ID_LEN 32

struct cst_txn {
	struct cst_worker *w;
	struct cst_conn *conn;		/* NULL once the client is gone */
	struct cst_txn *prev, *next;
	struct cst_config *cfg;		/* reference held for the request */
	struct cst_authdb *db;		/* reference held for the request */
	char id[CST_REQUEST_ID_LEN + 1];
	char source[64];		/* the client's "ip:port", kept past the connection */
	uint64_t start_us, start_ms;
	size_t next_stage;
	bool running;			/* inside the runner (not suspended) */
	bool aborted;			/* the client went away */
	bool cut;			/* ended by lockdown or block */

	enum cst_route route;
	/* Identity (AUTHN). */
	const struct cst_credential *cred;	/* in db */
	const char *auth_kind;		/* "key", "token", "cert" or NULL */
	/* Request (DECODE, ADMIT). */
	struct cst_model_request req;
	bool has_req;
	const struct cst_model_conf *model;
	const struct cst_upstream_conf *up;
	char model_root[65];		/* verified root digest of the upstream's model, or "" */
	int64_t reserved;		/* tokens reserved at admission */
	struct cst_limit_hold hold;	/* where they were reserved */
	int64_t completion_ceiling;	/* most completion tokens charged (admission) */
	int64_t prompt_ceiling;		/* most reported prompt tokens charged (route; 0 before) */
	bool admitted;
	struct cst_buf up_body;		/* bytes sent upstream; then the upstream response */
	size_t request_bytes;
	/* Upstream. */
	struct cst_upreq *upreq;
	int upstream_status;
	enum cst_upstream_failure up_failure;
	uint64_t upstream_start_us, first_byte_us, upstream_end_us;
	bool streaming;			/* relaying SSE to the client */
	bool stream_upstream;		/* upstream answered with text/event-stream */
	bool stream_close_delimited;	/* ... with a body that only the connection's close ends */
	bool stream_done_seen;		/* ... and sent its data: [DONE] */
	struct cst_sse_parser sse;
	uint64_t stream_started_us;
	struct event *stream_timer;	/* stream_max deadline */
	int64_t prompt_tokens, completion_tokens;
	bool usage_from_upstream;	/* prompt_tokens came from the upstream's usage */
	bool completion_from_upstream;	/* completion_tokens came from the upstream's usage */
	uint64_t completion_bytes;	/* generated text seen: estimate 4 bytes a token without */
	size_t response_bytes;
	/* Response. */
	int status;
	const char *err_type;
	char err_msg[256];
	uint64_t retry_after;
	struct cst_buf resp;		/* body answered by the gateway itself */
	bool responded;
	bool input_inspected;
	bool output_inspected;
	bool policy_resolved;		/* policy below is known (cst__inspect_policy) */
	const struct cst_named_policy *policy;	/* the request's content policy, or NULL */
	struct cst_buf decisions;	/* JSON objects separated by commas */
	struct cst_buf content_out;	/* response content kept for content logging */
	struct cst_buf log_req;		/* the request as content logging "redacted" keeps it, when
					 * INSPECT_IN redacted every finding for it */
	/* INSPECT_OUT of a stream (stage_inspect_out.c). */
	struct cst_out_stream *ostream;	/* held text per choice, or NULL: not inspected */
	struct cst_buf ev_out;		/* a rewritten event to send */
	bool out_blocked;		/* the stream was ended by the output policy */
};

/* Sets an error response: status, OpenAI error type, message. Returns CST_RESPOND. */
enum cst_verdict cst_txn_fail(struct cst_txn *t, int status, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends a decision {"stage":..,"action":..,"detail":..} to the record. */
void cst_txn_decide(struct cst_txn *t, const char *stage, const char *action,
    const char *detail);
/* The principal of the request ("" if unauthenticated). */
const char *cst_txn_principal(const struct cst_txn *t);

/* The runner (pipeline.c). */
void cst_pipeline_start(struct cst_worker *w, struct cst_conn *conn);
void cst_pipeline_resume(struct cst_txn *t);
void cst_pipeline_abort(struct cst_conn *conn);
/* Ends t now because of lockdown or a block (cuts a stream in flight). */
void cst_pipeline_cut(struct cst_txn *t, const char *why);

/* Stages (one file each). */
enum cst_verdict cst_stage_parse(struct cst_txn *t);
enum cst_verdict cst_stage_lockdown(struct cst_txn *t);
enum cst_verdict cst_stage_authn(struct cst_txn *t);
/*
 * Whether the request on conn, whose head has arrived, passes AUTHN on the worker's current
 * snapshot (the server's admit_head: a request that would not is answered without reading
 * its body).
 */
bool cst_authn_head_ok(struct cst_worker *w, struct cst_conn *conn);
enum cst_verdict cst_stage_decode(struct cst_txn *t);
enum cst_verdict cst_stage_authz(struct cst_txn *t);
enum cst_verdict cst_stage_admit(struct cst_txn *t);
/*
 * Counts a request that uses no tokens (the model list, a token issued) against the request
 * limits of ADMIT: requests per minute and in flight, per principal and globally. CST_CONTINUE,
 * or the 429 ADMIT gives.
 */
enum cst_verdict cst_admit_request_only(struct cst_txn *t);
enum cst_verdict cst_stage_inspect_in(struct cst_txn *t);
enum cst_verdict cst_stage_route(struct cst_txn *t);
enum cst_verdict cst_stage_upstream(struct cst_txn *t);
enum cst_verdict cst_stage_respond(struct cst_txn *t);
/* Turns the end of an upstream exchange into the status and usage RESPOND reports. */
void cst__upstream_conclude(struct cst_txn *t);
/* Keeps response content for the record as content logging allows (bounded). */
void cst__keep_content(struct cst_txn *t, const char *p, size_t n);

/* Inspection shared by INSPECT_IN and INSPECT_OUT (stage_inspect.c). */
/* The request's content policy (cst_config_inspection, once the principal and the model are
 * known), or NULL: not inspected. */
const struct cst_named_policy *cst__inspect_policy(struct cst_txn *t);
/* The worker's context for the request's policy. 0 or an error (inspection unavailable). */
int cst__inspect_ctx(struct cst_txn *t, struct cst_insp_ctx **out);
/* Adds a decision of stage for the findings of the text named where (nothing if none);
 * incomplete: why the text was not fully inspected (cst_insp_result.incomplete), or NULL. */
void cst__inspect_decide(struct cst_txn *t, const char *stage, const char *where,
    const struct cst_insp_finding *f, size_t n, bool blocked, const char *incomplete);

/*
 * INSPECT_OUT (stage_inspect_out.c): the output policy on the model's answer.
 * _answer: a non-streamed 200 answer in up_body, rewritten in place, or the request failed
 * with 400 guardrail_violation. _stream_start: a stream begins (t->ostream set when a policy
 * applies). _event: event ev with its data decoded as root; returns what to send (never
 * FORWARD: an inspected stream's events are rebuilt into ev_out from their event, id and retry
 * fields and the inspected data, comments dropped). _bare: what to send instead of an event
 * that carries no inspected data or is dropped: its event, id and retry fields when it has an
 * id or retry, a bare ":" keep-alive for an event of comments only, else nothing (DROP).
 * _flush: the stream ended; writes the held text as a last event into ev_out. _free:
 * releases t->ostream.
 */
enum cst_out_verdict {
	CST_OUT_FORWARD,	/* send the event as received */
	CST_OUT_REWRITTEN,	/* send t->ev_out instead */
	CST_OUT_DROP,		/* send nothing (all its text is held) */
	CST_OUT_BLOCK,		/* end the stream with the guardrail error event */
};
void cst__inspect_out_answer(struct cst_txn *t);
void cst__inspect_out_stream_start(struct cst_txn *t);
enum cst_out_verdict cst__inspect_out_event(struct cst_txn *t, const struct cst_sse_event *ev,
    json_t *root);
enum cst_out_verdict cst__inspect_out_bare(struct cst_txn *t, const struct cst_sse_event *ev);
enum cst_out_verdict cst__inspect_out_flush(struct cst_txn *t);
/* Writes the stream's guardrail error event and records the block. */
void cst__inspect_out_block_event(struct cst_txn *t);
void cst__inspect_out_free(struct cst_txn *t);

/* LOG and OBSERVE always run and cannot change the response. */
void cst_stage_log(struct cst_txn *t);
void cst_stage_observe(struct cst_txn *t);

/* Effective limits of the caller: the credential's, else the configured defaults. */
void cst_txn_rate_limits(const struct cst_txn *t, struct cst_rate_limits *out);
int64_t cst_txn_max_tokens(const struct cst_txn *t);

/* Admin API (admin.c) and its listener ops. */
extern const struct cst_server_ops cst_admin_ops;
/* Reloads the credential snapshot from the store and cuts what it no longer allows. */
int cst_gateway_reload_state(struct cst_gateway *gw);
/* Appends an admin record to the sink and the store's history. */
void cst_gateway_admin_record(struct cst_gateway *gw, const char *actor, const char *action,
    const char *target, int status);
/*
 * Appends the record of an admin API request refused before any action (action "denied"):
 * actor (who, as far as known), target (method and path), the status answered, the peer's
 * address, the client certificate's SHA-256 fingerprint (NULL or "" if none) and why. Sink
 * only: the state database's history holds actions taken. Failure to queue is logged.
 */
void cst_gateway_admin_denied(struct cst_gateway *gw, const char *actor, const char *target,
    int status, const char *source, const char *cert_fp, const char *reason);

/*
 * Brings w->cfg and w->db up to date with the gateway's (one atomic load when nothing changed,
 * so requests need not take gw->mu). Worker thread only.
 */
void cst_worker_snapshot(struct cst_worker *w);

#endif
