/*
 * castellan posture: configuration checks over Kubernetes manifests, KubeRay resources, Ray
 * cluster-launcher files and SageMaker / Bedrock descriptions as the AWS CLI prints them.
 * Every finding names a rule with a stable id, a severity, the resource (kind, namespace,
 * name; its file and document), the path inside it, the evidence (never a secret's value
 * whole), the fix and the equivalent ids of other tools.
 *
 * The checks read a loaded document set (load.h) and never fetch anything; all tables (Ray
 * advisories, capability lists, allowed sysctls per Kubernetes version) are compiled in.
 */
#ifndef CST_POSTURE_POSTURE_H
#define CST_POSTURE_POSTURE_H

#include "posture/load.h"

#include <stdbool.h>
#include <stddef.h>

enum cst_pst_sev {
	CST_PST_INFO,
	CST_PST_LOW,
	CST_PST_MEDIUM,
	CST_PST_HIGH,
	CST_PST_CRITICAL,
};

/* "info", "low", "medium", "high", "critical". */
const char *cst_pst_sev_name(enum cst_pst_sev s);
/* 0; CST_EINVAL for any other name. */
int cst_pst_sev_parse(const char *s, enum cst_pst_sev *out);

struct cst_pst_rule {
	const char *id;		/* "CST-K8S-PSS-PRIVILEGED" */
	enum cst_pst_sev sev;	/* default severity */
	const char *title;
	const char *fix;
	const char *equiv;	/* other tools' ids, "; "-separated, or "" */
};

/* The rule with that id, or NULL. */
const struct cst_pst_rule *cst_pst_rule_find(const char *id);
/* All rules, sorted by id. */
const struct cst_pst_rule *cst_pst_rules(size_t *n);

struct cst_pst_finding {
	const struct cst_pst_rule *rule;
	enum cst_pst_sev sev;	/* may differ from the rule's default (escalation) */
	char *kind, *ns, *name;	/* ns "" for cluster-scoped or file-level findings */
	const char *file;	/* borrowed from the document set */
	size_t doc;
	long item;
	size_t line;
	char *path;		/* inside the resource, "" for the whole of it */
	char *evidence;
};

struct cst_pst_findings {
	struct cst_pst_finding *v;
	size_t n, cap;
	size_t n_resources;	/* documents checked */
	size_t n_ignored;	/* documents of kinds no check reads */
};

/* Where the Pod Security Standards are judged, and which further checks run. */
struct cst_pst_opts {
	unsigned pss_minor;	/* Kubernetes 1.x policy version; 0: the newest known */
	bool creds;		/* look for hard-coded credentials (default true) */
};

/* The newest policy version the PSS evaluator knows (1.37). */
#define CST_PST_PSS_NEWEST 37

/*
 * Runs every check over the documents; findings are appended to out, sorted (file, document,
 * rule, path) and deduplicated. 0; CST_ENOMEM (out keeps what it had).
 */
int cst_posture_check(const struct cst_pst_docs *docs, const struct cst_pst_opts *opts,
    struct cst_pst_findings *out);

void cst_pst_findings_free(struct cst_pst_findings *f);

/*
 * The exit status: 1 when a finding is at or above fail_on; else 2 when a file could not be
 * read (docs->n_errors); else 0.
 */
int cst_pst_exit_status(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on);

#endif
