/*
 * Hard-coded credentials in manifests (R-RAY-11, Kubescape C-0012): every string of every
 * document goes through the content-inspection engine with only its secret rules enabled;
 * Secret data is base64-decoded first; a Secret with literal data is itself reported; and
 * container environment variables whose names say credential (PASSWORD, TOKEN, SECRET, ...)
 * must not carry a literal value, nor may SageMaker environment maps and hyperparameters; the
 * base64 scripts of notebook lifecycle configurations are decoded and inspected. Evidence
 * never holds a value whole: at most its first two and last four characters, and none of a
 * value shorter than 16 characters.
 */
#include "posture/posture_int.h"

#include "core/alloc.h"
#include "core/b64.h"
#include "core/err.h"
#include "inspect/inspect.h"
#include "inspect/rules.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MIN_SCAN 8		/* shorter strings cannot hold a credential the rules find */
#define MAX_DECODED ((size_t)1 << 20)
#define MAX_DEPTH 64

struct creds {
	struct cst__pst_ctx *c;
	struct cst_insp_ctx *insp;
	const struct cst__pst_res *res;
};

/* "ab…wxyz (40 chars)", or "(12 chars)" for short values. */
static void
redact(const char *s, size_t n, char *out, size_t len)
{
	if (n < 16)
		snprintf(out, len, "(%zu characters)", n);
	else
		snprintf(out, len, "%.2s...%.4s (%zu characters)", s, s + n - 4, n);
}

static int
inspect(struct creds *k, const char *s, size_t n, const char *path, const char *what)
{
	struct cst_insp_result res;
	char red[64];
	int r;

	if (n < MIN_SCAN)
		return 0;
	if ((r = cst_insp_scan(k->insp, CST_INSP_INPUT, s, n, &res)) != 0)
		return r == CST_ELIMIT ? 0 : r;
	for (size_t i = 0; i < res.n_findings && r == 0; i++) {
		const struct cst_insp_finding *f = &res.findings[i];

		if (f->cat != CST_INSP_SECRET)
			continue;
		redact(s + f->start, f->end - f->start, red, sizeof(red));
		r = cst__pst_emit(k->c, k->res, "CST-CRED-HARDCODED", -1, path, "%s (%s, "
		    "confidence %.2f%s%s) at bytes %zu-%zu%s%s: %s", f->entity, f->rule,
		    f->confidence / 1000.0, f->validator ? ", checksum " : "",
		    f->validator ? f->validator : "", f->start, f->end, what ? " of " : "",
		    what ? what : "", red);
	}
	return r;
}

/* Every string under v, with its path. */
static int
walk(struct creds *k, const json_t *v, char *path, size_t len, size_t used, int depth)
{
	const char *key;
	const json_t *e;
	size_t i;
	int r = 0;

	if (depth > MAX_DEPTH)
		return 0;
	if (json_is_string(v))
		return inspect(k, json_string_value(v), json_string_length(v), path, NULL);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			int w = snprintf(path + used, len - used, "[%zu]", i);

			if (w < 0 || (size_t)w >= len - used)
				return 0;
			if ((r = walk(k, e, path, len, used + (size_t)w, depth + 1)) != 0)
				return r;
		}
		path[used] = '\0';
		return 0;
	}
	json_object_foreach((json_t *)v, key, e) {
		int w = snprintf(path + used, len - used, "%s%s", used ? "." : "", key);

		if (w < 0 || (size_t)w >= len - used)
			continue;
		if ((r = walk(k, e, path, len, used + (size_t)w, depth + 1)) != 0)
			return r;
	}
	path[used] = '\0';
	return 0;
}

/* Inspects the base64 value s[0..n) decoded; values that are not base64 are left to walk(). */
static int
decoded(struct creds *k, const char *s, size_t n, const char *path, const char *what)
{
	unsigned char *buf;
	size_t dn = 0;
	int r;

	if (cst_b64_decode(s, n, NULL, 0, &dn) != 0 || dn > MAX_DECODED)
		return 0;
	if ((buf = cst_malloc(dn + 1)) == NULL)
		return CST_ENOMEM;
	r = cst_b64_decode(s, n, buf, dn, &dn) == 0 ?
	    inspect(k, (const char *)buf, dn, path, what) : 0;
	cst_freezero(buf, dn + 1);
	return r;
}

