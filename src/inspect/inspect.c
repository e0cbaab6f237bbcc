/*
 * The inspection engine (inspect.h): policy compilation, candidate confirmation and scoring,
 * overlap resolution and rewriting.
 */
#include "inspect/inspect.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "core/alloc.h"
#include "core/err.h"
#include "crypto/hash.h"
#include "inspect/allowlist.h"
#include "inspect/gitleaks.h"
#include "inspect/decode.h"
#include "inspect/classify.h"
#include "inspect/match.h"
#include "inspect/rules.h"
#include "inspect/sanitize.h"
#include "inspect/validate.h"
#include "inspect/view.h"

#define MAX_TEXT ((size_t)1 << 30)
#define CONTEXT_WORDS 5		/* Presidio's context_prefix_count */
#define CONTEXT_BOOST 350	/* +0.35 */
#define CONTEXT_FLOOR 400	/* 0.4 */
#define DEFAULT_MIN_CONFIDENCE 400
#define DEFAULT_MAX_HIDDEN 8
#define HIDDEN_DENSITY 50	/* invisible characters count as smuggling at 1 in 50 bytes: a
				 * few stray BOMs or mojibake controls in a long text do not */
#define MAX_DENIED 4096
#define NO_RULE UINT32_MAX
#define DEFAULT_STREAM_WINDOW 256	/* bytes held back from a stream (stream.h) */
#define DEFAULT_STREAM_MAX_HOLD (64 * 1024)
#define ENCODED_INSTRUCTION_CONFIDENCE 700	/* an encoded blob and a decode instruction */

/* One rule as a direction's policy applies it. */
struct prule {
	struct cst_insp_rule r;		/* the rule (strings borrowed or owned by the policy) */
	cst_validate_fn *validate;	/* by entity, or NULL */
	enum cst_insp_action action;
	uint16_t min_confidence;
	double gl_entropy;		/* gitleaks rules: the secret's entropy must exceed it */
	const struct cst_allowlist *const *al;	/* the allowlists that apply (policy-owned) */
	size_t n_al;
};

struct direction {
	struct prule *rules;
	size_t n;
	uint32_t *rule_of;		/* the policy's pattern i is rules[rule_of[i]], or NO_RULE */
	enum cst_insp_action smuggling_action;
	bool smuggling_on;
	uint32_t max_hidden;
	struct cst_host_list allow;	/* hosts markdown may point to (exfil rules) */
	size_t stream_window, stream_max_hold;	/* streamed text (stream.h) */
	bool need_view;			/* smuggling is on or a rule matches the canonical view */
	const struct cst_classify_model *clf;	/* the injection classifier, or NULL (off) */
	double clf_threshold[2];	/* by enum cst_insp_src */
	enum cst_insp_action clf_action;
};

struct cst_insp_policy {
	struct direction dir[2];
	struct cst_patset *ps;		/* every distinct pattern of both directions; NULL if none */
	size_t n_pats;
	bool fail_closed;
	unsigned char token_key[32];
	char **owned;			/* strings the policy allocated (denied-word regexes) */
	size_t n_owned;
	struct cst_classify_model *models[3];	/* classifier weights: [0] the built-in ones
						 * (loaded once), [1 + dir] a direction's file */
	uint64_t serial;		/* unique among the policies of the process */
	const char *base_dir;		/* while loading: relative file names start here */
	struct cst_allowlist_set **sets;	/* the gitleaks files' allowlists, one set per
						 * direction that names files */
	size_t n_sets;
	bool defer_allowlists;		/* keep what allowlists allow (cst_insp_policy_secrets) */
	struct note { char *text; bool warn; } *notes;
	size_t n_notes;
	/* while loading: the gitleaks files read so far, each read once */
	struct cst_gitleaks_config **gl;
	char **gl_path;
	size_t n_gl;
};

