/*
 * The request file parser: JSON (bounded like a policy) into a prepared cst_iam_request and
 * the policy paths per role. Context values are typed either explicitly
 * ({"type": "ArrayOfString", "value": [...]}) or by their JSON form (string, number, boolean,
 * array of one of these).
 */
#include "posture/iam_reqfile.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"
#include "posture/iam_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
cst_iam_paths_add(struct cst_iam_paths *ps, const char *path)
{
	char **nv, *d;

	if (ps->n >= CST_IAM_MAX_ELEMENTS)
		return CST_ELIMIT;
	if ((d = cst_strdup(path)) == NULL)
		return CST_ENOMEM;
	if ((nv = cst_reallocarray(ps->v, ps->n + 1, sizeof(*nv))) == NULL) {
		cst_free(d);
		return CST_ENOMEM;
	}
	ps->v = nv;
	ps->v[ps->n++] = d;
	return 0;
}

void
cst_iam_paths_free(struct cst_iam_paths *ps)
{
	cst_strv_free(ps->v, ps->n);
	ps->v = NULL;
	ps->n = 0;
}

void
cst_iam_reqfile_free(struct cst_iam_reqfile *f)
{
	size_t i;

	if (f == NULL)
		return;
	cst_iam_request_free(f->rq);
	for (i = 0; i < f->n_scp; i++)
		cst_iam_paths_free(&f->scp[i]);
	for (i = 0; i < f->n_rcp; i++)
		cst_iam_paths_free(&f->rcp[i]);
	cst_iam_paths_free(&f->identity);
	cst_iam_paths_free(&f->resource);
	cst_iam_paths_free(&f->boundary);
	cst_iam_paths_free(&f->session);
	cst_free(f);
}

struct rp {
	struct cst_iam_reqfile *f;
	const char *base;
	char *err;
	size_t err_len;
	bool principal_mgmt, resource_mgmt;
};

static int __attribute__((format(printf, 3, 4)))
bad(struct rp *p, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->err_len, fmt, ap);
	va_end(ap);
	return r;
}

/* Only the listed members may appear in o. */
static int
only(struct rp *p, json_t *o, const char *what, const char *const *known)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(o, key, v) {
		for (i = 0; known[i] && strcmp(key, known[i]) != 0; i++)
			;
		if (known[i] == NULL)
			return bad(p, CST_EINVAL, "%s: unknown member \"%.64s\"", what, key);
	}
	return 0;
}

static int
add_path(struct rp *p, struct cst_iam_paths *ps, json_t *v, const char *what)
{
	char buf[4096];
	const char *s = json_string_value(v);
	int r;

	if (s == NULL || s[0] == '\0')
		return bad(p, CST_EINVAL, "policies.%s: expected a file name", what);
	if (p->base && s[0] != '/') {
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", p->base, s) >= sizeof(buf))
			return bad(p, CST_ELIMIT, "policies.%s: path too long", what);
		s = buf;
	}
	if ((r = cst_iam_paths_add(ps, s)) != 0)
		return bad(p, r, "policies.%s: %s", what, cst_strerror(r));
	return 0;
}

/* A file name or an array of them into ps. */
static int
path_list(struct rp *p, struct cst_iam_paths *ps, json_t *v, const char *what, size_t max)
{
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;
	int r;

	if (n > max)
		return bad(p, CST_EINVAL, "policies.%s: at most %zu file(s)", what, max);
	for (i = 0; i < n; i++)
		if ((r = add_path(p, ps, json_is_array(v) ? json_array_get(v, i) : v, what)) != 0)
			return r;
	return 0;
}

/* Levels: an array whose entries are a file name or an array of file names. */
static int
levels(struct rp *p, struct cst_iam_paths *lv, size_t *n_lv, json_t *v, const char *what)
{
	size_t i;
	int r;

	if (!json_is_array(v))
		return bad(p, CST_EINVAL, "policies.%s: expected an array of levels (root first), "
		    "each a file name or an array of file names", what);
	if (json_array_size(v) > CST_IAM_MAX_LEVELS)
		return bad(p, CST_ELIMIT, "policies.%s: more than %d levels", what,
		    CST_IAM_MAX_LEVELS);
	for (i = 0; i < json_array_size(v); i++) {
		(*n_lv)++;
		if ((r = path_list(p, &lv[i], json_array_get(v, i), what,
		    CST_IAM_MAX_ELEMENTS)) != 0)
			return r;
	}
	return 0;
}

