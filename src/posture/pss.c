/*
 * The Pod Security Standards evaluator (pss.h). Each check is a function over one pod that
 * reports violations through viol(); versions select the variant of a check the way the
 * admission controller's registry does. Only JSON true counts as true and only JSON false as
 * false: a value of the wrong type is treated as unset, as the API server would have refused it.
 */
#include "posture/pss.h"

#include "core/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *id;
	enum cst_pss_level level;
	enum cst_pss_check overrides;
} checks[CST_PSS_N_CHECKS] = {
	[CST_PSS_HOST_NAMESPACES] = { "hostNamespaces", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_PRIVILEGED] = { "privileged", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_CAPABILITIES_BASELINE] = { "capabilities_baseline", CST_PSS_BASELINE,
		CST_PSS_N_CHECKS },
	[CST_PSS_HOST_PATH_VOLUMES] = { "hostPathVolumes", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_HOST_PORTS] = { "hostPorts", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_APPARMOR] = { "appArmorProfile", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_SELINUX] = { "seLinuxOptions", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_PROC_MOUNT] = { "procMount", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_SECCOMP_BASELINE] = { "seccompProfile_baseline", CST_PSS_BASELINE,
		CST_PSS_N_CHECKS },
	[CST_PSS_SYSCTLS] = { "sysctls", CST_PSS_BASELINE, CST_PSS_N_CHECKS },
	[CST_PSS_WINDOWS_HOST_PROCESS] = { "windowsHostProcess", CST_PSS_BASELINE,
		CST_PSS_N_CHECKS },
	[CST_PSS_HOST_PROBES] = { "hostProbesAndHostLifecycle", CST_PSS_BASELINE,
		CST_PSS_N_CHECKS },
	[CST_PSS_RESTRICTED_VOLUMES] = { "restrictedVolumes", CST_PSS_RESTRICTED,
		CST_PSS_HOST_PATH_VOLUMES },
	[CST_PSS_ALLOW_PRIVILEGE_ESCALATION] = { "allowPrivilegeEscalation", CST_PSS_RESTRICTED,
		CST_PSS_N_CHECKS },
	[CST_PSS_RUN_AS_NON_ROOT] = { "runAsNonRoot", CST_PSS_RESTRICTED, CST_PSS_N_CHECKS },
	[CST_PSS_RUN_AS_USER] = { "runAsUser", CST_PSS_RESTRICTED, CST_PSS_N_CHECKS },
	[CST_PSS_SECCOMP_RESTRICTED] = { "seccompProfile_restricted", CST_PSS_RESTRICTED,
		CST_PSS_SECCOMP_BASELINE },
	[CST_PSS_CAPABILITIES_RESTRICTED] = { "capabilities_restricted", CST_PSS_RESTRICTED,
		CST_PSS_CAPABILITIES_BASELINE },
	[CST_PSS_PROC_MOUNT_RESTRICTED] = { "procMount_restricted", CST_PSS_RESTRICTED,
		CST_PSS_PROC_MOUNT },
};

const char *
cst_pss_check_id(enum cst_pss_check c)
{
	return c < CST_PSS_N_CHECKS ? checks[c].id : "unknown";
}

enum cst_pss_level
cst_pss_check_level(enum cst_pss_check c)
{
	return c < CST_PSS_N_CHECKS ? checks[c].level : CST_PSS_RESTRICTED;
}

enum cst_pss_check
cst_pss_overrides(enum cst_pss_check c)
{
	return c < CST_PSS_N_CHECKS ? checks[c].overrides : CST_PSS_N_CHECKS;
}

int
cst_pss_check_parse(const char *id, enum cst_pss_check *out)
{
	for (int c = 0; c < CST_PSS_N_CHECKS; c++)
		if (strcasecmp(id, checks[c].id) == 0) {
			*out = (enum cst_pss_check)c;
			return 0;
		}
	return CST_ENOENT;
}

