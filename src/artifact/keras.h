/*
 * Static analysis of a Keras model configuration: the JSON of a `.keras` archive's
 * config.json, or of a legacy HDF5 model's `model_config` / `training_config` attribute
 * (hdf5.h). The whole tree is walked, so layers of nested Sequential and Functional models,
 * initializers, losses and metrics are all seen (a check of the top level only is the known
 * gap of other scanners). Nothing is imported, deserialized or evaluated; only strings are
 * compared.
 *
 * An object of the tree is what Keras deserializes: {"class_name", "config", "module",
 * "registered_name"}; for a function, class_name is "function" and config its name.
 *
 * Rules (struct cst_finding.rule) and severities:
 *   keras.lambda             CRITICAL  class_name "Lambda" or "__lambda__", or a "__lambda__"
 *                                      key: Python code that runs on load (CVE-2024-3660;
 *                                      legacy .h5 ignores safe_mode); subject = the name
 *   keras.serialized_function CRITICAL serialized code in a lambda's config: "function" (an
 *                                      array, or a string unless function_type is
 *                                      "function"), "code", "value" of __lambda__, and
 *                                      "output_shape" when output_shape_type is "lambda";
 *                                      subject = the key
 *   keras.tfsm_layer         CRITICAL  class_name "TFSMLayer": loads a SavedModel from a path
 *                                      the file chooses, even in safe mode (CVE-2026-1462)
 *   keras.loading_api        CRITICAL  a class_name, registered_name or function name (its
 *                                      last '.' or '>' component) that is one of Keras's
 *                                      loading and non-modeling APIs (CST_KERAS_LOADING_APIS
 *                                      in keras.c: load_model, model_from_json, get_file,
 *                                      load_img, enable_unsafe_deserialization,
 *                                      register_keras_serializable, the
 *                                      *_dataset_from_directory helpers, ...): nested loading,
 *                                      downloads or file access, or switching safe mode off
 *   keras.foreign_module     HIGH, or the pickle deny-list's severity of "module.name" when
 *                                      higher (policy.h: "os" + "system" is CRITICAL): a
 *                                      "module" whose first dotted component is not exactly
 *                                      keras, keras_hub, keras_cv or keras_nlp (what Keras
 *                                      >= 3.9 admits). "kerasevil" and "keras_evil" are
 *                                      foreign; so are "tensorflow.keras..." and "tf_keras"
 *                                      (Keras 3 refuses them, and tensorflow exposes file and
 *                                      code execution operations), "builtins" and
 *                                      "__main__" (Keras < 3.9 imports any module,
 *                                      CVE-2025-1550); subject = "module.name" or "module"
 *   keras.custom_object      MEDIUM    a class_name or registered_name of the "package>name"
 *                                      form of register_keras_serializable: a custom object
 *                                      whose code is not in the file but is whatever the
 *                                      loading program registered under that name; subject
 *                                      = the name. (A legacy config without "module" names a
 *                                      custom class by its bare class_name, which is not
 *                                      recognised: loading it needs the program's
 *                                      custom_objects, and no code comes from the file.)
 *   keras.parse_error        MEDIUM    with CST_EINVAL: not valid JSON (UTF-8, no duplicate
 *                                      keys, no NUL in strings; Python's NaN, Infinity and
 *                                      -Infinity, integers of any size and a leading UTF-8
 *                                      BOM are accepted as Python's json module accepts
 *                                      them). MEDIUM, so it fails
 *                                      the scan: Python's json accepts some of what is
 *                                      refused here (duplicate keys, "\u0000", UTF-16), a
 *                                      differential an attacker can hide a layer behind
 *   keras.limit              MEDIUM    with CST_ELIMIT: more than CST_KERAS_MAX_CONFIG bytes,
 *                                      CST_KERAS_MAX_DEPTH nested arrays and objects or
 *                                      CST_KERAS_MAX_NODES values (likewise: Keras would load
 *                                      what was not walked)
 * Offsets are CST_FINDING_NO_OFFSET. A configuration is clean only when the scan returns 0
 * with no finding above INFO (artifact.h).
 */
#ifndef CST_ARTIFACT_KERAS_H
#define CST_ARTIFACT_KERAS_H

#include "artifact/artifact.h"

#include <stddef.h>

#define CST_KERAS_MAX_CONFIG (16u << 20)	/* bytes of JSON */
#define CST_KERAS_MAX_DEPTH 512u		/* nested arrays and objects */
#define CST_KERAS_MAX_NODES 4000000u		/* JSON values */

/*
 * Scans the Keras configuration json[0..len) (any bytes, borrowed, need not be
 * NUL-terminated). Findings go to fn(arg) (fn may be NULL). Returns 0; CST_EINVAL
 * (keras.parse_error names what and where); CST_ELIMIT (keras.limit; findings of the part
 * walked before the limit are reported); CST_ENOMEM.
 */
int cst_keras_config_scan(const char *json, size_t len, cst_finding_fn fn, void *arg);

#endif
