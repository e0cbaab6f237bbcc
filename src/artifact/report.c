/*
 * The scanner's report (report.h): building, exit status, text/JSON/SARIF renderings, and the
 * bounded parser of the JSON form. Strings are copied in and cut at CST_REPORT_MAX_STRING
 * bytes; a report never grows past its limits whatever a scanned file contains.
 */
#include "artifact/report.h"

#include "core/alloc.h"
#include "core/err.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

const char *
cst_scan_status_name(enum cst_scan_status s)
{
	switch (s) {
	case CST_SCAN_CLEAN:
		return "clean";
	case CST_SCAN_FLAGGED:
		return "flagged";
	case CST_SCAN_INCOMPLETE:
		return "incomplete";
	}
	return "?";
}

int
cst_severity_parse(const char *s, enum cst_severity *out)
{
	int i;

	for (i = CST_SEV_INFO; i <= CST_SEV_CRITICAL; i++)
		if (strcmp(s, cst_severity_name((enum cst_severity)i)) == 0) {
			*out = (enum cst_severity)i;
			return 0;
		}
	return CST_EINVAL;
}

/* A copy of s cut at CST_REPORT_MAX_STRING bytes (NULL stays NULL; *oom set on failure). */
static char *
copy(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = cst_strndup(s, strnlen(s, CST_REPORT_MAX_STRING));
	if (d == NULL)
		*oom = true;
	return d;
}

static void
entry_free(struct cst_scan_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_findings; i++) {
		cst_free(e->findings[i].rule);
		cst_free(e->findings[i].subject);
		cst_free(e->findings[i].detail);
	}
	cst_free(e->findings);
	cst_free(e->path);
	cst_free(e->format);
	cst_free(e->error);
}

int
cst_report_add_entry(struct cst_scan_report *r, const char *path, const char *format,
    struct cst_scan_entry **out)
{
	struct cst_scan_entry *grown, *e;
	bool oom = false;

	if (r->n_entries >= CST_REPORT_MAX_ENTRIES)
		return CST_ELIMIT;
	if ((grown = cst_reallocarray(r->entries, r->n_entries + 1, sizeof(*grown))) == NULL)
		return CST_ENOMEM;
	r->entries = grown;
	e = &r->entries[r->n_entries];
	memset(e, 0, sizeof(*e));
	e->complete = true;
	e->path = copy(path, &oom);
	e->format = copy(format ? format : "unknown", &oom);
	if (oom) {
		entry_free(e);
		return CST_ENOMEM;
	}
	r->n_entries++;
	*out = e;
	return 0;
}

int
cst_report_incomplete(struct cst_scan_entry *e, const char *why)
{
	bool oom = false;
	char *w = copy(why, &oom);

	if (oom)
		return CST_ENOMEM;
	e->complete = false;
	if (e->error == NULL) {
		e->error = w;	/* the first reason is the one that stopped the scan */
	} else {
		cst_free(w);
	}
	return 0;
}

int
cst_report_add_finding(struct cst_scan_entry *e, const struct cst_finding *f)
{
	struct cst_scan_finding *grown, *d;
	bool oom = false;

	if (e->n_findings == CST_REPORT_MAX_FINDINGS) {
		/* The last slot counts what did not fit. */
		d = &e->findings[e->n_findings - 1];
		if (strcmp(d->rule, "report.findings_dropped") != 0) {
			cst_free(d->rule);
			cst_free(d->subject);
			cst_free(d->detail);
			memset(d, 0, sizeof(*d));
			d->rule = copy("report.findings_dropped", &oom);
			d->severity = f->severity;
			d->offset = CST_FINDING_NO_OFFSET;
			d->detail = copy("more findings than the report keeps", &oom);
			d->subject = copy("2", &oom);
		} else {
			char n[24];
			unsigned long long k = strtoull(d->subject, NULL, 10) + 1;

			snprintf(n, sizeof(n), "%llu", k);
			cst_free(d->subject);
			d->subject = copy(n, &oom);
		}
		if (f->severity > d->severity)
			d->severity = f->severity;
		return oom ? CST_ENOMEM : 0;
	}
	if ((grown = cst_reallocarray(e->findings, e->n_findings + 1, sizeof(*grown))) == NULL)
		return CST_ENOMEM;
	e->findings = grown;
	d = &e->findings[e->n_findings];
	memset(d, 0, sizeof(*d));
	d->rule = copy(f->rule, &oom);
	d->severity = f->severity;
	d->subject = copy(f->subject, &oom);
	d->offset = f->offset;
	d->detail = copy(f->detail ? f->detail : "", &oom);
	e->n_findings++;
	return oom ? CST_ENOMEM : 0;
}