/* One evaluation. */
struct ev {
	const json_t *meta, *spec;
	unsigned minor;
	bool windows;		/* spec.os.name == windows */
	bool user_ns;		/* spec.hostUsers == false */
	cst_pss_fn fn;
	void *arg;
	uint32_t failed;
	int r;
};

static void
viol(struct ev *e, enum cst_pss_check c, const char *path, const char *detail)
{
	e->failed |= 1u << c;
	if (e->fn != NULL && e->r == 0)
		e->r = e->fn(e->arg, c, path, detail);
}

static const json_t *
get(const json_t *o, const char *k)
{
	return json_is_object(o) ? json_object_get(o, k) : NULL;
}

static const json_t *
get2(const json_t *o, const char *k1, const char *k2)
{
	return get(get(o, k1), k2);
}

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(get(o, k));
}

static bool
in_set(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static const char *const container_lists[] = { "initContainers", "containers",
	"ephemeralContainers", NULL };

typedef void (*container_fn)(struct ev *e, const json_t *c, const char *path);

/* Calls fn for every container with its path ("spec.containers[0]"). */
static void
visit(struct ev *e, container_fn fn)
{
	char path[96];
	size_t i;
	json_t *c;

	for (int l = 0; container_lists[l] != NULL; l++) {
		json_array_foreach(get(e->spec, container_lists[l]), i, c) {
			snprintf(path, sizeof(path), "spec.%s[%zu]", container_lists[l], i);
			fn(e, c, path);
		}
	}
}

/* Reports path + "." + leaf. */
static void
viol_at(struct ev *e, enum cst_pss_check c, const char *path, const char *leaf,
    const char *detail)
{
	char p[256];

	snprintf(p, sizeof(p), "%s.%s", path, leaf);
	viol(e, c, p, detail);
}

/* ---- Baseline ---- */

static void
host_namespaces(struct ev *e)
{
	static const char *const f[] = { "hostNetwork", "hostPID", "hostIPC" };

	for (size_t i = 0; i < 3; i++)
		if (json_is_true(get(e->spec, f[i])))
			viol_at(e, CST_PSS_HOST_NAMESPACES, "spec", f[i], "host namespace shared");
}

static void
privileged_c(struct ev *e, const json_t *c, const char *path)
{
	if (json_is_true(get2(c, "securityContext", "privileged")))
		viol_at(e, CST_PSS_PRIVILEGED, path, "securityContext.privileged",
		    "privileged container");
}

static const char *const caps_default[] = { "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER",
	"FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
	"SYS_CHROOT", NULL };

static void
caps_baseline_c(struct ev *e, const json_t *c, const char *path)
{
	const json_t *add = get(get2(c, "securityContext", "capabilities"), "add"), *v;
	char p[256];
	size_t i;

	json_array_foreach(add, i, v) {
		const char *s = json_string_value(v);

		if (s != NULL && in_set(s, caps_default))
			continue;
		snprintf(p, sizeof(p), "%s.securityContext.capabilities.add[%zu]", path, i);
		viol(e, CST_PSS_CAPABILITIES_BASELINE, p, "capability outside the default set");
	}
}

static void
host_path_volumes(struct ev *e)
{
	const json_t *v;
	char p[96];
	size_t i;

	json_array_foreach(get(e->spec, "volumes"), i, v) {
		const json_t *hp = get(v, "hostPath");

		if (hp != NULL && !json_is_null(hp)) {
			snprintf(p, sizeof(p), "spec.volumes[%zu].hostPath", i);
			viol(e, CST_PSS_HOST_PATH_VOLUMES, p, "hostPath volume");
		}
	}
}

static void
host_ports_c(struct ev *e, const json_t *c, const char *path)
{
	const json_t *port;
	char p[256];
	size_t i;

	json_array_foreach(get(c, "ports"), i, port) {
		const json_t *hp = get(port, "hostPort");

		if (json_is_integer(hp) && json_integer_value(hp) != 0) {
			snprintf(p, sizeof(p), "%s.ports[%zu].hostPort", path, i);
			viol(e, CST_PSS_HOST_PORTS, p, "host port");
		}
	}
}

static bool
apparmor_type_ok(const json_t *profile)
{
	const char *t = str(profile, "type");

	return t != NULL && (strcmp(t, "RuntimeDefault") == 0 || strcmp(t, "Localhost") == 0);
}

static void
apparmor_c(struct ev *e, const json_t *c, const char *path)
{
	const json_t *prof = get2(c, "securityContext", "appArmorProfile");

	if (prof != NULL && !json_is_null(prof) && !apparmor_type_ok(prof))
		viol_at(e, CST_PSS_APPARMOR, path, "securityContext.appArmorProfile.type",
		    "AppArmor profile type not RuntimeDefault or Localhost");
}

#define APPARMOR_ANNOTATION "container.apparmor.security.beta.kubernetes.io/"

static void
apparmor(struct ev *e)
{
	const json_t *prof = get2(e->spec, "securityContext", "appArmorProfile"), *v;
	const char *k;
	char p[320];

	if (prof != NULL && !json_is_null(prof) && !apparmor_type_ok(prof))
		viol(e, CST_PSS_APPARMOR, "spec.securityContext.appArmorProfile.type",
		    "AppArmor profile type not RuntimeDefault or Localhost");
	visit(e, apparmor_c);
	json_object_foreach((json_t *)get(e->meta, "annotations"), k, v) {
		const char *s = json_string_value(v);

		if (strncmp(k, APPARMOR_ANNOTATION, strlen(APPARMOR_ANNOTATION)) != 0)
			continue;
		if (s != NULL && (s[0] == '\0' || strcmp(s, "runtime/default") == 0 ||
		    strncmp(s, "localhost/", 10) == 0))
			continue;
		snprintf(p, sizeof(p), "metadata.annotations[%s]", k);
		viol(e, CST_PSS_APPARMOR, p, "AppArmor annotation not runtime/default or "
		    "localhost/*");
	}
}

static void
selinux_opts(struct ev *e, const json_t *o, const char *path)
{
	static const char *const types_1_0[] = { "", "container_t", "container_init_t",
		"container_kvm_t", NULL };
	static const char *const types_1_31[] = { "", "container_t", "container_init_t",
		"container_kvm_t", "container_engine_t", NULL };
	const char *t = str(o, "type"), *u = str(o, "user"), *r = str(o, "role");

	if (o == NULL || json_is_null(o))
		return;
	if (!in_set(t ? t : "", e->minor >= 31 ? types_1_31 : types_1_0))
		viol_at(e, CST_PSS_SELINUX, path, "type", "SELinux type not allowed");
	if (u != NULL && u[0] != '\0')
		viol_at(e, CST_PSS_SELINUX, path, "user", "SELinux user set");
	if (r != NULL && r[0] != '\0')
		viol_at(e, CST_PSS_SELINUX, path, "role", "SELinux role set");
}

static void
selinux_c(struct ev *e, const json_t *c, const char *path)
{
	char p[256];

	snprintf(p, sizeof(p), "%s.securityContext.seLinuxOptions", path);
	selinux_opts(e, get2(c, "securityContext", "seLinuxOptions"), p);
}

static void
selinux(struct ev *e)
{
	selinux_opts(e, get2(e->spec, "securityContext", "seLinuxOptions"),
	    "spec.securityContext.seLinuxOptions");
	visit(e, selinux_c);
}

static void
proc_mount_check(struct ev *e, const json_t *c, const char *path, enum cst_pss_check chk)
{
	const char *pm = str(get(c, "securityContext"), "procMount");

	if (pm != NULL && strcmp(pm, "Default") != 0)
		viol_at(e, chk, path, "securityContext.procMount", "procMount not Default");
}

static void
proc_mount_c(struct ev *e, const json_t *c, const char *path)
{
	proc_mount_check(e, c, path, CST_PSS_PROC_MOUNT);
}

static void
proc_mount_restricted_c(struct ev *e, const json_t *c, const char *path)
{
	proc_mount_check(e, c, path, CST_PSS_PROC_MOUNT_RESTRICTED);
}

static const char *
seccomp_type(const json_t *sc)
{
	return str(get(sc, "seccompProfile"), "type");
}

static void
seccomp_baseline_c(struct ev *e, const json_t *c, const char *path)
{
	const char *t = seccomp_type(get(c, "securityContext"));

	if (t != NULL && strcmp(t, "Unconfined") == 0)
		viol_at(e, CST_PSS_SECCOMP_BASELINE, path, "securityContext.seccompProfile.type",
		    "seccomp Unconfined");
}

#define SECCOMP_POD_ANNOTATION "seccomp.security.alpha.kubernetes.io/pod"
#define SECCOMP_CONTAINER_ANNOTATION "container.seccomp.security.alpha.kubernetes.io/"

static void
seccomp_baseline(struct ev *e)
{
	const json_t *v;
	const char *k, *t;
	char p[320];

	if (e->minor < 19) {
		json_object_foreach((json_t *)get(e->meta, "annotations"), k, v) {
			if (strcmp(k, SECCOMP_POD_ANNOTATION) != 0 &&
			    strncmp(k, SECCOMP_CONTAINER_ANNOTATION,
			    strlen(SECCOMP_CONTAINER_ANNOTATION)) != 0)
				continue;
			if (json_string_value(v) == NULL ||
			    strcmp(json_string_value(v), "unconfined") != 0)
				continue;
			snprintf(p, sizeof(p), "metadata.annotations[%s]", k);
			viol(e, CST_PSS_SECCOMP_BASELINE, p, "seccomp unconfined");
		}
		return;
	}
	t = seccomp_type(get(e->spec, "securityContext"));
	if (t != NULL && strcmp(t, "Unconfined") == 0)
		viol(e, CST_PSS_SECCOMP_BASELINE, "spec.securityContext.seccompProfile.type",
		    "seccomp Unconfined");
	visit(e, seccomp_baseline_c);
}

static void
sysctls(struct ev *e)
{
	static const char *const allowed[] = { "kernel.shm_rmid_forced",
		"net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
		"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
		/* 1.27 */ "net.ipv4.ip_local_reserved_ports",
		/* 1.29 */ "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
		"net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
		/* 1.32 */ "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
		/* 1.37 */ "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat" };
	size_t n = e->minor >= 37 ? 14 : e->minor >= 32 ? 12 : e->minor >= 29 ? 10 :
	    e->minor >= 27 ? 6 : 5;
	const json_t *s;
	char p[96];
	size_t i, j;

	json_array_foreach(get2(e->spec, "securityContext", "sysctls"), i, s) {
		const char *name = str(s, "name");

		for (j = 0; name != NULL && j < n; j++)
			if (strcmp(name, allowed[j]) == 0)
				break;
		if (name != NULL && j < n)
			continue;
		snprintf(p, sizeof(p), "spec.securityContext.sysctls[%zu].name", i);
		viol(e, CST_PSS_SYSCTLS, p, "sysctl not in the safe set");
	}
}

static void
host_process_c(struct ev *e, const json_t *c, const char *path)
{
	if (json_is_true(get(get2(c, "securityContext", "windowsOptions"), "hostProcess")))
		viol_at(e, CST_PSS_WINDOWS_HOST_PROCESS, path,
		    "securityContext.windowsOptions.hostProcess", "Windows HostProcess container");
}

static void
host_process(struct ev *e)
{
	if (json_is_true(get(get2(e->spec, "securityContext", "windowsOptions"), "hostProcess")))
		viol(e, CST_PSS_WINDOWS_HOST_PROCESS,
		    "spec.securityContext.windowsOptions.hostProcess", "Windows HostProcess pod");
	visit(e, host_process_c);
}

static void
host_probe(struct ev *e, const json_t *handler, const char *path)
{
	static const char *const kinds[] = { "httpGet", "tcpSocket" };
	char p[320];

	for (size_t i = 0; i < 2; i++) {
		const char *h = str(get(handler, kinds[i]), "host");

		if (h != NULL && h[0] != '\0') {
			snprintf(p, sizeof(p), "%s.%s.host", path, kinds[i]);
			viol(e, CST_PSS_HOST_PROBES, p, "probe or lifecycle handler sets host");
		}
	}
}

static void
host_probes_c(struct ev *e, const json_t *c, const char *path)
{
	static const char *const probes[] = { "livenessProbe", "readinessProbe", "startupProbe" };
	static const char *const hooks[] = { "postStart", "preStop" };
	char p[256];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s.%s", path, probes[i]);
		host_probe(e, get(c, probes[i]), p);
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s.lifecycle.%s", path, hooks[i]);
		host_probe(e, get2(c, "lifecycle", hooks[i]), p);
	}
}