static int
policies(struct rp *p, json_t *o)
{
	static const char *const known[] = { "scp", "rcp", "identity", "resource", "boundary",
		"session", NULL };
	struct cst_iam_reqfile *f = p->f;
	json_t *v;
	int r;

	if (!json_is_object(o))
		return bad(p, CST_EINVAL, "policies: expected an object");
	if ((r = only(p, o, "policies", known)) != 0)
		return r;
	if ((v = json_object_get(o, "scp")) && (r = levels(p, f->scp, &f->n_scp, v, "scp")))
		return r;
	if ((v = json_object_get(o, "rcp")) && (r = levels(p, f->rcp, &f->n_rcp, v, "rcp")))
		return r;
	if ((v = json_object_get(o, "identity")) &&
	    (r = path_list(p, &f->identity, v, "identity", CST_IAM_MAX_ELEMENTS)))
		return r;
	if ((v = json_object_get(o, "resource")) &&
	    (r = path_list(p, &f->resource, v, "resource", 1)))
		return r;
	if ((v = json_object_get(o, "boundary")) &&
	    (r = path_list(p, &f->boundary, v, "boundary", 1)))
		return r;
	if ((v = json_object_get(o, "session")) &&
	    (r = path_list(p, &f->session, v, "session", CST_IAM_MAX_ELEMENTS)))
		return r;
	return 0;
}

/* The string form of a scalar context value into buf. */
static int
ctx_scalar(struct rp *p, const char *key, json_t *v, char *buf, size_t cap, const char **out)
{
	if (json_is_string(v))
		*out = json_string_value(v);
	else if (json_is_integer(v))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v)), *out = buf;
	else if (json_is_real(v))
		snprintf(buf, cap, "%.15g", json_real_value(v)), *out = buf;
	else if (json_is_boolean(v))
		*out = json_is_true(v) ? "true" : "false";
	else
		return bad(p, CST_EINVAL, "context key %.128s: a value must be a string, number or "
		    "boolean", key);
	return 0;
}

static enum cst_iam_type
infer(json_t *v)
{
	return json_is_number(v) ? CST_IAM_T_NUMERIC : json_is_boolean(v) ? CST_IAM_T_BOOL :
	    CST_IAM_T_STRING;
}