/* A policy's serial number: never 0, never reused. */
static uint64_t
next_serial(void)
{
	static uint64_t last;

	return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

uint64_t
cst_insp_policy_serial(const struct cst_insp_policy *p)
{
	return p->serial;
}

struct cst_insp_ctx {
	const struct cst_insp_policy *p;
	struct cst_patscratch *scratch;
	struct cst_view view;
	struct cst_view spaced;		/* the view with invisible characters as spaces */
	struct cst_dec *dec;
	struct cst_insp_finding *f;
	size_t n_f;
	bool overflow;
	const char *raw;		/* the text scanned */
	char *out;			/* rewritten text */
	size_t out_cap;
	/* during a scan */
	const struct direction *d;
	struct cst_patscratch *cur;	/* d's scratch */
	const char *text;		/* the text being matched (raw, canonical or decoded) */
	size_t text_len;
	const char *view_name;		/* its name in findings: "raw", "canonical", a chain */
	const struct cst_view *vw;	/* the canonical view being matched (view or spaced) */
	const struct cst_dec_seg *seg;	/* the decoded segment being matched, or NULL */
	struct cst_view segview;	/* the canonical view of a decoded segment */
	const struct cst_view *segvw;	/* the view of seg being matched (segview or spaced),
					 * or NULL: seg's own bytes */
	enum cst_insp_src src;		/* where the text being scanned comes from */
	bool complete;			/* no matcher limit hit so far */
	const char *why;		/* else the first limit hit (cst_insp_result.incomplete) */
	size_t kw_rule;			/* the rule whose keywords were last looked for in text */
	bool kw_found;
	struct cst_allowlist_scratch *als;	/* NULL when the policy has no allowlists */
};

static const char *const cat_names[] = { "pii", "secret", "injection", "denied", "smuggling",
	"exfil", "leak" };
static const char *const action_names[] = { "log", "neutralize", "mask", "tokenize", "redact",
	"remove", "block" };

const char *
cst_insp_cat_name(enum cst_insp_cat c)
{
	return (unsigned)c < CST_INSP_N_CAT ? cat_names[c] : "?";
}

const char *
cst_insp_action_name(enum cst_insp_action a)
{
	return (unsigned)a <= CST_INSP_BLOCK ? action_names[a] : "?";
}

bool
cst_insp_action_parse(const char *s, enum cst_insp_action *out)
{
	size_t i;

	for (i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (strcmp(s, action_names[i]) == 0) {
			*out = (enum cst_insp_action)i;
			return true;
		}
	return false;
}

/* ---- policy ---- */

/* Defaults per direction and category: what a gateway should do without configuration. */
static enum cst_insp_action
default_action(enum cst_insp_dir d, enum cst_insp_cat c)
{
	switch (c) {
	case CST_INSP_PII:
		return d == CST_INSP_INPUT ? CST_INSP_LOG : CST_INSP_REDACT;
	case CST_INSP_SECRET:
		return CST_INSP_REDACT;
	case CST_INSP_INJECTION:
		return d == CST_INSP_INPUT ? CST_INSP_BLOCK : CST_INSP_LOG;
	case CST_INSP_DENIED:
	case CST_INSP_LEAK:
		return CST_INSP_BLOCK;
	case CST_INSP_EXFIL:
		return CST_INSP_NEUTRALIZE;
	default:
		return d == CST_INSP_INPUT ? CST_INSP_BLOCK : CST_INSP_LOG;
	}
}

/* Reads an optional "action" member of o into *a. */
static int
read_action(const json_t *o, const char *where, enum cst_insp_action *a, char *err,
    size_t err_len)
{
	const json_t *v = json_object_get(o, "action");

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || !cst_insp_action_parse(json_string_value(v), a))
		return cst_einval(err, err_len, "%s.action: expected log, neutralize, mask, "
		    "tokenize, "
		    "redact, remove or block", where);
	return 0;
}

/* Reads an optional "min_confidence" (0..1) member of o into *mc (per mille). */
static int
read_confidence(const json_t *o, const char *where, uint16_t *mc, char *err, size_t err_len)
{
	const json_t *v = json_object_get(o, "min_confidence");

	if (v == NULL)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
		return cst_einval(err, err_len, "%s.min_confidence: expected a number from 0 to 1",
		    where);
	*mc = (uint16_t)lround(json_number_value(v) * 1000);
	return 0;
}

static int
check_members(const json_t *o, const char *where, const char *const *known, char *err,
    size_t err_len)
{
	const char *k;
	const json_t *v;

	if (o != NULL && !json_is_object(o))
		return cst_einval(err, err_len, "%s: expected a mapping", where);
	json_object_foreach((json_t *)o, k, v) {
		size_t i;

		for (i = 0; known[i] != NULL && strcmp(known[i], k) != 0; i++)
			;
		if (known[i] == NULL)
			return cst_einval(err, err_len, "%s: unknown member \"%s\"", where, k);
	}
	return 0;
}

static int
add_rule(struct direction *d, const struct cst_insp_rule *r, enum cst_insp_action a,
    uint16_t mc)
{
	struct prule *g = cst_reallocarray(d->rules, d->n + 1, sizeof(*g));

	if (g == NULL)
		return CST_ENOMEM;
	d->rules = g;
	memset(&g[d->n], 0, sizeof(g[d->n]));
	g[d->n].r = *r;
	g[d->n].validate = r->cat == CST_INSP_PII ? cst_validate_find(r->entity) : NULL;
	g[d->n].action = a;
	g[d->n].min_confidence = mc;
	d->n++;
	return 0;
}

/* The PII rules with per-entity settings. */
static int
load_pii(struct direction *d, enum cst_insp_dir dir, const json_t *o, char *err,
    size_t err_len)
{
	static const char *const known[] = { "action", "min_confidence", "entities", NULL };
	static const char *const eknown[] = { "enabled", "action", "min_confidence", NULL };
	const struct cst_insp_rule *rules;
	size_t n, i;
	enum cst_insp_action a = default_action(dir, CST_INSP_PII);
	uint16_t mc = DEFAULT_MIN_CONFIDENCE;
	const json_t *ents = json_object_get(o, "entities"), *e;
	const char *k;
	int r;

	rules = cst_insp_builtin_rules(CST_INSP_PII, &n);
	if ((r = check_members(o, "pii", known, err, err_len)) != 0 ||
	    (r = read_action(o, "pii", &a, err, err_len)) != 0 ||
	    (r = read_confidence(o, "pii", &mc, err, err_len)) != 0)
		return r;
	if (ents != NULL && !json_is_object(ents))
		return cst_einval(err, err_len, "pii.entities: expected a mapping");
	json_object_foreach((json_t *)ents, k, e) {
		for (i = 0; i < n && strcmp(rules[i].entity, k) != 0; i++)
			;
		if (i == n)
			return cst_einval(err, err_len, "pii.entities: unknown entity \"%s\"", k);
		if ((r = check_members(e, k, eknown, err, err_len)) != 0)
			return r;
		if (json_object_get(e, "enabled") != NULL &&
		    !json_is_boolean(json_object_get(e, "enabled")))
			return cst_einval(err, err_len, "%s.enabled: expected true or false", k);
	}
	for (i = 0; i < n; i++) {
		const json_t *eo = json_object_get(ents, rules[i].entity);
		const json_t *en = json_object_get(eo, "enabled");
		enum cst_insp_action ea = a;
		uint16_t emc = mc;

		if (en != NULL ? !json_is_true(en) : (rules[i].flags & CST_RULE_OFF) != 0)
			continue;
		if ((r = read_action(eo, rules[i].entity, &ea, err, err_len)) != 0 ||
		    (r = read_confidence(eo, rules[i].entity, &emc, err, err_len)) != 0 ||
		    (r = add_rule(d, &rules[i], ea, emc)) != 0)
			return r;
	}
	return 0;
}

/* Secret or injection rules: one action for the category (or "enabled": false); with
 * builtin false (secrets: "builtin": false), none of the built-in rules. */
static int
load_category(struct direction *d, enum cst_insp_dir dir, enum cst_insp_cat cat,
    const json_t *o, const char *where, bool builtin, char *err, size_t err_len)
{
	static const char *const known[] = { "enabled", "action", "min_confidence", "builtin",
		"gitleaks", NULL };
	static const char *const iknown[] = { "enabled", "action", "min_confidence",
		"classifier", NULL };
	const struct cst_insp_rule *rules;
	enum cst_insp_action a = default_action(dir, cat);
	uint16_t mc = DEFAULT_MIN_CONFIDENCE;
	size_t n, i;
	int r;

	if ((r = check_members(o, where, cat == CST_INSP_INJECTION ? iknown : known, err,
	    err_len)) != 0 ||
	    (r = read_action(o, where, &a, err, err_len)) != 0 ||
	    (r = read_confidence(o, where, &mc, err, err_len)) != 0)
		return r;
	if (json_is_false(json_object_get(o, "enabled")))
		return 0;
	if (cat == CST_INSP_INJECTION)
		d->clf_action = a;
	rules = cst_insp_builtin_rules(cat, &n);
	for (i = 0; builtin && i < n; i++)
		if ((r = add_rule(d, &rules[i], a, mc)) != 0)
			return r;
	return 0;
}

static int
own(struct cst_insp_policy *p, char *s)
{
	char **g;

	if (s == NULL || (g = cst_reallocarray(p->owned, p->n_owned + 1, sizeof(*g))) == NULL) {
		cst_free(s);
		return CST_ENOMEM;
	}
	p->owned = g;
	p->owned[p->n_owned++] = s;
	return 0;
}

/* A denied word or phrase as a case-insensitive regex on word boundaries. */
static char *
literal_regex(const char *w)
{
	static const char pre[] = "(?<!\\w)", post[] = "(?!\\w)", space[] = "\\s+";
	size_t n = strlen(w), i, k;
	char *re = cst_malloc(4 * n + sizeof(pre) + sizeof(post));

	if (re == NULL)
		return NULL;
	memcpy(re, pre, sizeof(pre) - 1);
	k = sizeof(pre) - 1;
	for (i = 0; i < n; i++) {
		if (w[i] == ' ') {
			memcpy(re + k, space, sizeof(space) - 1);
			k += sizeof(space) - 1;
			continue;
		}
		if (strchr("\\^$.|?*+()[]{}/-#", w[i]) != NULL)
			re[k++] = '\\';
		re[k++] = w[i];
	}
	memcpy(re + k, post, sizeof(post));
	return re;
}

/*
 * Adds the rule for the literal w (a denied word or a canary; rule's other members set): its
 * regex as written and, when the canonical view folds w (non-ASCII capitals and accents,
 * full-width and compatibility forms, look-alikes, invisible characters), a second rule with
 * w folded, so that w matches text folded the same way in every view ("ÉCOLE" matches
 * "école", "ecole" and "ＥＣＯＬＥ"). 0, CST_ENOMEM, or CST_EINVAL when the folding tables
 * cannot be used.
 */
static int
add_literal(struct cst_insp_policy *p, struct direction *d, struct cst_insp_rule *rule,
    const char *w, enum cst_insp_action a)
{
	struct cst_view v;
	char *re, *fw;
	int r;

	if ((r = own(p, re = literal_regex(w))) != 0)
		return r;
	rule->regex = re;
	if ((r = add_rule(d, rule, a, 0)) != 0)
		return r;
	memset(&v, 0, sizeof(v));
	if ((r = cst_view_build(&v, w, strlen(w))) != 0)
		goto out;
	if (!v.differs || v.len == 0 || memchr(v.text, '\0', v.len) != NULL)
		goto out;
	if ((fw = cst_malloc(v.len + 1)) == NULL) {
		r = CST_ENOMEM;
		goto out;
	}
	memcpy(fw, v.text, v.len);
	fw[v.len] = '\0';
	re = literal_regex(fw);
	cst_free(fw);
	if (strcmp(re != NULL ? re : "", rule->regex) == 0) {
		cst_free(re);
		goto out;
	}
	if ((r = own(p, re)) != 0)
		goto out;
	rule->regex = re;
	r = add_rule(d, rule, a, 0);
out:
	cst_view_free(&v);
	return r;
}

static int
load_denied(struct cst_insp_policy *p, struct direction *d, enum cst_insp_dir dir,
    const json_t *o, char *err, size_t err_len)
{
	static const char *const known[] = { "action", "words", "regexes", NULL };
	static const char *const lists[] = { "words", "regexes" };
	enum cst_insp_action a = default_action(dir, CST_INSP_DENIED);
	size_t li, i;
	int r;

	if ((r = check_members(o, "denied", known, err, err_len)) != 0 ||
	    (r = read_action(o, "denied", &a, err, err_len)) != 0)
		return r;
	for (li = 0; li < 2; li++) {
		const json_t *arr = json_object_get(o, lists[li]), *v;

		if (arr != NULL && (!json_is_array(arr) || json_array_size(arr) > MAX_DENIED))
			return cst_einval(err, err_len, "denied.%s: expected a list of at most "
			    "4096 "
			    "strings", lists[li]);
		json_array_foreach((json_t *)arr, i, v) {
			struct cst_insp_rule rule = { "denied.word", CST_INSP_DENIED, "DENIED_TERM",
				NULL, CST_PAT_CASELESS, 1000, NULL, NULL, 0, 0,
				CST_RULE_RAW | CST_RULE_CANONICAL, NULL };
			char *re;

			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > 1024 || memchr(json_string_value(v), '\0',
			    json_string_length(v)) != NULL)
				return cst_einval(err, err_len, "denied.%s: each entry must be a "
				    "string of "
				    "1 to 1024 bytes without NUL", lists[li]);
			if (li == 0) {
				r = add_literal(p, d, &rule, json_string_value(v), a);
				if (r == CST_EINVAL)
					return cst_einval(err, err_len, "denied.words: the text "
					    "folding tables cannot be used");
				if (r != 0)
					return r;
				continue;
			}
			if ((r = own(p, re = cst_strdup(json_string_value(v)))) != 0)
				return r;
			rule.regex = re;
			rule.id = "denied.regex";
			if ((r = add_rule(d, &rule, a, 0)) != 0)
				return r;
		}
	}
	return 0;
}

/* Reads an optional threshold member (0..1) of o into *t. */
static int
read_threshold(const json_t *o, const char *name, double *t, char *err, size_t err_len)
{
	const json_t *v = json_object_get(o, name);

	if (v == NULL)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
		return cst_einval(err, err_len, "injection.classifier.%s: expected a number from "
		    "0 to 1",
		    name);
	*t = json_number_value(v);
	return 0;
}

/*
 * The injection classifier of a direction: on by default for input, off for output (answers
 * are not what it was trained on); the built-in weights unless "model" names a file. Off as
 * well when the injection category is.
 */