/* ---- Restricted ---- */

static void
restricted_volumes(struct ev *e)
{
	static const char *const ok[] = { "configMap", "csi", "downwardAPI", "emptyDir",
		"ephemeral", "image", "persistentVolumeClaim", "projected", "secret", NULL };
	const json_t *v;
	char p[96];
	size_t i;

	json_array_foreach(get(e->spec, "volumes"), i, v) {
		const char *k, *bad = NULL;
		const json_t *src;
		bool allowed = false;

		json_object_foreach((json_t *)v, k, src) {
			if (strcmp(k, "name") == 0 || json_is_null(src))
				continue;
			if (in_set(k, ok))
				allowed = true;
			else
				bad = k;
		}
		if (allowed || bad == NULL)	/* no source: the API defaults it to emptyDir */
			continue;
		snprintf(p, sizeof(p), "spec.volumes[%zu].%s", i, bad);
		viol(e, CST_PSS_RESTRICTED_VOLUMES, p, "restricted volume type");
	}
}

static void
ape_c(struct ev *e, const json_t *c, const char *path)
{
	if (!json_is_false(get2(c, "securityContext", "allowPrivilegeEscalation")))
		viol_at(e, CST_PSS_ALLOW_PRIVILEGE_ESCALATION, path,
		    "securityContext.allowPrivilegeEscalation",
		    "allowPrivilegeEscalation is not false");
}

