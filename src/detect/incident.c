/*
 * Incidents (incident.h): grouping findings by actor and time, the facts of each incident, the
 * answers to the playbook's analysis questions and the containment commands. Everything read
 * from a record is attacker-controlled: it is copied as it is into sets and answers (renderers
 * escape it) and into commands only through cst_inc_shell_quote. Never executes anything.
 */
#include "detect/incident.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"
#include "core/str.h"
#include "crypto/hash.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NDL "not determinable from these logs"
#define MAX_LISTED 20		/* items named in one answer */
#define MAX_QUOTED 1024		/* bytes of one value in a command */

static const char *const questions[CST_INC_N_QUESTIONS] = {
	"Which resources were accessed without authorization?",
	"How was the access gained?",
	"What actions were performed on the affected resources?",
	"Were any models or data exfiltrated or tampered with?",
	"Is there a risk of model poisoning?",
	"Were any resources created or modified?",
	"Which APIs and SDKs were used?",
	"Were logs or audit trails modified or deleted?",
	"Were roles or IAM policies modified or misused?",
	"Were VPC configurations or network settings altered?",
	"Were notebooks or instances used as entry or pivot points?",
	"Were resources used to attack other systems?",
	"What is the impact on confidentiality, integrity and availability?",
	"How can the affected resources be isolated and recovered?",
	"Which security practices were not followed?",
};

const char *
cst_inc_question(size_t i)
{
	return i < CST_INC_N_QUESTIONS ? questions[i] : NULL;
}

/* ---- strings ---- */

/* A growable string; an allocation failure sticks (oom) and is checked once at the end. */
struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_addf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_addf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *np;
	size_t want;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (b->p && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return;
	}
	want = b->len + (size_t)n + 1;
	if (want < 2 * b->cap)
		want = 2 * b->cap;
	if (want < 128)
		want = 128;
	if ((np = cst_reallocarray(b->p, want, 1)) == NULL) {
		b->oom = true;
		return;
	}
	b->p = np;
	b->cap = want;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Takes the string (NULL after an allocation failure; the builder is emptied). */
static char *
sb_take(struct sb *b)
{
	char *p = b->p;

	if (b->oom || p == NULL) {
		cst_free(p);
		p = b->oom ? NULL : cst_strdup("");
	}
	memset(b, 0, sizeof(*b));
	return p;
}

static int
set_add_n(struct cst_inc_set *s, const char *v, size_t len)
{
	size_t lo = 0, hi = s->n, mid;
	char **nv, *c;
	int cmp;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		cmp = strncmp(s->v[mid], v, len);
		if (cmp == 0 && s->v[mid][len] != '\0')
			cmp = 1;
		if (cmp == 0)
			return 0;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n == s->cap) {
		if ((nv = cst_reallocarray(s->v, s->cap ? 2 * s->cap : 8, sizeof(*nv))) == NULL)
			return CST_ENOMEM;
		s->v = nv;
		s->cap = s->cap ? 2 * s->cap : 8;
	}
	if ((c = cst_strndup(v, len)) == NULL)
		return CST_ENOMEM;
	memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
	s->v[lo] = c;
	s->n++;
	return 0;
}

static int
set_add(struct cst_inc_set *s, const char *v)
{
	return v == NULL || *v == '\0' ? 0 : set_add_n(s, v, strlen(v));
}

static bool
set_has(const struct cst_inc_set *s, const char *v)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

static void
set_free(struct cst_inc_set *s)
{
	cst_strv_free(s->v, s->n);
	memset(s, 0, sizeof(*s));
}

/* Appends the set as "a, b, c" (at most MAX_LISTED, then "and N more"). */
static void
sb_set(struct sb *b, const struct cst_inc_set *s)
{
	size_t i;

	for (i = 0; i < s->n && i < MAX_LISTED; i++)
		sb_addf(b, "%s%s", i ? ", " : "", s->v[i]);
	if (s->n > MAX_LISTED)
		sb_addf(b, " and %zu more", s->n - MAX_LISTED);
}

/* ---- record fields ---- */


static const char *
jstr(json_t *o, const char *path)
{
	const char *s = json_string_value(cst_json_dotted(o, path));

	return s && *s ? s : NULL;
}

/* The access key of a record (CloudTrail accessKeyId, Castellan credential_id), or NULL. */
static const char *
access_key(const struct cst_evref *e)
{
	return e->rec->facts.key;
}

/* The source address of an event without a port ("198.51.100.9:40000" -> ...9), into buf. */
static const char *
address(const struct cst_evref *e, const struct cst_ev_facts *x, char *buf, size_t len)
{
	const char *colon;

	if (x->ip == NULL)
		return NULL;
	colon = strrchr(x->ip, ':');
	if (e->kind != CST_EV_CASTELLAN || colon == NULL || strchr(x->ip, ':') != colon)
		return x->ip;
	snprintf(buf, len, "%.*s", (int)(colon - x->ip), x->ip);
	return buf;
}

/* Whether the event names call s in service src (src NULL: any). */
static bool
is_call(const struct cst_ev_facts *x, const char *src, const char *name)
{
	return x->name && strcmp(x->name, name) == 0 && (src == NULL ||
	    (x->source && strcmp(x->source, src) == 0));
}

static bool
name_in(const struct cst_ev_facts *x, const char *const *names)
{
	size_t i;

	for (i = 0; x->name && names[i]; i++)
		if (strcmp(x->name, names[i]) == 0)
			return true;
	return false;
}

/* Whether the call changes something: readOnly false, or (no readOnly) a changing verb. */
static bool
mutating(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	static const char *const verbs[] = { "Create", "Update", "Put", "Delete", "Attach",
		"Detach", "Modify", "Start", "Stop", "Add", "Remove", "Set", "Enable", "Disable",
		"Run", "Import", "Associate", "Disassociate", "Register", "Deregister", "Reset",
		"Restore", "Terminate", "Replace", "Upload", "Authorize", "Revoke", NULL };
	json_t *ro;
	size_t i, n;

	if (e->kind == CST_EV_CASTELLAN)
		return json_is_string(json_object_get(e->rec->json, "type")) &&
		    strcmp(json_string_value(json_object_get(e->rec->json, "type")), "admin") == 0;
	if (e->kind != CST_EV_CLOUDTRAIL || x->name == NULL)
		return false;
	if ((ro = json_object_get(e->rec->json, "readOnly")) != NULL && json_is_boolean(ro))
		return !json_is_true(ro);
	for (i = 0; verbs[i]; i++) {
		n = strlen(verbs[i]);
		if (strncmp(x->name, verbs[i], n) == 0 && (x->name[n] < 'a' || x->name[n] > 'z'))
			return true;
	}
	return false;
}

/* requestParameters keys that name a resource, and what they name. */
static const struct {
	const char *key, *what, *source;	/* source NULL: any service */
} res_keys[] = {
	{ "notebookInstanceName", "SageMaker notebook instance", NULL },
	{ "notebookInstanceLifecycleConfigName", "SageMaker lifecycle configuration", NULL },
	{ "lifecycleConfigName", "SageMaker lifecycle configuration", NULL },
	{ "studioLifecycleConfigName", "SageMaker Studio lifecycle configuration", NULL },
	{ "trainingJobName", "SageMaker training job", NULL },
	{ "hyperParameterTuningJobName", "SageMaker tuning job", NULL },
	{ "processingJobName", "SageMaker processing job", NULL },
	{ "transformJobName", "SageMaker transform job", NULL },
	{ "modelName", "SageMaker model", "sagemaker.amazonaws.com" },
	{ "modelPackageName", "SageMaker model package", NULL },
	{ "modelPackageGroupName", "SageMaker model package group", NULL },
	{ "endpointName", "SageMaker endpoint", NULL },
	{ "endpointConfigName", "SageMaker endpoint configuration", NULL },
	{ "domainId", "SageMaker domain", NULL },
	{ "userProfileName", "SageMaker user profile", NULL },
	{ "modelId", "Bedrock model", NULL },
	{ "guardrailIdentifier", "Bedrock guardrail", NULL },
	{ "jobName", "Bedrock job", "bedrock.amazonaws.com" },
	{ "bucketName", "S3 bucket", NULL },
	{ "roleName", "IAM role", NULL },
	{ "userName", "IAM user", "iam.amazonaws.com" },
	{ "policyArn", "IAM policy", NULL },
	{ "groupName", "IAM group", "iam.amazonaws.com" },
	{ "name", "CloudTrail trail", "cloudtrail.amazonaws.com" },
	{ "trailName", "CloudTrail trail", "cloudtrail.amazonaws.com" },
};

