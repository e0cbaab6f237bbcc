/*
 * Pod Security Standards, as the Kubernetes Pod Security Admission controller judges them:
 * every Baseline and Restricted check, versioned by the policy version 1.0 to 1.37 (allowed
 * sysctls, SELinux types, seccomp annotations before 1.19 and fields after, the Windows
 * exemptions from 1.25, host probes from 1.34, the user-namespace (hostUsers: false)
 * relaxations and procMount_restricted from 1.35). Containers are
 * init, regular and ephemeral containers. The evaluator reads one pod (metadata and spec as
 * JSON) and reports each violation with its path from the pod's root; it never allocates.
 */
#ifndef CST_POSTURE_PSS_H
#define CST_POSTURE_PSS_H

#include <jansson.h>
#include <stdint.h>

enum cst_pss_level { CST_PSS_BASELINE, CST_PSS_RESTRICTED };

enum cst_pss_check {
	CST_PSS_HOST_NAMESPACES,
	CST_PSS_PRIVILEGED,
	CST_PSS_CAPABILITIES_BASELINE,
	CST_PSS_HOST_PATH_VOLUMES,
	CST_PSS_HOST_PORTS,
	CST_PSS_APPARMOR,
	CST_PSS_SELINUX,
	CST_PSS_PROC_MOUNT,
	CST_PSS_SECCOMP_BASELINE,
	CST_PSS_SYSCTLS,
	CST_PSS_WINDOWS_HOST_PROCESS,
	CST_PSS_HOST_PROBES,
	CST_PSS_RESTRICTED_VOLUMES,	/* the first Restricted check */
	CST_PSS_ALLOW_PRIVILEGE_ESCALATION,
	CST_PSS_RUN_AS_NON_ROOT,
	CST_PSS_RUN_AS_USER,
	CST_PSS_SECCOMP_RESTRICTED,
	CST_PSS_CAPABILITIES_RESTRICTED,
	CST_PSS_PROC_MOUNT_RESTRICTED,
	CST_PSS_N_CHECKS
};

/* The upstream check id ("hostNamespaces", "capabilities_restricted", ...). */
const char *cst_pss_check_id(enum cst_pss_check c);
enum cst_pss_level cst_pss_check_level(enum cst_pss_check c);
/* The Baseline check a Restricted check replaces at the Restricted level, or CST_PSS_N_CHECKS. */
enum cst_pss_check cst_pss_overrides(enum cst_pss_check c);
/* Looks up a check id case-insensitively ("hostpathvolumes"). 0; CST_ENOENT. */
int cst_pss_check_parse(const char *id, enum cst_pss_check *out);

/*
 * Receives one violation: the check, the path from the pod's root
 * ("spec.containers[0].securityContext.privileged", "metadata.annotations[KEY]") and a short
 * description. A non-zero return stops the evaluation and is returned.
 */
typedef int (*cst_pss_fn)(void *arg, enum cst_pss_check c, const char *path,
    const char *detail);

/*
 * Evaluates the checks of level (Restricted includes Baseline) at policy version 1.minor on a
 * pod (meta and spec may be NULL: empty). *failed gets the bit (1u << check) of every check
 * that fails, overridden ones included. fn may be NULL. 0, or what fn returned.
 */
int cst_pss_evaluate(const json_t *meta, const json_t *spec, enum cst_pss_level level,
    unsigned minor, cst_pss_fn fn, void *arg, uint32_t *failed);

#endif
