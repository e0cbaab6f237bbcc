/*
 * LOCKDOWN: while the kill switch is on, or while the audit log cannot keep records (and
 * records.on_failure is closed, the default), every model request gets 503 before anything
 * else about it is looked at. Traffic that cannot be recorded is traffic that is not served.
 */
#include "gateway/gateway_int.h"

enum cst_verdict
cst_stage_lockdown(struct cst_txn *t)
{
	struct cst_record_sink *sink = t->w->gw->sink;

	if (!t->cfg->records_fail_open && sink->failed(sink, NULL, 0)) {
		cst_txn_decide(t, "lockdown", "deny", "audit log failed");
		cst_metrics_reject(t->w->gw->metrics, "audit_log_failed");
		return cst_txn_fail(t, 503, "service_unavailable", "the audit log cannot keep "
		    "records, so the gateway refuses model traffic (see the gateway's log)");
	}
	if (!t->db->lockdown)
		return CST_CONTINUE;
	cst_txn_decide(t, "lockdown", "deny", "gateway in lockdown");
	cst_metrics_reject(t->w->gw->metrics, "lockdown");
	return cst_txn_fail(t, 503, "service_unavailable", "the gateway is in lockdown");
}