void
cst_report_drop_findings(struct cst_scan_entry *e, size_t from)
{
	while (e->n_findings > from) {
		struct cst_scan_finding *f = &e->findings[--e->n_findings];

		cst_free(f->rule);
		cst_free(f->subject);
		cst_free(f->detail);
	}
}

void
cst_report_free(struct cst_scan_report *r)
{
	size_t i;

	for (i = 0; i < r->n_entries; i++)
		entry_free(&r->entries[i]);
	cst_free(r->entries);
	r->entries = NULL;
	r->n_entries = 0;
}

enum cst_scan_status
cst_report_entry_status(const struct cst_scan_entry *e, enum cst_severity fail_at)
{
	size_t i;

	for (i = 0; i < e->n_findings; i++)
		if (e->findings[i].severity >= fail_at)
			return CST_SCAN_FLAGGED;
	return e->complete ? CST_SCAN_CLEAN : CST_SCAN_INCOMPLETE;
}

int
cst_report_exit_status(const struct cst_scan_report *r, enum cst_severity fail_at)
{
	size_t i;
	int status = 0;

	for (i = 0; i < r->n_entries; i++) {
		enum cst_scan_status s = cst_report_entry_status(&r->entries[i], fail_at);

		if (s == CST_SCAN_FLAGGED)
			return 1;
		if (s == CST_SCAN_INCOMPLETE)
			status = 2;
	}
	return status;
}

/* Appends the JSON value v (compact) to out, then frees v. */
static int
emit(json_t *v, struct cst_buf *out)
{
	char *s;
	int r;

	if (v == NULL)
		return CST_ENOMEM;
	s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(v);
	if (s == NULL)
		return CST_ENOMEM;
	r = cst_buf_add(out, s, strlen(s));
	if (r == 0)
		r = cst_buf_add(out, "\n", 1);
	free(s);	/* jansson's allocator */
	return r;
}

/* A JSON string that is NULL-safe; jansson refuses invalid UTF-8, which is replaced. */
static json_t *
jstr(const char *s)
{
	json_t *v;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	return json_string("(not UTF-8)");
}

static json_t *
finding_json(const struct cst_scan_finding *f)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "rule", jstr(f->rule));
	json_object_set_new(o, "severity", json_string(cst_severity_name(f->severity)));
	json_object_set_new(o, "subject", jstr(f->subject));
	json_object_set_new(o, "offset", f->offset == CST_FINDING_NO_OFFSET ? json_null() :
	    json_integer((json_int_t)f->offset));
	json_object_set_new(o, "detail", jstr(f->detail));
	return o;
}

int
cst_report_json(const struct cst_scan_report *r, enum cst_severity fail_at,
    struct cst_buf *out)
{
	json_t *root = json_object(), *entries = json_array();
	size_t i, j;