static int
secret(struct creds *k)
{
	const json_t *data = cst__pst_get(k->res->obj, "data");
	const json_t *sdata = cst__pst_get(k->res->obj, "stringData"), *v;
	char path[320], keys[512];
	size_t used = 0, n = 0;
	const char *key;
	int r = 0;

	keys[0] = '\0';
	for (int which = 0; which < 2 && r == 0; which++) {
		json_object_foreach((json_t *)(which ? sdata : data), key, v) {
			const char *s = json_string_value(v);
			size_t sn = json_string_length(v);
			int w;

			if (s == NULL || sn == 0 || r != 0)
				continue;
			w = snprintf(keys + used, sizeof(keys) - used, "%s%s.%s", n++ ? ", " : "",
			    which ? "stringData" : "data", key);
			if (w > 0 && (size_t)w < sizeof(keys) - used)
				used += (size_t)w;
			snprintf(path, sizeof(path), "%s.%s", which ? "stringData" : "data", key);
			if (which) {
				r = inspect(k, s, sn, path, NULL);
				continue;
			}
			r = decoded(k, s, sn, path, "the base64-decoded value");
		}
	}
	if (r == 0 && n > 0)
		r = cst__pst_emit(k->c, k->res, "CST-CRED-SECRET-MANIFEST", -1, "", "Secret carries "
		    "literal values for %s", keys);
	return r;
}

static bool
credential_name(const char *name)
{
	static const char *const words[] = { "PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN",
		"APIKEY", "API_KEY", "ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL", NULL };
	char up[128];
	size_t i;

	for (i = 0; name[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[i] = '\0';
	for (i = 0; words[i] != NULL; i++) {
		const char *at = strstr(up, words[i]);

		/* TOKEN must end a word: MAX_TOKENS and TOKENIZER name no credential. */
		if (at != NULL && (strcmp(words[i], "TOKEN") != 0 ||
		    !isalpha((unsigned char)at[strlen(words[i])])))
			return true;
	}
	return false;
}

static int
env_literals(struct cst__pst_ctx *c, const struct cst__pst_pod *pod, void *arg)
{
	static const char *const lists[] = { "initContainers", "containers",
		"ephemeralContainers", NULL };
	const json_t *ct, *e;
	char p[192], out[320], red[64];
	size_t i, j;
	int r = 0;

	(void)arg;
	for (int l = 0; lists[l] != NULL; l++)
		json_array_foreach(json_object_get(pod->spec, lists[l]), i, ct)
			json_array_foreach(json_object_get(ct, "env"), j, e) {
				const char *name = cst__pst_str(e, "name");
				const char *val = cst__pst_str(e, "value");

				if (r != 0 || name == NULL || val == NULL || val[0] == '\0' ||
				    strncmp(val, "$(", 2) == 0 || !credential_name(name))
					continue;
				snprintf(p, sizeof(p), "spec.%s[%zu].env[%zu].value", lists[l], i, j);
				cst__pst_pod_path(pod, p, out, sizeof(out));
				redact(val, strlen(val), red, sizeof(red));
				r = cst__pst_emit(c, pod->owner, "CST-CRED-ENV-LITERAL", -1, out,
				    "%s=%s set literally", name, red);
			}
	return r;
}

/* Credential-named members of a SageMaker environment map or hyperparameters with literal
 * values (there is no other way to give them: the finding asks for Secrets Manager). */
static int
env_map(struct creds *k, const struct cst__pst_aws *a, const json_t *m, const char *rel)
{
	const json_t *v;
	const char *key;
	char p[320], red[64];
	int r = 0;

	json_object_foreach((json_t *)m, key, v) {
		const char *val = json_string_value(v);

		if (r != 0 || val == NULL || val[0] == '\0' || !credential_name(key))
			continue;
		snprintf(p, sizeof(p), "%s%s%s.%s", a->root ? a->root : "", a->root ? "." : "",
		    rel, key);
		redact(val, strlen(val), red, sizeof(red));
		r = cst__pst_emit(k->c, k->res, "CST-CRED-ENV-LITERAL", -1, p, "%s=%s set literally",
		    key, red);
	}
	return r;
}

static int
aws_maps(struct creds *k, const struct cst__pst_aws *a)
{
	static const char *const maps[] = { "Environment", "HyperParameters",
		"PrimaryContainer.Environment" };
	const json_t *ct;
	char rel[64];
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]) && r == 0; i++)
		r = env_map(k, a, cst__pst_get(a->obj, maps[i]), maps[i]);
	json_array_foreach(json_object_get(a->obj, "Containers"), i, ct) {
		if (r != 0)
			break;
		snprintf(rel, sizeof(rel), "Containers[%zu].Environment", i);
		r = env_map(k, a, json_object_get(ct, "Environment"), rel);
	}
	return r;
}

