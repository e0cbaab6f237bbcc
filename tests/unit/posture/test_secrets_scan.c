/*
 * The secret scanner on buffers (src/posture/secrets.h): each context handler places its
 * finding on the exact file line and column, with its context label; base64 and JSON errors
 * are reported, never silent; suppressions are kept and marked; previews never hold the
 * secret; GitHub checksums are rated; gitleaks rule files add rules, allowlists and paths.
 */
#include "../check.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/b64.h"
#include "posture/secrets.h"
#include "posture/secrets_int.h"

/* Fake credentials, built here: an AWS key id shape and a GitHub token with a valid CRC32. */
#define AWS "AKIAZ3MSJV4WWNKWW5GQ"
#define GHP "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"
#define GHP_BAD "ghp_R4nd0mT0kenCharsXYZabc123456782ERs2X"

static struct cst_sec_scanner *
scanner(const char *rules_file)
{
	struct cst_sec_opts o = { 0 };
	struct cst_sec_scanner *s = NULL;
	const char *rf[1] = { rules_file };
	char err[256];

	if (rules_file != NULL) {
		o.rules = rf;
		o.n_rules = 1;
		o.no_builtin = true;
	}
	assert_int_equal(cst_sec_scanner_new(&o, &s, NULL, err, sizeof(err)), 0);
	return s;
}

static void
scan(struct cst_sec_scanner *s, const char *path, const char *text, struct cst_sec_report *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(cst_sec_scan_buffer(s, path, text, strlen(text), r), 0);
	cst_sec_report_sort(r);
}

/* The one finding of rule at line:col; fails when there is not exactly one. */
static const struct cst_sec_finding *
one(const char *name, const struct cst_sec_report *r, const char *rule, unsigned line,
    unsigned col)
{
	const struct cst_sec_finding *hit = NULL;
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->f[i].rule, rule) == 0 && r->f[i].line == line && r->f[i].col == col) {
			hit = &r->f[i];
			n++;
		}
	if (n != 1) {
		for (i = 0; i < r->n; i++)
			print_error("  have %s %u:%u %s\n", r->f[i].rule, r->f[i].line, r->f[i].col,
			    r->f[i].where ? r->f[i].where : "-");
	}
	CHECK_INT(name, n, 1);
	return hit;
}

static void
test_plain_and_preview(void **state)
{
	struct cst_sec_scanner *s = scanner(NULL);
	struct cst_sec_report r;
	const struct cst_sec_finding *f;
	size_t i;

	(void)state;
	scan(s, "a.txt", "first\nx = " AWS "\ntoken " GHP "\nbad " GHP_BAD "\n", &r);
	f = one("aws", &r, "secret.aws_access_key_id", 2, 5);
	CHECK_STR("aws preview", f->preview, "AKIA...(20 chars)");
	CHECK_INT("aws len", f->secret_len, 20);
	CHECK("aws no checksum", f->validator == NULL);
	CHECK_INT("aws severity", f->severity, CST_SEC_HIGH);
	CHECK_STR("aws fingerprint", f->fingerprint, "a.txt:secret.aws_access_key_id:2");
	f = one("ghp", &r, "secret.github_token", 3, 7);
	CHECK_STR("ghp checksum", f->validator, "valid");
	CHECK_INT("ghp severity", f->severity, CST_SEC_CRITICAL);
	/* the built-in token rule drops a bad checksum; the generic rule does not see it */
	for (i = 0; i < r.n; i++) {
		CHECK("line 4", r.f[i].line != 4);
		CHECK("no secret in preview", strstr(r.f[i].preview, "Z3MSJV") == NULL &&
		    strstr(r.f[i].preview, "R4nd0m") == NULL);
	}
	CHECK_INT("count", r.n, 2);
	cst_sec_report_free(&r);
	cst_sec_scanner_free(s);
}