/* Pod-level runAsNonRoot is true; set by run_as_non_root for its container visit. */
static void
non_root_c(struct ev *e, const json_t *c, const char *path)
{
	const json_t *v = get2(c, "securityContext", "runAsNonRoot");

	if (json_is_false(v))
		viol_at(e, CST_PSS_RUN_AS_NON_ROOT, path, "securityContext.runAsNonRoot",
		    "runAsNonRoot is false");
	else if (!json_is_true(v) && !json_is_true(get2(e->spec, "securityContext",
	    "runAsNonRoot")))
		viol_at(e, CST_PSS_RUN_AS_NON_ROOT, path, "securityContext.runAsNonRoot",
		    "runAsNonRoot is not set here or on the pod");
}

static void
run_as_non_root(struct ev *e)
{
	if (e->user_ns)
		return;
	if (json_is_false(get2(e->spec, "securityContext", "runAsNonRoot")))
		viol(e, CST_PSS_RUN_AS_NON_ROOT, "spec.securityContext.runAsNonRoot",
		    "pod sets runAsNonRoot to false");
	visit(e, non_root_c);
}

static bool
is_root_uid(const json_t *sc)
{
	const json_t *u = get(sc, "runAsUser");

	return json_is_integer(u) && json_integer_value(u) == 0;
}

