/*
 * The statistical prompt-injection classifier: logistic regression on hashed word and character
 * n-grams of a text's canonical view (view.h), trained by tools/train_injection.py, whose
 * weights file (data/inspect/injection_model.bin) is built into the binary. A long text is
 * scored by windows, so an injection buried in a long benign document is found; the best
 * window is reported. docs/content-inspection.md ("The injection classifier") documents the
 * file format and the feature definition, which the trainer reproduces bit for bit.
 *
 * Scoring allocates nothing, keeps no state between calls, takes time linear in the text and
 * never fails. A model is immutable once parsed and may be shared by threads. A model is
 * accepted only whole: magic, version, limits, sizes and the SHA-256 of its contents checked.
 */
#ifndef CST_INSPECT_CLASSIFY_H
#define CST_INSPECT_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

/* Where a text comes from: a prompt the user sent, or content the model reads on the side
 * (retrieved documents, tool results). Each has its own calibration and threshold. */
enum cst_classify_src { CST_CLASSIFY_DIRECT, CST_CLASSIFY_INDIRECT, CST_CLASSIFY_N_SRC };

#define CST_CLASSIFY_MAGIC "CSTINJML"
#define CST_CLASSIFY_VERSION 1
#define CST_CLASSIFY_HEADER 64		/* header bytes before the weights */
#define CST_CLASSIFY_MIN_DIM_LOG2 8
#define CST_CLASSIFY_MAX_DIM_LOG2 22	/* 16 MiB of weights at most */
#define CST_CLASSIFY_MAX_FILE ((size_t)CST_CLASSIFY_HEADER + \
    ((size_t)4 << CST_CLASSIFY_MAX_DIM_LOG2) + 32)

/* Feature kinds (the header's flags). */
enum {
	CST_CLASSIFY_WORDS = 1 << 0,	/* word unigrams */
	CST_CLASSIFY_BIGRAMS = 1 << 1,	/* word bigrams */
	CST_CLASSIFY_CHARS = 1 << 2,	/* character n-grams, char_min..char_max bytes */
	CST_CLASSIFY_SRC_COPY = 1 << 3,	/* indirect texts also score source-specific copies */
};

struct cst_classify_model;

/* What scoring one text gives. */
struct cst_classify_score {
	double raw;		/* the best window's logit: bias + w.x */
	double p;		/* calibrated probability of injection for the source, 0..1 */
	size_t start, end;	/* the best window, byte offsets [start, end) of the scored text */
	size_t windows;		/* windows scored */
};

/*
 * Parses and checks a weights file held in buf[0..len) (copied; buf may be freed after).
 * 0 and *out (free with cst_classify_model_free); CST_EINVAL with err naming what is wrong
 * (bad magic, unknown version, a header field out of range, the size, non-finite numbers,
 * the SHA-256); CST_ENOMEM. *out is set only on success.
 */
int cst_classify_model_parse(const void *buf, size_t len, struct cst_classify_model **out,
    char *err, size_t err_len);

/* Reads and parses the file at path: as cst_classify_model_parse, plus the file errors of
 * cst_read_file (CST_ENOENT, CST_EIO, CST_ELIMIT past CST_CLASSIFY_MAX_FILE). */
int cst_classify_model_load(const char *path, struct cst_classify_model **out, char *err,
    size_t err_len);

/* Parses the weights file built into the binary; as cst_classify_model_parse. */
int cst_classify_model_builtin(struct cst_classify_model **out, char *err, size_t err_len);

void cst_classify_model_free(struct cst_classify_model *m);

/* The threshold on p the trainer chose for src (the policy's default). */
double cst_classify_default_threshold(const struct cst_classify_model *m,
    enum cst_classify_src src);

/* The first 16 hex digits of the weights file's SHA-256 (borrowed, NUL-terminated). */
const char *cst_classify_model_id(const struct cst_classify_model *m);

/*
 * Scores text[0..len), the canonical view of a text (ASCII letters are lower-cased here).
 * Windows are two strides wide and start at every stride; a text of at most two strides is
 * one window. out->raw and the span are the window with the highest logit (the first such);
 * out->p is that logit calibrated for src.
 */
void cst_classify_score(const struct cst_classify_model *m, enum cst_classify_src src,
    const char *text, size_t len, struct cst_classify_score *out);

#endif