	if (root == NULL || entries == NULL) {
		json_decref(root);
		json_decref(entries);
		return CST_ENOMEM;
	}
	for (i = 0; i < r->n_entries; i++) {
		const struct cst_scan_entry *e = &r->entries[i];
		json_t *o = json_object(), *fs = json_array();

		if (o == NULL || fs == NULL) {
			json_decref(o);
			json_decref(fs);
			json_decref(root);
			json_decref(entries);
			return CST_ENOMEM;
		}
		json_object_set_new(o, "path", jstr(e->path));
		json_object_set_new(o, "format", jstr(e->format));
		json_object_set_new(o, "status",
		    json_string(cst_scan_status_name(cst_report_entry_status(e, fail_at))));
		json_object_set_new(o, "complete", json_boolean(e->complete));
		json_object_set_new(o, "error", jstr(e->error));
		for (j = 0; j < e->n_findings; j++)
			json_array_append_new(fs, finding_json(&e->findings[j]));
		json_object_set_new(o, "findings", fs);
		json_array_append_new(entries, o);
	}
	json_object_set_new(root, "scanner", json_string("castellan " CST_VERSION));
	json_object_set_new(root, "fail_at", json_string(cst_severity_name(fail_at)));
	json_object_set_new(root, "exit_status", json_integer(cst_report_exit_status(r, fail_at)));
	json_object_set_new(root, "entries", entries);
	return emit(root, out);
}

static const char *
sarif_level(enum cst_severity s, enum cst_severity fail_at)
{
	if (s >= fail_at)
		return "error";
	return s >= CST_SEV_MEDIUM ? "warning" : "note";
}

/* The file part of an entry path ("a.zip!m/x.pkl" -> "a.zip"), as a new string. */
static json_t *
file_uri(const char *path)
{
	const char *bang = strchr(path, '!');

	return bang ? json_stringn(path, (size_t)(bang - path)) : jstr(path);
}

static json_t *
sarif_location(const struct cst_scan_entry *e, uint64_t offset)
{
	json_t *loc = json_object(), *phys = json_object(), *art = json_object();

	json_object_set_new(art, "uri", file_uri(e->path));
	json_object_set_new(phys, "artifactLocation", art);
	if (offset != CST_FINDING_NO_OFFSET && strchr(e->path, '!') == NULL) {
		json_t *region = json_object();

		json_object_set_new(region, "byteOffset", json_integer((json_int_t)offset));
		json_object_set_new(phys, "region", region);
	}
	json_object_set_new(loc, "physicalLocation", phys);
	if (strchr(e->path, '!') != NULL) {
		/* A member: the file is the physical location, the member the logical one. */
		json_t *ll = json_array(), *l = json_object();
		char buf[64];

		json_object_set_new(l, "fullyQualifiedName", jstr(e->path));
		json_object_set_new(l, "kind", json_string("resource"));
		json_array_append_new(ll, l);
		json_object_set_new(loc, "logicalLocations", ll);
		if (offset != CST_FINDING_NO_OFFSET) {
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)offset);
			json_object_set_new(loc, "properties", json_pack("{ss}", "memberByteOffset",
			    buf));
		}
	}
	return loc;
}

int
cst_report_sarif(const struct cst_scan_report *r, enum cst_severity fail_at,
    struct cst_buf *out)
{
	json_t *root, *run, *driver, *rules, *results, *notes, *inv, *index;
	size_t i, j;

