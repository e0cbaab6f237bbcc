/*
 * Unit tests for src/gateway/integrity.c: checks are shared across a reload only when the
 * upstream's name and every integrity setting are unchanged; a check verifies model_signing's
 * own v1.1.0 test model against its bundle (the root digest of checklist item 21), fails
 * closed on a modified file, an extra file, a missing bundle and the wrong key, and keeps no
 * digest once failed; the monitor thread verifies new checks at once, reports each result,
 * re-verifies on its interval and on being given a configuration again, and stops cleanly.
 * These tests must never pass on a stub.
 */
#include "../check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "gateway/config.h"
#include "gateway/integrity.h"

#define ROOT "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"

static char data[512], keys[600], model[64];

static int
setup(void **state)
{
	const char *src = getenv("CST_SOURCE_DIR");
	char cmd[1200];

	(void)state;
	snprintf(data, sizeof(data), "%s/../shared/data/models/oms/model-transparency",
	    src ? src : ".");
	snprintf(keys, sizeof(keys), "%s/keys/certificate", data);
	snprintf(model, sizeof(model), "/tmp/cst-integrity-XXXXXX");
	if (mkdtemp(model) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -r %s/v1.1.0-elliptic-key/. %s", data, model);
	return system(cmd) == 0 ? 0 : -1;	/* lint: allow (test fixture copy) */
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", model);
	return system(cmd) == 0 ? 0 : -1;	/* lint: allow (test fixture removal) */
}

static struct cst_config *
config(const char *integrity_a, const char *integrity_b)
{
	char yaml[4096], err[512];
	struct cst_config *c = NULL;

	snprintf(yaml, sizeof(yaml), "listen: {tls: {enabled: false}}\nadmin: {port: 0}\n"
	    "upstreams:\n  - name: a\n    url: http://h/\n%s  - name: b\n    url: http://h/\n%s"
	    "models:\n  - {name: m, upstream: a}\n", integrity_a, integrity_b);
	if (cst_config_parse(yaml, strlen(yaml), "/", &c, err, sizeof(err)) != 0) {
		print_error("config: %s\n", err);
		fail();
	}
	return c;
}

static char *
integrity(const char *dir, const char *key, const char *interval)
{
	static char buf[4][1024];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "    integrity: {model_dir: '%s', keys: '%s', interval: %s}\n",
	    dir, key, interval);
	return b;
}

static void
test_assign_shares_unchanged(void **state)
{
	char pub[700], other[700];
	struct cst_config *c1, *c2, *c3;

	(void)state;
	snprintf(pub, sizeof(pub), "%s/signing-key-pub.pem", keys);
	snprintf(other, sizeof(other), "%s/ca-cert.pem", keys);
	c1 = config(integrity(model, pub, "1m"), integrity(model, pub, "1m"));
	CHECK_INT("assign", cst_model_checks_assign(c1, NULL), 0);
	CHECK("two checks", c1->upstreams[0].check && c1->upstreams[1].check &&
	    c1->upstreams[0].check != c1->upstreams[1].check);
	CHECK("names", strcmp(cst_model_check_name(c1->upstreams[1].check), "b") == 0);
	/* Same settings for a, another key for b. */
	c2 = config(integrity(model, pub, "1m"), integrity(model, other, "1m"));
	CHECK_INT("reassign", cst_model_checks_assign(c2, c1), 0);
	CHECK("a kept", c2->upstreams[0].check == c1->upstreams[0].check);
	CHECK("b new", c2->upstreams[1].check != c1->upstreams[1].check);
	/* Only the interval changes: a new check too. */
	c3 = config(integrity(model, pub, "2m"), "");
	CHECK_INT("third", cst_model_checks_assign(c3, c2), 0);
	CHECK("interval change", c3->upstreams[0].check != c2->upstreams[0].check);
	CHECK("no integrity, no check", c3->upstreams[1].check == NULL);
	/* The shared check outlives the configuration that made it (ASan: no use after free). */
	cst_config_unref(c1);
	CHECK("still named", strcmp(cst_model_check_name(c2->upstreams[0].check), "a") == 0);
	cst_config_unref(c2);
	cst_config_unref(c3);
}

