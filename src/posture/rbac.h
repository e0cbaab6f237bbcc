/*
 * Kubernetes RBAC effective permissions over a set of manifests: Roles and ClusterRoles (with
 * aggregationRule resolved to a fixed point, as the aggregation controller does), RoleBindings
 * and ClusterRoleBindings, and their subjects (users, groups, service accounts, with service
 * accounts members of system:serviceaccounts[:ns] and system:authenticated). Answers "can
 * subject do verb on group/resource in namespace" and lists a subject's grants. Rules with
 * resourceNames grant only those names: they count for reads and creates of whole objects as
 * no access, but for escalating verbs (bind, escalate, impersonate, update, patch, create of a
 * subresource such as serviceaccounts/token) as access, since one named object (cluster-admin,
 * system:masters, a privileged service account) is enough to take over. ClusterRoles
 * cluster-admin, admin, edit and view have their bootstrap rules when referenced and not
 * defined in the input.
 */
#ifndef CST_POSTURE_RBAC_H
#define CST_POSTURE_RBAC_H

#include "posture/load.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cst_rbac;

/* One grant: a verb on group/resource (resource may be "pods/exec"), through a binding. */
struct cst_rbac_grant {
	const char *verb, *group, *resource;	/* as the rule states them ("*" included) */
	const char *scope;	/* the namespace, or "*" for a ClusterRoleBinding */
	const char *binding_kind, *binding_ns, *binding;
	const char *role_kind, *role;
	size_t rule;		/* index in the role's effective rules */
	bool named;		/* narrowed by resourceNames */
	const json_t *names;	/* those names (borrowed), or NULL */
};

struct cst_rbac_subject {
	const char *kind;	/* "ServiceAccount", "User", "Group" */
	const char *ns;		/* for service accounts, else "" */
	const char *name;
};

/* Builds the model from every RBAC object among docs. 0; CST_ENOMEM. */
int cst_rbac_build(const struct cst_pst_docs *docs, struct cst_rbac **out);
void cst_rbac_free(struct cst_rbac *rb);

/*
 * Whether subject may do verb on group/resource in namespace ns ("" for cluster-scoped
 * resources or all namespaces: only cluster-wide grants count then).
 */
bool cst_rbac_can(const struct cst_rbac *rb, const struct cst_rbac_subject *s, const char *verb,
    const char *group, const char *resource, const char *ns);

/* Whether grant g allows verb on group/resource (the wildcards "*" and "*" + "/sub" resolved
 * as Kubernetes does; a named grant only for escalating verbs). Scope is not checked. */
bool cst_rbac_grant_matches(const struct cst_rbac_grant *g, const char *verb, const char *group,
    const char *resource);

typedef int (*cst_rbac_grant_fn)(void *arg, const struct cst_rbac_grant *g);

/* Calls fn for every (verb, group, resource) the subject is granted, in binding and rule
 * order. 0, or what fn returned. */
int cst_rbac_grants(const struct cst_rbac *rb, const struct cst_rbac_subject *s,
    cst_rbac_grant_fn fn, void *arg);

/* The distinct subjects named by the bindings, in order of appearance. */
size_t cst_rbac_subjects(const struct cst_rbac *rb, const struct cst_rbac_subject **out);

/* The effective rules (a JSON array; aggregation applied) of a role, or NULL if unknown.
 * Borrowed: valid until cst_rbac_free. kind "Role" needs ns. */
const json_t *cst_rbac_role_rules(const struct cst_rbac *rb, const char *kind, const char *ns,
    const char *name);

/* Dangerous permissions (R-K8S-09), in the order of cst_rbac_danger_rule. */
enum cst_rbac_danger {
	CST_RBAC_CLUSTER_ADMIN,		/* * verbs on * resources in * (or core) groups */
	CST_RBAC_SECRETS_READ,		/* get, list or watch secrets */
	CST_RBAC_POD_CREATE,
	CST_RBAC_POD_EXEC,		/* pods/exec, pods/attach, pods/portforward */
	CST_RBAC_BIND_ESCALATE,
	CST_RBAC_IMPERSONATE,
	CST_RBAC_SA_TOKEN_CREATE,
	CST_RBAC_NODES_PROXY,
	CST_RBAC_CSR_APPROVE,
	CST_RBAC_WEBHOOK_WRITE,
	CST_RBAC_PV_CREATE,
	CST_RBAC_RBAC_WRITE,		/* create/update/patch roles and bindings */
	CST_RBAC_WORKLOAD_WRITE,	/* create/update/patch deployments, jobs, ... */
	CST_RBAC_N_DANGERS
};

/* The posture rule id of a danger ("CST-K8S-RBAC-SECRETS-READ"). */
const char *cst_rbac_danger_rule(enum cst_rbac_danger d);

/* The dangers one rule grants, as bits (1u << danger). Rules with resourceNames grant only the
 * escalating ones (exec, bind/escalate, impersonate, token, nodes/proxy, CSR approval, and
 * update/patch of webhooks, RBAC objects and workloads). */
uint32_t cst_rbac_rule_dangers(const json_t *rule);

/* The dangers a subject holds (all bound roles, any scope). */
uint32_t cst_rbac_subject_dangers(const struct cst_rbac *rb, const struct cst_rbac_subject *s);

#endif
