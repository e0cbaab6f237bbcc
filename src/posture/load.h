/*
 * The posture checker's document loader: Kubernetes manifests and cloud resource descriptions
 * read as untrusted input. A file is a stream of YAML documents ("---"), or one JSON value; a
 * `kubectl get -o yaml` List (kind List or *List with items) becomes one document per item; a
 * JSON array of objects likewise, and so does an AWS listing (an object whose members are
 * arrays of AWS CLI descriptions, such as {"TrainingJobs": [...]}, with at most a NextToken).
 * Every document keeps its file, its index in the file, its item index and its line. Limits
 * bound the file size, the documents, the nesting, the nodes (aliases count every node they
 * stand for, so alias bombs are refused; all the aliases of a file together stand for at most
 * max_nodes nodes and max_file scalar bytes) and the scalars. Nothing is evaluated or fetched; a
 * file that fails to parse is reported, never half-trusted.
 */
#ifndef CST_POSTURE_LOAD_H
#define CST_POSTURE_LOAD_H

#include <jansson.h>
#include <stddef.h>

struct cst_pst_limits {
	size_t max_file;	/* bytes in one file */
	size_t max_docs;	/* documents (after List expansion) in all files */
	size_t max_depth;	/* nesting of one document */
	size_t max_nodes;	/* nodes of one document */
	size_t max_scalar;	/* bytes of one scalar */
	size_t max_anchors;	/* anchors of one document */
	size_t max_files;	/* files in all directories walked */
};

/* The defaults: 32 MiB files, 200,000 documents, depth 64, 1,000,000 nodes, 4 MiB scalars,
 * 1,000 anchors, 100,000 files. */
extern const struct cst_pst_limits cst_pst_default_limits;

struct cst_pst_doc {
	json_t *obj;		/* owned; always an object */
	const char *file;	/* borrowed from the set's file names */
	size_t index;		/* document index in the file, from 0 */
	long item;		/* index in the List's items, or -1 */
	size_t line;		/* line where the document starts (1 for JSON) */
};

struct cst_pst_docs {
	struct cst_pst_doc *v;
	size_t n, cap;
	char **files;		/* owned names of the files read, in order */
	size_t n_files;
	size_t n_empty;		/* empty or non-object documents skipped */
	char **errors;		/* owned messages of the files that could not be read */
	size_t n_errors;
	struct cst_pst_limits lim;
};

/* An empty set with limits lim (NULL: the defaults). */
void cst_pst_docs_init(struct cst_pst_docs *d, const struct cst_pst_limits *lim);
void cst_pst_docs_free(struct cst_pst_docs *d);

/*
 * Adds the documents of data[0..len), named file in findings and messages. A ".json" name,
 * or text starting with '{' or '[', is read as JSON (falling back to YAML unless the name ends
 * in ".json"). 0; CST_EINVAL or CST_ELIMIT (err: "FILE: document N (line L): problem"; the
 * file's documents are not added); CST_ENOMEM.
 */
int cst_pst_load_buf(struct cst_pst_docs *d, const char *file, const char *data, size_t len,
    char *err, size_t err_len);

/*
 * Adds a file, or every *.yaml, *.yml and *.json file under a directory (sorted by name,
 * recursively; symbolic links are not followed). A file that cannot be read or parsed is
 * recorded in d->errors and the walk goes on. 0 (see d->n_errors); CST_ENOMEM; CST_ELIMIT
 * (too many files or documents: recorded too).
 */
int cst_pst_load_path(struct cst_pst_docs *d, const char *path);

#endif
