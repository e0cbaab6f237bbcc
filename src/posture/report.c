/*
 * Posture report renderings (report.h). JSON and SARIF are built as jansson trees and dumped
 * with sorted-free, stable key order (insertion order), so the same input gives the same bytes.
 */
#include "posture/report.h"

#include "core/alloc.h"
#include "core/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
emit(json_t *root, struct cst_buf *out)
{
	char *s;
	int r;

	if (root == NULL)
		return CST_ENOMEM;
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s == NULL)
		return CST_ENOMEM;
	r = cst_buf_adds(out, s);
	if (r == 0)
		r = cst_buf_adds(out, "\n");
	free(s);
	return r;
}

/* "Kind ns/name" or "Kind name". */
static void
resource_name(const struct cst_pst_finding *f, char *out, size_t len)
{
	snprintf(out, len, "%s %s%s%s", f->kind[0] ? f->kind : "(no kind)", f->ns,
	    f->ns[0] ? "/" : "", f->name[0] ? f->name : "(unnamed)");
}

int
cst_pst_report_text(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on, struct cst_buf *out)
{
	size_t n_sev[CST_PST_CRITICAL + 1] = { 0 };
	char res[512];
	int r = 0;

	for (size_t i = 0; i < f->n && r == 0; i++) {
		const struct cst_pst_finding *x = &f->v[i];

		n_sev[x->sev]++;
		resource_name(x, res, sizeof(res));
		r = cst_buf_printf(out, "%-8s %s  %s:%zu (doc %zu%s)  %s\n         %s%s%s\n"
		    "         fix: %s\n%s%s%s", cst_pst_sev_name(x->sev), x->rule->id, x->file,
		    x->line, x->doc, x->item >= 0 ? ", item" : "", res, x->path,
		    x->path[0] ? ": " : "", x->evidence, x->rule->fix,
		    x->rule->equiv[0] ? "         see: " : "", x->rule->equiv,
		    x->rule->equiv[0] ? "\n" : "");
	}
	for (size_t i = 0; i < docs->n_errors && r == 0; i++)
		r = cst_buf_printf(out, "error    %s\n", docs->errors[i]);
	if (r == 0)
		r = cst_buf_printf(out, "%zu files, %zu documents (%zu of kinds not checked), %zu "
		    "unreadable; %zu findings: %zu critical, %zu high, %zu medium, %zu low, %zu info; "
		    "failing at %s\n", docs->n_files, f->n_resources, f->n_ignored, docs->n_errors,
		    f->n, n_sev[CST_PST_CRITICAL], n_sev[CST_PST_HIGH], n_sev[CST_PST_MEDIUM],
		    n_sev[CST_PST_LOW], n_sev[CST_PST_INFO], cst_pst_sev_name(fail_on));
	return r;
}

/* The equivalent ids as an array. */
static json_t *
equiv_array(const char *equiv)
{
	json_t *a = json_array();

	while (a != NULL && *equiv != '\0') {
		size_t n = strcspn(equiv, ";");

		json_array_append_new(a, json_stringn(equiv, n));
		equiv += n;
		while (*equiv == ';' || *equiv == ' ')
			equiv++;
	}
	return a;
}

int
cst_pst_report_json(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on, struct cst_buf *out)
{
	json_t *root = json_object(), *fs = json_array(), *errs = json_array();

	for (size_t i = 0; i < f->n; i++) {
		const struct cst_pst_finding *x = &f->v[i];

		json_array_append_new(fs, json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:I, "
		    "s:I, s:I, s:s, s:s, s:s, s:o}", "id", x->rule->id, "severity",
		    cst_pst_sev_name(x->sev), "title", x->rule->title, "resource", "kind", x->kind,
		    "namespace", x->ns, "name", x->name, "file", x->file, "document",
		    (json_int_t)x->doc, "item", (json_int_t)x->item, "line", (json_int_t)x->line,
		    "path", x->path, "evidence", x->evidence, "fix", x->rule->fix, "equivalent",
		    equiv_array(x->rule->equiv)));
	}
	for (size_t i = 0; i < docs->n_errors; i++)
		json_array_append_new(errs, json_string(docs->errors[i]));
	json_object_set_new(root, "tool", json_string("castellan posture " CST_VERSION));
	json_object_set_new(root, "fail_on", json_string(cst_pst_sev_name(fail_on)));
	json_object_set_new(root, "exit_status",
	    json_integer(cst_pst_exit_status(f, docs, fail_on)));
	json_object_set_new(root, "files", json_integer((json_int_t)docs->n_files));
	json_object_set_new(root, "documents", json_integer((json_int_t)f->n_resources));
	json_object_set_new(root, "documents_not_checked", json_integer((json_int_t)f->n_ignored));
	json_object_set_new(root, "errors", errs);
	json_object_set_new(root, "findings", fs);
	return emit(root, out);
}