static int
load_classifier(struct cst_insp_policy *p, struct direction *d, enum cst_insp_dir dir,
    const json_t *inj, char *err, size_t err_len)
{
	static const char *const known[] = { "enabled", "threshold", "indirect_threshold",
		"model", NULL };
	const json_t *o = json_object_get(inj, "classifier"), *en, *mf;
	char merr[256];
	int r;

	if ((r = check_members(o, "injection.classifier", known, err, err_len)) != 0)
		return r;
	en = json_object_get(o, "enabled");
	if (en != NULL && !json_is_boolean(en))
		return cst_einval(err, err_len, "injection.classifier.enabled: expected true or "
		    "false");
	mf = json_object_get(o, "model");
	if (mf != NULL && (!json_is_string(mf) || json_string_length(mf) == 0))
		return cst_einval(err, err_len, "injection.classifier.model: expected a file name");
	if (json_is_false(json_object_get(inj, "enabled")) ||
	    (en != NULL ? !json_is_true(en) : dir != CST_INSP_INPUT))
		return 0;
	if (mf != NULL) {
		const char *name = json_string_value(mf);
		char path[4096];

		if (name[0] != '/' && p->base_dir != NULL &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", p->base_dir, name) < sizeof(path))
			name = path;
		r = cst_classify_model_load(name, &p->models[1 + dir], merr, sizeof(merr));
	}
	else if (p->models[0] == NULL)
		r = cst_classify_model_builtin(&p->models[0], merr, sizeof(merr));
	if (r == CST_EINVAL || r == CST_ENOENT || r == CST_EIO || r == CST_ELIMIT)
		return cst_einval(err, err_len, "injection.classifier: %s", merr);
	if (r != 0)
		return r;
	d->clf = p->models[mf != NULL ? 1 + dir : 0];
	d->clf_threshold[CST_INSP_SRC_DIRECT] = cst_classify_default_threshold(d->clf,
	    CST_CLASSIFY_DIRECT);
	d->clf_threshold[CST_INSP_SRC_INDIRECT] = cst_classify_default_threshold(d->clf,
	    CST_CLASSIFY_INDIRECT);
	if ((r = read_threshold(o, "threshold", &d->clf_threshold[CST_INSP_SRC_DIRECT], err,
	    err_len)) != 0 || (r = read_threshold(o, "indirect_threshold",
	    &d->clf_threshold[CST_INSP_SRC_INDIRECT], err, err_len)) != 0)
		return r;
	return 0;
}

/* Canary strings: literal terms whose appearance means the system prompt leaked. */
static int
load_canaries(struct cst_insp_policy *p, struct direction *d, enum cst_insp_dir dir,
    const json_t *o, char *err, size_t err_len)
{
	static const char *const known[] = { "action", "strings", NULL };
	enum cst_insp_action a = default_action(dir, CST_INSP_LEAK);
	const json_t *arr = json_object_get(o, "strings"), *v;
	size_t i;
	int r;

	if ((r = check_members(o, "canaries", known, err, err_len)) != 0 ||
	    (r = read_action(o, "canaries", &a, err, err_len)) != 0)
		return r;
	if (arr != NULL && (!json_is_array(arr) || json_array_size(arr) > MAX_DENIED))
		return cst_einval(err, err_len, "canaries.strings: expected a list of at most "
		    "4096 strings");
	json_array_foreach((json_t *)arr, i, v) {
		struct cst_insp_rule rule = { "leak.canary", CST_INSP_LEAK, "CANARY", NULL,
			CST_PAT_CASELESS, 1000, NULL, NULL, 0, 0, CST_RULE_RAW | CST_RULE_CANONICAL,
			NULL };

		if (!json_is_string(v) || json_string_length(v) < 8 || json_string_length(v) > 256 ||
		    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
			return cst_einval(err, err_len, "canaries.strings: each entry must be a "
			    "string of 8 "
			    "to 256 bytes without NUL");
		r = add_literal(p, d, &rule, json_string_value(v), a);
		if (r == CST_EINVAL)
			return cst_einval(err, err_len, "canaries.strings: the text folding tables "
			    "cannot be used");
		if (r != 0)
			return r;
	}
	return 0;
}

/* Output sanitisation: the exfil rules, their action and the hosts markdown may point to. */
static int
load_sanitize(struct cst_insp_policy *p, struct direction *d, enum cst_insp_dir dir,
    const json_t *o, char *err, size_t err_len)
{
	static const char *const known[] = { "enabled", "action", "allow_hosts", NULL };
	const json_t *en = json_object_get(o, "enabled"), *arr = json_object_get(o, "allow_hosts");
	const json_t *v;
	enum cst_insp_action a = default_action(dir, CST_INSP_EXFIL);
	const struct cst_insp_rule *rules;
	size_t n, i;
	int r;

	if ((r = check_members(o, "sanitize", known, err, err_len)) != 0 ||
	    (r = read_action(o, "sanitize", &a, err, err_len)) != 0)
		return r;
	if (en != NULL && !json_is_boolean(en))
		return cst_einval(err, err_len, "sanitize.enabled: expected true or false");
	if (arr != NULL && (!json_is_array(arr) || json_array_size(arr) > MAX_DENIED))
		return cst_einval(err, err_len, "sanitize.allow_hosts: expected a list of at "
		    "most 4096 "
		    "host names");
	if (!(en != NULL ? json_is_true(en) : dir == CST_INSP_OUTPUT))
		return 0;
	if ((d->allow.hosts = cst_calloc(json_array_size(arr) + 1, sizeof(char *))) == NULL)
		return CST_ENOMEM;
	json_array_foreach((json_t *)arr, i, v) {
		const char *h = json_string_value(v);
		size_t hn = h ? strlen(h) : 0, k;
		char *low;

		while (hn > 0 && h[hn - 1] == '.')
			hn--;
		if (hn == 0 || hn > 253 || strspn(h, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_*") < hn ||
		    (strchr(h, '*') != NULL && (h[0] != '*' || h[1] != '.' || strchr(h + 1, '*'))))
			return cst_einval(err, err_len, "sanitize.allow_hosts[%zu]: expected a "
			    "host name "
			    "such as example.com or *.example.com", i);
		if ((low = cst_malloc(hn + 1)) == NULL)
			return CST_ENOMEM;
		for (k = 0; k < hn; k++)
			low[k] = (char)tolower((unsigned char)h[k]);
		low[hn] = '\0';
		if ((r = own(p, low)) != 0)
			return r;
		d->allow.hosts[d->allow.n++] = low;
	}
	rules = cst_insp_builtin_rules(CST_INSP_EXFIL, &n);
	for (i = 0; i < n; i++)
		if ((r = add_rule(d, &rules[i], a, 0)) != 0)
			return r;
	return 0;
}

/* Reads an optional count member of o, in [lo, hi], into *out. */
static int
read_count(const json_t *o, const char *where, const char *key, size_t lo, size_t hi,
    size_t *out, char *err, size_t err_len)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
	    json_integer_value(v) > (json_int_t)hi)
		return cst_einval(err, err_len, "%s.%s: expected a count from %zu to "
		    "%zu", where, key, lo,
		    hi);
	*out = (size_t)json_integer_value(v);
	return 0;
}

/* Adds a note (formatted) to the policy. */
static int __attribute__((format(printf, 3, 4)))
add_note(struct cst_insp_policy *p, bool warn, const char *fmt, ...)
{
	struct note *g;
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if ((g = cst_reallocarray(p->notes, p->n_notes + 1, sizeof(*g))) == NULL)
		return CST_ENOMEM;
	p->notes = g;
	if ((g[p->n_notes].text = cst_strdup(line)) == NULL)
		return CST_ENOMEM;
	g[p->n_notes++].warn = warn;
	return 0;
}

size_t
cst_insp_policy_n_notes(const struct cst_insp_policy *p)
{
	return p->n_notes;
}

const char *
cst_insp_policy_note(const struct cst_insp_policy *p, size_t i, bool *warn)
{
	if (i >= p->n_notes)
		return NULL;
	if (warn != NULL)
		*warn = p->notes[i].warn;
	return p->notes[i].text;
}

static int add_gitleaks_rule(struct cst_insp_policy *p, struct direction *d,
    const struct cst_gitleaks_rule *g, enum cst_insp_action a, uint16_t mc, char *err,
    size_t err_len);

/*
 * Adds the accepted rules of the gitleaks files gl[0..n_gl) to d (action a, minimum
 * confidence mc; names[k] names file k in errors, NULL: none), then gives every secret rule
 * of d the allowlists of those files that apply to it.
 */
static int
add_gitleaks(struct cst_insp_policy *p, struct direction *d,
    const struct cst_gitleaks_config *const *gl, const char *const *names, size_t n_gl,
    enum cst_insp_action a, uint16_t mc, char *err, size_t err_len)
{
	struct cst_allowlist_set *set, **g;
	size_t first = d->n, k, i, j;
	int r;

	for (k = 0; k < n_gl; k++)
		for (i = 0; i < gl[k]->n_rules; i++)
			if ((r = add_gitleaks_rule(p, d, &gl[k]->rules[i], a, mc, err,
			    err_len)) != 0) {
				if (r == CST_EINVAL && names != NULL) {
					char sub[300];

					snprintf(sub, sizeof(sub), "%s", err);
					snprintf(err, err_len, "%s: %s", names[k], sub);
				}
				return r;
			}
	if (n_gl == 0)
		return 0;
	if ((g = cst_reallocarray(p->sets, p->n_sets + 1, sizeof(*g))) == NULL)
		return CST_ENOMEM;
	p->sets = g;
	if ((r = cst_allowlist_set_new(gl, n_gl, &set)) != 0)
		return r;
	p->sets[p->n_sets++] = set;
	for (j = 0, k = 0, i = 0; j < d->n; j++) {
		struct prule *pr = &d->rules[j];
		const struct cst_gitleaks_rule *gr = NULL;

		if (j >= first) {
			while (i == gl[k]->n_rules) {
				k++;
				i = 0;
			}
			gr = &gl[k]->rules[i++];
		}
		if (pr->r.cat != CST_INSP_SECRET)
			continue;
		if ((r = cst_allowlist_set_for(set, gr, pr->r.id, &pr->al, &pr->n_al, err,
		    err_len)) != 0) {
			if (r == CST_ELIMIT && gr != NULL && names != NULL) {
				char sub[300];

				snprintf(sub, sizeof(sub), "%s", err);
				snprintf(err, err_len, "%s: %s", names[k], sub);
			}
			return r == CST_ELIMIT ? CST_EINVAL : r;
		}
	}
	return 0;
}

/*
 * Reads gitleaks file name (relative to the policy's directory) once per policy: *out is
 * borrowed from p. Its rule count and refusals become notes. 0; CST_EINVAL with err naming
 * the file and the problem; CST_ENOMEM.
 */
static int
read_gitleaks(struct cst_insp_policy *p, const char *where, const char *name,
    struct cst_gitleaks_config **out, const char **path_out, char *err, size_t err_len)
{
	struct cst_gitleaks_config *c = NULL, **gv;
	char path[4096], msg[512], **pv;
	size_t i;
	int r;

	if (name[0] != '/' && p->base_dir != NULL) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", p->base_dir, name) >= sizeof(path))
			return cst_einval(err, err_len, "%s.secrets.gitleaks: %.100s: path too long",
			    where, name);
	} else {
		snprintf(path, sizeof(path), "%s", name);
	}
	for (i = 0; i < p->n_gl; i++)
		if (strcmp(p->gl_path[i], path) == 0) {
			*out = p->gl[i];
			*path_out = p->gl_path[i];
			return 0;
		}
	if ((gv = cst_reallocarray(p->gl, p->n_gl + 1, sizeof(*gv))) == NULL)
		return CST_ENOMEM;
	p->gl = gv;
	if ((pv = cst_reallocarray(p->gl_path, p->n_gl + 1, sizeof(*pv))) == NULL)
		return CST_ENOMEM;
	p->gl_path = pv;
	if ((r = cst_gitleaks_load_file(path, &c, msg, sizeof(msg))) != 0)
		return r == CST_ENOMEM ? r : cst_einval(err, err_len, "%s.secrets.gitleaks: %s",
		    where, msg);
	if ((pv[p->n_gl] = cst_strdup(path)) == NULL) {
		cst_gitleaks_free(c);
		return CST_ENOMEM;
	}
	gv[p->n_gl++] = c;
	if ((r = add_note(p, false, "%s: %zu of %zu gitleaks rules loaded, %zu refused", path,
	    c->n_rules, c->n_rules + c->n_rejected - (c->n_rejected > 0 &&
	    strcmp(c->rejected[0].id, "[extend]") == 0), c->n_rejected)) != 0)
		return r;
	for (i = 0; i < c->n_rejected; i++)
		if ((r = add_note(p, true, "%s: rule %s not used: %s", path, c->rejected[i].id,
		    c->rejected[i].reason)) != 0)
			return r;
	*out = c;
	*path_out = pv[p->n_gl - 1];
	return 0;
}