	rules = json_array();
	results = json_array();
	notes = json_array();
	index = json_object();	/* rule id -> index in rules */
	for (i = 0; i < r->n_entries; i++) {
		const struct cst_scan_entry *e = &r->entries[i];

		for (j = 0; j < e->n_findings; j++) {
			const struct cst_scan_finding *f = &e->findings[j];
			json_t *res = json_object(), *idx = json_object_get(index, f->rule);
			char msg[CST_REPORT_MAX_STRING * 2 + 64];

			if (idx == NULL) {
				idx = json_integer((json_int_t)json_array_size(rules));
				json_object_set_new(index, f->rule, idx);
				json_array_append_new(rules, json_pack("{s:s, s:{s:s}}", "id", f->rule,
				    "shortDescription", "text", f->rule));
			}
			snprintf(msg, sizeof(msg), "%s%s%s", f->subject ? f->subject : "",
			    f->subject ? ": " : "", f->detail);
			json_object_set_new(res, "ruleId", jstr(f->rule));
			json_object_set_new(res, "ruleIndex", json_integer(json_integer_value(idx)));
			json_object_set_new(res, "level",
			    json_string(sarif_level(f->severity, fail_at)));
			json_object_set_new(res, "message", json_pack("{so}", "text", jstr(msg)));
			json_object_set_new(res, "locations",
			    json_pack("[o]", sarif_location(e, f->offset)));
			json_object_set_new(res, "properties", json_pack("{s:s, s:o, s:s}", "severity",
			    cst_severity_name(f->severity), "subject", jstr(f->subject), "format",
			    e->format));
			json_array_append_new(results, res);
		}
		if (!e->complete)
			json_array_append_new(notes, json_pack("{s:s, s:{s:o}, s:[o]}", "level",
			    "error", "message", "text", jstr(e->error ? e->error : "incomplete"),
			    "locations", sarif_location(e, CST_FINDING_NO_OFFSET)));
	}
	json_decref(index);
	driver = json_pack("{s:s, s:s, s:s, s:o}", "name", "castellan", "version", CST_VERSION,
	    "informationUri", "https://github.com/castellan/castellan", "rules", rules);
	inv = json_pack("[{s:b, s:o}]", "executionSuccessful",
	    cst_report_exit_status(r, fail_at) != 2, "toolExecutionNotifications", notes);
	run = json_pack("{s:{s:o}, s:o, s:o, s:s}", "tool", "driver", driver, "results", results,
	    "invocations", inv, "columnKind", "unicodeCodePoints");
	root = json_pack("{s:s, s:s, s:[o]}", "$schema",
	    "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", run);
	return emit(root, out);
}

int
cst_report_text(const struct cst_scan_report *r, enum cst_severity fail_at,
    struct cst_buf *out)
{
	size_t i, j, n[3] = { 0, 0, 0 };
	int rc = 0;

	for (i = 0; i < r->n_entries && rc == 0; i++) {
		const struct cst_scan_entry *e = &r->entries[i];
		enum cst_scan_status s = cst_report_entry_status(e, fail_at);

		n[s]++;
		rc = cst_buf_printf(out, "%-10s %-14s %s%s%s\n", cst_scan_status_name(s), e->format,
		    e->path, e->error ? ": " : "", e->error ? e->error : "");
		for (j = 0; j < e->n_findings && rc == 0; j++) {
			const struct cst_scan_finding *f = &e->findings[j];

			rc = cst_buf_printf(out, "  %-8s %s%s%s", cst_severity_name(f->severity),
			    f->rule, f->subject ? " " : "", f->subject ? f->subject : "");
			if (rc == 0 && f->offset != CST_FINDING_NO_OFFSET)
				rc = cst_buf_printf(out, " @%llu", (unsigned long long)f->offset);
			if (rc == 0)
				rc = cst_buf_printf(out, ": %s\n", f->detail);
		}
	}
	if (rc == 0)
		rc = cst_buf_printf(out, "%zu scanned: %zu clean, %zu flagged, %zu incomplete\n",
		    r->n_entries, n[CST_SCAN_CLEAN], n[CST_SCAN_FLAGGED], n[CST_SCAN_INCOMPLETE]);
	return rc;
}

/* --- parsing the JSON form ------------------------------------------------------------ */