static int
ctx_key(struct rp *p, const char *key, json_t *spec)
{
	static const char *const known[] = { "type", "value", NULL };
	enum cst_iam_type type;
	bool multi;
	json_t *val = spec;
	const char **vals = NULL;
	char (*bufs)[64] = NULL;
	size_t n, i;
	int r;

	if (json_is_object(spec)) {
		const char *t = json_string_value(json_object_get(spec, "type"));

		if ((r = only(p, spec, key, known)) != 0)
			return r;
		if (t == NULL || (val = json_object_get(spec, "value")) == NULL)
			return bad(p, CST_EINVAL, "context key %.128s: give \"type\" and \"value\"",
			    key);
		multi = strncasecmp(t, "ArrayOf", 7) == 0;
		if (cst_iam_type_parse(multi ? t + 7 : t, &type) != 0)
			return bad(p, CST_EINVAL, "context key %.128s: unknown type \"%.64s\" (String, "
			    "Numeric, Date, Bool, Binary, IpAddress, ARN, or ArrayOf one of them)",
			    key, t);
		if (multi != json_is_array(val))
			return bad(p, CST_EINVAL, "context key %.128s: type %s needs %s", key, t,
			    multi ? "an array value" : "a single value (use ArrayOf... for a list)");
	} else {
		multi = json_is_array(spec);
		type = infer(multi && json_array_size(spec) ? json_array_get(spec, 0) : spec);
	}
	n = multi ? json_array_size(val) : 1;
	if (n > CST_IAM_MAX_ELEMENTS)
		return bad(p, CST_ELIMIT, "context key %.128s: more than %d values", key,
		    CST_IAM_MAX_ELEMENTS);
	if ((vals = cst_calloc(n + 1, sizeof(*vals))) == NULL ||
	    (bufs = cst_calloc(n + 1, sizeof(*bufs))) == NULL) {
		r = bad(p, CST_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((r = ctx_scalar(p, key, multi ? json_array_get(val, i) : val, bufs[i],
		    sizeof(bufs[i]), &vals[i])) != 0)
			goto out;
	r = cst_iam_request_key(p->f->rq, key, type, multi, vals, n, p->err, p->err_len);
out:
	cst_free(vals);
	cst_free(bufs);
	return r;
}

/* The principal: an ARN string, or {arn | service, account, role_arn, management_account}. */
static int
principal(struct rp *p, json_t *v)
{
	static const char *const known[] = { "arn", "service", "account", "role_arn",
		"management_account", NULL };
	const char *arn = json_string_value(v), *svc = NULL, *acct = NULL, *role = NULL;
	json_t *m;
	int r;

	if (json_is_object(v)) {
		if ((r = only(p, v, "principal", known)) != 0)
			return r;
		arn = json_string_value(json_object_get(v, "arn"));
		svc = json_string_value(json_object_get(v, "service"));
		acct = json_string_value(json_object_get(v, "account"));
		role = json_string_value(json_object_get(v, "role_arn"));
		if ((m = json_object_get(v, "management_account")) != NULL) {
			if (!json_is_boolean(m))
				return bad(p, CST_EINVAL, "principal.management_account: expected "
				    "true or false");
			p->principal_mgmt = json_is_true(m);
		}
	}
	if ((arn == NULL) == (svc == NULL))
		return bad(p, CST_EINVAL, "principal: give an ARN, or an object with \"arn\" or "
		    "\"service\"");
	if ((r = cst_iam_request_principal(p->f->rq, arn ? arn : svc, svc != NULL, acct, role)))
		return bad(p, r, "principal \"%.128s\": %s", arn ? arn : svc, r == CST_EINVAL ?
		    "not an ARN with an account (give \"account\")" : cst_strerror(r));
	return 0;
}

static int
target(struct rp *p, json_t *root)
{
	static const char *const known[] = { "arn", "account", "management_account", NULL };
	const char *action = json_string_value(json_object_get(root, "action"));
	json_t *v = json_object_get(root, "resource"), *m;
	const char *res = json_string_value(v), *acct = NULL;
	int r;

	if (json_is_object(v)) {
		if ((r = only(p, v, "resource", known)) != 0)
			return r;
		res = json_string_value(json_object_get(v, "arn"));
		acct = json_string_value(json_object_get(v, "account"));
		if ((m = json_object_get(v, "management_account")) != NULL) {
			if (!json_is_boolean(m))
				return bad(p, CST_EINVAL, "resource.management_account: expected "
				    "true or false");
			p->resource_mgmt = json_is_true(m);
		}
	}
	if (action == NULL)
		return bad(p, CST_EINVAL, "no \"action\" (\"service:Action\")");
	if (res == NULL)
		return bad(p, CST_EINVAL, "no \"resource\" (an ARN, or \"*\")");
	if ((r = cst_iam_request_target(p->f->rq, action, res, acct)) != 0)
		return bad(p, r, r == CST_EINVAL ? "action \"%.128s\" is not \"service:Action\" or "
		    "the resource is empty" : "%.128s: out of memory", action);
	return 0;
}

static int
request(struct rp *p, json_t *root)
{
	static const char *const known[] = { "principal", "action", "resource", "context", "via",
		"resource_policy_required", "policies", "expect", "comment", NULL };
	const char *key, *via;
	json_t *v;
	int r;

	if (!json_is_object(root))
		return bad(p, CST_EINVAL, "a request must be a JSON object");
	if ((r = only(p, root, "request", known)) != 0)
		return r;
	if ((v = json_object_get(root, "principal")) == NULL)
		return bad(p, CST_EINVAL, "no \"principal\"");
	if ((r = principal(p, v)) != 0 || (r = target(p, root)) != 0)
		return r;
	cst_iam_request_mgmt(p->f->rq, p->principal_mgmt, p->resource_mgmt);
	if ((v = json_object_get(root, "via")) != NULL) {
		via = json_string_value(v);
		if (via && strcmp(via, "direct") == 0)
			cst_iam_request_via(p->f->rq, CST_IAM_VIA_DIRECT);
		else if (via && strcmp(via, "vpc-endpoint") == 0)
			cst_iam_request_via(p->f->rq, CST_IAM_VIA_VPC_ENDPOINT);
		else if (via && strcmp(via, "aws-service") == 0)
			cst_iam_request_via(p->f->rq, CST_IAM_VIA_AWS_SERVICE);
		else
			return bad(p, CST_EINVAL, "via: expected \"direct\", \"vpc-endpoint\" or "
			    "\"aws-service\"");
	}
	if ((v = json_object_get(root, "resource_policy_required")) != NULL) {
		if (!json_is_boolean(v))
			return bad(p, CST_EINVAL, "resource_policy_required: expected true or false");
		cst_iam_request_resource_policy_required(p->f->rq, json_is_true(v));
	}
	if ((v = json_object_get(root, "context")) != NULL) {
		json_t *spec;

		if (!json_is_object(v))
			return bad(p, CST_EINVAL, "context: expected an object of keys");
		json_object_foreach(v, key, spec)
			if ((r = ctx_key(p, key, spec)) != 0)
				return r;
	}
	if ((v = json_object_get(root, "policies")) != NULL && (r = policies(p, v)) != 0)
		return r;
	return cst_iam_request_prepare(p->f->rq, p->err, p->err_len);
}

int
cst_iam_reqfile_parse(const char *data, size_t len, const char *base_dir,
    struct cst_iam_reqfile **out, char *err, size_t err_len)
{
	struct rp p = { NULL, base_dir, err, err_len, false, false };
	json_t *root = NULL;
	int r;

	if (err_len)
		err[0] = '\0';
	if (len > CST_IAM_MAX_BYTES)
		return bad(&p, CST_ELIMIT, "the request has more than %d bytes", CST_IAM_MAX_BYTES);
	if ((r = cst_json_decode(data, len, CST_IAM_MAX_DEPTH, &root, err, err_len)) != 0)
		return r;
	if ((p.f = cst_calloc(1, sizeof(*p.f))) == NULL ||
	    (r = cst_iam_request_new(&p.f->rq)) != 0) {
		cst_free(p.f);
		json_decref(root);
		return bad(&p, CST_ENOMEM, "out of memory");
	}
	r = request(&p, root);
	json_decref(root);
	if (r != 0) {
		cst_iam_reqfile_free(p.f);
		return r;
	}
	*out = p.f;
	return 0;
}