/* The secret rules of a direction: built-in ones (unless "builtin": false) and the rules of
 * the gitleaks files "gitleaks" names, with their allowlists. */
static int
load_secrets(struct cst_insp_policy *p, struct direction *d, enum cst_insp_dir dir,
    const json_t *o, char *err, size_t err_len)
{
	const struct cst_gitleaks_config *gl[CST_ALLOWLIST_MAX];
	const char *names[CST_ALLOWLIST_MAX];
	const json_t *files = json_object_get(o, "gitleaks"), *bi = json_object_get(o, "builtin");
	enum cst_insp_action a = default_action(dir, CST_INSP_SECRET);
	const char *where = dir == CST_INSP_INPUT ? "input" : "output";
	uint16_t mc = DEFAULT_MIN_CONFIDENCE;
	size_t n = 0, i;
	int r;

	if (bi != NULL && !json_is_boolean(bi))
		return cst_einval(err, err_len, "secrets.builtin: expected true or false");
	if (files != NULL && !json_is_string(files) && (!json_is_array(files) ||
	    json_array_size(files) == 0 || json_array_size(files) > CST_ALLOWLIST_MAX))
		return cst_einval(err, err_len, "secrets.gitleaks: expected a file name or a list "
		    "of 1 to %d file names", CST_ALLOWLIST_MAX);
	for (i = 0; json_is_array(files) && i < json_array_size(files); i++)
		if (!json_is_string(json_array_get(files, i)) ||
		    json_string_length(json_array_get(files, i)) == 0)
			return cst_einval(err, err_len, "secrets.gitleaks[%zu]: expected a file "
			    "name", i);
	if (json_is_string(files) && json_string_length(files) == 0)
		return cst_einval(err, err_len, "secrets.gitleaks: expected a file name");
	if ((r = load_category(d, dir, CST_INSP_SECRET, o, "secrets", !json_is_false(bi), err,
	    err_len)) != 0 || json_is_false(json_object_get(o, "enabled")) || files == NULL)
		return r;
	if ((r = read_action(o, "secrets", &a, err, err_len)) != 0 ||
	    (r = read_confidence(o, "secrets", &mc, err, err_len)) != 0)
		return r;
	for (i = 0; i < (json_is_string(files) ? 1 : json_array_size(files)); i++) {
		const char *name = json_string_value(json_is_string(files) ? files :
		    json_array_get(files, i));
		struct cst_gitleaks_config *c = NULL;

		if ((r = read_gitleaks(p, where, name, &c, &names[n], err, err_len)) != 0)
			return r;
		gl[n++] = c;
	}
	return add_gitleaks(p, d, gl, names, n, a, mc, err, err_len);
}


static int
load_direction(struct cst_insp_policy *p, enum cst_insp_dir dir, const json_t *o,
    const char *where, char *err, size_t err_len)
{
	static const char *const known[] = { "pii", "secrets", "injection", "smuggling", "denied",
		"canaries", "sanitize", "stream", NULL };
	static const char *const sknown[] = { "enabled", "action", "max_hidden", NULL };
	static const char *const stknown[] = { "window", "max_hold", NULL };
	const json_t *st = json_object_get(o, "stream");
	struct direction *d = &p->dir[dir];
	const json_t *sm = json_object_get(o, "smuggling"), *mh;
	size_t i;
	int r;

	d->smuggling_on = true;
	d->smuggling_action = default_action(dir, CST_INSP_SMUGGLING);
	d->max_hidden = DEFAULT_MAX_HIDDEN;
	d->stream_window = DEFAULT_STREAM_WINDOW;
	d->stream_max_hold = DEFAULT_STREAM_MAX_HOLD;
	if ((r = check_members(o, where, known, err, err_len)) != 0 ||
	    (r = load_pii(d, dir, json_object_get(o, "pii"), err, err_len)) != 0 ||
	    (r = load_secrets(p, d, dir, json_object_get(o, "secrets"), err, err_len)) != 0 ||
	    (r = load_category(d, dir, CST_INSP_INJECTION, json_object_get(o, "injection"),
	    "injection", true, err, err_len)) != 0 ||
	    (r = load_classifier(p, d, dir, json_object_get(o, "injection"), err, err_len)) != 0 ||
	    (r = load_denied(p, d, dir, json_object_get(o, "denied"), err, err_len)) != 0 ||
	    (r = load_canaries(p, d, dir, json_object_get(o, "canaries"), err, err_len)) != 0 ||
	    (r = load_sanitize(p, d, dir, json_object_get(o, "sanitize"), err, err_len)) != 0 ||
	    (r = check_members(st, "stream", stknown, err, err_len)) != 0 ||
	    (r = read_count(st, "stream", "window", 64, (size_t)1 << 20, &d->stream_window, err,
	    err_len)) != 0 ||
	    (r = read_count(st, "stream", "max_hold", 1024, (size_t)64 << 20, &d->stream_max_hold,
	    err, err_len)) != 0 ||
	    (r = check_members(sm, "smuggling", sknown, err, err_len)) != 0 ||
	    (r = read_action(sm, "smuggling", &d->smuggling_action, err, err_len)) != 0)
		return r;
	if (json_is_false(json_object_get(sm, "enabled")))
		d->smuggling_on = false;
	if ((mh = json_object_get(sm, "max_hidden")) != NULL) {
		if (!json_is_integer(mh) || json_integer_value(mh) < 0 ||
		    json_integer_value(mh) > 1000000)
			return cst_einval(err, err_len, "smuggling.max_hidden: expected a count");
		d->max_hidden = (uint32_t)json_integer_value(mh);
	}
	d->need_view = d->smuggling_on || d->clf != NULL;
	for (i = 0; i < d->n; i++)
		if (d->rules[i].r.flags & CST_RULE_CANONICAL)
			d->need_view = true;
	return 0;
}

/* Whether a rule's pattern is the same as pattern k. */
static bool
same_pattern(const struct cst_pattern *k, const struct cst_insp_rule *ru)
{
	return k->flags == ru->pat_flags && strcmp(k->regex, ru->regex) == 0 &&
	    (k->prefilter == NULL ? ru->prefilter == NULL : ru->prefilter != NULL &&
	    strcmp(k->prefilter, ru->prefilter) == 0);
}

/*
 * Compiles one pattern set for both directions (compiling takes most of a second): every
 * input rule is a pattern, and an output rule reuses an input rule's pattern when it has the
 * same regex, flags and prefilter; per direction, the map from pattern to rule.
 */
