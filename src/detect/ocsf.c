/*
 * OCSF 1.8.0 Detection Finding output (see ocsf.h). Builds one jansson object per finding
 * from the rule's metadata and the evidence records; never modifies either. Every string from
 * a log goes through jstr, so a value that is not UTF-8 cannot make a line unwritable.
 */
#include "detect/ocsf.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"
#include "crypto/hash.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESOURCES 100	/* affected resources listed per finding */

/* ---- small builders: each records CST_ENOMEM in *r and never loses a reference ---- */

/* A JSON string of s; bytes that are not well-formed UTF-8 are written as '?'. NULL: ENOMEM. */
static json_t *
jstr(const char *s)
{
	size_t len = strlen(s), i, n;
	json_t *v;
	char *c;

	if ((v = json_string(s)) != NULL || (c = cst_malloc(len + 1)) == NULL)
		return v;
	for (i = 0; i < len; i += n) {
		if ((n = cst_utf8_len((const unsigned char *)s + i, len - i)) == 0) {
			c[i] = '?';
			n = 1;
		} else {
			memcpy(c + i, s + i, n);
		}
	}
	c[len] = '\0';
	v = json_string(c);
	cst_free(c);
	return v;
}

static void
put(json_t *o, const char *k, json_t *v, int *r)
{
	if (o == NULL || v == NULL) {
		json_decref(v);
		*r = CST_ENOMEM;
	} else if (json_object_set_new(o, k, v) != 0) {
		*r = CST_ENOMEM;
	}
}

static void
put_str(json_t *o, const char *k, const char *s, int *r)
{
	if (s != NULL)
		put(o, k, jstr(s), r);
}

static void
put_int(json_t *o, const char *k, json_int_t v, int *r)
{
	put(o, k, json_integer(v), r);
}

/* Sets o[k] = sub unless sub is empty (then dropped); sub NULL means ENOMEM. */
static void
put_obj(json_t *o, const char *k, json_t *sub, int *r)
{
	if (sub != NULL && json_object_size(sub) == 0 && json_array_size(sub) == 0) {
		json_decref(sub);
		return;
	}
	put(o, k, sub, r);
}

static void
push(json_t *a, json_t *v, int *r)
{
	if (a == NULL || v == NULL) {
		json_decref(v);
		*r = CST_ENOMEM;
	} else if (json_array_append_new(a, v) != 0) {
		*r = CST_ENOMEM;
	}
}

