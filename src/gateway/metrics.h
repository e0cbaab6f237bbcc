/*
 * Prometheus counters, gauges and histograms for the gateway, rendered in the text exposition
 * format on the admin listener. Thread-safe; label values are escaped.
 */
#ifndef CST_GATEWAY_METRICS_H
#define CST_GATEWAY_METRICS_H

#include "core/buf.h"

#include <stdint.h>

struct cst_metrics;

struct cst_metrics *cst_metrics_new(void);
void cst_metrics_free(struct cst_metrics *m);

/* One finished request: status, model ("" if none), principal ("" if unauthenticated). */
void cst_metrics_request(struct cst_metrics *m, const char *route, const char *model,
    const char *principal, int status, uint64_t latency_us, uint64_t upstream_us);
/* A request refused before the upstream, by reason ("rpm", "auth_unknown", "body_too_large"...). */
void cst_metrics_reject(struct cst_metrics *m, const char *reason);
/* Streams in progress (+1 when one starts, -1 when it ends). */
void cst_metrics_streams(struct cst_metrics *m, int delta);
/* Renders everything into out. 0, CST_ENOMEM, CST_ELIMIT. */
int cst_metrics_render(struct cst_metrics *m, struct cst_buf *out);

#endif