static int
compile_patterns(struct cst_insp_policy *p, char *err, size_t err_len)
{
	struct cst_pattern *pats;
	size_t cap = p->dir[0].n + p->dir[1].n, i, k;
	int d, r = 0;

	if (cap == 0)
		return 0;
	if ((pats = cst_calloc(cap, sizeof(*pats))) == NULL)
		return CST_ENOMEM;
	for (d = 0; d < 2; d++) {
		if ((p->dir[d].rule_of = cst_calloc(cap, sizeof(uint32_t))) == NULL) {
			cst_free(pats);
			return CST_ENOMEM;
		}
		for (k = 0; k < cap; k++)
			p->dir[d].rule_of[k] = NO_RULE;
	}
	for (d = 0; d < 2; d++) {
		struct direction *dir = &p->dir[d];

		for (i = 0; i < dir->n; i++) {
			const struct cst_insp_rule *ru = &dir->rules[i].r;

			k = p->n_pats;
			if (d == 1)
				for (k = 0; k < p->dir[0].n && (dir->rule_of[k] != NO_RULE ||
				    !same_pattern(&pats[k], ru)); k++)
					;
			if (d == 0 || k == p->dir[0].n) {
				k = p->n_pats++;
				pats[k].regex = ru->regex;
				pats[k].flags = ru->pat_flags;
				pats[k].prefilter = ru->prefilter;
			}
			dir->rule_of[k] = (uint32_t)i;
		}
	}
	{
		char perr[256];

		r = cst_patset_compile(pats, p->n_pats, &p->ps, perr, sizeof(perr));
		if (r == CST_EINVAL) {
			size_t idx = strtoul(perr + 8, NULL, 10);	/* "pattern N, ..." */

			d = idx < p->n_pats && p->dir[0].rule_of[idx] == NO_RULE;
			snprintf(err, err_len, "%s: rule %s does not compile: %s", d ? "output" :
			    "input", idx < p->n_pats && p->dir[d].rule_of[idx] != NO_RULE ?
			    p->dir[d].rules[p->dir[d].rule_of[idx]].r.id : "?", perr);
		}
	}
	cst_free(pats);
	return r;
}

/* Frees the gitleaks files read while loading (what the policy keeps is its own). */
static void
free_gitleaks(struct cst_insp_policy *p)
{
	size_t i;

	for (i = 0; i < p->n_gl; i++) {
		cst_gitleaks_free(p->gl[i]);
		cst_free(p->gl_path[i]);
	}
	cst_free(p->gl);
	cst_free(p->gl_path);
	p->gl = NULL;
	p->gl_path = NULL;
	p->n_gl = 0;
}

int
cst_insp_policy_new(const json_t *cfg, struct cst_insp_policy **out, char *err,
    size_t err_len)
{
	return cst_insp_policy_load(cfg, NULL, out, err, err_len);
}

int
cst_insp_policy_load(const json_t *cfg, const char *base_dir, struct cst_insp_policy **out,
    char *err, size_t err_len)
{
	static const char *const known[] = { "input", "output", "fail_closed", "tokenize_key",
		NULL };
	struct cst_insp_policy *p;
	const json_t *tk, *fc;
	int r;

	*out = NULL;
	if (err_len > 0)
		err[0] = '\0';
	if ((r = check_members(cfg, "policy", known, err, err_len)) != 0)
		return r;
	if ((p = cst_calloc(1, sizeof(*p))) == NULL)
		return CST_ENOMEM;
	p->fail_closed = true;
	p->serial = next_serial();
	p->base_dir = base_dir;
	if ((fc = json_object_get(cfg, "fail_closed")) != NULL) {
		if (!json_is_boolean(fc)) {
			r = cst_einval(err, err_len, "fail_closed: expected true or false");
			goto fail;
		}
		p->fail_closed = json_is_true(fc);
	}
	tk = json_object_get(cfg, "tokenize_key");
	if (tk != NULL) {
		const char *h = json_string_value(tk);
		size_t i;

		if (h == NULL || strlen(h) != 64 || strspn(h, "0123456789abcdefABCDEF") != 64) {
			r = cst_einval(err, err_len, "tokenize_key: expected 64 hex digits");
			goto fail;
		}
		for (i = 0; i < 32; i++)
			p->token_key[i] = (unsigned char)strtoul((char[]){ h[2 * i], h[2 * i + 1],
			    '\0' }, NULL, 16);
	} else if (RAND_bytes(p->token_key, sizeof(p->token_key)) != 1) {
		r = CST_ENOMEM;
		goto fail;
	}
	if ((r = load_direction(p, CST_INSP_INPUT, json_object_get(cfg, "input"), "input", err,
	    err_len)) != 0 || (r = load_direction(p, CST_INSP_OUTPUT,
	    json_object_get(cfg, "output"), "output", err, err_len)) != 0 ||
	    (r = compile_patterns(p, err, err_len)) != 0)
		goto fail;
	p->base_dir = NULL;
	free_gitleaks(p);
	*out = p;
	return 0;
fail:
	cst_insp_policy_free(p);
	return r;
}

/* Adds gitleaks rule g to direction d as a secret rule (strings owned by p). */
static int
add_gitleaks_rule(struct cst_insp_policy *p, struct direction *d,
    const struct cst_gitleaks_rule *g, enum cst_insp_action a, uint16_t mc, char *err,
    size_t err_len)
{
	struct cst_insp_rule rule = { NULL, CST_INSP_SECRET, "SECRET", NULL, 0, 800, NULL, NULL,
		0, 0, CST_RULE_RAW | CST_RULE_GITLEAKS, NULL };
	size_t i, kl = 0;
	char *kw;
	int r;

	if (g->secret_group > 255)
		return cst_einval(err, err_len, "gitleaks rule %s: secretGroup %d is over "
		    "255", g->id,
		    g->secret_group);
	rule.group = (uint8_t)g->secret_group;
	if (g->secret_group == 0) {
		/* the matcher's ovector past this pattern's groups is stale: try only its own */
		pcre2_code *code = cst_gitleaks_compile(g->regex.pcre2);
		uint32_t groups = 0;

		if (code == NULL)
			return CST_ENOMEM;
		pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
		pcre2_code_free(code);
		rule.flags |= CST_RULE_FIRST_GROUP;
		rule.group = (uint8_t)(groups > 255 ? 255 : groups);
	}
	if ((r = own(p, cst_strdup(g->id))) != 0)
		return r;
	rule.id = p->owned[p->n_owned - 1];
	if ((r = own(p, cst_strdup(g->regex.pcre2))) != 0)
		return r;
	rule.regex = p->owned[p->n_owned - 1];
	if (g->n_keywords > 0) {
		for (i = 0; i < g->n_keywords; i++)
			kl += strlen(g->keywords[i]) + 1;
		if ((r = own(p, kw = cst_malloc(kl))) != 0)
			return r;
		for (i = 0, kl = 0; i < g->n_keywords; i++) {
			size_t n = strlen(g->keywords[i]);

			memcpy(kw + kl, g->keywords[i], n);
			kl += n;
			kw[kl++] = i + 1 < g->n_keywords ? '|' : '\0';
		}
		rule.keywords = kw;
	}
	if ((r = add_rule(d, &rule, a, mc)) != 0)
		return r;
	d->rules[d->n - 1].gl_entropy = g->entropy;
	return 0;
}

int
cst_insp_policy_secrets(const struct cst_gitleaks_config *const *gl, size_t n_gl,
    bool builtin, struct cst_insp_policy **out, char *err, size_t err_len)
{
	struct cst_insp_policy *p;
	const struct cst_insp_rule *rules;
	size_t n, i, di;
	int r = 0;

	*out = NULL;
	if (err_len > 0)
		err[0] = '\0';
	if ((p = cst_calloc(1, sizeof(*p))) == NULL)
		return CST_ENOMEM;
	p->fail_closed = true;
	p->serial = next_serial();
	p->defer_allowlists = true;
	if (RAND_bytes(p->token_key, sizeof(p->token_key)) != 1) {
		r = CST_ENOMEM;
		goto fail;
	}
	rules = cst_insp_builtin_rules(CST_INSP_SECRET, &n);
	for (di = 0; di < 2 && r == 0; di++) {
		struct direction *d = &p->dir[di];

		for (i = 0; builtin && i < n && r == 0; i++)
			r = add_rule(d, &rules[i], CST_INSP_LOG, DEFAULT_MIN_CONFIDENCE);
		if (r == 0)
			r = add_gitleaks(p, d, gl, NULL, n_gl, CST_INSP_LOG,
			    DEFAULT_MIN_CONFIDENCE, err, err_len);
	}
	if (r == 0 && p->dir[CST_INSP_INPUT].n == 0)
		r = cst_einval(err, err_len, "no secret rules: the built-in ones are off and the "
		    "gitleaks files have none");
	if (r != 0 || (r = compile_patterns(p, err, err_len)) != 0)
		goto fail;
	*out = p;
	return 0;
fail:
	cst_insp_policy_free(p);
	return r;
}

void
cst_insp_policy_free(struct cst_insp_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	cst_patset_free(p->ps);
	for (i = 0; i < 2; i++) {
		cst_free(p->dir[i].rules);
		cst_free(p->dir[i].rule_of);
		cst_free(p->dir[i].allow.hosts);
	}
	for (i = 0; i < 3; i++)
		cst_classify_model_free(p->models[i]);
	for (i = 0; i < p->n_owned; i++)
		cst_free(p->owned[i]);
	cst_free(p->owned);
	for (i = 0; i < p->n_sets; i++)
		cst_allowlist_set_free(p->sets[i]);
	cst_free(p->sets);
	for (i = 0; i < p->n_notes; i++)
		cst_free(p->notes[i].text);
	cst_free(p->notes);
	free_gitleaks(p);
	cst_freezero(p, sizeof(*p));
}