/* Calls fn(arg, string) on every "arn:" string v holds at depth 4 or less, v being at depth.
 * 0, or fn's first non-zero result. */
static int
each_arn(json_t *v, int depth, int (*fn)(void *arg, json_t *str), void *arg)
{
	const char *k;
	json_t *c;
	size_t i;
	int r;

	if (depth > 4)
		return 0;
	if (json_is_string(v) && strncmp(json_string_value(v), "arn:", 4) == 0)
		return fn(arg, v);
	if (json_is_object(v)) {
		json_object_foreach(v, k, c)
			if ((r = each_arn(c, depth + 1, fn, arg)) != 0)
				return r;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if ((r = each_arn(c, depth + 1, fn, arg)) != 0)
				return r;
	}
	return 0;
}

static int
set_add_str(void *set, json_t *str)
{
	return set_add(set, json_string_value(str));
}

/* Adds what the event names as resources: "<what> <name>" and ARNs. */
static int
add_resources(struct cst_inc_set *s, const struct cst_evref *e, const struct cst_ev_facts *x)
{
	struct sb b = { 0 };
	json_t *rp, *res, *it;
	const char *v;
	size_t i;
	int r = 0;
	char *t;

	if (e->kind == CST_EV_BEDROCK) {
		v = jstr(e->rec->json, "modelId");
		if (v)
			sb_addf(&b, "Bedrock model %s", v);
	} else if (e->kind == CST_EV_CASTELLAN) {
		v = jstr(e->rec->json, "model");
		if (v)
			sb_addf(&b, "model %s", v);
	}
	if (b.len || b.oom) {
		if ((t = sb_take(&b)) == NULL)
			return CST_ENOMEM;
		r = set_add(s, t);
		cst_free(t);
		return r;
	}
	if (e->kind != CST_EV_CLOUDTRAIL)
		return 0;
	rp = json_object_get(e->rec->json, "requestParameters");
	for (i = 0; i < sizeof(res_keys) / sizeof(res_keys[0]) && json_is_object(rp); i++) {
		if (res_keys[i].source && !(x->source && strcmp(x->source, res_keys[i].source) == 0))
			continue;
		if ((v = jstr(rp, res_keys[i].key)) == NULL)
			continue;
		if (strncmp(v, "arn:", 4) == 0) {
			r = set_add(s, v);
		} else {
			sb_addf(&b, "%s %s", res_keys[i].what, v);
			if ((t = sb_take(&b)) == NULL)
				return CST_ENOMEM;
			r = set_add(s, t);
			cst_free(t);
		}
		if (r != 0)
			return r;
	}
	res = json_object_get(e->rec->json, "resources");
	json_array_foreach(res, i, it)
		if ((r = set_add(s, jstr(it, "ARN"))) != 0)
			return r;
	return each_arn(json_object_get(e->rec->json, "responseElements"), 0, set_add_str, s);
}

/* ---- briefs ---- */

/* Copies the member key of from (if present) into to. 0; CST_ENOMEM. */
static int
brief_copy(json_t *to, json_t *from, const char *key)
{
	json_t *v = json_object_get(from, key), *c;

	if (v == NULL)
		return 0;
	if ((c = json_deep_copy(v)) == NULL || json_object_set_new(to, key, c) != 0)
		return CST_ENOMEM;
	return 0;
}

/* The object at key of to, made if absent. NULL: CST_ENOMEM. */
static json_t *
brief_obj(json_t *to, const char *key)
{
	json_t *o = json_object_get(to, key);

	if (o == NULL && ((o = json_object()) == NULL || json_object_set_new(to, key, o) != 0))
		return NULL;
	return o;
}

static int
append_str(void *arr, json_t *str)
{
	return json_array_append(arr, str) == 0 ? 0 : CST_ENOMEM;
}

json_t *
cst_inc_brief(json_t *rec)
{
	static const char *const top[] = { "readOnly", "eventName",
		"sessionCredentialFromConsole" };
	json_t *b = json_object(), *uid = json_object_get(rec, "userIdentity");
	json_t *rp = json_object_get(rec, "requestParameters"), *res, *it, *o, *arr;
	json_t *sc = json_object_get(uid, "sessionContext");
	size_t i;
	int r = b == NULL ? CST_ENOMEM : 0;

	for (i = 0; i < sizeof(top) / sizeof(top[0]) && r == 0; i++)
		r = brief_copy(b, rec, top[i]);
	if (r == 0 && json_is_object(uid)) {
		if ((o = brief_obj(b, "userIdentity")) == NULL ||
		    brief_copy(o, uid, "type") != 0 || brief_copy(o, uid, "accessKeyId") != 0)
			r = CST_ENOMEM;
		if (r == 0 && json_is_object(sc) && ((o = brief_obj(o, "sessionContext")) == NULL ||
		    brief_copy(o, sc, "ec2RoleDelivery") != 0))
			r = CST_ENOMEM;
		if (r == 0 && json_is_object(json_object_get(sc, "attributes")) &&
		    ((o = brief_obj(o, "attributes")) == NULL ||
		    brief_copy(o, json_object_get(sc, "attributes"), "mfaAuthenticated") != 0))
			r = CST_ENOMEM;
	}
	if (r == 0 && rp != NULL && !json_is_object(rp))
		r = brief_copy(b, rec, "requestParameters");
	if (r == 0 && json_is_object(rp)) {
		if ((o = brief_obj(b, "requestParameters")) == NULL ||
		    brief_copy(o, rp, "directInternetAccess") != 0)
			r = CST_ENOMEM;
		for (i = 0; i < sizeof(res_keys) / sizeof(res_keys[0]) && r == 0; i++)
			r = brief_copy(o, rp, res_keys[i].key);
	}
	if (r == 0 && json_is_array(res = json_object_get(rec, "resources"))) {
		if ((arr = json_array()) == NULL || json_object_set_new(b, "resources", arr) != 0)
			r = CST_ENOMEM;
		json_array_foreach(res, i, it) {
			if (r != 0)
				break;
			if ((o = json_object()) == NULL || json_array_append_new(arr, o) != 0 ||
			    brief_copy(o, it, "ARN") != 0)
				r = CST_ENOMEM;
		}
	}
	if (r == 0 && (it = json_object_get(rec, "responseElements")) != NULL) {
		if ((arr = json_array()) == NULL || json_object_set_new(b, "responseElements",
		    arr) != 0 || each_arn(it, 0, append_str, arr) != 0)
			r = CST_ENOMEM;
	}
	if (r != 0) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* ---- shell quoting ---- */

int
cst_inc_shell_quote(const char *s, char **out)
{
	static const char safe[] = "_@%+=:,./-";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i, k, extra = 0;
	bool plain = n > 0;
	uint32_t cp;
	char *q, *w;

	if (n > MAX_QUOTED || s[0] == '-')
		return CST_EINVAL;
	for (i = 0; i < n; i += k) {
		k = 1;
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return CST_EINVAL;
			if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
			    (p[i] >= '0' && p[i] <= '9') || strchr(safe, p[i]) != NULL))
				plain = false;
			if (p[i] == '\'')
				extra += 3;
			continue;
		}
		plain = false;
		if ((k = cst_utf8_decode(p + i, n - i, &cp)) == 0 || cp <= 0x9f ||
		    cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return CST_EINVAL;
	}
	if ((q = cst_malloc(n + extra + 3)) == NULL)
		return CST_ENOMEM;
	w = q;
	if (!plain)
		*w++ = '\'';
	for (i = 0; i < n; i++) {
		if (s[i] == '\'') {
			memcpy(w, "'\\''", 4);
			w += 4;
		} else {
			*w++ = s[i];
		}
	}
	if (!plain)
		*w++ = '\'';
	*w = '\0';
	*out = q;
	return 0;
}

/* ---- grouping ---- */