static const char *
str_member(json_t *o, const char *key, bool nullable, bool *bad)
{
	json_t *v = json_object_get(o, key);

	if (v != NULL && json_is_null(v) && nullable)
		return NULL;
	if (v == NULL || !json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

static int
parse_entry(json_t *o, size_t i, struct cst_scan_report *r, char *msg, size_t msg_len)
{
	const char *path, *format, *error, *sev;
	struct cst_scan_entry *e;
	json_t *fs, *f, *complete;
	bool bad = false;
	size_t j;
	int rc;

	path = str_member(o, "path", false, &bad);
	format = str_member(o, "format", false, &bad);
	error = str_member(o, "error", true, &bad);
	complete = json_object_get(o, "complete");
	fs = json_object_get(o, "findings");
	if (bad || !json_is_boolean(complete) || !json_is_array(fs)) {
		snprintf(msg, msg_len, "report: entries[%zu]: path, format, complete, error or "
		    "findings missing or of the wrong type", i);
		return CST_EINVAL;
	}
	if (json_array_size(fs) > CST_REPORT_MAX_FINDINGS) {
		snprintf(msg, msg_len, "report: entries[%zu]: more than %d findings", i,
		    CST_REPORT_MAX_FINDINGS);
		return CST_ELIMIT;
	}
	if ((rc = cst_report_add_entry(r, path, format, &e)) != 0)
		return rc;
	if (!json_is_true(complete) && (rc = cst_report_incomplete(e, error ? error :
	    "incomplete")) != 0)
		return rc;
	json_array_foreach(fs, j, f) {
		struct cst_finding fd;
		json_t *off = json_object_get(f, "offset");

		memset(&fd, 0, sizeof(fd));
		fd.rule = str_member(f, "rule", false, &bad);
		sev = str_member(f, "severity", false, &bad);
		fd.subject = str_member(f, "subject", true, &bad);
		fd.detail = str_member(f, "detail", false, &bad);
		if (!bad && sev && cst_severity_parse(sev, &fd.severity) != 0)
			bad = true;
		if (off != NULL && json_is_integer(off) && json_integer_value(off) >= 0)
			fd.offset = (uint64_t)json_integer_value(off);
		else if (off != NULL && json_is_null(off))
			fd.offset = CST_FINDING_NO_OFFSET;
		else
			bad = true;
		if (bad) {
			snprintf(msg, msg_len, "report: entries[%zu].findings[%zu]: rule, severity, "
			    "subject, offset or detail missing or invalid", i, j);
			return CST_EINVAL;
		}
		if ((rc = cst_report_add_finding(e, &fd)) != 0)
			return rc;
	}
	return 0;
}

int
cst_report_parse_json(const char *p, size_t len, struct cst_scan_report *r, char *msg,
    size_t msg_len)
{
	struct cst_scan_report add = { NULL, 0 };
	struct cst_scan_entry *grown;
	json_error_t je;
	json_t *root, *entries, *o;
	size_t i;
	int rc = 0;

	msg[0] = '\0';
	if (len > CST_REPORT_MAX_JSON) {
		snprintf(msg, msg_len, "report: larger than %u bytes", CST_REPORT_MAX_JSON);
		return CST_ELIMIT;
	}
	if ((root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(msg, msg_len, "report: not JSON: %s (line %d)", je.text, je.line);
		return CST_EINVAL;
	}
	entries = json_object_get(root, "entries");
	if (!json_is_array(entries)) {
		snprintf(msg, msg_len, "report: entries is missing");
		json_decref(root);
		return CST_EINVAL;
	}
	if (json_array_size(entries) + r->n_entries > CST_REPORT_MAX_ENTRIES) {
		snprintf(msg, msg_len, "report: more than %d entries", CST_REPORT_MAX_ENTRIES);
		json_decref(root);
		return CST_ELIMIT;
	}
	json_array_foreach(entries, i, o) {
		if (!json_is_object(o)) {
			snprintf(msg, msg_len, "report: entries[%zu] is not an object", i);
			rc = CST_EINVAL;
			break;
		}
		if ((rc = parse_entry(o, i, &add, msg, msg_len)) != 0)
			break;
	}
	json_decref(root);
	if (rc == 0 && add.n_entries > 0) {
		grown = cst_reallocarray(r->entries, r->n_entries + add.n_entries, sizeof(*grown));
		if (grown == NULL) {
			rc = CST_ENOMEM;
		} else {
			r->entries = grown;
			memcpy(r->entries + r->n_entries, add.entries,
			    add.n_entries * sizeof(*grown));
			r->n_entries += add.n_entries;
			cst_free(add.entries);
			return 0;
		}
	}
	cst_report_free(&add);
	return rc;
}
