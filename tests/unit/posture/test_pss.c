/*
 * Unit tests for src/posture/pss.c against the Pod Security Admission conformance fixtures
 * (../shared/data/k8s/psa: <level>/v1.<minor>/{pass,fail}/<check><n>.yaml). Every fixture is
 * evaluated at its level and version: a pass fixture must fail no check, a fail fixture must
 * fail, and the check its name gives must be among the checks that fail (at the Restricted
 * level, or the Restricted check that replaces it there: procMount_restricted for procMount,
 * as the admission controller reports it). The count of
 * fixtures is asserted, so a walk that reads nothing cannot pass. Then table cases for the
 * rules the fixtures state only implicitly (pod-level runAsNonRoot=false, Windows and user
 * namespace exemptions, overrides).
 */
#include "../check.h"

#include <dirent.h>
#include <limits.h>

#include "core/yaml.h"
#include "posture/pss.h"

#define N_FIXTURES 1286

static size_t n_seen, n_bad, n_only_one;

static void
check_fixture(const char *path, const char *file, enum cst_pss_level level, unsigned minor,
    bool want_pass)
{
	struct cst_yaml_limits yl = { 64, 100000, 65536 };
	char prefix[64], err[256];
	enum cst_pss_check want = CST_PSS_N_CHECKS;
	json_t *pod = NULL;
	uint32_t failed = 0;
	size_t len, n;
	char *data = read_whole(path, &len);

	n_seen++;
	if (cst_yaml_load(data, len, &yl, &pod, err, sizeof(err)) != 0) {
		print_error("%s: %s\n", path, err);
		fail();
	}
	free(data);
	assert_int_equal(cst_pss_evaluate(json_object_get(pod, "metadata"),
	    json_object_get(pod, "spec"), level, minor, NULL, NULL, &failed), 0);
	json_decref(pod);
	n = strcspn(file, "0123456789.");
	snprintf(prefix, sizeof(prefix), "%.*s", (int)n, file);
	if (!want_pass && cst_pss_check_parse(prefix, &want) != 0) {
		print_error("%s: no check named %s\n", path, prefix);
		fail();
	}
	/* At the Restricted level a check that overrides the named one stands for it. */
	for (int c = 0; !want_pass && level == CST_PSS_RESTRICTED && c < CST_PSS_N_CHECKS; c++)
		if (cst_pss_overrides((enum cst_pss_check)c) == want && (failed & (1u << c)))
			failed |= 1u << want;
	if (want_pass ? failed != 0 : (failed & (1u << want)) == 0) {
		print_error("%s: want %s%s, failed checks 0x%x\n", path,
		    want_pass ? "pass" : "fail by ", want_pass ? "" : prefix, failed);
		n_bad++;
	}
	if (!want_pass && failed == (1u << want))
		n_only_one++;
}

static void
walk_version(const char *dir, enum cst_pss_level level, unsigned minor)
{
	static const char *const outcomes[] = { "pass", "fail" };
	char sub[PATH_MAX + 1024], path[PATH_MAX + 2048];
	struct dirent *de;

	for (int o = 0; o < 2; o++) {
		DIR *d;

		snprintf(sub, sizeof(sub), "%s/%s", dir, outcomes[o]);
		if ((d = opendir(sub)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (strstr(de->d_name, ".yaml") == NULL)
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, de->d_name);
			check_fixture(path, de->d_name, level, minor, o == 0);
		}
		closedir(d);
	}
}

static void
test_fixtures(void **state)
{
	static const char *const levels[] = { "baseline", "restricted" };
	const char *src = getenv("CST_SOURCE_DIR");
	char top[PATH_MAX], dir[PATH_MAX + 512];
	struct dirent *de;

	(void)state;
	for (int l = 0; l < 2; l++) {
		DIR *d;

		snprintf(top, sizeof(top), "%s/../shared/data/k8s/psa/%s", src ? src : ".",
		    levels[l]);
		assert_non_null(d = opendir(top));
		while ((de = readdir(d)) != NULL) {
			unsigned long minor;
			char *end;

			if (strncmp(de->d_name, "v1.", 3) != 0)
				continue;
			minor = strtoul(de->d_name + 3, &end, 10);
			assert_true(*end == '\0' && minor <= CST_PSS_N_CHECKS * 10);
			snprintf(dir, sizeof(dir), "%s/%s", top, de->d_name);
			walk_version(dir, l == 0 ? CST_PSS_BASELINE : CST_PSS_RESTRICTED,
			    (unsigned)minor);
		}
		closedir(d);
	}
	printf("PSA fixtures: %zu checked, %zu disagree, %zu fail fixtures fail their check "
	    "alone\n", n_seen, n_bad, n_only_one);
	assert_int_equal(n_seen, N_FIXTURES);
	assert_int_equal(n_bad, 0);
}

struct pod_case {
	const char *name;
	const char *pod;	/* JSON */
	enum cst_pss_level level;
	unsigned minor;
	uint32_t want;		/* failed checks */
};

