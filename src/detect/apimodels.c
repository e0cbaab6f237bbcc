/*
 * Reading botocore API models for the linter. Each model is bounded in size; one bad model
 * is skipped, never fatal.
 */
#include "detect/apimodels.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"
#include "detect/walk.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <zlib.h>

#define MODEL_MAX_BYTES ((size_t)64 << 20)
#define MODEL_MAX_DEPTH 64

struct cst_api_models {
	json_t *ops;	/* service name -> object whose keys are the operation names */
	size_t n_bad;
};

/* Reads a plain or gzip'd file whole (gzread reads both). */
static int
read_gz(const char *path, char **out, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = cst_malloc(cap), *nb;
	gzFile f;
	int k;

	if (buf == NULL)
		return CST_ENOMEM;
	if ((f = gzopen(path, "rb")) == NULL) {
		cst_free(buf);
		return CST_EIO;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= MODEL_MAX_BYTES || (nb = cst_reallocarray(buf, cap * 2, 1)) == NULL) {
				gzclose(f);
				cst_free(buf);
				return cap >= MODEL_MAX_BYTES ? CST_ELIMIT : CST_ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		k = gzread(f, buf + n, (unsigned)(cap - n));
		if (k < 0) {
			gzclose(f);
			cst_free(buf);
			return CST_EIO;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	gzclose(f);
	*out = buf;
	*len = n;
	return 0;
}

static int
add_ops(struct cst_api_models *m, const char *name, json_t *ops)
{
	json_t *set = json_object_get(m->ops, name), *v;
	const char *k;

	if (set == NULL) {
		if ((set = json_object()) == NULL || json_object_set_new(m->ops, name, set) != 0)
			return CST_ENOMEM;
	}
	json_object_foreach(ops, k, v)
		if (json_object_set_new(set, k, json_true()) != 0)
			return CST_ENOMEM;
	return 0;
}

static int
model_file(void *arg, const char *path, bool top)
{
	struct cst_api_models *m = arg;
	const char *base = strrchr(path, '/'), *sn, *ep;
	json_t *doc, *ops, *meta;
	size_t len;
	char *data;
	int r;

	(void)top;
	base = base ? base + 1 : path;
	if (strcmp(base, "service-2.json") != 0 && strcmp(base, "service-2.json.gz") != 0)
		return 0;
	if ((r = read_gz(path, &data, &len)) != 0) {
		m->n_bad++;
		return r == CST_ENOMEM ? r : 0;
	}
	r = cst_json_decode(data, len, MODEL_MAX_DEPTH, &doc, NULL, 0);
	cst_free(data);
	if (r != 0) {
		m->n_bad++;
		return 0;
	}
	meta = json_object_get(doc, "metadata");
	ops = json_object_get(doc, "operations");
	sn = json_string_value(json_object_get(meta, "signingName"));
	ep = json_string_value(json_object_get(meta, "endpointPrefix"));
	r = 0;
	if (!json_is_object(ops) || (sn == NULL && ep == NULL))
		m->n_bad++;
	else if ((sn && (r = add_ops(m, sn, ops)) != 0) || (ep && (r = add_ops(m, ep, ops)) != 0))
		r = CST_ENOMEM;
	json_decref(doc);
	return r;
}

static void
model_problem(void *arg, const char *path, const char *msg, bool failed)
{
	(void)arg;
	(void)path;
	(void)msg;
	(void)failed;
}

int
cst_api_models_load(const char *dir, struct cst_api_models **out, size_t *n_bad)
{
	struct cst_api_models *m = cst_calloc(1, sizeof(*m));
	struct cst_walk_cb cb = { model_file, model_problem, NULL };
	int r;

	if (m == NULL || (m->ops = json_object()) == NULL) {
		cst_free(m);
		return CST_ENOMEM;
	}
	cb.arg = m;
	if ((r = cst_walk(dir, 3, &cb)) == 0 && json_object_size(m->ops) == 0)
		r = CST_ENOENT;
	if (n_bad)
		*n_bad = m->n_bad;
	if (r != 0) {
		cst_api_models_free(m);
		return r;
	}
	*out = m;
	return 0;
}

void
cst_api_models_free(struct cst_api_models *m)
{
	if (m == NULL)
		return;
	json_decref(m->ops);
	cst_free(m);
}

size_t
cst_api_models_services(const struct cst_api_models *m)
{
	return json_object_size(m->ops);
}

int
cst_api_models_known(void *arg, const char *event_source, const char *op)
{
	struct cst_api_models *m = arg;
	const char *dot = strstr(event_source, ".amazonaws.com");
	char name[128];
	size_t n = dot ? (size_t)(dot - event_source) : strlen(event_source);
	json_t *set;

	if (n == 0 || n >= sizeof(name))
		return -1;
	memcpy(name, event_source, n);
	name[n] = '\0';
	if ((set = json_object_get(m->ops, name)) == NULL)
		return -1;
	return json_object_get(set, op) != NULL ? 1 : 0;
}