size_t
cst_insp_policy_rules(const struct cst_insp_policy *p, enum cst_insp_dir d)
{
	return p->dir[d].n;
}

void
cst_insp_policy_stream(const struct cst_insp_policy *p, enum cst_insp_dir d,
    struct cst_insp_stream_conf *out)
{
	out->window = p->dir[d].stream_window;
	out->max_hold = p->dir[d].stream_max_hold;
	out->fail_closed = p->fail_closed;
}

int
cst_insp_ctx_new(const struct cst_insp_policy *p, struct cst_insp_ctx **out)
{
	struct cst_insp_ctx *c = cst_calloc(1, sizeof(*c));
	int r = 0;

	*out = NULL;
	if (c == NULL)
		return CST_ENOMEM;
	c->p = p;
	if (p->ps != NULL)
		r = cst_patscratch_new(p->ps, &c->scratch);
	if (r == 0 && (c->f = cst_calloc(CST_INSP_MAX_FINDINGS, sizeof(*c->f))) == NULL)
		r = CST_ENOMEM;
	if (r == 0)
		r = cst_view_init();
	if (r == 0)
		r = cst_dec_new(&c->dec);
	if (r == 0 && p->n_sets > 0)
		r = cst_allowlist_scratch_new(&c->als);
	if (r != 0) {
		cst_insp_ctx_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void
cst_insp_ctx_free(struct cst_insp_ctx *c)
{
	if (c == NULL)
		return;
	cst_patscratch_free(c->scratch);
	cst_view_free(&c->view);
	cst_view_free(&c->spaced);
	cst_view_free(&c->segview);
	cst_dec_free(c->dec);
	cst_allowlist_scratch_free(c->als);
	cst_free(c->f);
	cst_free(c->out);
	cst_free(c);
}

/* ---- confirmation and scoring ---- */

/* Shannon entropy of s[0..n) in bits per byte. */
static double
shannon(const char *s, size_t n)
{
	unsigned cnt[256] = { 0 };
	double h = 0;
	size_t i;

	for (i = 0; i < n; i++)
		cnt[(unsigned char)s[i]]++;
	for (i = 0; i < 256; i++)
		if (cnt[i] != 0) {
			double q = (double)cnt[i] / (double)n;

			h -= q * log2(q);
		}
	return h;
}

/* The same in hundredths of a bit per byte. */
static unsigned
entropy(const char *s, size_t n)
{
	return (unsigned)(shannon(s, n) * 100);
}

/* Whether s[0..n) contains w (ASCII case-insensitive). */
static bool
contains_ci(const char *s, size_t n, const char *w, size_t wn)
{
	size_t i;

	if (wn == 0 || wn > n)
		return false;
	for (i = 0; i + wn <= n; i++)
		if (strncasecmp(s + i, w, wn) == 0)
			return true;
	return false;
}

/* Whether one of the '|'-separated words occurs in s[0..n). */
static bool
any_word(const char *s, size_t n, const char *words)
{
	while (*words != '\0') {
		size_t wn = strcspn(words, "|");

		if (contains_ci(s, n, words, wn))
			return true;
		words += wn + (words[wn] == '|');
	}
	return false;
}

/* Whether a context word occurs in the CONTEXT_WORDS words before text[start]. */
static bool
has_context(const char *text, size_t start, const char *words)
{
	size_t i = start, seen = 0;

	while (i > 0 && seen < CONTEXT_WORDS) {
		size_t end;

		while (i > 0 && !isalnum((unsigned char)text[i - 1]) &&
		    (unsigned char)text[i - 1] < 0x80)
			i--;
		end = i;
		while (i > 0 && (isalnum((unsigned char)text[i - 1]) ||
		    (unsigned char)text[i - 1] >= 0x80 || text[i - 1] == '#'))
			i--;
		if (end == i)
			break;
		seen++;
		if (any_word(text + i, end - i, words))
			return true;
	}
	return false;
}

/*
 * Whether rule pr matches the text being matched: raw-marked rules the raw text, canonical-
 * marked ones the canonical view, and secret rules that view too when it removed invisible
 * characters (ASCII is copied unchanged there, so a key split by zero-width characters reads
 * whole; the finding's raw span takes them in); every rule a decoded blob or escape view (decoded bytes are
 * exact: a secret may be inside), and only phrase rules (injection, denied) a letter view.
 */
static bool
rule_applies(const struct cst_insp_ctx *c, const struct prule *pr)
{
	if (c->seg != NULL)	/* markup is judged as the renderer reads it: raw */
		return pr->r.cat != CST_INSP_EXFIL && (!c->seg->letters ||
		    pr->r.cat == CST_INSP_INJECTION || pr->r.cat == CST_INSP_DENIED);
	if (c->text != c->raw)
		return (pr->r.flags & CST_RULE_CANONICAL) != 0 ||
		    (pr->r.cat == CST_INSP_SECRET && !c->vw->hidden_space &&
		    cst_view_hidden(c->vw) > 0);
	return (pr->r.flags & CST_RULE_RAW) != 0;
}

/*
 * A match [a, b) whose value failed its checksum: the rule's search goes on from the next
 * word inside it (a valid number may start after the groups the match took first, "4005
 * 4111 1111 1111 1111"), or after it when it is one word.
 */
static void
retry_inside(struct cst_insp_ctx *c, size_t a, size_t b)
{
	size_t p;

	for (p = a + 1; p < b; p++)
		if (!isalnum((unsigned char)c->text[p - 1]) && isalnum((unsigned char)c->text[p])) {
			cst_patscratch_retry(c->cur, p);
			return;
		}
}

/* The segment bytes of [a, b) of the text being matched (a view of the segment, or it). */
static void
seg_bytes(const struct cst_insp_ctx *c, size_t a, size_t b, size_t *sa, size_t *sb)
{
	if (c->segvw != NULL) {
		cst_view_raw_span(c->segvw, a, b, sa, sb);
		return;
	}
	*sa = a;
	*sb = b;
}

static bool
judge_span(struct cst_insp_ctx *c, size_t idx, size_t a, size_t b)
{
	const struct prule *pr;
	struct cst_insp_finding *f;
	size_t va = a, vb = b, ra, rb, sa, sb;
	uint64_t al_regex = 0, al_stop = 0;
	unsigned conf;
	const char *vres = NULL;

	if (c->d->rule_of[idx] == NO_RULE)
		return false;	/* the other direction's pattern */
	pr = &c->d->rules[c->d->rule_of[idx]];
	conf = pr->r.base;
	if (!rule_applies(c, pr))
		return false;
	if (pr->r.flags & CST_RULE_GITLEAKS) {
		while (b > a && c->text[b - 1] == '\n')
			b--;
		while (a < b && c->text[a] == '\n')
			a++;
		va = a;
		vb = b;
	}
	if (pr->r.flags & CST_RULE_FIRST_GROUP) {
		unsigned g;

		for (g = 1; g <= pr->r.group; g++)
			if (cst_patscratch_group(c->cur, g, &va, &vb) && vb > va)
				break;
		if (g > pr->r.group) {
			va = a;
			vb = b;
		}
		if (va < a || vb > b) {		/* a group on a trimmed line break */
			va = va < a ? a : va;
			vb = vb > b ? b : vb;
		}
	} else if (pr->r.group > 0 && !cst_patscratch_group(c->cur, pr->r.group, &va, &vb)) {
		return true;
	}
	if (vb <= va)
		return true;
	/* copied text: matched where it was copied from. The whole match is judged, not the
	 * value: a key whose '=' or quotes alone were encoded matches only here */
	if (c->seg != NULL) {
		seg_bytes(c, a, b, &sa, &sb);
		if (!cst_dec_seg_changed(c->seg, sa, sb))
			return true;
	}
	if (pr->r.keywords != NULL) {
		/* a pattern's spans come together: its keywords are looked for once per text */
		if (c->kw_rule != idx) {
			c->kw_rule = idx;
			c->kw_found = any_word(c->text, c->text_len, pr->r.keywords);
		}
		if (!c->kw_found)
			return false;	/* no keyword anywhere: the rule does not apply */
	}
	if (pr->r.entropy != 0 && entropy(c->text + va, vb - va) < pr->r.entropy)
		return true;
	if (pr->gl_entropy > 0 && shannon(c->text + va, vb - va) <= pr->gl_entropy)
		return true;	/* gitleaks: the entropy must exceed the rule's */
	if (pr->validate != NULL) {
		enum cst_valid v = pr->validate(c->text + va, vb - va, NULL);

		if (v == CST_VALID_NO) {
			retry_inside(c, a, b);
			return true;
		}
		if (v == CST_VALID_YES)
			conf = 1000;
		vres = v == CST_VALID_YES ? "valid" : "unknown";
	} else if (strcmp(pr->r.entity, "GITHUB_TOKEN") == 0 && vb - va == 40) {
		if (!cst_insp_github_checksum(c->text + va, vb - va)) {
			retry_inside(c, a, b);
			return true;
		}
		conf = 1000;
		vres = "valid";
	} else if (strcmp(pr->r.entity, "PHONE_NUMBER") == 0 &&
	    !cst_insp_phone_digits(c->text + va, vb - va)) {
		return true;
	} else if (pr->r.flags & CST_RULE_URL) {
		uint16_t uc;

		if (!cst_sanitize_url_flagged(c->text + va, vb - va, &c->d->allow, &uc))
			return true;
		conf = uc;
	}
	if (conf < 1000 && pr->r.context != NULL && has_context(c->text, va, pr->r.context)) {
		conf += CONTEXT_BOOST;
		if (conf < CONTEXT_FLOOR)
			conf = CONTEXT_FLOOR;
		if (conf > 1000)
			conf = 1000;
	}
	if (conf < pr->min_confidence)
		return true;
	if (pr->n_al > 0) {
		struct cst_allowlist_subject sub = { c->text, c->text_len, a, b, va, vb };

		cst_allowlist_eval(pr->al, pr->n_al, &sub, c->als, &al_regex, &al_stop);
		if (!c->p->defer_allowlists && cst_allowlist_first(pr->al, pr->n_al, al_regex,
		    al_stop, NULL, NULL, c->als) >= 0)
			return true;	/* allowed (path and commit unknown) */
	}
	if (c->n_f == CST_INSP_MAX_FINDINGS) {
		c->overflow = true;
		return false;
	}
	if (c->seg != NULL) {
		seg_bytes(c, va, vb, &sa, &sb);
		cst_dec_seg_raw_span(c->seg, sa, sb, &ra, &rb);
	} else if (c->text != c->raw)
		cst_view_raw_span(c->vw, va, vb, &ra, &rb);
	else {
		ra = va;
		rb = vb;
	}
	f = &c->f[c->n_f++];
	f->rule = pr->r.id;
	f->cat = pr->r.cat;
	f->entity = pr->r.entity;
	f->confidence = (uint16_t)conf;
	f->start = ra;
	f->end = rb;
	f->view = c->view_name;
	f->validator = vres;
	f->action = pr->action;
	f->allow = pr->al;
	f->n_allow = (uint32_t)pr->n_al;
	f->allow_regex = al_regex;
	f->allow_stop = al_stop;
	return true;
}

/*
 * A rule's span: judged, and when it gives no finding (a checksum failed, too little
 * confidence, allowed, copied text) counted by the matcher as work, not as a value found, so
 * that many harmless candidates do not stop the rule (match.h).
 */
static bool
on_span(void *arg, size_t idx, size_t a, size_t b)
{
	struct cst_insp_ctx *c = arg;
	size_t n = c->n_f;
	bool go = judge_span(c, idx, a, b);

	if (c->n_f == n && !c->overflow)
		cst_patscratch_reject(c->cur);
	return go;
}

/* The scan is not complete; why (the first reason given is kept). */
static void
incomplete(struct cst_insp_ctx *c, const char *why)
{
	if (c->complete)
		c->why = why;
	c->complete = false;
}

/* Raw text first, then the canonical view, then decoded views: the first is kept. */
static int
view_rank(const char *v)
{
	return strcmp(v, "raw") == 0 ? 0 : strcmp(v, "canonical") == 0 ? 1 : 2;
}

static int
cmp_finding(const void *x, const void *y)
{
	const struct cst_insp_finding *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end > b->end ? -1 : 1;
	if (a->cat != b->cat)
		return a->cat < b->cat ? -1 : 1;
	if (a->confidence != b->confidence)
		return a->confidence > b->confidence ? -1 : 1;
	if (view_rank(a->view) != view_rank(b->view))
		return view_rank(a->view) < view_rank(b->view) ? -1 : 1;
	if (strcmp(a->rule, b->rule) != 0)
		return strcmp(a->rule, b->rule);
	return strcmp(a->view, b->view);
}

/*
 * Sorts the findings and keeps one per raw span and category: the most confident (the same
 * span found in both views, or claimed by several PII entities, is one finding).
 */
static void
dedupe(struct cst_insp_ctx *c)
{
	size_t i, k = 0;

	qsort(c->f, c->n_f, sizeof(*c->f), cmp_finding);
	for (i = 0; i < c->n_f; i++) {
		if (k > 0 && c->f[k - 1].start == c->f[i].start && c->f[k - 1].end == c->f[i].end &&
		    c->f[k - 1].cat == c->f[i].cat)
			continue;
		c->f[k++] = c->f[i];
	}
	c->n_f = k;
}

/* ---- rewriting ---- */

static int
out_put(struct cst_insp_ctx *c, size_t *k, const char *s, size_t n)
{
	if (*k + n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *g;

		while (cap < *k + n + 1)
			cap *= 2;
		if ((g = cst_reallocarray(c->out, cap, 1)) == NULL)
			return CST_ENOMEM;
		c->out = g;
		c->out_cap = cap;
	}
	memcpy(c->out + *k, s, n);
	*k += n;
	return 0;
}

struct put_arg {
	struct cst_insp_ctx *c;
	size_t *k;
};

static int
put_cb(void *arg, const char *s, size_t n)
{
	struct put_arg *pa = arg;

	return out_put(pa->c, pa->k, s, n);
}

/* The replacement of raw[a..b) for action act and entity ent. */
static int
replace(struct cst_insp_ctx *c, size_t *k, const char *raw, size_t a, size_t b,
    enum cst_insp_action act, const char *ent)
{
	char tmp[128];
	int r = 0;

	if (act == CST_INSP_REMOVE)
		return 0;
	if (act == CST_INSP_NEUTRALIZE) {
		struct put_arg pa = { c, k };

		return cst_sanitize_neutralize(raw + a, b - a, put_cb, &pa);
	}
	if (act == CST_INSP_REDACT) {
		snprintf(tmp, sizeof(tmp), "[REDACTED:%s]", ent);
		return out_put(c, k, tmp, strlen(tmp));
	}
	if (act == CST_INSP_TOKENIZE) {
		unsigned char mac[32];
		size_t i, n;

		if (cst_hmac_sha256(c->p->token_key, sizeof(c->p->token_key), raw + a, b - a,
		    mac) != 0)
			return CST_ENOMEM;
		n = (size_t)snprintf(tmp, sizeof(tmp), "[%s:tok_", ent);
		for (i = 0; i < 8; i++)
			n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%02x", mac[i]);
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "]");
		return out_put(c, k, tmp, n);
	}
	/* mask: every code point but the last four becomes '*' */
	{
		size_t cps = 0, i, seen = 0;

		for (i = a; i < b; i++)
			cps += ((unsigned char)raw[i] & 0xc0) != 0x80;
		for (i = a; i < b && r == 0; i++) {
			bool lead = ((unsigned char)raw[i] & 0xc0) != 0x80;

			if (lead)
				seen++;
			if (cps > 4 && seen <= cps - 4) {
				if (lead)
					r = out_put(c, k, "*", 1);
			} else {
				r = out_put(c, k, raw + i, 1);
			}
		}
	}
	return r;
}

int
cst_insp_redact_all(struct cst_insp_ctx *c, const char *raw, size_t len, const char **out,
    size_t *out_len)
{
	struct cst_insp_finding *f = NULL;
	size_t i;
	int r;

	if (c->n_f > 0 && (f = cst_calloc(c->n_f, sizeof(*f))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < c->n_f; i++) {
		f[i] = c->f[i];
		f[i].action = CST_INSP_REDACT;
	}
	r = cst_insp_rewrite(c, raw, len, f, c->n_f, out, out_len);
	cst_free(f);
	return r;
}

int
cst_insp_rewrite(struct cst_insp_ctx *c, const char *raw, size_t len,
    const struct cst_insp_finding *f, size_t n, const char **out, size_t *out_len)
{
	size_t i = 0, pos = 0, k = 0;
	int r;

	*out = raw;
	*out_len = len;
	while (i < n) {
		size_t a, b, j;
		const struct cst_insp_finding *best;

		if (f[i].action == CST_INSP_LOG || f[i].action == CST_INSP_BLOCK || f[i].start >= len) {
			i++;
			continue;
		}
		a = f[i].start;
		b = f[i].end;
		best = &f[i];
		for (j = i + 1; j < n && f[j].start < b; j++) {
			if (f[j].action == CST_INSP_LOG || f[j].action == CST_INSP_BLOCK)
				continue;
			if (f[j].end > b)
				b = f[j].end;
			if (f[j].action > best->action)
				best = &f[j];
		}
		if (a < pos)
			a = pos;
		if (b > len)
			b = len;
		if ((r = out_put(c, &k, raw + pos, a - pos)) != 0 ||
		    (r = replace(c, &k, raw, a, b, best->action, best->entity)) != 0)
			return r;
		pos = b;
		i = j;
	}
	if (k == 0 && pos == 0)
		return 0;
	if ((r = out_put(c, &k, raw + pos, len - pos)) != 0)
		return r;
	c->out[k] = '\0';
	*out = c->out;
	*out_len = k;
	return 0;
}

static int
match_text(struct cst_insp_ctx *c, const char *t, size_t n, const char *view,
    const struct cst_dec_seg *seg)
{
	struct cst_scan_counts counts;
	int r;

	c->text = t;
	c->text_len = n;
	c->view_name = view;
	c->seg = seg;
	c->kw_rule = SIZE_MAX;
	r = cst_patset_scan(c->p->ps, c->cur, t, n, on_span, c, &counts);
	c->seg = NULL;
	if (r == CST_ELIMIT) {
		incomplete(c, counts.dropped > 0 ? "span_cap" : counts.overworked > 0 ?
		    "work_cap" : "match_limit");
		return 0;
	}
	return r;
}

/* ---- decoded views ---- */

static double classify_text(struct cst_insp_ctx *c, const char *t, size_t n,
    const struct cst_dec_seg *seg);

/*
 * A decoded segment: the rules on its bytes and, like the text itself, on its canonical view
 * (and the view with a space for each removed invisible character), so that look-alikes,
 * full-width forms or invisible characters inside an encoding do not hide what it says; and
 * the classifier on the canonical view (spaced, leet, ROT13 or encoded text). Findings are
 * named by the segment's decode chain.
 */
static int
on_segment(void *arg, const struct cst_dec_seg *seg)
{
	struct cst_insp_ctx *c = arg;
	const struct cst_view *v = &c->segview;
	int r = match_text(c, seg->text, seg->len, seg->view, seg);

	if (r == 0)
		r = cst_view_build(&c->segview, seg->text, seg->len);
	if (r != 0)
		return r;
	c->segvw = v->differs ? v : NULL;
	if (v->differs) {
		r = match_text(c, v->text, v->len, seg->view, seg);
		if (r == 0 && (v->st.invisible > 0 || v->st.fillers > 0)) {
			c->spaced.hidden_space = true;
			if ((r = cst_view_build(&c->spaced, seg->text, seg->len)) == 0) {
				c->segvw = &c->spaced;
				r = match_text(c, c->spaced.text, c->spaced.len, seg->view, seg);
				c->segvw = v;
			}
		}
	}
	if (r == 0 && c->d->clf != NULL)
		classify_text(c, v->differs ? v->text : seg->text, v->differs ? v->len : seg->len,
		    seg);
	c->segvw = NULL;
	return r;
}

/*
 * Matches what the text hides in encodings (decode.h) and adds the signal of an encoded blob
 * next to a decode instruction, as the direction's injection rules are set (none: off). A
 * spent decoding budget leaves the text not fully inspected.
 */
static int
scan_decoded(struct cst_insp_ctx *c, const char *text, size_t len,
    struct cst_insp_result *res)
{
	struct cst_dec_stats st;
	const struct prule *inj = NULL;
	size_t i;
	int r;

	if ((r = cst_dec_run(c->dec, text, len, &c->view, on_segment, c, &st)) != 0)
		return r;
	res->signals.decoded = st.segments;
	if (st.limited)
		incomplete(c, "decode_limit");
	for (i = 0; i < c->d->n && inj == NULL; i++)
		if (c->d->rules[i].r.cat == CST_INSP_INJECTION)
			inj = &c->d->rules[i];
	if (st.blob && st.instruction && inj != NULL &&
	    ENCODED_INSTRUCTION_CONFIDENCE >= inj->min_confidence) {
		struct cst_insp_finding *f;

		if (c->n_f == CST_INSP_MAX_FINDINGS) {
			c->overflow = true;
			return 0;
		}
		f = &c->f[c->n_f++];
		memset(f, 0, sizeof(*f));
		f->rule = "injection.encoded_instruction";
		f->cat = CST_INSP_INJECTION;
		f->entity = "PROMPT_INJECTION";
		f->confidence = ENCODED_INSTRUCTION_CONFIDENCE;
		f->start = st.blob_start;
		f->end = st.blob_end;
		f->view = st.blob_view;
		f->action = inj->action;
	}
	return 0;
}

/*
 * The classifier's verdict on t[0..n) (the canonical view, or a decoded segment seg), as a
 * finding over the best window when the probability reaches the source's threshold. Returns
 * the probability.
 */
static double
classify_text(struct cst_insp_ctx *c, const char *t, size_t n, const struct cst_dec_seg *seg)
{
	const struct direction *d = c->d;
	struct cst_classify_score sc;
	struct cst_insp_finding *f;
	size_t ra, rb;

	cst_classify_score(d->clf, c->src == CST_INSP_SRC_INDIRECT ? CST_CLASSIFY_INDIRECT :
	    CST_CLASSIFY_DIRECT, t, n, &sc);
	if (sc.p < d->clf_threshold[c->src] || sc.end <= sc.start)
		return sc.p;
	if (c->n_f == CST_INSP_MAX_FINDINGS) {
		c->overflow = true;
		return sc.p;
	}
	if (seg != NULL) {
		size_t sa, sb;

		seg_bytes(c, sc.start, sc.end, &sa, &sb);
		cst_dec_seg_raw_span(seg, sa, sb, &ra, &rb);
	} else if (c->view.differs)
		cst_view_raw_span(&c->view, sc.start, sc.end, &ra, &rb);
	else {
		ra = sc.start;
		rb = sc.end;
	}
	f = &c->f[c->n_f++];
	memset(f, 0, sizeof(*f));
	f->rule = "injection.classifier";
	f->cat = CST_INSP_INJECTION;
	f->entity = "PROMPT_INJECTION";
	f->confidence = (uint16_t)lround(sc.p * 1000);
	f->start = ra;
	f->end = rb;
	f->view = seg != NULL ? seg->view : c->view.differs ? "canonical" : "raw";
	f->action = d->clf_action;
	return sc.p;
}

/*
 * When the canonical view removed invisible characters or fillers, matches the view that
 * has a space for each of them as well: one may be the only separator between two words
 * ("ignore<U+200B>all"), which removing joins, while one inside a word ("ig<U+200B>nore")
 * is matched by the view that removes it. Findings are named "canonical".
 */
static int
scan_spaced(struct cst_insp_ctx *c, const char *text, size_t len)
{
	int r;

	if (c->view.st.invisible == 0 && c->view.st.fillers == 0)
		return 0;
	c->spaced.hidden_space = true;
	if ((r = cst_view_build(&c->spaced, text, len)) != 0)
		return r;
	c->vw = &c->spaced;
	r = match_text(c, c->spaced.text, c->spaced.len, "canonical", NULL);
	c->vw = &c->view;
	return r;
}

int
cst_insp_scan(struct cst_insp_ctx *c, enum cst_insp_dir d, const char *text, size_t len,
    struct cst_insp_result *res)
{
	return cst_insp_scan_src(c, d, CST_INSP_SRC_DIRECT, text, len, res);
}

int
cst_insp_scan_src(struct cst_insp_ctx *c, enum cst_insp_dir d, enum cst_insp_src src,
    const char *text, size_t len, struct cst_insp_result *res)
{
	const struct direction *dir = &c->p->dir[d];
	struct cst_patscratch *s = c->scratch;
	bool complete;
	size_t i;
	int r;

	memset(res, 0, sizeof(*res));
	res->text = text;
	res->len = len;
	c->n_f = 0;
	c->overflow = false;
	c->complete = true;
	c->why = NULL;
	c->segvw = NULL;
	c->raw = text;
	c->d = dir;
	c->cur = s;
	c->src = src == CST_INSP_SRC_INDIRECT ? src : CST_INSP_SRC_DIRECT;
	if (len > MAX_TEXT)
		return CST_ELIMIT;
	/* a secrets-only policy matches the raw text alone: no view to build */
	if (dir->need_view && (r = cst_view_build(&c->view, text, len)) != 0)
		return r;
	if (dir->n > 0) {
		if ((r = match_text(c, text, len, "raw", NULL)) != 0)
			return r;
		if (dir->need_view && c->view.differs) {
			c->vw = &c->view;
			if ((r = match_text(c, c->view.text, c->view.len, "canonical", NULL)) != 0)
				return r;
			res->signals.canonical_scanned = true;
			if ((r = scan_spaced(c, text, len)) != 0)
				return r;
		}
		if ((r = scan_decoded(c, text, len, res)) != 0)
			return r;
	}
	if (dir->clf != NULL) {
		res->signals.classified = true;
		res->signals.injection_p = classify_text(c, c->view.differs ? c->view.text : text,
		    c->view.differs ? c->view.len : len, NULL);
	}
	complete = c->complete;
	res->signals.hidden = dir->need_view ? cst_view_hidden(&c->view) : 0;
	res->signals.confusables = dir->need_view ? c->view.st.confusables : 0;
	if (dir->smuggling_on && (c->view.st.tags > 0 || (res->signals.hidden > dir->max_hidden &&
	    (uint64_t)res->signals.hidden * HIDDEN_DENSITY >= len)) &&
	    c->n_f < CST_INSP_MAX_FINDINGS) {
		struct cst_insp_finding *f = &c->f[c->n_f++];

		memset(f, 0, sizeof(*f));
		f->rule = c->view.st.tags > 0 ? "smuggling.tag_characters" :
		    "smuggling.invisible_characters";
		f->cat = CST_INSP_SMUGGLING;
		f->entity = "HIDDEN_TEXT";
		f->confidence = c->view.st.tags > 0 ? 1000 : 800;
		f->start = 0;
		f->end = len;
		f->view = "raw";
		f->action = dir->smuggling_action;
	}
	if (c->overflow)
		incomplete(c, "finding_cap");
	complete = c->complete;
	dedupe(c);
	res->findings = c->f;
	res->n_findings = c->n_f;
	res->complete = complete;
	res->incomplete = complete ? NULL : c->why;
	for (i = 0; i < c->n_f; i++)
		if (c->f[i].action == CST_INSP_BLOCK && !res->blocked) {
			res->blocked = true;
			res->block_cat = c->f[i].cat;
		}
	if (!complete && c->p->fail_closed && !res->blocked) {
		res->blocked = true;
		res->block_cat = CST_INSP_N_CAT;	/* not fully inspected */
	}
	if (res->blocked)
		return 0;
	if ((r = cst_insp_rewrite(c, text, len, c->f, c->n_f, &res->text, &res->len)) != 0)
		return r;
	res->rewritten = res->text != text;
	return 0;
}
