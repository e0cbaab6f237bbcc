/*
 * The document loader (load.h): bounded reads, YAML streams through core/yaml, JSON through
 * core/json, List expansion (Kubernetes Lists, JSON arrays, AWS listings of descriptions),
 * and a sorted directory walk that never follows symbolic links.
 * A file either contributes all its documents or none, with the reason recorded.
 */
#include "posture/load.h"
#include "posture/posture_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/yaml.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct cst_pst_limits cst_pst_default_limits = {
	.max_file = (size_t)32 << 20,
	.max_docs = 200000,
	.max_depth = 64,
	.max_nodes = 1000000,
	.max_scalar = (size_t)4 << 20,
	.max_anchors = 1000,
	.max_files = 100000,
};

void
cst_pst_docs_init(struct cst_pst_docs *d, const struct cst_pst_limits *lim)
{
	memset(d, 0, sizeof(*d));
	d->lim = lim ? *lim : cst_pst_default_limits;
}

void
cst_pst_docs_free(struct cst_pst_docs *d)
{
	for (size_t i = 0; i < d->n; i++)
		json_decref(d->v[i].obj);
	cst_free(d->v);
	cst_strv_free(d->files, d->n_files);
	cst_strv_free(d->errors, d->n_errors);
	memset(d, 0, sizeof(*d));
}

/* What one file's parse collects before it is committed to the set. */
struct pending {
	struct cst_pst_docs *d;
	const char *file;
	struct cst_pst_doc *v;
	size_t n, cap;
	size_t empty;
	char *err;
	size_t err_len;
};

static int
pending_add(struct pending *p, json_t *obj, size_t index, long item, size_t line)
{
	if (p->d->n + p->n >= p->d->lim.max_docs) {
		snprintf(p->err, p->err_len, "%s: document %zu (line %zu): more than %zu documents "
		    "in all", p->file, index, line, p->d->lim.max_docs);
		return CST_ELIMIT;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct cst_pst_doc *v = cst_reallocarray(p->v, cap, sizeof(*v));

		if (v == NULL)
			return CST_ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n].obj = json_incref(obj);
	p->v[p->n].file = NULL;	/* set when committed */
	p->v[p->n].index = index;
	p->v[p->n].item = item;
	p->v[p->n].line = line;
	p->n++;
	return 0;
}

/* True for "List", "PodList", "DeploymentList"... with an items array. */
static bool
is_list(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	size_t n = kind ? strlen(kind) : 0;

	return n >= 4 && strcmp(kind + n - 4, "List") == 0 &&
	    json_is_array(json_object_get(obj, "items"));
}

/* An AWS listing: an object without a kind whose members are arrays of AWS descriptions
 * (and at most a pagination NextToken), such as {"TrainingJobs": [...]} or the Results of
 * `aws sagemaker search`. */
static bool
is_aws_list(const json_t *obj)
{
	const json_t *v, *e;
	const char *k;
	size_t i, n = 0;

	if (json_object_get(obj, "kind") != NULL || cst__pst_aws_kind(obj, NULL))
		return false;
	json_object_foreach((json_t *)obj, k, v) {
		if (strcmp(k, "NextToken") == 0 && (json_is_string(v) || json_is_null(v)))
			continue;
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, e) {
			if (!cst__pst_aws_kind(e, NULL))
				return false;
			n++;
		}
	}
	return n > 0;
}

