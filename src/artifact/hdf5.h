/*
 * Legacy Keras HDF5 models (`.h5`, `model.save("m.h5")`) read with Debian's libhdf5. The root
 * group's `model_config` and `training_config` attributes (JSON strings, fixed or variable
 * length, compact or dense attribute storage) go through the Keras configuration analyser
 * (keras.h), which also reports their findings; `keras_version` and `backend` are reported.
 * Every link of the file is then visited (bounded): links and datasets that make a loader
 * read other files are findings. Weights and other dataset contents are never read.
 *
 * libhdf5 reads through a private read-only virtual file driver over the cst_artifact_src, so
 * only the metadata libhdf5 needs is read, for a 1 GB top-level file (pread) and for an
 * archive member in memory alike; nothing is copied or written, and no file is opened by
 * name. A fixed-length attribute's size is checked before it is read; a variable-length
 * string is read by libhdf5 before its length is known (it is bounded by the file, and by the
 * sandbox's memory limit). libhdf5's filter plugin loading is switched off for the whole
 * process (H5PLset_loading_state) and its error printing silenced (H5Eset_auto2) on the
 * calling thread. libhdf5 is third-party C parsing hostile input: it runs in the scanner's
 * confined child (sandbox.h), and it deliberately has no fuzz target here (its own crashes
 * would fail CI; the sandbox turns them into an incomplete result instead).
 *
 * Findings (rule, severity), besides the keras.* ones:
 *   hdf5.keras_model          INFO     a Keras model: keras_version and backend as recorded
 *   hdf5.no_model_config      INFO     no model_config attribute: not a Keras model (e.g. a
 *                                      weights file such as a .keras archive's
 *                                      model.weights.h5); nothing in it is deserialized
 *   hdf5.external_link        MEDIUM   an external or user-defined link: opening it opens
 *                                      another file; subject = the link path
 *   hdf5.external_storage     HIGH     a dataset whose raw data lives in other files
 *                                      (external storage or a virtual dataset): loading the
 *                                      weights reads those files; subject = the dataset path
 *   hdf5.parse_error          LOW      with CST_EINVAL: libhdf5 cannot open or read the file
 *                                      (truncated, corrupt), or model_config is not one
 *                                      string. LOW, so that the result is "incomplete" (exit
 *                                      2) rather than flagged: Keras reads the file through
 *                                      h5py over the same libhdf5, which fails alike
 *   hdf5.limit                MEDIUM   with CST_ELIMIT: a configuration attribute over
 *                                      CST_KERAS_MAX_CONFIG bytes, or more than
 *                                      CST_HDF5_MAX_LINKS links: the loader would read what
 *                                      the scan did not, so this fails the scan
 */
#ifndef CST_ARTIFACT_HDF5_H
#define CST_ARTIFACT_HDF5_H

#include "artifact/artifact.h"

#include <stdbool.h>

#define CST_HDF5_MAX_LINKS 100000u	/* links visited */

struct cst_hdf5_info {
	bool keras_model;	/* the root group has a model_config attribute */
};

/*
 * Scans the HDF5 file in src (borrowed; read only through src->read). Findings go to fn(arg)
 * (fn may be NULL). On 0, *info (may be NULL) says whether it is a Keras model. Returns 0;
 * CST_EINVAL (hdf5.parse_error or keras.parse_error); CST_ELIMIT (hdf5.limit or keras.limit);
 * CST_ENOMEM. Never clean on a libhdf5 failure.
 */
int cst_hdf5_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_hdf5_info *info);

#endif
