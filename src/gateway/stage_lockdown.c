/*
 * LOCKDOWN: while the kill switch is on, every model request gets 503 before anything else
 * about it is looked at.
 */
#include "gateway/gateway_int.h"

enum cst_verdict
cst_stage_lockdown(struct cst_txn *t)
{
	if (!t->db->lockdown)
		return CST_CONTINUE;
	cst_txn_decide(t, "lockdown", "deny", "gateway in lockdown");
	cst_metrics_reject(t->w->gw->metrics, "lockdown");
	return cst_txn_fail(t, 503, "service_unavailable", "the gateway is in lockdown");
}