static int
add_value(struct pending *p, json_t *v, size_t index, size_t line)
{
	json_t *items = NULL, *e, *m;
	const char *k;
	long item = 0;
	size_t i;
	int r;

	if (json_is_object(v) && is_aws_list(v)) {
		json_object_foreach(v, k, m)
			json_array_foreach(m, i, e)
				if ((r = pending_add(p, e, index, item++, line)) != 0)
					return r;
		return 0;
	}
	if (json_is_object(v) && is_list(v))
		items = json_object_get(v, "items");
	else if (json_is_array(v))
		items = v;
	if (items == NULL) {
		if (!json_is_object(v) || json_object_size(v) == 0) {
			p->empty++;
			return 0;
		}
		return pending_add(p, v, index, -1, line);
	}
	json_array_foreach(items, i, e) {
		if (!json_is_object(e)) {
			snprintf(p->err, p->err_len, "%s: document %zu (line %zu): item %zu is not "
			    "an object", p->file, index, line, i);
			return CST_EINVAL;
		}
		if ((r = pending_add(p, e, index, (long)i, line)) != 0)
			return r;
	}
	return 0;
}

static int
on_yaml_doc(void *arg, size_t index, size_t line, json_t *doc)
{
	return add_value(arg, doc, index, line);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
file_name_add(struct cst_pst_docs *d, const char *file, const char **out)
{
	char **v = cst_reallocarray(d->files, d->n_files + 1, sizeof(*v));

	if (v == NULL)
		return CST_ENOMEM;
	d->files = v;
	if ((v[d->n_files] = cst_strdup(file)) == NULL)
		return CST_ENOMEM;
	*out = v[d->n_files++];
	return 0;
}

/* Parses as JSON. 0; or the decoder's error with err prefixed by the file. */
static int
parse_json(struct pending *p, const char *data, size_t len)
{
	char jerr[256];
	json_t *v = NULL;
	int r;

	r = cst_json_decode(data, len, p->d->lim.max_depth, &v, jerr, sizeof(jerr));
	if (r != 0) {
		snprintf(p->err, p->err_len, "%s: document 0 (line 1): %s", p->file, jerr);
		return r;
	}
	r = add_value(p, v, 0, 1);
	json_decref(v);
	return r;
}

static int
parse_yaml(struct pending *p, const char *data, size_t len)
{
	struct cst_yaml_stream_limits yl = {
		.doc = { p->d->lim.max_depth, p->d->lim.max_nodes, p->d->lim.max_scalar },
		.max_docs = p->d->lim.max_docs,
		.max_anchors = p->d->lim.max_anchors,
		/* all aliases of a file together: a document's nodes, the file's size in bytes */
		.max_alias_nodes = p->d->lim.max_nodes,
		.max_alias_bytes = p->d->lim.max_file,
	};
	char yerr[256];
	int r;

	r = cst_yaml_load_stream(data, len, &yl, on_yaml_doc, p, yerr, sizeof(yerr));
	if (r != 0 && r != CST_ENOMEM && p->err[0] == '\0')
		snprintf(p->err, p->err_len, "%s: document %zu: %s", p->file, p->n, yerr);
	return r;
}

int
cst_pst_load_buf(struct cst_pst_docs *d, const char *file, const char *data, size_t len,
    char *err, size_t err_len)
{
	struct pending p = { .d = d, .file = file, .err = err, .err_len = err_len };
	const char *name = NULL;
	size_t i = 0;
	bool json_name = ends_with(file, ".json");
	int r;

	err[0] = '\0';
	while (i < len && strchr(" \t\r\n", data[i]) != NULL)
		i++;
	if (json_name || (i < len && (data[i] == '{' || data[i] == '['))) {
		r = parse_json(&p, data, len);
		if (r != 0 && r != CST_ENOMEM && !json_name) {
			for (i = 0; i < p.n; i++)
				json_decref(p.v[i].obj);
			p.n = 0;
			p.empty = 0;
			err[0] = '\0';
			r = parse_yaml(&p, data, len);
		}
	} else {
		r = parse_yaml(&p, data, len);
	}
	if (r == 0 && d->n + p.n > d->cap) {
		size_t cap = d->cap ? d->cap : 64;
		struct cst_pst_doc *v;

		while (cap < d->n + p.n)
			cap *= 2;
		if ((v = cst_reallocarray(d->v, cap, sizeof(*v))) == NULL)
			r = CST_ENOMEM;
		else {
			d->v = v;
			d->cap = cap;
		}
	}
	if (r == 0)
		r = file_name_add(d, file, &name);
	if (r != 0) {
		for (i = 0; i < p.n; i++)
			json_decref(p.v[i].obj);
		cst_free(p.v);
		if (r == CST_ENOMEM && err[0] == '\0')
			snprintf(err, err_len, "%s: out of memory", file);
		return r;
	}
	for (i = 0; i < p.n; i++) {
		p.v[i].file = name;
		d->v[d->n++] = p.v[i];
	}
	d->n_empty += p.empty;
	cst_free(p.v);
	return 0;
}

static int
record_error(struct cst_pst_docs *d, const char *msg)
{
	char **v = cst_reallocarray(d->errors, d->n_errors + 1, sizeof(*v));

	if (v == NULL)
		return CST_ENOMEM;
	d->errors = v;
	if ((v[d->n_errors] = cst_strdup(msg)) == NULL)
		return CST_ENOMEM;
	d->n_errors++;
	return 0;
}

static int
load_file(struct cst_pst_docs *d, const char *path)
{
	char *data = NULL, err[512];
	size_t len;
	int r;

	if (d->n_files + d->n_errors >= d->lim.max_files) {
		snprintf(err, sizeof(err), "%s: more than %zu files", path, d->lim.max_files);
		return record_error(d, err) ? CST_ENOMEM : CST_ELIMIT;
	}
	r = cst_read_file(path, d->lim.max_file, &data, &len);
	if (r != 0) {
		snprintf(err, sizeof(err), "%s: %s", path, r == CST_ELIMIT ?
		    "file larger than the limit" : r == CST_EIO ? strerror(errno) : cst_strerror(r));
		return record_error(d, err);
	}
	r = cst_pst_load_buf(d, path, data, len, err, sizeof(err));
	cst_free(data);
	if (r == CST_ENOMEM)
		return r;
	if (r != 0)
		return record_error(d, err);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
manifest_name(const char *n)
{
	return ends_with(n, ".yaml") || ends_with(n, ".yml") || ends_with(n, ".json");
}

static int
walk(struct cst_pst_docs *d, const char *dir, int depth)
{
	char **names = NULL, err[512];
	size_t n = 0, i;
	struct dirent *de;
	DIR *dp;
	int r = 0;

	if (depth > 64) {
		snprintf(err, sizeof(err), "%s: directories nested deeper than 64", dir);
		return record_error(d, err);
	}
	if ((dp = opendir(dir)) == NULL) {
		snprintf(err, sizeof(err), "%s: %s", dir, strerror(errno));
		return record_error(d, err);
	}
	while ((de = readdir(dp)) != NULL && r == 0) {
		char **v;

		if (de->d_name[0] == '.')
			continue;
		if ((v = cst_reallocarray(names, n + 1, sizeof(*v))) == NULL ||
		    (v[n] = cst_strdup(de->d_name)) == NULL) {
			names = v ? v : names;
			r = CST_ENOMEM;
			break;
		}
		names = v;
		n++;
	}
	closedir(dp);
	if (r == 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && r == 0; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *p = cst_malloc(len);
		struct stat st;

		if (p == NULL) {
			r = CST_ENOMEM;
			break;
		}
		snprintf(p, len, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", names[i]);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			r = walk(d, p, depth + 1);
		else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && manifest_name(names[i]))
			r = load_file(d, p);
		cst_free(p);
	}
	cst_strv_free(names, n);
	return r;
}

int
cst_pst_load_path(struct cst_pst_docs *d, const char *path)
{
	struct stat st;
	char err[512];

	if (lstat(path, &st) != 0) {
		snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
		return record_error(d, err);
	}
	if (S_ISDIR(st.st_mode))
		return walk(d, path, 0);
	return load_file(d, path);
}