static void
test_notebook(void **state)
{
	struct cst_sec_scanner *s = scanner(NULL);
	struct cst_sec_report r;
	const struct cst_sec_finding *f;
	/* the token follows an escaped quote: only the decoded cell puts the rule's \b right */
	const char *nb =
	    "{\n"
	    " \"cells\": [\n"
	    "  {\"cell_type\": \"code\",\n"
	    "   \"source\": [\"import os\\n\", \"t = \\\"" GHP "\\\"\\n\"],\n"
	    "   \"outputs\": [{\"output_type\": \"stream\", \"text\": [\"\\u0041KIAZ3MSJV4WWNKWW5GQ\\n\"]}]}\n"
	    " ],\n"
	    " \"nbformat\": 4\n"
	    "}\n";

	(void)state;
	scan(s, "n.ipynb", nb, &r);
	f = one("cell source", &r, "secret.github_token", 4, 37);
	CHECK_STR("source where", f->where, "notebook cell 1 source");
	/* an escaped first letter: found in the decoded output, placed at the escape */
	f = one("cell output", &r, "secret.aws_access_key_id", 5, 52);
	CHECK_STR("output where", f->where, "notebook cell 1 output 1");
	CHECK_INT("errors", r.n_err, 0);
	cst_sec_report_free(&r);

	scan(s, "bad.ipynb", "{\"cells\": [ {\"source\": \"x = " AWS, &r);
	CHECK_INT("bad json error", r.n_err, 1);
	CHECK("bad json is an error", !r.err[0].warning);
	CHECK("bad json message", strstr(r.err[0].msg, "not valid JSON") != NULL);
	/* the raw text is still scanned */
	one("raw still scanned", &r, "secret.aws_access_key_id", 1, 29);
	cst_sec_report_free(&r);

	scan(s, "nocells.ipynb", "{\"metadata\": {}}", &r);
	CHECK_INT("no cells error", r.n_err, 1);
	CHECK("no cells message", strstr(r.err[0].msg, "no \"cells\"") != NULL);
	cst_sec_report_free(&r);
	cst_sec_scanner_free(s);
}

static void
test_k8s_secret(void **state)
{
	struct cst_sec_scanner *s = scanner(NULL);
	struct cst_sec_report r;
	const struct cst_sec_finding *f;
	const char *plain = "aws_access_key_id=" AWS "\n";
	char b64[128], doc[512];

	(void)state;
	cst_b64_encode((const unsigned char *)plain, strlen(plain), b64);
	b64[cst_b64_len(strlen(plain))] = '\0';
	snprintf(doc, sizeof(doc), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
	    "  namespace: prod\ndata:\n  note: aGVsbG8=\n  creds: %s\n---\nkind: ConfigMap\n"
	    "metadata: {name: x}\n", b64);
	scan(s, "s.yaml", doc, &r);
	f = one("secret data", &r, "secret.aws_access_key_id", 8, 3);	/* at the key */
	CHECK_STR("where", f->where, "Secret prod/db data.creds (base64-decoded) line 1");
	CHECK_INT("errors", r.n_err, 0);
	cst_sec_report_free(&r);

	scan(s, "s.yaml", "kind: Secret\nmetadata: {name: db}\ndata:\n  creds: \"!!not-b64\"\n",
	    &r);
	CHECK_INT("bad base64 error", r.n_err, 1);
	CHECK("bad base64 is an error", !r.err[0].warning);
	CHECK_STR("bad base64 message", r.err[0].msg,
	    "Secret db data.creds: the value is not valid base64");
	cst_sec_report_free(&r);
	cst_sec_scanner_free(s);
}

static void
test_workflow_sagemaker_ray(void **state)
{
	struct cst_sec_scanner *s = scanner(NULL);
	struct cst_sec_report r;
	const struct cst_sec_finding *f;
	const char *script = "#!/bin/bash\necho start\nexport GH=" GHP "\n";
	char b64[256], doc[512];

	(void)state;
	scan(s, ".github/workflows/ci.yml", "on: push\nenv:\n  AZURE_CLIENT_SECRET: "
	    "bP88Q~rcBcYjzzOhg1Hnn76Wm3jGgakZiZ.8vMgR\njobs: {}\n", &r);
	f = one("workflow", &r, "secret.azure_client_secret", 3, 24);
	CHECK_STR("workflow where", f->where, "workflow env.AZURE_CLIENT_SECRET");
	cst_sec_report_free(&r);

	cst_b64_encode((const unsigned char *)script, strlen(script), b64);
	b64[cst_b64_len(strlen(script))] = '\0';
	snprintf(doc, sizeof(doc), "{\n  \"NotebookInstanceLifecycleConfigName\": \"lc\",\n"
	    "  \"OnStart\": [{\"Content\": \"%s\"}]\n}\n", b64);
	scan(s, "lc.json", doc, &r);
	f = one("lifecycle", &r, "secret.github_token", 3, 27);
	CHECK_STR("lifecycle where", f->where, "SageMaker lifecycle config OnStart[0].Content "
	    "(base64-decoded) line 3");
	cst_sec_report_free(&r);

	/* a pod env list: the key on one line, the value on the next, read as NAME=value */
	scan(s, "ray.yaml", "kind: RayCluster\nmetadata: {name: rc}\nspec:\n  env:\n"
	    "    - name: RAY_REDIS_PASSWORD\n      value: Zx9vQ2pL7sKd4TfW8yHb\n", &r);
	f = one("ray env", &r, "secret.generic_assignment", 6, 14);
	CHECK_STR("ray where", f->where, "RayCluster rc spec.env[0].RAY_REDIS_PASSWORD");
	cst_sec_report_free(&r);
	cst_sec_scanner_free(s);
}