static void
run_as_user_c(struct ev *e, const json_t *c, const char *path)
{
	if (is_root_uid(get(c, "securityContext")))
		viol_at(e, CST_PSS_RUN_AS_USER, path, "securityContext.runAsUser", "runs as UID 0");
}

static void
run_as_user(struct ev *e)
{
	if (e->user_ns)
		return;
	if (is_root_uid(get(e->spec, "securityContext")))
		viol(e, CST_PSS_RUN_AS_USER, "spec.securityContext.runAsUser", "runs as UID 0");
	visit(e, run_as_user_c);
}

static bool
seccomp_ok(const char *t)
{
	return t != NULL && (strcmp(t, "RuntimeDefault") == 0 || strcmp(t, "Localhost") == 0);
}

static void
seccomp_restricted_c(struct ev *e, const json_t *c, const char *path)
{
	const json_t *prof = get2(c, "securityContext", "seccompProfile");
	const char *pod = seccomp_type(get(e->spec, "securityContext"));

	if (prof != NULL && !json_is_null(prof)) {
		if (!seccomp_ok(str(prof, "type")))
			viol_at(e, CST_PSS_SECCOMP_RESTRICTED, path,
			    "securityContext.seccompProfile.type",
			    "seccomp type not RuntimeDefault or Localhost");
	} else if (!seccomp_ok(pod)) {
		viol_at(e, CST_PSS_SECCOMP_RESTRICTED, path, "securityContext.seccompProfile",
		    "no seccomp profile here or on the pod");
	}
}