static void
run_once(const char *name, struct cst_config *c, enum cst_model_state want, const char *reason)
{
	struct cst_model_status st;

	CHECK_INT(name, cst_model_checks_assign(c, NULL), 0);
	cst_model_check_status(c->upstreams[0].check, &st);
	CHECK_INT(name, st.state, CST_MODEL_PENDING);
	CHECK_INT(name, cst_model_check_run(c->upstreams[0].check), want);
	cst_model_check_status(c->upstreams[0].check, &st);
	CHECK_INT(name, st.state, want);
	CHECK_INT(name, st.n_checks, 1);
	CHECK(name, st.checked_ms > 0);
	if (want == CST_MODEL_VERIFIED) {
		CHECK(name, strcmp(st.root, ROOT) == 0 && st.reason[0] == '\0' && st.verified_ms);
	} else {
		if (strstr(st.reason, reason) == NULL) {
			print_error("case \"%s\": reason \"%s\" lacks \"%s\"\n", name, st.reason, reason);
			fail();
		}
		CHECK(name, st.root[0] == '\0');
	}
	cst_config_unref(c);
}

static void
test_run(void **state)
{
	char pub[700], wrong[700], path[128], missing[128];
	struct stat st;
	FILE *f;

	(void)state;
	snprintf(pub, sizeof(pub), "%s/signing-key-pub.pem", keys);
	snprintf(wrong, sizeof(wrong), "%s/ca-cert.pem", keys);
	run_once("verified", config(integrity(model, pub, "0"), ""), CST_MODEL_VERIFIED, "");
	run_once("wrong key", config(integrity(model, wrong, "0"), ""), CST_MODEL_FAILED, "");
	snprintf(missing, sizeof(missing), "%s/nowhere", model);
	run_once("no model", config(integrity(missing, pub, "0"), ""), CST_MODEL_FAILED, "");
	snprintf(path, sizeof(path), "%s/extra.bin", model);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
	run_once("extra file", config(integrity(model, pub, "0"), ""), CST_MODEL_FAILED,
	    "extra.bin");
	unlink(path);
	snprintf(path, sizeof(path), "%s/signme-1", model);
	assert_int_equal(stat(path, &st), 0);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("!", f);
	fclose(f);
	run_once("modified", config(integrity(model, pub, "0"), ""), CST_MODEL_FAILED, "signme-1");
	assert_int_equal(truncate(path, st.st_size), 0);	/* restored for the next test */
	run_once("restored", config(integrity(model, pub, "0"), ""), CST_MODEL_VERIFIED, "");
}

struct seen {
	pthread_mutex_t mu;
	int n;
	enum cst_model_state last;
};

static void
on_result(void *arg, struct cst_model_check *c, const struct cst_model_status *st)
{
	struct seen *s = arg;

	(void)c;
	pthread_mutex_lock(&s->mu);
	s->n++;
	s->last = st->state;
	pthread_mutex_unlock(&s->mu);
}

static int
wait_results(struct seen *s, int n)
{
	int i, got = 0;

	for (i = 0; i < 300; i++) {
		pthread_mutex_lock(&s->mu);
		got = s->n;
		pthread_mutex_unlock(&s->mu);
		if (got >= n)
			break;
		usleep(10000);
	}
	return got;
}

static void
test_monitor(void **state)
{
	struct seen s = { PTHREAD_MUTEX_INITIALIZER, 0, CST_MODEL_PENDING };
	struct cst_integrity_monitor *m = NULL;
	struct cst_config *c;
	char pub[700];

	(void)state;
	snprintf(pub, sizeof(pub), "%s/signing-key-pub.pem", keys);
	c = config(integrity(model, pub, "1s"), "");
	CHECK_INT("assign", cst_model_checks_assign(c, NULL), 0);
	CHECK_INT("start", cst_integrity_monitor_start(on_result, &s, &m), 0);
	CHECK_INT("set", cst_integrity_monitor_set(m, c), 0);
	CHECK_INT("first result", wait_results(&s, 1), 1);
	CHECK_INT("verified", s.last, CST_MODEL_VERIFIED);
	/* The interval (1 s) brings a second verification. */
	CHECK("second result", wait_results(&s, 2) >= 2);
	/* Given the configuration again (a reload): verified again at once. */
	pthread_mutex_lock(&s.mu);
	s.n = 0;
	pthread_mutex_unlock(&s.mu);
	CHECK_INT("set again", cst_integrity_monitor_set(m, c), 0);
	CHECK("reload result", wait_results(&s, 1) >= 1);
	cst_integrity_monitor_stop(m);
	cst_config_unref(c);	/* the monitor's references are gone: ASan sees no leak */
	cst_integrity_monitor_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assign_shares_unchanged),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_monitor),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