static void
test_suppression(void **state)
{
	struct cst_sec_scanner *s = scanner(NULL);
	struct cst_sec_report r;
	const struct cst_sec_finding *f;
	FILE *fp;
	char path[] = "/tmp/cst-secrets-ignore-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fprintf(fp, "# reviewed\nb.txt:secret.aws_access_key_id:2\n");
	fclose(fp);
	assert_int_equal(cst_sec_scanner_ignore_file(s, path, false), 0);
	scan(s, "b.txt", "k " AWS " # gitleaks:allow\nk " AWS "\nk " AWS "\n", &r);
	f = one("inline", &r, "secret.aws_access_key_id", 1, 3);
	CHECK("inline suppressed", f->suppressed != NULL && strstr(f->suppressed, "inline"));
	f = one("ignore file", &r, "secret.aws_access_key_id", 2, 3);
	CHECK("fingerprint suppressed", f->suppressed != NULL &&
	    strstr(f->suppressed, " line 2") != NULL);
	f = one("not suppressed", &r, "secret.aws_access_key_id", 3, 3);
	CHECK("third reported", f->suppressed == NULL);
	CHECK_U64("suppressed count", r.st.suppressed, 2);
	cst_sec_report_free(&r);
	unlink(path);
	cst_sec_scanner_free(s);
}

static void
test_gitleaks_rules(void **state)
{
	static const char toml[] =
	    "[[rules]]\nid = \"demo-token\"\nregex = '''demo_([a-z0-9]{12})\\b'''\n"
	    "keywords = [\"demo_\"]\n"
	    "[[rules.allowlists]]\nstopwords = [\"test\"]\n"
	    "[[rules]]\nid = \"tf-only\"\nregex = '''tfpass=([a-z]{8})'''\npath = '''\\.tf$'''\n"
	    "[allowlist]\npaths = ['''^vendor/''']\n";
	char path[] = "/tmp/cst-secrets-rules-XXXXXX";
	int fd = mkstemp(path);
	struct cst_sec_scanner *s;
	struct cst_sec_report r;
	const struct cst_sec_finding *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, toml, sizeof(toml) - 1), (ssize_t)(sizeof(toml) - 1));
	close(fd);
	s = scanner(path);
	/* no secretGroup: the first group is the secret */
	scan(s, "x.txt", "a demo_abc123def456 b\nc demo_abtest123456\ntfpass=abcdefgh\n", &r);
	f = one("first group", &r, "demo-token", 1, 8);
	CHECK_STR("group preview", f->preview, "ab...(12 chars)");
	CHECK("kept", f->suppressed == NULL);
	f = one("stopword", &r, "demo-token", 2, 8);
	CHECK("stopword suppressed", f->suppressed != NULL);
	CHECK_INT("path rule not for .txt", r.n, 2);
	cst_sec_report_free(&r);
	scan(s, "main.tf", "tfpass=abcdefgh\n", &r);
	one("path rule", &r, "tf-only", 1, 8);
	cst_sec_report_free(&r);
	scan(s, "vendor/lib.txt", "demo_abc123def456\n", &r);
	f = one("global path allowlist", &r, "demo-token", 1, 6);
	CHECK("vendor suppressed", f->suppressed != NULL);
	cst_sec_report_free(&r);
	cst_sec_scanner_free(s);
	unlink(path);
}

static void
test_binary_and_markdown(void **state)
{
	struct cst_sec_scanner *s = scanner(NULL);
	struct cst_sec_report r;
	const struct cst_sec_finding *f;
	static const char bin[] = "\0\1" AWS;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(cst_sec_scan_buffer(s, "b.bin", bin, sizeof(bin), &r), 0);
	CHECK_U64("binary skipped", r.st.binary, 1);
	CHECK_INT("binary no findings", r.n, 0);
	cst_sec_report_free(&r);
	scan(s, "README.md", "# t\n\n```sh\nexport K=" AWS "\n```\n", &r);
	f = one("code block", &r, "secret.aws_access_key_id", 4, 10);
	CHECK_STR("md where", f->where, "markdown code block 1 (sh)");
	cst_sec_report_free(&r);
	cst_sec_scanner_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_preview),
		cmocka_unit_test(test_notebook),
		cmocka_unit_test(test_k8s_secret),
		cmocka_unit_test(test_workflow_sagemaker_ray),
		cmocka_unit_test(test_suppression),
		cmocka_unit_test(test_gitleaks_rules),
		cmocka_unit_test(test_binary_and_markdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