struct key {
	char *s;
	size_t fi;
	bool owned;
};

static int
key_cmp(const void *pa, const void *pb)
{
	const struct key *a = pa, *b = pb;
	int c = strcmp(a->s, b->s);

	return c ? c : (a->fi > b->fi) - (a->fi < b->fi);
}

static size_t
uf_find(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

struct order {
	size_t fi, root;
	int64_t first, last;
	const char *actor;
};

/* By actor, then untimed first, then first event, last event and index. */
static int
order_cmp(const void *pa, const void *pb)
{
	const struct order *a = pa, *b = pb;

	if (a->root != b->root)
		return (a->root > b->root) - (a->root < b->root);
	if (a->first != b->first)
		return (a->first > b->first) - (a->first < b->first);
	if (a->last != b->last)
		return (a->last > b->last) - (a->last < b->last);
	return (a->fi > b->fi) - (a->fi < b->fi);
}

/* The actor of finding f: "p\n<principal>", "k\n<key>", "a\n<address>" or "u\n". */
static char *
actor_of(const struct cst_finding *f)
{
	const char *key = NULL, *a;
	struct cst_ev_facts x;
	struct sb b = { 0 };
	char addr[320] = "", buf[320];
	size_t k;

	for (k = 0; k < f->n_ev; k++) {
		x = f->ev[k].rec->facts;
		if (x.principal) {
			sb_addf(&b, "p\n%s", x.principal);
			return sb_take(&b);
		}
		if (key == NULL)
			key = access_key(&f->ev[k]);
		if (addr[0] == '\0' && (a = address(&f->ev[k], &x, buf, sizeof(buf))) != NULL)
			snprintf(addr, sizeof(addr), "%s", a);
	}
	if (key)
		sb_addf(&b, "k\n%s", key);
	else if (addr[0])
		sb_addf(&b, "a\n%s", addr);
	else
		sb_addf(&b, "u\n");
	return sb_take(&b);
}

/* The actor as shown: the principal, "access key K", "source address A". */
static char *
actor_name(const char *actor)
{
	struct sb b = { 0 };

	switch (actor[0]) {
	case 'p':
		sb_addf(&b, "%s", actor + 2);
		break;
	case 'k':
		sb_addf(&b, "access key %s", actor + 2);
		break;
	case 'a':
		sb_addf(&b, "source address %s", actor + 2);
		break;
	default:
		sb_addf(&b, "unknown principal");
	}
	return sb_take(&b);
}

/* ---- one incident's facts ---- */

struct cite {
	const struct cst_evref *ev;
	size_t fi;
};

static int
ev_cmp(const struct cst_evref *a, const struct cst_evref *b)
{
	int c;

	if (a->time_ms != b->time_ms)
		return (a->time_ms > b->time_ms) - (a->time_ms < b->time_ms);
	if ((c = strcmp(a->file ? a->file : "", b->file ? b->file : "")) != 0)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

static int
cite_cmp(const void *pa, const void *pb)
{
	const struct cite *a = pa, *b = pb;
	int c = ev_cmp(a->ev, b->ev);

	return c ? c : (a->fi > b->fi) - (a->fi < b->fi);
}

static int
build_timeline(struct cst_incident *in, const struct cst_finding *fs)
{
	struct cite *c;
	size_t n = 0, i, k, t;
	struct cst_inc_step *st;

	for (i = 0; i < in->n_findings; i++)
		n += fs[in->findings[i]].n_ev;
	if (n == 0)
		return 0;
	if ((c = cst_calloc(n, sizeof(*c))) == NULL)
		return CST_ENOMEM;
	for (n = 0, i = 0; i < in->n_findings; i++)
		for (k = 0; k < fs[in->findings[i]].n_ev; k++)
			c[n++] = (struct cite){ &fs[in->findings[i]].ev[k], in->findings[i] };
	qsort(c, n, sizeof(*c), cite_cmp);
	if ((in->timeline = cst_calloc(n, sizeof(*in->timeline))) == NULL)
		goto oom;
	for (i = 0; i < n; i = k) {
		for (k = i + 1; k < n && ev_cmp(c[k].ev, c[i].ev) == 0; k++)
			;
		st = &in->timeline[in->n_timeline++];
		st->ev = c[i].ev;
		if ((st->findings = cst_calloc(k - i, sizeof(*st->findings))) == NULL)
			goto oom;
		for (t = i; t < k; t++)
			if (st->n_findings == 0 || st->findings[st->n_findings - 1] != c[t].fi)
				st->findings[st->n_findings++] = c[t].fi;
	}
	cst_free(c);
	return 0;
oom:
	cst_free(c);
	return CST_ENOMEM;
}

static int
level_rank(const char *l)
{
	static const char *const levels[] = { "informational", "low", "medium", "high",
		"critical" };
	int i;

	for (i = 0; l && i < 5; i++)
		if (strcmp(l, levels[i]) == 0)
			return i;
	return -1;
}

/* Tactics, techniques (upper-case T numbers), level, principals, addresses... */
static int
collect(struct cst_incident *in, const struct cst_rs *rs, const struct cst_finding *fs)
{
	static const char *const levels[] = { "informational", "low", "medium", "high",
		"critical" };
	struct cst_ev_facts x;
	char buf[320], tech[64];
	const char *a, *tag;
	size_t i, t;
	int r = 0, best = -1, lv;

	for (i = 0; i < in->n_findings && r == 0; i++) {
		const struct cst_sigma_meta *m = cst_rs_meta(rs, fs[in->findings[i]].rule);

		if ((lv = level_rank(m->level)) > best)
			best = lv;
		for (t = 0; t < m->n_tags && r == 0; t++) {
			if (strncmp(m->tags[t], "attack.", 7) != 0)
				continue;
			tag = m->tags[t] + 7;
			if ((tag[0] == 't' || tag[0] == 'T') && tag[1] >= '0' && tag[1] <= '9') {
				snprintf(tech, sizeof(tech), "T%s", tag + 1);
				r = set_add(&in->techniques, tech);
			} else if (!((tag[0] == 'g' || tag[0] == 's') && tag[1] >= '0' &&
			    tag[1] <= '9')) {
				r = set_add(&in->tactics, tag);
			}
		}
	}
	in->level = best >= 0 ? levels[best] : NULL;
	for (i = 0; i < in->n_timeline && r == 0; i++) {
		const struct cst_evref *e = in->timeline[i].ev;

		x = e->rec->facts;
		if ((r = set_add(&in->principals, x.principal)) == 0 &&
		    (r = set_add(&in->agents, x.agent)) == 0 &&
		    (r = set_add(&in->regions, x.region)) == 0 &&
		    (r = set_add(&in->keys, access_key(e))) == 0 &&
		    (r = add_resources(&in->resources, e, &x)) == 0 &&
		    (a = address(e, &x, buf, sizeof(buf))) != NULL)
			r = set_add(&in->ips, a);
	}
	return r;
}

/* ---- analysis questions ---- */

typedef bool (*ev_pred)(const struct cst_evref *e, const struct cst_ev_facts *x);

/* Appends "Name on <resource> (outcome)" of each event pred selects, "; "-separated; returns
 * how many there were. */
static size_t
list_events(struct sb *b, const struct cst_incident *in, ev_pred pred)
{
	struct cst_inc_set res = { 0 };
	struct cst_ev_facts x;
	size_t i, n = 0;

	for (i = 0; i < in->n_timeline; i++) {
		const struct cst_evref *e = in->timeline[i].ev;

		x = e->rec->facts;
		if (!pred(e, &x))
			continue;
		if (n++ >= MAX_LISTED)
			continue;
		sb_addf(b, "%s%s", n > 1 ? "; " : "", x.name ? x.name : "(no event name)");
		if (add_resources(&res, e, &x) != 0)
			b->oom = true;
		if (res.n > 0)
			sb_addf(b, " on %s", res.v[0]);
		set_free(&res);
		sb_addf(b, " (%s%s%s)", x.failed ? "failed" : "succeeded", x.error ? ": " : "",
		    x.error ? x.error : "");
	}
	if (n > MAX_LISTED)
		sb_addf(b, "; and %zu more", n - MAX_LISTED);
	return n;
}

static bool
p_succeeded_change(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	return !x->failed && mutating(e, x);
}

static bool
p_exfil(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	static const char *const names[] = { "CreatePresignedNotebookInstanceUrl",
		"CreatePresignedDomainUrl", "DescribeModelPackage", "DescribeModelPackageGroup",
		"DescribeTrainingJob", "DescribeModel", "GetObject", "CopyObject",
		"CreateModelPackage", "UpdateModelPackage", NULL };

	(void)e;
	return name_in(x, names);
}

static bool
p_model_change(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	static const char *const names[] = { "CreateModel", "CreateModelPackage",
		"UpdateModelPackage", "CreateTrainingJob", "UpdateTrainingJob", "CreateTransformJob",
		"CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint", "CreateAlgorithm",
		"CreateModelCustomizationJob", "CreateModelImportJob", "CreateHyperParameterTuningJob",
		NULL };

	(void)e;
	return name_in(x, names);
}

static bool
p_logs(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	static const char *const ct[] = { "StopLogging", "DeleteTrail", "UpdateTrail",
		"PutEventSelectors", "PutInsightSelectors", "DeleteEventDataStore",
		"StopEventDataStoreIngestion", NULL };
	static const char *const other[] = { "DeleteModelInvocationLoggingConfiguration",
		"PutModelInvocationLoggingConfiguration", "DeleteFlowLogs", "DeleteLogGroup",
		"DeleteLogStream", "PutRetentionPolicy", "StopTrainingJob", "StopTransformJob", NULL };

	(void)e;
	return (x->source && strcmp(x->source, "cloudtrail.amazonaws.com") == 0 &&
	    name_in(x, ct)) || name_in(x, other);
}

static bool
p_iam(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	return x->source && ((strcmp(x->source, "iam.amazonaws.com") == 0 && mutating(e, x)) ||
	    (strcmp(x->source, "sts.amazonaws.com") == 0 && x->name &&
	    strncmp(x->name, "AssumeRole", 10) == 0));
}

static bool
p_network(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	static const char *const parts[] = { "SecurityGroup", "Vpc", "Subnet", "Route",
		"NetworkAcl", "InternetGateway", "NatGateway", "FlowLogs", NULL };
	const char *dia = jstr(e->rec->json, "requestParameters.directInternetAccess");
	size_t i;

	if (dia && strcmp(dia, "Enabled") == 0)
		return true;
	if (!mutating(e, x) || x->source == NULL || strcmp(x->source, "ec2.amazonaws.com") != 0)
		return false;
	for (i = 0; parts[i]; i++)
		if (strstr(x->name, parts[i]) != NULL)
			return true;
	return false;
}

static bool
p_entry(const struct cst_evref *e, const struct cst_ev_facts *x)
{
	static const char *const names[] = { "CreatePresignedNotebookInstanceUrl",
		"CreatePresignedDomainUrl", "CreateNotebookInstanceLifecycleConfig",
		"UpdateNotebookInstanceLifecycleConfig", "CreateStudioLifecycleConfig", NULL };

	return name_in(x, names) || (is_call(x, "sagemaker.amazonaws.com",
	    "UpdateNotebookInstance") && jstr(e->rec->json, "requestParameters.lifecycleConfigName"));
}

/* Whether a finding of the incident has the ATT&CK tag (technique prefix "t1496" matches
 * "T1496" and "T1496.001"). */
static bool
has_technique(const struct cst_incident *in, const char *prefix)
{
	size_t i, n = strlen(prefix);

	for (i = 0; i < in->techniques.n; i++)
		if (strncmp(in->techniques.v[i], prefix, n) == 0 &&
		    (in->techniques.v[i][n] == '\0' || in->techniques.v[i][n] == '.'))
			return true;
	return false;
}

static bool
has_tactic(const struct cst_incident *in, const char *t)
{
	char alt[64];
	size_t i;

	snprintf(alt, sizeof(alt), "%s", t);
	for (i = 0; alt[i]; i++)
		if (alt[i] == '_')
			alt[i] = '-';
	return set_has(&in->tactics, t) || set_has(&in->tactics, alt);
}

/* The titles of the findings with tactic t (or technique t, "t1496" also matching its
 * sub-techniques), "; "-separated; returns how many. */
static size_t
list_findings(struct sb *b, const struct cst_incident *in, const struct cst_rs *rs,
    const struct cst_finding *fs, const char *tactic)
{
	struct cst_inc_set titles = { 0 };
	size_t i, t, n;
	char alt[64];

	snprintf(alt, sizeof(alt), "attack.%s", tactic);
	for (i = 0; alt[i]; i++)
		if (alt[i] == '_')
			alt[i] = '-';
	for (i = 0; i < in->n_findings; i++) {
		const struct cst_sigma_meta *m = cst_rs_meta(rs, fs[in->findings[i]].rule);

		for (t = 0; t < m->n_tags; t++)
			if (strcasecmp(m->tags[t], alt) == 0 || (strncmp(m->tags[t], "attack.", 7) == 0 &&
			    (strcmp(m->tags[t] + 7, tactic) == 0 || (tactic[0] == 't' &&
			    strncasecmp(m->tags[t] + 7, tactic, strlen(tactic)) == 0 &&
			    (m->tags[t][7 + strlen(tactic)] == '\0' ||
			    m->tags[t][7 + strlen(tactic)] == '.')))))
				if (set_add(&titles, m->title) != 0)
					b->oom = true;
	}
	n = titles.n;
	for (i = 0; i < titles.n && i < MAX_LISTED; i++)
		sb_addf(b, "%s%s", i ? "; " : "", titles.v[i]);
	set_free(&titles);
	return n;
}

/* Appends prefix, the titles of the findings with tactic t and "." (nothing if none). */
static void
findings_clause(struct sb *b, const struct cst_incident *in, const struct cst_rs *rs,
    const struct cst_finding *fs, const char *tactic, const char *prefix)
{
	size_t mark = b->len;

	sb_addf(b, "%s", prefix);
	if (list_findings(b, in, rs, fs, tactic) == 0 && !b->oom) {
		b->len = mark;
		b->p[mark] = '\0';
	} else {
		sb_addf(b, ".");
	}
}

static size_t
count_events(const struct cst_incident *in, ev_pred pred)
{
	struct cst_ev_facts x;
	size_t i, n = 0;

	for (i = 0; i < in->n_timeline; i++) {
		x = in->timeline[i].ev->rec->facts;
		n += pred(in->timeline[i].ev, &x);
	}
	return n;
}

static bool
has_key_prefix(const struct cst_incident *in, const char *prefix)
{
	size_t i;

	for (i = 0; i < in->keys.n; i++)
		if (strncmp(in->keys.v[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* Question 2: identity type, credentials, MFA, console, role sessions. */
static void
how_access(struct sb *b, const struct cst_incident *in, const struct cst_rs *rs,
    const struct cst_finding *fs)
{
	struct cst_inc_set types = { 0 }, mfa = { 0 }, auth = { 0 };
	bool console = false, imds = false, lt = false, tmp = false, ct = false;
	size_t i;
	const char *v;

	for (i = 0; i < in->n_timeline; i++) {
		const struct cst_evref *e = in->timeline[i].ev;
		json_t *r = e->rec->json;

		if (e->kind == CST_EV_CASTELLAN) {
			if (set_add(&auth, jstr(r, "auth")) != 0)
				b->oom = true;
			continue;
		}
		if (e->kind != CST_EV_CLOUDTRAIL)
			continue;
		ct = true;
		if (set_add(&types, jstr(r, "userIdentity.type")) != 0 ||
		    set_add(&mfa, jstr(r, "userIdentity.sessionContext.attributes.mfaAuthenticated")))
			b->oom = true;
		if (json_is_true(json_object_get(r, "sessionCredentialFromConsole")) ||
		    ((v = jstr(r, "eventName")) && strcmp(v, "ConsoleLogin") == 0))
			console = true;
		if (jstr(r, "userIdentity.sessionContext.ec2RoleDelivery"))
			imds = true;
		if ((v = jstr(r, "userIdentity.accessKeyId")) != NULL) {
			lt |= strncmp(v, "AKIA", 4) == 0;
			tmp |= strncmp(v, "ASIA", 4) == 0;
		}
	}
	if (ct) {
		sb_addf(b, "Identity type: ");
		if (types.n)
			sb_set(b, &types);
		else
			sb_addf(b, "not recorded");
		sb_addf(b, ". Credentials: %s%s%s%s. MFA: %s. Sign-in: %s.",
		    lt ? "long-term access key (AKIA)" : "", lt && tmp ? " and " : "",
		    tmp ? "temporary session credentials (ASIA, from AssumeRole or a session token)" : "",
		    !lt && !tmp ? NDL : "",
		    set_has(&mfa, "true") ? "used" : mfa.n ? "not used" : NDL,
		    console ? "console session" : "API calls, no console sign-in in the evidence");
		if (imds)
			sb_addf(b, " Instance-role credentials delivered by the metadata service.");
	} else if (auth.n) {
		sb_addf(b, "Castellan gateway authentication: ");
		sb_set(b, &auth);
		sb_addf(b, ". MFA: %s.", NDL);
	} else {
		sb_addf(b, "Bedrock invocation logs record only the caller's ARN: the credential "
		    "type and MFA are %s.", NDL);
	}
	findings_clause(b, in, rs, fs, "credential_access", " Credential findings: ");
	findings_clause(b, in, rs, fs, "initial_access", " Initial-access findings: ");
	set_free(&types);
	set_free(&mfa);
	set_free(&auth);
}

/* Question 3: each distinct call with its counts, in order of first use. */
static void
actions(struct sb *b, const struct cst_incident *in)
{
	struct act {
		const char *src, *name;
		size_t ok, bad;
	} *a;
	struct cst_ev_facts x;
	size_t i, k, n = 0;

	if ((a = cst_calloc(in->n_timeline + 1, sizeof(*a))) == NULL) {
		b->oom = true;
		return;
	}
	for (i = 0; i < in->n_timeline; i++) {
		x = in->timeline[i].ev->rec->facts;
		for (k = 0; k < n; k++)
			if (strcmp(a[k].src ? a[k].src : "", x.source ? x.source : "") == 0 &&
			    strcmp(a[k].name ? a[k].name : "", x.name ? x.name : "") == 0)
				break;
		if (k == n) {
			a[n].src = x.source;
			a[n++].name = x.name;
		}
		if (x.failed)
			a[k].bad++;
		else
			a[k].ok++;
	}
	sb_addf(b, "%zu event(s) in the evidence: ", in->n_timeline);
	for (k = 0; k < n && k < MAX_LISTED; k++)
		sb_addf(b, "%s%s %s (%zu succeeded, %zu failed)", k ? "; " : "",
		    a[k].src ? a[k].src : "-", a[k].name ? a[k].name : "-", a[k].ok, a[k].bad);
	if (n > MAX_LISTED)
		sb_addf(b, "; and %zu more", n - MAX_LISTED);
	sb_addf(b, ".");
	cst_free(a);
}

/* Writes "Yes: <events>." or the answer for none. */
static void
yes_events(struct sb *b, const struct cst_incident *in, ev_pred pred, const char *none)
{
	size_t mark = b->len;

	sb_addf(b, "Yes: ");
	if (list_events(b, in, pred) == 0 && !b->oom) {
		b->len = mark;
		b->p[mark] = '\0';
		sb_addf(b, "%s", none);
	} else {
		sb_addf(b, ".");
	}
}

static int
answer(struct cst_incident *in, const struct cst_rs *rs, const struct cst_finding *fs)
{
	struct sb b = { 0 };
	size_t q, mark;
	bool c, i, a;

	for (q = 0; q < CST_INC_N_QUESTIONS; q++) {
		switch (q) {
		case 0:
			if (in->resources.n)
				sb_set(&b, &in->resources);
			else
				sb_addf(&b, "%s (no resource named in the evidence)", NDL);
			break;
		case 1:
			how_access(&b, in, rs, fs);
			break;
		case 2:
			actions(&b, in);
			break;
		case 3:
			mark = b.len;
			sb_addf(&b, "Possible: ");
			if (list_events(&b, in, p_exfil) == 0 && !b.oom) {
				b.len = mark;
				b.p[mark] = '\0';
				sb_addf(&b, "no download, presigned URL or model read in the evidence; "
				    "object reads appear only when S3 data events are logged, so "
				    "otherwise %s", NDL);
			} else {
				sb_addf(&b, ".");
			}
			findings_clause(&b, in, rs, fs, "exfiltration", " Exfiltration findings: ");
			break;
		case 4:
			yes_events(&b, in, p_model_change, "No model, model package, training job "
			    "or endpoint was created or changed in the evidence.");
			break;
		case 5:
			yes_events(&b, in, p_succeeded_change, "No successful create, update or delete "
			    "call in the evidence.");
			break;
		case 6:
			sb_addf(&b, "User agents: ");
			if (in->agents.n)
				sb_set(&b, &in->agents);
			else
				sb_addf(&b, "not recorded");
			sb_addf(&b, ".");
			break;
		case 7:
			yes_events(&b, in, p_logs, "No logging or audit-trail change in the evidence.");
			break;
		case 8:
			yes_events(&b, in, p_iam, "No IAM or role change in the evidence.");
			findings_clause(&b, in, rs, fs, "credential_access", " Credentials misused: ");
			break;
		case 9:
			yes_events(&b, in, p_network, "No VPC, security-group or network-access change "
			    "in the evidence.");
			break;
		case 10:
			yes_events(&b, in, p_entry, "No presigned notebook URL or lifecycle "
			    "configuration in the evidence.");
			break;
		case 11:
			if (has_technique(in, "T1496"))
				findings_clause(&b, in, rs, fs, "t1496", "Possibly, for resource "
				    "hijacking (compute or model invocations for the attacker; T1496): ");
			else
				sb_addf(&b, "%s (outbound traffic is not in these logs; see VPC flow "
				    "logs)", NDL);
			break;
		case 12:
			c = has_tactic(in, "credential_access") || has_tactic(in, "collection") ||
			    has_tactic(in, "exfiltration") || has_tactic(in, "discovery");
			i = has_tactic(in, "persistence") || has_tactic(in, "execution") ||
			    has_tactic(in, "defense_evasion") || has_tactic(in, "privilege_escalation") ||
			    has_technique(in, "T1565");
			a = has_technique(in, "T1485") || has_technique(in, "T1489") ||
			    has_technique(in, "T1499") || has_technique(in, "T1496") ||
			    has_technique(in, "T1531");
			sb_addf(&b, "Confidentiality: %s. Integrity: %s. Availability: %s.",
			    c ? "at risk (credential access, collection or exfiltration)" :
			    "no finding on it", i ? "at risk (persistence, code execution, evasion or "
			    "tampering)" : "no finding on it", a ? "at risk (resource hijacking, "
			    "deletion or denial of service)" : "no finding on it");
			break;
		case 13:
			sb_addf(&b, "%zu containment step(s) below; recovery (snapshots, backups, "
			    "rebuilding from known-good images) is %s.", in->n_steps, NDL);
			break;
		case 14:
			mark = b.len;
			if (has_technique(in, "T1552.005") || has_tactic(in, "credential_access"))
				sb_addf(&b, "Role credentials usable from anywhere (no aws:SourceIp, "
				    "aws:SourceVpce or aws:ec2InstanceSourceVPC condition). ");
			if (count_events(in, p_entry) && has_tactic(in, "execution"))
				sb_addf(&b, "Lifecycle scripts not restricted to reviewed ones. ");
			if (count_events(in, p_logs))
				sb_addf(&b, "Log configuration changeable by this principal (no SCP "
				    "denying it). ");
			if (has_key_prefix(in, "AKIA"))
				sb_addf(&b, "Long-term access keys in use. ");
			if (b.len == mark)
				sb_addf(&b, "%s", NDL);
			else
				b.p[--b.len] = '\0';
			break;
		}
		if ((in->answers[q] = sb_take(&b)) == NULL)
			return CST_ENOMEM;
	}
	return 0;
}

/* ---- containment ---- */

/* Adds a step: tmpl with each "{}" replaced by the next value, shell-quoted. A value that
 * cannot be quoted leaves the command out (and why says so); a repeated command is dropped. */
static int
step(struct cst_incident *in, const char *why, const char *tmpl, const char *const *vals,
    size_t n_vals)
{
	struct sb b = { 0 }, w = { 0 };
	struct cst_inc_cmd *nv;
	const char *p, *q;
	bool bad = false;
	size_t k = 0, i;
	char *quoted;
	int r;

	for (p = tmpl; tmpl && (q = strstr(p, "{}")) != NULL; p = q + 2) {
		sb_addf(&b, "%.*s", (int)(q - p), p);
		if (k >= n_vals || (r = cst_inc_shell_quote(vals[k++], &quoted)) == CST_EINVAL) {
			bad = true;
			continue;
		}
		if (r != 0) {
			cst_free(b.p);
			return r;
		}
		sb_addf(&b, "%s", quoted);
		cst_free(quoted);
	}
	if (tmpl)
		sb_addf(&b, "%s", p);
	sb_addf(&w, "%s%s", why, bad ? " (not generated: a value taken from the log contains "
	    "characters that cannot be quoted safely)" : "");
	if (tmpl && !bad && !b.oom)
		for (i = 0; i < in->n_steps; i++)
			if (in->steps[i].cmd && strcmp(in->steps[i].cmd, b.p) == 0) {
				cst_free(b.p);
				cst_free(w.p);
				return 0;
			}
	if ((nv = cst_reallocarray(in->steps, in->n_steps + 1, sizeof(*nv))) == NULL)
		goto oom;
	in->steps = nv;
	nv = &in->steps[in->n_steps];
	nv->cmd = NULL;
	if ((nv->why = sb_take(&w)) == NULL)
		goto oom;
	if (tmpl && !bad && (nv->cmd = sb_take(&b)) == NULL) {
		cst_free(nv->why);
		goto oom;
	}
	cst_free(b.p);
	in->n_steps++;
	return 0;
oom:
	cst_free(b.p);
	cst_free(w.p);
	return CST_ENOMEM;
}

#define STEP(why, tmpl, ...) \
	step(in, why, tmpl, (const char *const[]){ __VA_ARGS__ }, \
	    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static const char deny_all[] = "'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
    "\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}'";

/* Steps for an AWS principal ARN: the user's keys and a deny-all policy, or the role's
 * sessions revoked, or a note for root. */
static int
contain_arn(struct cst_incident *in, const char *arn)
{
	const struct cst_inc_set *keys = &in->keys;
	char name[256], t[32], doc[512], tmpl[768];
	const char *p, *slash;
	size_t i;
	int r;

	if ((p = strstr(arn, ":user/")) != NULL) {
		slash = strrchr(p, '/');
		snprintf(name, sizeof(name), "%s", slash + 1);
		for (i = 0; i < keys->n; i++)
			if (strncmp(keys->v[i], "AKIA", 4) == 0 && (r = STEP("Deactivate the user's "
			    "long-term access key used in the incident", "aws iam update-access-key "
			    "--user-name {} --access-key-id {} --status Inactive", name,
			    keys->v[i])) != 0)
				return r;
		snprintf(tmpl, sizeof(tmpl), "aws iam put-user-policy --user-name {} --policy-name "
		    "castellan-incident-deny-all --policy-document %s", deny_all);
		return STEP("Deny every action to the user until the incident is resolved", tmpl,
		    name);
	}
	p = strstr(arn, ":assumed-role/");
	if (p != NULL || (p = strstr(arn, ":role/")) != NULL) {
		if (strncmp(p, ":assumed-role/", 14) == 0) {
			p += 14;
			slash = strchr(p, '/');
			snprintf(name, sizeof(name), "%.*s", slash ? (int)(slash - p) : (int)strlen(p),
			    p);
		} else {
			snprintf(name, sizeof(name), "%s", strrchr(p, '/') + 1);
		}
		if (in->last_ms >= 0)
			cst_time_iso((uint64_t)(in->last_ms / 1000 + 1) * 1000, t);
		else
			cst_strlcpy(t, "1970-01-01T00:00:00.000Z", sizeof(t));
		snprintf(doc, sizeof(doc), "'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
		    "\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":"
		    "{\"aws:TokenIssueTime\":\"%.19sZ\"}}}]}'", t);
		snprintf(tmpl, sizeof(tmpl), "aws iam put-role-policy --role-name {} --policy-name "
		    "AWSRevokeOlderSessions --policy-document %s", doc);
		return STEP("Revoke the role's sessions issued up to the last event of the incident "
		    "(as the console's Revoke active sessions does; use the current time to revoke "
		    "every session issued so far)", tmpl, name);
	}
	if (strstr(arn, ":root") != NULL)
		return step(in, "The account root user was used: sign in as root, delete its access "
		    "keys, change its password and enable MFA (no IAM policy can restrict root)",
		    NULL, NULL, 0);
	return 0;
}

static int
contain_castellan(struct cst_incident *in)
{
	size_t i;
	int r = 0;

	for (i = 0; i < in->principals.n && r == 0; i++)
		if (strlen(in->principals.v[i]) <= 64 &&
		    strpbrk(in->principals.v[i], "\"\\") == NULL)
			r = STEP("Block the principal at the gateway and cut its streams",
			    "castellan admin block {}", in->principals.v[i]);
		else
			r = step(in, "Block the principal at the gateway (not generated: the name "
			    "is longer than 64 bytes or holds a quote or backslash, which castellan "
			    "admin refuses)", NULL, NULL, 0);
	for (i = 0; i < in->keys.n && r == 0; i++)
		r = STEP("Revoke the gateway credential used in the incident",
		    "castellan admin revoke {}", in->keys.v[i]);
	if (r == 0 && in->principals.n == 0 && in->ips.n > 0)
		r = step(in, "The requests were not authenticated: block the source addresses at "
		    "the network edge", NULL, NULL, 0);
	return r;
}

/* Steps for what the incident's events did to resources. */
static int
contain_resources(struct cst_incident *in)
{
	struct cst_ev_facts x;
	const char *rg, *v, *nb;
	size_t i;
	int r = 0;

	for (i = 0; i < in->n_timeline && r == 0; i++) {
		const struct cst_evref *e = in->timeline[i].ev;
		json_t *rec = e->rec->json;

		if (e->kind != CST_EV_CLOUDTRAIL)
			continue;
		x = e->rec->facts;
		rg = x.region ? x.region : "us-east-1";
		nb = jstr(rec, "requestParameters.notebookInstanceName");
		if (x.source && strcmp(x.source, "sagemaker.amazonaws.com") == 0 && nb) {
			r = STEP("Stop the notebook instance (ends shells and sessions on it)",
			    "aws sagemaker stop-notebook-instance --region {} --notebook-instance-name {}",
			    rg, nb);
			if (r == 0 && is_call(&x, NULL, "UpdateNotebookInstance") &&
			    jstr(rec, "requestParameters.lifecycleConfigName"))
				r = STEP("Once stopped, detach the lifecycle configuration the incident "
				    "attached", "aws sagemaker update-notebook-instance --region {} "
				    "--notebook-instance-name {} --disassociate-lifecycle-config", rg, nb);
		}
		if (r == 0 && (is_call(&x, "sagemaker.amazonaws.com",
		    "CreateNotebookInstanceLifecycleConfig") || is_call(&x, "sagemaker.amazonaws.com",
		    "UpdateNotebookInstanceLifecycleConfig")) &&
		    (v = jstr(rec, "requestParameters.notebookInstanceLifecycleConfigName")) != NULL)
			if ((r = STEP("Keep a copy of the lifecycle configuration as evidence",
			    "aws sagemaker describe-notebook-instance-lifecycle-config --region {} "
			    "--notebook-instance-lifecycle-config-name {}", rg, v)) == 0)
				r = STEP("Delete the lifecycle configuration (after keeping the copy)",
			    "aws sagemaker delete-notebook-instance-lifecycle-config --region {} "
			    "--notebook-instance-lifecycle-config-name {}", rg, v);
		if (r == 0 && !x.failed && is_call(&x, "sagemaker.amazonaws.com",
		    "CreateTrainingJob") && (v = jstr(rec, "requestParameters.trainingJobName")))
			r = STEP("Stop the training job the incident started", "aws sagemaker "
			    "stop-training-job --region {} --training-job-name {}", rg, v);
		if (x.source && strcmp(x.source, "cloudtrail.amazonaws.com") == 0 && r == 0) {
			if ((v = jstr(rec, "requestParameters.name")) == NULL)
				v = jstr(rec, "requestParameters.trailName");
			if (v && is_call(&x, NULL, "StopLogging"))
				r = STEP("Restart logging on the trail that was stopped",
				    "aws cloudtrail start-logging --region {} --name {}", rg, v);
			else if (v && (is_call(&x, NULL, "UpdateTrail") ||
			    is_call(&x, NULL, "PutEventSelectors")))
				r = STEP("Review the trail's event selectors and restore them",
				    "aws cloudtrail get-event-selectors --region {} --trail-name {}", rg, v);
			else if (v && is_call(&x, NULL, "DeleteTrail") && !x.failed)
				r = STEP("The trail was deleted: recreate it from its saved definition and "
				    "start logging", "aws cloudtrail create-trail --region {} --name {} "
				    "--cli-input-json file://trail-definition.json", rg, v);
		}
		if (r == 0 && is_call(&x, "bedrock.amazonaws.com",
		    "DeleteModelInvocationLoggingConfiguration"))
			if ((r = STEP("Check the model invocation logging configuration",
			    "aws bedrock get-model-invocation-logging-configuration --region {}",
			    rg)) == 0)
				r = STEP("Restore model invocation logging from its saved configuration "
			    "(CloudTrail does not record the deleted one)",
			    "aws bedrock put-model-invocation-logging-configuration --region {} "
			    "--logging-config file://invocation-logging.json", rg);
		if (r == 0 && is_call(&x, "bedrock.amazonaws.com", "DeleteGuardrail") &&
		    (v = jstr(rec, "requestParameters.guardrailIdentifier")) != NULL)
			if ((r = STEP("The deletion cannot be undone: check that the guardrail is "
			    "gone, then recreate it from its saved definition and attach it again",
			    "aws bedrock list-guardrails --region {} --guardrail-identifier {}", rg,
			    v)) == 0)
				r = STEP("Recreate the deleted guardrail", "aws bedrock create-guardrail "
			    "--region {} --cli-input-json file://guardrail-definition.json", rg);
		if (r == 0 && !x.failed && is_call(&x, "bedrock.amazonaws.com",
		    "CreateFoundationModelAgreement") &&
		    (v = jstr(rec, "requestParameters.modelId")) != NULL)
			r = STEP("Withdraw the model access agreement the incident created",
			    "aws bedrock delete-foundation-model-agreement --region {} --model-id {}",
			    rg, v);
	}
	return r;
}

static int
contain(struct cst_incident *in)
{
	size_t i;
	int r = 0;

	if (in->kind == CST_EV_CASTELLAN)
		return contain_castellan(in);
	for (i = 0; i < in->principals.n && r == 0; i++)
		if (strncmp(in->principals.v[i], "arn:", 4) == 0)
			r = contain_arn(in, in->principals.v[i]);
	return r ? r : contain_resources(in);
}

/* ---- building ---- */

static int
make_id(struct cst_incident *in, const struct cst_rs *rs, const struct cst_finding *fs)
{
	struct sb b = { 0 };
	struct cst_ev_facts x;
	char hex[2 * CST_SHA256_LEN + 1];
	size_t i, k;
	int r;

	sb_addf(&b, "%s\n", in->principal);
	for (i = 0; i < in->n_findings; i++) {
		const struct cst_finding *f = &fs[in->findings[i]];
		const struct cst_sigma_meta *m = cst_rs_meta(rs, f->rule);

		sb_addf(&b, "rule %s %s\n", m->id ? m->id : m->name ? m->name : "",
		    m->title ? m->title : "");
		for (k = 0; k < f->n_ev; k++) {
			x = f->ev[k].rec->facts;
			sb_addf(&b, " %lld %s\n", (long long)f->ev[k].time_ms, x.id ? x.id : "-");
		}
	}
	if (b.oom) {
		cst_free(b.p);
		return CST_ENOMEM;
	}
	r = cst_sha256_hex(b.p, b.len, hex);
	cst_free(b.p);
	if (r != 0)
		return r;
	snprintf(in->id, sizeof(in->id), "INC-%.16s", hex);
	return 0;
}

static void
incident_free(struct cst_incident *in)
{
	size_t i;

	cst_free(in->principal);
	cst_free(in->findings);
	for (i = 0; i < in->n_timeline; i++)
		cst_free(in->timeline[i].findings);
	cst_free(in->timeline);
	set_free(&in->principals);
	set_free(&in->ips);
	set_free(&in->agents);
	set_free(&in->regions);
	set_free(&in->resources);
	set_free(&in->keys);
	set_free(&in->tactics);
	set_free(&in->techniques);
	for (i = 0; i < CST_INC_N_QUESTIONS; i++)
		cst_free(in->answers[i]);
	for (i = 0; i < in->n_steps; i++) {
		cst_free(in->steps[i].why);
		cst_free(in->steps[i].cmd);
	}
	cst_free(in->steps);
}

void
cst_inc_free(struct cst_incidents *inc)
{
	size_t i;

	for (i = 0; i < inc->n; i++)
		incident_free(&inc->v[i]);
	cst_free(inc->v);
	inc->v = NULL;
	inc->n = 0;
}

/*
 * The incidents are filled on several threads, each loading the trees of its incident's
 * events and dropping them after. A record cited by the findings of several incidents is
 * loaded before and dropped after, by the calling thread, so threads only read shared trees.
 */
struct group {
	size_t at, n;			/* findings ord[at..at + n) */
};

struct fill_ctx {
	const struct cst_rs *rs;
	const struct cst_finding *fs;
	const struct order *ord;
	const struct group *g;		/* by size, largest first */
	size_t n_g;
	struct cst_incident *v;		/* v[i] of g[i] */
	const struct cst_ev_rec **shared;	/* sorted by address */
	size_t n_shared;
	size_t next;			/* the next group to fill */
	int r;
	pthread_mutex_t mu;
};

static int
ptr_cmp(const void *pa, const void *pb)
{
	uintptr_t a = (uintptr_t)*(const void *const *)pa, b = (uintptr_t)*(const void *const *)pb;

	return (a > b) - (a < b);
}

static bool
is_shared(const struct fill_ctx *c, const struct cst_ev_rec *rec)
{
	return c->n_shared > 0 &&
	    bsearch(&rec, c->shared, c->n_shared, sizeof(*c->shared), ptr_cmp) != NULL;
}

/* Frees the trees of the events of findings ord[0..n) that their text can give back and that
 * no other incident reads. */
static void
unload_trees(const struct fill_ctx *c, const struct order *ord, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < c->fs[ord[i].fi].n_ev; k++)
			if (!is_shared(c, c->fs[ord[i].fi].ev[k].rec))
				cst_ev_rec_unload(c->fs[ord[i].fi].ev[k].rec);
}

/* Loads the trees of the events of findings ord[0..n) (an incident reads their fields).
 * 0; CST_ENOMEM. */
static int
load_trees(const struct cst_finding *fs, const struct order *ord, size_t n)
{
	size_t i, k;
	int r;

	for (i = 0; i < n; i++)
		for (k = 0; k < fs[ord[i].fi].n_ev; k++)
			if ((r = cst_ev_rec_load_brief(fs[ord[i].fi].ev[k].rec)) != 0)
				return r;
	return 0;
}

/* Incident in from findings ord[0..n) of one group; their trees are loaded meanwhile. */
static int
fill(struct cst_incident *in, const struct fill_ctx *c, const struct order *ord, size_t n)
{
	const struct cst_finding *fs = c->fs;
	size_t i;
	int r;

	if ((in->findings = cst_calloc(n, sizeof(*in->findings))) == NULL ||
	    (in->principal = actor_name(ord[0].actor)) == NULL)
		return CST_ENOMEM;
	in->first_ms = ord[0].first;
	in->last_ms = -1;
	for (i = 0; i < n; i++) {
		in->findings[in->n_findings++] = ord[i].fi;
		if (ord[i].last > in->last_ms)
			in->last_ms = ord[i].last;
	}
	in->kind = fs[ord[0].fi].n_ev ? fs[ord[0].fi].ev[0].kind : CST_EV_CLOUDTRAIL;
	if ((r = load_trees(fs, ord, n)) == 0 && (r = build_timeline(in, fs)) == 0 &&
	    (r = collect(in, c->rs, fs)) == 0 && (r = contain(in)) == 0 &&
	    (r = answer(in, c->rs, fs)) == 0)
		r = make_id(in, c->rs, fs);
	unload_trees(c, ord, n);
	return r;
}

static void *
fill_main(void *arg)
{
	struct fill_ctx *c = arg;
	size_t i;
	int r;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		i = c->r == 0 ? c->next++ : c->n_g;
		pthread_mutex_unlock(&c->mu);
		if (i >= c->n_g)
			return NULL;
		if ((r = fill(&c->v[i], c, c->ord + c->g[i].at, c->g[i].n)) != 0) {
			pthread_mutex_lock(&c->mu);
			c->r = r;
			pthread_mutex_unlock(&c->mu);
		}
	}
}

struct rec_use {
	const struct cst_ev_rec *rec;
	size_t group;
};

static int
use_cmp(const void *pa, const void *pb)
{
	const struct rec_use *a = pa, *b = pb;

	if (a->rec != b->rec)
		return ((uintptr_t)a->rec > (uintptr_t)b->rec) - ((uintptr_t)a->rec < (uintptr_t)b->rec);
	return (a->group > b->group) - (a->group < b->group);
}

/* c->shared: the records the events of more than one group cite. 0; CST_ENOMEM. */
static int
find_shared(struct fill_ctx *c)
{
	struct rec_use *u;
	size_t n = 0, i, k, m, j;

	for (i = 0; i < c->n_g; i++)
		for (k = 0; k < c->g[i].n; k++)
			n += c->fs[c->ord[c->g[i].at + k].fi].n_ev;
	if (n == 0)
		return 0;
	if ((u = cst_calloc(n, sizeof(*u))) == NULL ||
	    (c->shared = cst_calloc(n, sizeof(*c->shared))) == NULL) {
		cst_free(u);
		return CST_ENOMEM;
	}
	for (n = 0, i = 0; i < c->n_g; i++)
		for (k = 0; k < c->g[i].n; k++) {
			const struct cst_finding *f = &c->fs[c->ord[c->g[i].at + k].fi];

			for (m = 0; m < f->n_ev; m++)
				u[n++] = (struct rec_use){ f->ev[m].rec, i };
		}
	qsort(u, n, sizeof(*u), use_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && u[j].rec == u[i].rec; j++)
			;
		if (u[j - 1].group != u[i].group)
			c->shared[c->n_shared++] = u[i].rec;
	}
	cst_free(u);
	return 0;
}

static int
group_cmp(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	if (a->n != b->n)
		return (a->n < b->n) - (a->n > b->n);
	return (a->at > b->at) - (a->at < b->at);
}

/* Fills res->v[0..n_g) from the groups g (reordered) on up to jobs threads. */
static int
fill_all(struct cst_incidents *res, const struct cst_rs *rs, const struct cst_finding *fs,
    const struct order *ord, struct group *g, size_t n_g, unsigned jobs)
{
	struct fill_ctx c;
	pthread_t *t = NULL;
	unsigned k, started = 0;
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	qsort(g, n_g, sizeof(*g), group_cmp);
	c.rs = rs;
	c.fs = fs;
	c.ord = ord;
	c.g = g;
	c.n_g = n_g;
	c.v = res->v;
	res->n = n_g;
	if (jobs > n_g)
		jobs = (unsigned)n_g;
	if (jobs > 1 && (r = find_shared(&c)) != 0)
		return r;
	for (i = 0; i < c.n_shared; i++)
		if ((r = cst_ev_rec_load_brief((struct cst_ev_rec *)c.shared[i])) != 0)
			goto out;
	pthread_mutex_init(&c.mu, NULL);
	if (jobs > 1 && (t = cst_calloc(jobs - 1, sizeof(*t))) != NULL)
		for (k = 0; k + 1 < jobs; k++, started++)
			if (pthread_create(&t[k], NULL, fill_main, &c) != 0)
				break;
	fill_main(&c);
	for (k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	pthread_mutex_destroy(&c.mu);
	r = c.r;
out:
	for (i = 0; i < c.n_shared; i++)
		cst_ev_rec_unload((struct cst_ev_rec *)c.shared[i]);
	cst_free(c.shared);
	cst_free(t);
	return r;
}

static int
inc_cmp(const void *pa, const void *pb)
{
	const struct cst_incident *a = pa, *b = pb;

	if (a->first_ms != b->first_ms)
		return (a->first_ms > b->first_ms) - (a->first_ms < b->first_ms);
	return strcmp(a->id, b->id);
}

int
cst_inc_build(const struct cst_rs *rs, const struct cst_finding *fs, size_t n,
    int64_t gap_ms, unsigned jobs, struct cst_incidents *out)
{
	struct cst_incidents res = { NULL, 0 };
	struct order *ord = NULL;
	struct group *g = NULL;
	struct key *keys = NULL;
	size_t *parent = NULL, n_keys = 0, n_g = 0, i, k, j;
	char **actors = NULL;
	int64_t last;
	int r = CST_ENOMEM;

	if (n == 0) {
		*out = res;
		return 0;
	}
	if ((actors = cst_calloc(n, sizeof(*actors))) == NULL ||
	    (parent = cst_calloc(n, sizeof(*parent))) == NULL ||
	    (ord = cst_calloc(n, sizeof(*ord))) == NULL)
		goto out;
	for (i = 0, k = 0; i < n; i++)
		k += 1 + fs[i].n_ev;
	if ((keys = cst_calloc(k, sizeof(*keys))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		parent[i] = i;
		if ((actors[i] = actor_of(&fs[i])) == NULL)
			goto out;
		keys[n_keys++] = (struct key){ actors[i], i, false };
		for (j = 0; j < fs[i].n_ev; j++) {
			const char *ak = access_key(&fs[i].ev[j]);
			struct sb b = { 0 };

			if (ak == NULL)
				continue;
			sb_addf(&b, "k\n%s", ak);	/* as the actor of a finding known by its key */
			if ((keys[n_keys].s = sb_take(&b)) == NULL)
				goto out;
			keys[n_keys].fi = i;
			keys[n_keys++].owned = true;
		}
	}
	qsort(keys, n_keys, sizeof(*keys), key_cmp);
	for (i = 1; i < n_keys; i++)
		if (strcmp(keys[i].s, keys[i - 1].s) == 0)
			parent[uf_find(parent, keys[i].fi)] = uf_find(parent, keys[i - 1].fi);
	for (i = 0; i < n; i++)
		ord[i] = (struct order){ i, uf_find(parent, i), fs[i].time_ms < 0 ? -1 :
		    fs[i].first_ms, fs[i].time_ms, actors[i] };
	qsort(ord, n, sizeof(*ord), order_cmp);
	if ((res.v = cst_calloc(n, sizeof(*res.v))) == NULL ||
	    (g = cst_calloc(n, sizeof(*g))) == NULL)
		goto out;
	for (i = 0; i < n; i = k) {
		last = ord[i].last;
		for (k = i + 1; k < n && ord[k].root == ord[i].root; k++) {
			if ((ord[i].first < 0) != (ord[k].first < 0) ||
			    (ord[k].first >= 0 && ord[k].first - last > gap_ms))
				break;
			if (ord[k].last > last)
				last = ord[k].last;
		}
		g[n_g++] = (struct group){ i, k - i };
	}
	if ((r = fill_all(&res, rs, fs, ord, g, n_g, jobs ? jobs : 1)) != 0)
		goto out;
	qsort(res.v, res.n, sizeof(*res.v), inc_cmp);
	*out = res;
	res.v = NULL;
	res.n = 0;
	r = 0;
out:
	cst_inc_free(&res);
	if (actors)
		cst_strv_free(actors, n);
	cst_free(parent);
	cst_free(ord);
	cst_free(g);
	for (i = 0; i < n_keys; i++)
		if (keys[i].owned)
			cst_free(keys[i].s);
	cst_free(keys);
	return r;
}
