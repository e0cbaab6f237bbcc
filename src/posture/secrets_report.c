/*
 * Output of the secret scanner (secrets.h): text for people, JSON for tools, SARIF 2.1.0 for
 * code-scanning services. Every format shows the masked preview only, never a secret.
 * Suppressed findings are counted in every format and listed when asked.
 */
#include "posture/secrets.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"

static const char push_note[] =
    "GitHub push protection does not cover these: it checks new pushes for a subset of "
    "high-confidence formats, not history already pushed, not private repositories without "
    "Secret Protection, and not generic or legacy secrets; a bypass (\"used in tests\", \"false "
    "positive\") closes GitHub's alert but not this finding. Rotate each credential: deleting "
    "it from the files leaves it in the history.";

static void
iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

static size_t
unsuppressed(const struct cst_sec_report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->f[i].suppressed == NULL;
	return n;
}

static size_t
hard_errors(const struct cst_sec_report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n_err; i++)
		n += !r->err[i].warning;
	return n;
}

/* Whether s needs quoting in text output: a control character (or, name: '"' or '\\'). */
static bool
needs_quote(const char *s, bool name)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || (name && (*s == '"' || *s == '\\')))
			return true;
	return false;
}

/*
 * Writes s, a name or text from the scanned files, as git's core.quotePath does for control
 * characters: as it is when it has none of them (nor, a name, '"' or '\\'), else in double
 * quotes with C escapes (\t \n \r \" \\, other control bytes as \ooo). A name holding a
 * newline or a terminal escape cannot forge a report line nor drive the terminal.
 */
static void
put_q(FILE *out, const char *s, bool name)
{
	if (!needs_quote(s, name)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\%03o", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static int
write_text(const struct cst_sec_report *r, bool show_suppressed, FILE *out)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct cst_sec_finding *f = &r->f[i];

		if (f->suppressed != NULL && !show_suppressed)
			continue;
		put_q(out, f->path, true);
		fprintf(out, ":%u:%u: %s %s ", f->line, f->col, cst_sec_sev_name(f->severity),
		    f->rule);
		put_q(out, f->preview, false);
		if (f->validator)
			fprintf(out, " checksum %s", f->validator);
		if (f->where) {
			fputs(" in ", out);
			put_q(out, f->where, false);
		}
		fputc('\n', out);
		if (f->commit[0] != '\0') {
			char t[32];

			iso(f->time, t);
			fprintf(out, "    commit %s by ", f->commit);
			put_q(out, f->author ? f->author : "?", false);
			fprintf(out, " at %s\n", t);
		}
		if (f->suppressed != NULL) {
			fputs("    suppressed: ", out);
			put_q(out, f->suppressed, false);
			fputc('\n', out);
		}
	}
	for (i = 0; i < r->n_err; i++) {
		fprintf(out, "%s: ", r->err[i].warning ? "warning" : "error");
		put_q(out, r->err[i].path, true);
		fprintf(out, "%s%s: ", r->err[i].commit[0] ? "@" : "", r->err[i].commit);
		put_q(out, r->err[i].msg, false);
		fputc('\n', out);
	}
	fprintf(out, "%zu finding%s (%llu suppressed); %llu file%s%s, %llu bytes scanned",
	    unsuppressed(r), unsuppressed(r) == 1 ? "" : "s",
	    (unsigned long long)r->st.suppressed, (unsigned long long)r->st.files,
	    r->st.files == 1 ? "" : "s", r->git ? " (unique blobs)" : "",
	    (unsigned long long)r->st.bytes);
	if (r->git)
		fprintf(out, ", %llu commits from %llu refs", (unsigned long long)r->st.commits,
		    (unsigned long long)r->st.refs);
	fprintf(out, "; skipped %llu binary, %llu too large, %llu links or special; %zu "
	    "error%s\n", (unsigned long long)r->st.binary, (unsigned long long)r->st.too_large,
	    (unsigned long long)r->st.symlinks, hard_errors(r), hard_errors(r) == 1 ? "" : "s");
	if (unsuppressed(r) > 0)
		fprintf(out, "note: %s\n", push_note);
	return 0;
}

static json_t *
finding_json(const struct cst_sec_finding *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "path", json_string(f->path));
	json_object_set_new(o, "line", json_integer(f->line));
	json_object_set_new(o, "column", json_integer(f->col));
	json_object_set_new(o, "rule", json_string(f->rule));
	json_object_set_new(o, "severity", json_string(cst_sec_sev_name(f->severity)));
	json_object_set_new(o, "confidence", json_real(f->confidence / 1000.0));
	json_object_set_new(o, "preview", json_string(f->preview));
	json_object_set_new(o, "length", json_integer(f->secret_len));
	json_object_set_new(o, "checksum", f->validator ? json_string(f->validator) : json_null());
	json_object_set_new(o, "context", f->where ? json_string(f->where) : json_null());
	json_object_set_new(o, "fingerprint", json_string(f->fingerprint));
	if (f->commit[0] != '\0') {
		char t[32];

		iso(f->time, t);
		json_object_set_new(o, "commit", json_string(f->commit));
		json_object_set_new(o, "author", f->author ? json_string(f->author) : json_null());
		json_object_set_new(o, "date", json_string(t));
	}
	json_object_set_new(o, "suppressed", f->suppressed ? json_string(f->suppressed) :
	    json_null());
	return o;
}

static json_t *
errors_json(const struct cst_sec_report *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->n_err; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "path", r->err[i].path, "message",
		    r->err[i].msg, "level", r->err[i].warning ? "warning" : "error");

		if (r->err[i].commit[0] != '\0')
			json_object_set_new(o, "commit", json_string(r->err[i].commit));
		json_array_append_new(a, o);
	}
	return a;
}

