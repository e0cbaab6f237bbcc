/*
 * Static analyser for ONNX models (a protobuf ModelProto, onnx/onnx.proto). A small bounded
 * protobuf wire-format reader (no protobuf library) walks every TensorProto a loader could
 * read data for: graph initializers and sparse initializers (values and indices), tensors in
 * node attributes (t, tensors, sparse_tensor, sparse_tensors), the subgraphs of If / Loop /
 * Scan and any other graph attribute (g, graphs) recursively, the nodes and attribute
 * defaults of model-local functions, and the graphs of training_info. Each
 * external_data location (CVE-2022-25882, CVE-2024-27318: path traversal on load) is checked
 * statically and, when the model is a file in a directory, against that directory without
 * following symbolic links (CVE-2026-27489, CVE-2026-34446). It never reads tensor data,
 * never opens an external file for reading and never follows a symbolic link.
 *
 * Rules (struct cst_finding.rule) and severities; the subject is the location (non-UTF-8 and
 * control bytes shown as \xNN) or, for custom operators, "domain:op_type":
 *   onnx.external_data              INFO    a location is used (reported once per location)
 *   onnx.external_data.absolute     HIGH    the location starts with '/' or '\' or a drive
 *                                           letter ("C:"): read from anywhere on load
 *   onnx.external_data.traversal    HIGH    a component (split on '/' and '\') is "..", or
 *                                           only dots and spaces with two dots or more
 *                                           (Windows strips a component's trailing dots and
 *                                           spaces: ".. " and "..." are suspect)
 *   onnx.external_data.invalid      HIGH    the location is empty, has a NUL byte, is not
 *                                           UTF-8 or is longer than CST_ONNX_MAX_LOCATION
 *   onnx.external_data.no_location  MEDIUM  data_location EXTERNAL without a location key
 *   onnx.external_data.duplicate_key MEDIUM a key repeated in one tensor (loaders disagree on
 *                                           which one wins; every location is checked)
 *   onnx.external_data.unknown_key  LOW     a key other than location, offset, length,
 *                                           checksum (onnx's Python loader setattr()s it)
 *   onnx.external_data.symlink      HIGH    a component of the location is a symbolic link
 *   onnx.external_data.hardlink     HIGH    the file has more than one link (st_nlink > 1)
 *   onnx.external_data.not_regular  HIGH    the file is a directory, FIFO, device or socket
 *   onnx.external_data.missing      MEDIUM  the file or a directory on the way cannot be
 *                                           found (the detail names the error)
 *   onnx.external_data.out_of_bounds HIGH   offset + length (or offset, without a length) is
 *                                           past the end of the file
 *   onnx.external_data.unchecked    INFO    external data in a model that is not a file in a
 *                                           directory (an archive member): the locations were
 *                                           checked statically only (once per model)
 *   onnx.custom_domain              INFO    a node of an operator domain other than "",
 *                                           "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"
 *                                           and not a function of the model; once per
 *                                           (domain, op_type). A model cannot load code: a
 *                                           runtime runs a custom operator only from a library
 *                                           the application registered itself.
 *   onnx.parse_error                LOW     with CST_EINVAL: bad varint, tag, wire type (groups
 *                                           included), length past the enclosing message or the
 *                                           file, a walked field of the wrong wire type, no
 *                                           ir_version, graph or (ir_version >= 3)
 *                                           opset_import, or an external_data offset / length
 *                                           that is not a decimal integer in [0, 2^63) or whose
 *                                           sum overflows (reported after the walk, so that
 *                                           every location is still checked)
 *   onnx.limit                      LOW     with CST_ELIMIT: a CST_ONNX_MAX_* value hit
 * Parse errors and limits are LOW, unlike a pickle's: a protobuf that does not parse runs
 * nothing (loaders refuse it whole), so what matters is that the scan is incomplete (the
 * caller marks it so; `castellan scan` exits 2 unless something worse was found), never clean.
 * Offsets are absolute offsets in the source of the message or field concerned. The verdict
 * is the highest severity together with the return value (artifact.h).
 */
#ifndef CST_ARTIFACT_ONNX_H
#define CST_ARTIFACT_ONNX_H

#include "artifact/artifact.h"

#include <stdbool.h>
#include <stdint.h>

#define CST_ONNX_MAX_DEPTH 100		/* nested messages (protobuf's default limit) */
#define CST_ONNX_MAX_FIELDS (1u << 27)	/* fields read in one model */
#define CST_ONNX_MAX_LOCATION 4096	/* bytes of a location (PATH_MAX) */
#define CST_ONNX_MAX_ENTRIES 64		/* external_data entries of one tensor */
#define CST_ONNX_MAX_LOCATIONS 65536	/* distinct locations kept (memory: <= 65536 x 4 KiB) */
#define CST_ONNX_MAX_CUSTOM 4096	/* distinct custom (domain, op) pairs tracked */

/* No directory: the locations are checked statically only (an archive member, memory). */
#define CST_ONNX_NO_DIR (-1)

struct cst_onnx_info {
	uint64_t ir_version;
	uint64_t n_graphs;	/* GraphProtos walked: main, subgraphs, training */
	uint64_t n_nodes;	/* NodeProtos walked, function bodies included */
	uint64_t n_tensors;	/* TensorProtos walked (sparse values and indices included) */
	uint64_t n_external;	/* tensors with at least one external_data location */
	uint64_t n_locations;	/* distinct locations */
};

/*
 * Whether src looks like an ONNX model (ONNX has no magic): field 1 (ir_version, a varint of
 * 1..255) first, then only ModelProto fields of the right wire types up to the graph field
 * (7), which must come within the first 16 fields. Reads a few KiB at most; never reports.
 */
bool cst_onnx_sniff(const struct cst_artifact_src *src);

/*
 * Walks the ONNX model in src (borrowed) and reports findings to fn(arg) (fn may be NULL).
 * dirfd: the directory holding the model (borrowed; AT_FDCWD allowed) against which
 * locations are resolved, or CST_ONNX_NO_DIR. info (may be NULL) is filled on every return
 * with what was walked. Returns 0; CST_EINVAL (one onnx.parse_error finding); CST_ELIMIT (one
 * onnx.limit finding); CST_EIO; CST_ENOMEM.
 */
int cst_onnx_scan(const struct cst_artifact_src *src, int dirfd, cst_finding_fn fn, void *arg,
    struct cst_onnx_info *info);

#endif