/* The base64 scripts of a notebook lifecycle configuration (OnCreate, OnStart), inspected
 * decoded (instead of the generic walk, which would report the same secret in its encoding). */
static int
lifecycle(struct creds *k, const struct cst__pst_aws *a)
{
	static const char *const hooks[] = { "OnCreate", "OnStart" };
	const json_t *h;
	char p[192];
	size_t i, dn;
	int r = 0;

	for (int j = 0; j < 2 && r == 0; j++)
		json_array_foreach(json_object_get(a->obj, hooks[j]), i, h) {
			const char *s = cst__pst_str(h, "Content");

			if (r != 0 || s == NULL)
				continue;
			snprintf(p, sizeof(p), "%s%s%s[%zu].Content", a->root ? a->root : "",
			    a->root ? "." : "", hooks[j], i);
			r = cst_b64_decode(s, strlen(s), NULL, 0, &dn) == 0 ?
			    decoded(k, s, strlen(s), p, "the base64-decoded lifecycle script") :
			    inspect(k, s, strlen(s), p, NULL);
		}
	return r;
}

/* The policy: secret rules only (PII entities, injection and smuggling switched off). */
static int
policy(struct cst_insp_policy **out)
{
	const struct cst_insp_rule *pii;
	json_t *ents = json_object(), *dir, *cfg;
	char err[256];
	size_t n;
	int r;

	pii = cst_insp_builtin_rules(CST_INSP_PII, &n);
	for (size_t i = 0; ents != NULL && i < n; i++)
		json_object_set_new(ents, pii[i].entity, json_pack("{s:b}", "enabled", 0));
	dir = json_pack("{s:{s:o}, s:{s:b}, s:{s:b}, s:{s:s}}", "pii", "entities", ents,
	    "injection", "enabled", 0, "smuggling", "enabled", 0, "secrets", "action", "log");
	/* Only the input direction is used; the output one is compiled too, so keep it small. */
	cfg = dir ? json_pack("{s:O, s:O}", "input", dir, "output", dir) : NULL;
	json_decref(dir);
	if (cfg == NULL)
		return CST_ENOMEM;
	r = cst_insp_policy_new(cfg, out, err, sizeof(err));
	json_decref(cfg);
	return r;
}

int
cst__pst_check_creds(struct cst__pst_ctx *c)
{
	struct cst_insp_policy *pol = NULL;
	struct creds k = { .c = c };
	struct cst__pst_aws a;
	char path[1024];
	int r;

	if (!c->opts->creds || c->n_res == 0)
		return 0;
	if ((r = policy(&pol)) != 0)
		return r;
	if ((r = cst_insp_ctx_new(pol, &k.insp)) != 0) {
		cst_insp_policy_free(pol);
		return r;
	}
	for (size_t i = 0; i < c->n_res && r == 0; i++) {
		k.res = &c->res[i];
		if (strcmp(k.res->kind, "Secret") == 0) {
			r = secret(&k);
			continue;
		}
		if (cst__pst_aws_kind(k.res->obj, &a) &&
		    strcmp(a.kind, "AWS::SageMaker::NotebookInstanceLifecycleConfig") == 0) {
			r = lifecycle(&k, &a);
			continue;
		}
		path[0] = '\0';
		r = walk(&k, k.res->obj, path, sizeof(path), 0, 0);
		if (r == 0)
			r = cst__pst_pods(c, k.res, env_literals, NULL);
		if (r == 0 && cst__pst_aws_kind(k.res->obj, &a))
			r = aws_maps(&k, &a);
	}
	cst_insp_ctx_free(k.insp);
	cst_insp_policy_free(pol);
	return r;
}