/* The value at dotted path below v (objects only); NULL if absent. Borrowed. */
static json_t *
at(json_t *v, const char *path)
{
	const char *dot;

	while (v != NULL && (dot = strchr(path, '.')) != NULL) {
		v = json_object_getn(v, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return v ? json_object_get(v, path) : NULL;
}

static const char *
sat(json_t *v, const char *path)
{
	return json_string_value(at(v, path));
}

/* ---- severity, confidence, uid ---- */

static const char *const severity_names[] = { "Unknown", "Informational", "Low", "Medium",
	"High", "Critical" };

int
cst_ocsf_severity_id(const char *level)
{
	static const char *const levels[] = { "informational", "low", "medium", "high",
		"critical" };
	size_t i;

	for (i = 0; level != NULL && i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(level, levels[i]) == 0)
			return (int)i + 1;
	return 0;
}

/* confidence_id from the Sigma rule status (how proven the rule is): 0 when not known. */
static int
confidence_id(const char *status)
{
	if (status == NULL)
		return 0;
	if (strcmp(status, "stable") == 0)
		return 3;
	if (strcmp(status, "test") == 0)
		return 2;
	return strcmp(status, "experimental") == 0 ? 1 : 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
cst_ocsf_finding_uid(const char *rule_id, const char *const *ids, size_t n_ids,
    char out[CST_OCSF_UID_LEN + 1])
{
	const char **sorted = NULL;
	size_t len = strlen(rule_id), i, o;
	char *buf = NULL;
	int r = CST_ENOMEM;

	for (i = 0; i < n_ids; i++)
		len += strlen(ids[i]) + 1;
	if ((n_ids > 0 && (sorted = cst_calloc(n_ids, sizeof(*sorted))) == NULL) ||
	    (buf = cst_malloc(len + 1)) == NULL)
		goto out;
	if (n_ids > 0) {
		memcpy(sorted, ids, n_ids * sizeof(*sorted));
		qsort(sorted, n_ids, sizeof(*sorted), id_cmp);
	}
	o = strlen(rule_id);
	memcpy(buf, rule_id, o);
	for (i = 0; i < n_ids; i++) {
		buf[o++] = '\0';
		memcpy(buf + o, sorted[i], strlen(sorted[i]));
		o += strlen(sorted[i]);
	}
	r = cst_sha256_hex(buf, len, out);
out:
	cst_free(sorted);
	cst_free(buf);
	return r;
}

/* ---- ATT&CK ---- */

static const struct {
	const char *tag, *uid, *name;
} tactics[] = {
	{ "reconnaissance", "TA0043", "Reconnaissance" },
	{ "resource-development", "TA0042", "Resource Development" },
	{ "initial-access", "TA0001", "Initial Access" },
	{ "execution", "TA0002", "Execution" },
	{ "persistence", "TA0003", "Persistence" },
	{ "privilege-escalation", "TA0004", "Privilege Escalation" },
	{ "defense-evasion", "TA0005", "Defense Evasion" },	/* named Stealth since v19 */
	{ "stealth", "TA0005", "Stealth" },
	{ "defense-impairment", "TA0112", "Defense Impairment" },	/* new in v19 */
	{ "credential-access", "TA0006", "Credential Access" },
	{ "discovery", "TA0007", "Discovery" },
	{ "lateral-movement", "TA0008", "Lateral Movement" },
	{ "collection", "TA0009", "Collection" },
	{ "exfiltration", "TA0010", "Exfiltration" },
	{ "command-and-control", "TA0011", "Command and Control" },
	{ "impact", "TA0040", "Impact" },
};
#define N_TACTICS (sizeof(tactics) / sizeof(tactics[0]))

static bool
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The tactics[] entry of tag t (after "attack."): a name, or taNNNN; -1 if none. */
static int
tactic_of(const char *t)
{
	size_t i, k;

	for (i = 0; i < N_TACTICS; i++) {
		for (k = 0; tactics[i].tag[k] != '\0'; k++)
			if (t[k] != tactics[i].tag[k] && !(t[k] == '_' && tactics[i].tag[k] == '-'))
				break;
		if (tactics[i].tag[k] == '\0' && t[k] == '\0')
			return (int)i;
		if ((t[0] == 't' || t[0] == 'T') && (t[1] == 'a' || t[1] == 'A') &&
		    strlen(t) == 6 && strcmp(t + 2, tactics[i].uid + 2) == 0)
			return (int)i;
	}
	return -1;
}

/* Whether t (after "attack.") is tNNNN or tNNNN.NNN; *sub set for the latter. */
static bool
technique_of(const char *t, bool *sub)
{
	size_t n = strlen(t);

	if ((t[0] != 't' && t[0] != 'T') || (n != 5 && n != 9) || !digits(t + 1, 4))
		return false;
	*sub = n == 9;
	return n == 5 || (t[5] == '.' && digits(t + 6, 3));
}

/* {uid, name?} */
static json_t *
uid_obj(const char *uid, const char *name, int *r)
{
	json_t *o = json_object();

	put_str(o, "uid", uid, r);
	put_str(o, "name", name, r);
	if (o == NULL)
		*r = CST_ENOMEM;
	return o;
}

json_t *
cst_ocsf_attacks(const char *const *tags, size_t n)
{
	json_t *arr = json_array(), *a;
	bool seen[N_TACTICS] = { false }, sub, s2, dup, alone;
	int tac = -1, n_tac = 0, t, r = 0;
	size_t i, j;

	for (i = 0; i < n; i++)
		if (strncmp(tags[i], "attack.", 7) == 0 && (t = tactic_of(tags[i] + 7)) >= 0 &&
		    !seen[t]) {
			seen[t] = true;
			tac = t;
			n_tac++;
		}
	for (i = 0; i < n; i++) {
		const char *tg = tags[i] + 7;
		char uid[10];

		if (strncmp(tags[i], "attack.", 7) != 0 || !technique_of(tg, &sub))
			continue;
		for (j = 0, dup = false; !sub && j < n && !dup; j++)
			dup = strncmp(tags[j], "attack.", 7) == 0 && technique_of(tags[j] + 7, &s2) &&
			    s2 && strncmp(tags[j] + 8, tg + 1, 4) == 0;
		if (dup)
			continue;	/* given with its sub-technique */
		a = json_object();
		memcpy(uid, tg, 5);
		uid[0] = 'T';
		uid[5] = '\0';
		put(a, "technique", uid_obj(uid, NULL, &r), &r);
		if (sub) {
			memcpy(uid, tg, 9);
			uid[0] = 'T';
			uid[9] = '\0';
			put(a, "sub_technique", uid_obj(uid, NULL, &r), &r);
		}
		if (n_tac == 1)
			put(a, "tactic", uid_obj(tactics[tac].uid, tactics[tac].name, &r), &r);
		push(arr, a, &r);
	}
	/* tactics not set on a technique entry get their own */
	alone = n_tac > 1 || json_array_size(arr) == 0;
	for (i = 0; alone && i < n; i++) {
		if (strncmp(tags[i], "attack.", 7) != 0 || (t = tactic_of(tags[i] + 7)) < 0 ||
		    !seen[t])
			continue;
		seen[t] = false;	/* once each */
		a = json_object();
		put(a, "tactic", uid_obj(tactics[t].uid, tactics[t].name, &r), &r);
		push(arr, a, &r);
	}
	if (r != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* ---- evidence ---- */

/* user.type_id of a CloudTrail userIdentity.type: 1 User, 2 Admin (root), 99 Other. */
static int
user_type_id(const char *type)
{
	if (type == NULL)
		return 0;
	if (strcmp(type, "IAMUser") == 0 || strcmp(type, "IdentityCenterUser") == 0)
		return 1;
	return strcmp(type, "Root") == 0 ? 2 : 99;
}

/* A host name (letters, digits, '-', '.', at least one dot and one letter), e.g. an AWS
 * service such as ec2.amazonaws.com calling on a principal's behalf. */
static bool
hostname_like(const char *s)
{
	bool dot = false, alpha = false;

	for (; *s; s++) {
		if (*s == '.')
			dot = true;
		else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			alpha = true;
		else if (*s != '-' && (*s < '0' || *s > '9'))
			return false;
	}
	return dot && alpha;
}

/* src_endpoint: ip when s is an IPv4/IPv6 address as inet_pton reads it (so not the
 * leading-zero forms of anonymised data), else hostname, else name. */
static json_t *
endpoint(const char *s, int *r)
{
	unsigned char a[16];
	json_t *ep = json_object();

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		put_str(ep, "ip", s, r);
	else
		put_str(ep, hostname_like(s) ? "hostname" : "name", s, r);
	return ep;
}

static const char *
kind_source(enum cst_ev_kind k)
{
	switch (k) {
	case CST_EV_CLOUDTRAIL:
		return "AWS CloudTrail";
	case CST_EV_BEDROCK:
		return "Amazon Bedrock model invocation log";
	case CST_EV_CASTELLAN:
		break;
	}
	return "Castellan audit log";
}

/* The actor of an evidence record (may come back empty). */
static json_t *
actor(const struct cst_evref *e, const struct cst_ev_facts *x, int *r)
{
	json_t *a = json_object(), *u = json_object(), *acct = json_object(), *sess;
	json_t *rec = e->rec->json;
	const char *type;

	if (e->kind != CST_EV_CLOUDTRAIL) {
		put_str(u, "uid", x->principal, r);
		put_obj(a, "user", u, r);
		json_decref(acct);
		return a;
	}
	type = sat(rec, "userIdentity.type");
	put_str(u, "uid", sat(rec, "userIdentity.arn") ? sat(rec, "userIdentity.arn") : x->principal,
	    r);
	put_str(u, "uid_alt", sat(rec, "userIdentity.principalId"), r);
	put_str(u, "name", sat(rec, "userIdentity.userName") ? sat(rec, "userIdentity.userName") :
	    sat(rec, "userIdentity.sessionContext.sessionIssuer.userName"), r);
	put_str(u, "type", type, r);
	put_str(u, "credential_uid", sat(rec, "userIdentity.accessKeyId"), r);
	put_str(acct, "uid", sat(rec, "userIdentity.accountId"), r);
	put_obj(u, "account", acct, r);
	if (json_object_get(u, "uid") || json_object_get(u, "name") ||
	    json_object_get(u, "account")) {
		put_int(u, "type_id", user_type_id(type), r);
		put(a, "user", u, r);
	} else {
		json_decref(u);		/* a user needs one of account, name, uid */
	}
	put_str(a, "app_name", sat(rec, "userIdentity.invokedBy"), r);
	if ((sess = json_object()) != NULL)
		put_str(sess, "issuer", sat(rec, "userIdentity.sessionContext.sessionIssuer.arn"),
		    r);
	put_obj(a, "session", sess, r);
	return a;
}

static json_t *
api(const struct cst_evref *e, const struct cst_ev_facts *x, int *r)
{
	json_t *a = json_object(), *svc = json_object(), *req = json_object(),
	    *resp = json_object(), *rec = e->rec->json;

	put_str(a, "operation", x->name, r);
	put_str(svc, "name", x->source, r);
	put_obj(a, "service", svc, r);
	put_str(req, "uid", e->kind == CST_EV_CLOUDTRAIL ? sat(rec, "requestID") : x->id, r);
	put_obj(a, "request", req, r);
	put_str(resp, "error", e->kind == CST_EV_CLOUDTRAIL ? sat(rec, "errorCode") : x->error, r);
	if (e->kind == CST_EV_CLOUDTRAIL)
		put_str(resp, "message", sat(rec, "errorMessage"), r);
	put_obj(a, "response", resp, r);
	return a;
}

static json_t *
evidence(const struct cst_evref *e, int *r)
{
	json_t *ev = json_object(), *data = json_object(), *http;
	struct cst_ev_facts x;

	x = e->rec->facts;
	put_str(ev, "uid", x.id, r);
	put_obj(ev, "actor", actor(e, &x, r), r);
	if (x.name != NULL)
		put(ev, "api", api(e, &x, r), r);
	if (x.ip != NULL && *x.ip != '\0')
		put(ev, "src_endpoint", endpoint(x.ip, r), r);
	if (x.agent != NULL) {
		http = json_object();
		put_str(http, "user_agent", x.agent, r);
		put(ev, "http_request", http, r);
	}
	/* IR-3: where the evidence is, and what the other attributes have no place for */
	put_str(data, "event_uid", x.id, r);
	put_str(data, "file", e->file, r);
	put_int(data, "index", (json_int_t)e->index, r);
	put_str(data, "kind", cst_ev_kind_name(e->kind), r);
	if (e->time_ms >= 0)
		put_int(data, "time", (json_int_t)e->time_ms, r);
	put_str(data, "outcome", x.failed ? "failure" : "success", r);
	put_str(data, "error_code", x.error, r);
	put_str(data, "region", x.region, r);
	put_str(data, "account_uid", x.account, r);
	put(ev, "data", data, r);
	return ev;
}

/* cloud (profile) from the first evidence event that names a region or an account. */
static json_t *
cloud(const struct cst_finding *f, int *r)
{
	json_t *c = json_object(), *acct;
	struct cst_ev_facts x;
	size_t k;

	for (k = 0; k < f->n_ev; k++) {
		if (f->ev[k].kind == CST_EV_CASTELLAN)
			continue;
		x = f->ev[k].rec->facts;
		if (x.region == NULL && x.account == NULL)
			continue;
		put_str(c, "provider", "AWS", r);
		put_str(c, "region", x.region, r);
		if (x.account != NULL && (acct = json_object()) != NULL) {
			put_str(acct, "uid", x.account, r);
			put(c, "account", acct, r);
		} else if (x.account != NULL) {
			*r = CST_ENOMEM;
		}
		break;
	}
	return c;
}

/* Affected resources: the resources[] ARNs of CloudTrail evidence, each once, in order. */
static json_t *
resources(const struct cst_finding *f, int *r)
{
	json_t *arr = json_array(), *seen = json_object(), *res, *o;
	size_t k, i;

	for (k = 0; k < f->n_ev && *r == 0; k++) {
		if (f->ev[k].kind != CST_EV_CLOUDTRAIL)
			continue;
		json_array_foreach(json_object_get(f->ev[k].rec->json, "resources"), i, res) {
			const char *arn = sat(res, "ARN");

			if (arn == NULL || json_array_size(arr) >= MAX_RESOURCES ||
			    json_object_get(seen, arn) != NULL)
				continue;
			put(seen, arn, json_true(), r);
			o = json_object();
			put_str(o, "uid", arn, r);
			put_str(o, "type", sat(res, "type"), r);
			push(arr, o, r);
		}
	}
	json_decref(seen);
	return arr;
}

/* The rule's identity: its id, else its name, else the file it came from. */
static const char *
rule_uid(const struct cst_sigma_meta *m)
{
	return m->id ? m->id : m->name ? m->name : m->file ? m->file : m->title;
}

/* finding_info.uid over the evidence ids (an event without one: "file:index"). */
static int
finding_uid(const struct cst_sigma_meta *m, const struct cst_finding *f,
    char out[CST_OCSF_UID_LEN + 1])
{
	const char **ids;
	char **own;
	struct cst_ev_facts x;
	size_t k, len;
	int r = 0;

	ids = cst_calloc(f->n_ev + 1, sizeof(*ids));
	own = cst_calloc(f->n_ev + 1, sizeof(*own));
	for (k = 0; ids != NULL && own != NULL && k < f->n_ev && r == 0; k++) {
		x = f->ev[k].rec->facts;
		if ((ids[k] = x.id) != NULL)
			continue;
		len = strlen(f->ev[k].file ? f->ev[k].file : "") + 24;
		if ((own[k] = cst_malloc(len)) == NULL) {
			r = CST_ENOMEM;
			break;
		}
		snprintf(own[k], len, "%s:%zu", f->ev[k].file ? f->ev[k].file : "", f->ev[k].index);
		ids[k] = own[k];
	}
	if (ids == NULL || own == NULL)
		r = CST_ENOMEM;
	if (r == 0)
		r = cst_ocsf_finding_uid(rule_uid(m), ids, f->n_ev, out);
	for (k = 0; own != NULL && k < f->n_ev; k++)
		cst_free(own[k]);
	cst_free(own);
	cst_free(ids);
	return r;
}

static json_t *
finding_info(const struct cst_rs *rs, const struct cst_finding *f, const char *uid, int *r)
{
	const struct cst_sigma_meta *m = cst_rs_meta(rs, f->rule);
	const char *type = cst_rs_type(rs, f->rule);
	json_t *fi = json_object(), *an = json_object(), *types = json_array(),
	    *srcs = json_array();
	bool kinds[3] = { false, false, false };
	char tname[64];
	size_t k;

	put_str(fi, "uid", uid, r);
	put_str(fi, "title", m->title, r);
	put_str(fi, "desc", m->description, r);
	if (strcmp(type, "rule") == 0)
		snprintf(tname, sizeof(tname), "Sigma rule");
	else
		snprintf(tname, sizeof(tname), "Sigma %s correlation", type);
	push(types, jstr(tname), r);
	put(fi, "types", types, r);
	put_str(an, "uid", rule_uid(m), r);
	put_str(an, "name", m->name ? m->name : m->title, r);
	put_int(an, "type_id", 1, r);
	put_str(an, "type", "Rule", r);
	put(fi, "analytic", an, r);
	put_obj(fi, "attacks", cst_ocsf_attacks(m->tags, m->n_tags), r);
	if (f->first_ms >= 0)
		put_int(fi, "first_seen_time", (json_int_t)f->first_ms, r);
	if (f->time_ms >= 0)
		put_int(fi, "last_seen_time", (json_int_t)f->time_ms, r);
	for (k = 0; k < f->n_ev; k++)
		kinds[f->ev[k].kind] = true;
	for (k = 0; k < 3; k++)
		if (kinds[k])
			push(srcs, jstr(kind_source((enum cst_ev_kind)k)), r);
	put(fi, "data_sources", srcs, r);
	put_int(fi, "related_events_count", (json_int_t)f->n_total, r);
	return fi;
}

/* What OCSF has no attribute for: the Sigma rule as written, and the finding's counts. */
static json_t *
unmapped(const struct cst_rs *rs, const struct cst_finding *f, int *r)
{
	const struct cst_sigma_meta *m = cst_rs_meta(rs, f->rule);
	json_t *u = json_object(), *sg = json_object(), *tags = json_array();
	size_t t;

	put_str(sg, "file", m->file, r);
	put_str(sg, "level", cst_rs_level(rs, f->rule), r);
	put_str(sg, "status", m->status, r);
	put_str(sg, "author", m->author, r);
	put_str(sg, "type", cst_rs_type(rs, f->rule), r);
	for (t = 0; t < m->n_tags; t++)
		push(tags, jstr(m->tags[t]), r);
	put(sg, "tags", tags, r);
	put(u, "sigma", sg, r);
	put_str(u, "outcome", f->n_failed < f->n_total ? "success" : "failure", r);
	put_int(u, "events", (json_int_t)f->n_total, r);
	put_int(u, "failed_events", (json_int_t)f->n_failed, r);
	put_int(u, "evidence_kept", (json_int_t)f->n_ev, r);
	put_str(u, "group", f->group, r);
	if (strcmp(cst_rs_type(rs, f->rule), "rule") != 0 && isfinite(f->value))
		put(u, "value", json_real(f->value), r);
	put_str(u, "excerpt", f->excerpt, r);
	if (f->time_ms < 0)
		put(u, "time_unknown", json_true(), r);
	return u;
}

static int
finding(const struct cst_rs *rs, const struct cst_finding *f, json_t **out)
{
	static const char *const conf[] = { "Unknown", "Low", "Medium", "High" };
	const struct cst_sigma_meta *m = cst_rs_meta(rs, f->rule);
	json_t *o = json_object(), *md = json_object(), *prod = json_object(), *evs = json_array();
	char uid[CST_OCSF_UID_LEN + 1];
	int r, sev = cst_ocsf_severity_id(cst_rs_level(rs, f->rule)), c;
	size_t k;

	if ((r = finding_uid(m, f, uid)) != 0) {
		json_decref(o);
		json_decref(md);
		json_decref(prod);
		json_decref(evs);
		return r;
	}
	put_int(o, "activity_id", 1, &r);
	put_str(o, "activity_name", "Create", &r);
	put_int(o, "category_uid", 2, &r);
	put_str(o, "category_name", "Findings", &r);
	put_int(o, "class_uid", 2004, &r);
	put_str(o, "class_name", "Detection Finding", &r);
	put_int(o, "type_uid", 200401, &r);
	put_str(o, "type_name", "Detection Finding: Create", &r);
	put_int(o, "severity_id", sev, &r);
	put_str(o, "severity", severity_names[sev], &r);
	/* the latest evidence event's time, never the clock's: a rerun writes the same */
	put_int(o, "time", f->time_ms >= 0 ? (json_int_t)f->time_ms : 0, &r);
	put_int(o, "status_id", 1, &r);
	put_str(o, "status", "New", &r);
	put(o, "is_alert", json_true(), &r);
	put_str(o, "message", m->title, &r);
	if ((c = confidence_id(m->status)) != 0) {
		put_int(o, "confidence_id", c, &r);
		put_str(o, "confidence", conf[c], &r);
	}
	put_str(prod, "name", "Castellan", &r);
	put_str(prod, "vendor_name", "Castellan", &r);
	put_str(prod, "version", CST_VERSION, &r);
	put(md, "product", prod, &r);
	put_str(md, "version", CST_OCSF_VERSION, &r);
	put(o, "metadata", md, &r);
	put(o, "finding_info", finding_info(rs, f, uid, &r), &r);
	for (k = 0; k < f->n_ev; k++)
		push(evs, evidence(&f->ev[k], &r), &r);
	put(o, "evidences", evs, &r);
	put_obj(o, "cloud", cloud(f, &r), &r);
	put_obj(o, "resources", resources(f, &r), &r);
	put(o, "unmapped", unmapped(rs, f, &r), &r);
	if (r != 0) {
		json_decref(o);
		return r;
	}
	*out = o;
	return 0;
}

int
cst_ocsf_finding(const struct cst_rs *rs, const struct cst_finding *f, json_t **out)
{
	size_t k;
	int r = 0;

	for (k = 0; k < f->n_ev && r == 0; k++)	/* the evidence's fields are read */
		r = cst_ev_rec_load(f->ev[k].rec);
	if (r == 0)
		r = finding(rs, f, out);
	for (k = 0; k < f->n_ev; k++)
		cst_ev_rec_unload(f->ev[k].rec);
	return r;
}

int
cst_ocsf_write(FILE *o, struct cst_rs *rs)
{
	const struct cst_finding *fs;
	size_t n = cst_rs_findings(rs, &fs), i;
	json_t *obj;
	char *line;
	int r;

	for (i = 0; i < n; i++) {
		if ((r = cst_ocsf_finding(rs, &fs[i], &obj)) != 0)
			return r;
		line = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		json_decref(obj);
		if (line == NULL)
			return CST_ENOMEM;
		fputs(line, o);
		putc('\n', o);
		free(line);
		if (ferror(o))
			return CST_EIO;
	}
	return 0;
}