static void
seccomp_restricted(struct ev *e)
{
	const json_t *prof = get2(e->spec, "securityContext", "seccompProfile");

	if (prof != NULL && !json_is_null(prof) && !seccomp_ok(str(prof, "type")))
		viol(e, CST_PSS_SECCOMP_RESTRICTED, "spec.securityContext.seccompProfile.type",
		    "seccomp type not RuntimeDefault or Localhost");
	visit(e, seccomp_restricted_c);
}

static void
caps_restricted_c(struct ev *e, const json_t *c, const char *path)
{
	const json_t *caps = get2(c, "securityContext", "capabilities"), *v;
	bool drop_all = false;
	char p[256];
	size_t i;

	json_array_foreach(get(caps, "drop"), i, v)
		if (json_string_value(v) != NULL && strcmp(json_string_value(v), "ALL") == 0)
			drop_all = true;
	if (!drop_all)
		viol_at(e, CST_PSS_CAPABILITIES_RESTRICTED, path,
		    "securityContext.capabilities.drop", "capabilities.drop lacks ALL");
	json_array_foreach(get(caps, "add"), i, v) {
		if (json_string_value(v) != NULL &&
		    strcmp(json_string_value(v), "NET_BIND_SERVICE") == 0)
			continue;
		snprintf(p, sizeof(p), "%s.securityContext.capabilities.add[%zu]", path, i);
		viol(e, CST_PSS_CAPABILITIES_RESTRICTED, p,
		    "capability other than NET_BIND_SERVICE added");
	}
}

int
cst_pss_evaluate(const json_t *meta, const json_t *spec, enum cst_pss_level level,
    unsigned minor, cst_pss_fn fn, void *arg, uint32_t *failed)
{
	struct ev e = { .meta = meta, .spec = spec, .minor = minor, .fn = fn, .arg = arg };
	const char *os = str(get(spec, "os"), "name");

	e.windows = os != NULL && strcmp(os, "windows") == 0;
	/* User-namespace relaxations are part of the policy from 1.35. */
	e.user_ns = minor >= 35 && json_is_false(get(spec, "hostUsers"));
	host_namespaces(&e);
	visit(&e, privileged_c);
	visit(&e, caps_baseline_c);
	host_path_volumes(&e);
	visit(&e, host_ports_c);
	apparmor(&e);
	selinux(&e);
	if (!e.user_ns)
		visit(&e, proc_mount_c);
	seccomp_baseline(&e);
	sysctls(&e);
	host_process(&e);
	if (minor >= 34)
		visit(&e, host_probes_c);
	if (level == CST_PSS_RESTRICTED) {
		bool exempt = e.windows && minor >= 25;

		restricted_volumes(&e);
		if (minor >= 8 && !exempt)
			visit(&e, ape_c);
		run_as_non_root(&e);
		if (minor >= 23)
			run_as_user(&e);
		if (minor >= 19 && !exempt)
			seccomp_restricted(&e);
		if (minor >= 22 && !exempt)
			visit(&e, caps_restricted_c);
		if (minor >= 35)
			visit(&e, proc_mount_restricted_c);
	}
	*failed = e.failed;
	return e.r;
}