#define B(c) (1u << (c))
#define OK_C "{\"name\":\"c\",\"securityContext\":{\"allowPrivilegeEscalation\":false," \
	"\"capabilities\":{\"drop\":[\"ALL\"]},\"runAsNonRoot\":true}}"
#define SECCOMP "\"seccompProfile\":{\"type\":\"RuntimeDefault\"}"

static const struct pod_case pod_cases[] = {
	{ "restricted ok", "{\"spec\":{\"securityContext\":{" SECCOMP "},\"containers\":["
	    OK_C "]}}", CST_PSS_RESTRICTED, 37, 0 },
	{ "pod runAsNonRoot false beats containers true", "{\"spec\":{\"securityContext\":{"
	    SECCOMP ",\"runAsNonRoot\":false},\"containers\":[" OK_C "]}}", CST_PSS_RESTRICTED,
	    37, B(CST_PSS_RUN_AS_NON_ROOT) },
	{ "hostUsers false exempts runAsNonRoot and runAsUser", "{\"spec\":{\"hostUsers\":false,"
	    "\"securityContext\":{" SECCOMP ",\"runAsUser\":0},\"containers\":[{\"name\":\"c\","
	    "\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":"
	    "[\"ALL\"]}}}]}}", CST_PSS_RESTRICTED, 37, 0 },
	{ "hostUsers false exempts nothing before 1.35", "{\"spec\":{\"hostUsers\":false,"
	    "\"securityContext\":{" SECCOMP ",\"runAsUser\":0},\"containers\":[{\"name\":\"c\","
	    "\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":"
	    "[\"ALL\"]}}}]}}", CST_PSS_RESTRICTED, 34, B(CST_PSS_RUN_AS_NON_ROOT) |
	    B(CST_PSS_RUN_AS_USER) },
	{ "allowPrivilegeEscalation unset fails", "{\"spec\":{\"securityContext\":{" SECCOMP
	    ",\"runAsNonRoot\":true},\"containers\":[{\"name\":\"c\",\"securityContext\":{"
	    "\"capabilities\":{\"drop\":[\"ALL\"]}}}]}}", CST_PSS_RESTRICTED, 37,
	    B(CST_PSS_ALLOW_PRIVILEGE_ESCALATION) },
	{ "Windows pod exempt from 1.25", "{\"spec\":{\"os\":{\"name\":\"windows\"},"
	    "\"securityContext\":{\"runAsNonRoot\":true},\"containers\":[{\"name\":\"c\"}]}}",
	    CST_PSS_RESTRICTED, 25, 0 },
	{ "Windows pod not exempt before 1.25", "{\"spec\":{\"os\":{\"name\":\"windows\"},"
	    "\"securityContext\":{\"runAsNonRoot\":true},\"containers\":[{\"name\":\"c\"}]}}",
	    CST_PSS_RESTRICTED, 24, B(CST_PSS_ALLOW_PRIVILEGE_ESCALATION) |
	    B(CST_PSS_SECCOMP_RESTRICTED) | B(CST_PSS_CAPABILITIES_RESTRICTED) },
	{ "ephemeral container privileged", "{\"spec\":{\"containers\":[{\"name\":\"c\"}],"
	    "\"ephemeralContainers\":[{\"name\":\"e\",\"securityContext\":{\"privileged\":true}}]"
	    "}}", CST_PSS_BASELINE, 37, B(CST_PSS_PRIVILEGED) },
	{ "hostPath fails both volume checks", "{\"spec\":{\"securityContext\":{" SECCOMP "},"
	    "\"containers\":[" OK_C "],\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/\"}}"
	    "]}}", CST_PSS_RESTRICTED, 37, B(CST_PSS_HOST_PATH_VOLUMES) |
	    B(CST_PSS_RESTRICTED_VOLUMES) },
	{ "tcp_rmem allowed from 1.32", "{\"spec\":{\"securityContext\":{\"sysctls\":[{\"name\":"
	    "\"net.ipv4.tcp_rmem\",\"value\":\"1\"}]}}}", CST_PSS_BASELINE, 32, 0 },
	{ "tcp_rmem refused before 1.32", "{\"spec\":{\"securityContext\":{\"sysctls\":[{\"name\":"
	    "\"net.ipv4.tcp_rmem\",\"value\":\"1\"}]}}}", CST_PSS_BASELINE, 31,
	    B(CST_PSS_SYSCTLS) },
};

static void
test_pods(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(pod_cases); i++) {
		const struct pod_case *c = &pod_cases[i];
		json_t *pod = json_loads(c->pod, 0, NULL);
		uint32_t failed = 0;

		CHECK(c->name, pod != NULL);
		CHECK(c->name, cst_pss_evaluate(json_object_get(pod, "metadata"),
		    json_object_get(pod, "spec"), c->level, c->minor, NULL, NULL, &failed) == 0);
		if (failed != c->want) {
			print_error("case \"%s\": failed 0x%x, want 0x%x\n", c->name, failed,
			    c->want);
			fail();
		}
		json_decref(pod);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_pods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