static const char *
sarif_level(enum cst_pst_sev s, enum cst_pst_sev fail_on)
{
	if (s >= fail_on)
		return "error";
	return s >= CST_PST_MEDIUM ? "warning" : "note";
}

int
cst_pst_report_sarif(const struct cst_pst_findings *f, const struct cst_pst_docs *docs,
    enum cst_pst_sev fail_on, struct cst_buf *out)
{
	json_t *rules = json_array(), *results = json_array(), *notes = json_array();
	json_t *index = json_object(), *driver, *run, *root;
	char res[512], msg[2048], fqn[1024];

	for (size_t i = 0; i < f->n; i++) {
		const struct cst_pst_finding *x = &f->v[i];
		json_t *idx = json_object_get(index, x->rule->id), *loc;

		if (idx == NULL) {
			idx = json_integer((json_int_t)json_array_size(rules));
			json_object_set_new(index, x->rule->id, idx);
			json_array_append_new(rules, json_pack("{s:s, s:{s:s}, s:{s:s}, "
			    "s:{s:s}, s:{s:s, s:o}}", "id", x->rule->id, "shortDescription", "text",
			    x->rule->title, "help", "text", x->rule->fix, "defaultConfiguration",
			    "level", sarif_level(x->rule->sev, fail_on), "properties", "severity",
			    cst_pst_sev_name(x->rule->sev), "equivalent",
			    equiv_array(x->rule->equiv)));
		}
		resource_name(x, res, sizeof(res));
		snprintf(msg, sizeof(msg), "%s%s%s: %s", res, x->path[0] ? " " : "", x->path,
		    x->evidence);
		snprintf(fqn, sizeof(fqn), "%s/%s/%s%s%s", x->kind, x->ns, x->name,
		    x->path[0] ? "/" : "", x->path);
		loc = json_pack("{s:{s:{s:s}, s:{s:I}}, s:[{s:s, s:s}]}", "physicalLocation",
		    "artifactLocation", "uri", x->file, "region", "startLine",
		    (json_int_t)(x->line ? x->line : 1), "logicalLocations",
		    "fullyQualifiedName", fqn, "kind", "resource");
		json_array_append_new(results, json_pack("{s:s, s:I, s:s, s:{s:s}, s:[o], "
		    "s:{s:s, s:s, s:I, s:o}}", "ruleId", x->rule->id, "ruleIndex",
		    json_integer_value(idx), "level", sarif_level(x->sev, fail_on), "message",
		    "text", msg, "locations", loc, "properties", "severity",
		    cst_pst_sev_name(x->sev), "path", x->path, "document", (json_int_t)x->doc,
		    "equivalent", equiv_array(x->rule->equiv)));
	}
	for (size_t i = 0; i < docs->n_errors; i++)
		json_array_append_new(notes, json_pack("{s:s, s:{s:s}}", "level", "error", "message",
		    "text", docs->errors[i]));
	json_decref(index);
	driver = json_pack("{s:s, s:s, s:s, s:o}", "name", "castellan-posture", "version",
	    CST_VERSION, "informationUri", "https://github.com/castellan/castellan", "rules",
	    rules);
	run = json_pack("{s:{s:o}, s:o, s:[{s:b, s:o}], s:s}", "tool", "driver", driver,
	    "results", results, "invocations", "executionSuccessful", docs->n_errors == 0,
	    "toolExecutionNotifications", notes, "columnKind", "unicodeCodePoints");
	root = json_pack("{s:s, s:s, s:[o]}", "$schema",
	    "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", run);
	return emit(root, out);
}