static int
write_json(const struct cst_sec_report *r, bool show_suppressed, FILE *out)
{
	json_t *root = json_object(), *fs = json_array(), *st;
	size_t i;
	int rc;

	for (i = 0; i < r->n; i++)
		if (r->f[i].suppressed == NULL || show_suppressed)
			json_array_append_new(fs, finding_json(&r->f[i]));
	st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "files",
	    (json_int_t)r->st.files, "bytes", (json_int_t)r->st.bytes, "binary_skipped",
	    (json_int_t)r->st.binary, "too_large_skipped", (json_int_t)r->st.too_large,
	    "links_skipped", (json_int_t)r->st.symlinks, "commits", (json_int_t)r->st.commits,
	    "refs", (json_int_t)r->st.refs, "suppressed", (json_int_t)r->st.suppressed,
	    "unsuppressed", (json_int_t)unsuppressed(r));
	json_object_set_new(root, "scanner", json_string("castellan " CST_VERSION));
	json_object_set_new(root, "mode", json_string(r->git ? "git" : "files"));
	json_object_set_new(root, "findings", fs);
	json_object_set_new(root, "stats", st);
	json_object_set_new(root, "errors", errors_json(r));
	json_object_set_new(root, "notes", unsuppressed(r) > 0 ? json_pack("[s]", push_note) :
	    json_array());
	rc = json_dumpf(root, out, JSON_INDENT(2)) == 0 ? 0 : CST_EIO;
	fputc('\n', out);
	json_decref(root);
	return rc;
}

static const char *
sarif_level(enum cst_sec_sev s)
{
	return s >= CST_SEC_HIGH ? "error" : s == CST_SEC_MEDIUM ? "warning" : "note";
}

static int
write_sarif(const struct cst_sec_report *r, bool show_suppressed, FILE *out)
{
	json_t *rules = json_array(), *results = json_array(), *index = json_object(), *notes;
	json_t *driver, *run, *root;
	size_t i;
	int rc;

	for (i = 0; i < r->n; i++) {
		const struct cst_sec_finding *f = &r->f[i];
		json_t *idx = json_object_get(index, f->rule), *res, *loc, *props;
		char msg[700];

		if (f->suppressed != NULL && !show_suppressed)
			continue;
		if (idx == NULL) {
			idx = json_integer((json_int_t)json_array_size(rules));
			json_object_set_new(index, f->rule, idx);
			json_array_append_new(rules, json_pack("{s:s, s:{s:s}}", "id", f->rule,
			    "shortDescription", "text", f->rule));
		}
		snprintf(msg, sizeof(msg), "Secret %s (%s)%s%s%s%s", f->preview, f->rule,
		    f->where ? " in " : "", f->where ? f->where : "",
		    f->commit[0] ? ", introduced in commit " : "", f->commit);
		loc = json_pack("{s:{s:{s:s}, s:{s:i, s:i}}}", "physicalLocation",
		    "artifactLocation", "uri", f->path, "region", "startLine", (int)f->line,
		    "startColumn", (int)f->col);
		props = json_pack("{s:s, s:s}", "severity", cst_sec_sev_name(f->severity),
		    "preview", f->preview);
		if (f->validator != NULL)
			json_object_set_new(props, "checksum", json_string(f->validator));
		if (f->commit[0] != '\0') {
			char t[32];

			iso(f->time, t);
			json_object_set_new(props, "commit", json_string(f->commit));
			json_object_set_new(props, "author", json_string(f->author ? f->author :
			    ""));
			json_object_set_new(props, "date", json_string(t));
		}
		res = json_pack("{s:s, s:I, s:s, s:{s:s}, s:[o], s:{s:s}, s:o}", "ruleId", f->rule,
		    "ruleIndex", json_integer_value(idx), "level", sarif_level(f->severity),
		    "message", "text", msg, "locations", loc, "partialFingerprints",
		    "castellanFingerprint/v1", f->fingerprint, "properties", props);
		if (f->suppressed != NULL)
			json_object_set_new(res, "suppressions", json_pack("[{s:s, s:s}]", "kind",
			    strncmp(f->suppressed, "inline", 6) == 0 ? "inSource" : "external",
			    "justification", f->suppressed));
		json_array_append_new(results, res);
	}
	json_decref(index);
	notes = json_array();
	for (i = 0; i < r->n_err; i++)
		json_array_append_new(notes, json_pack("{s:s, s:{s:s}, s:[{s:{s:{s:s}}}]}", "level",
		    r->err[i].warning ? "warning" : "error", "message", "text", r->err[i].msg,
		    "locations", "physicalLocation", "artifactLocation", "uri", r->err[i].path));
	driver = json_pack("{s:s, s:s, s:s, s:o}", "name", "castellan", "version", CST_VERSION,
	    "informationUri", "https://github.com/castellan/castellan", "rules", rules);
	run = json_pack("{s:{s:o}, s:o, s:[{s:b, s:o}], s:s}", "tool", "driver", driver,
	    "results", results, "invocations", "executionSuccessful", hard_errors(r) == 0,
	    "toolExecutionNotifications", notes, "columnKind", "unicodeCodePoints");
	root = json_pack("{s:s, s:s, s:[o]}", "$schema",
	    "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", run);
	rc = json_dumpf(root, out, JSON_INDENT(2)) == 0 ? 0 : CST_EIO;
	fputc('\n', out);
	json_decref(root);
	return rc;
}

int
cst_sec_report_write(const struct cst_sec_report *r, const char *format, bool show_suppressed,
    FILE *out)
{
	if (strcmp(format, "json") == 0)
		return write_json(r, show_suppressed, out);
	if (strcmp(format, "sarif") == 0)
		return write_sarif(r, show_suppressed, out);
	return write_text(r, show_suppressed, out);
}
