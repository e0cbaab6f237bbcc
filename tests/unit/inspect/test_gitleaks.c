/*
 * Unit tests for src/inspect/gitleaks.c: the gitleaks default rule file (../shared/data) loads
 * with the exact accepted and rejected counts, specific rules carry their fields, translated
 * regexes match made-up secrets of the right shape and not look-alikes; the Go RE2 to PCRE2
 * translation accepts RE2 and refuses what RE2 lacks, with RE2's "$"; each rejection reason
 * and each whole-file error on small configurations; allocation failures at every
 * allocation. These tests must never pass on a stub.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/toml.h"
#include "inspect/gitleaks.h"

static const struct cst_toml_limits lim = { 16, 100000, 65536 };

static struct cst_gitleaks_config *
load_default(void)
{
	const char *top = getenv("CST_SOURCE_DIR");
	struct cst_gitleaks_config *c = NULL;
	char path[4096], err[512];
	int r;

	assert_non_null(top);
	snprintf(path, sizeof(path), "%s/../shared/data/secrets/gitleaks/gitleaks.toml", top);
	r = cst_gitleaks_load_file(path, &c, err, sizeof(err));
	if (r != 0) {
		print_error("%s\n", err);
		fail();
	}
	return c;
}

static const struct cst_gitleaks_rule *
find_rule(const struct cst_gitleaks_config *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->n_rules; i++)
		if (strcmp(c->rules[i].id, id) == 0)
			return &c->rules[i];
	print_error("rule %s not accepted\n", id);
	fail();
	return NULL;
}

static void
test_default_counts(void **state)
{
	struct cst_gitleaks_config *c = load_default();
	const struct cst_gitleaks_allowlist *g;
	size_t i, kw = 0, ent = 0, paths = 0, al = 0;

	(void)state;
	printf("gitleaks.toml: %zu rules accepted, %zu rejected\n", c->n_rules, c->n_rejected);
	for (i = 0; i < c->n_rejected; i++)
		printf("  rejected %s: %s\n", c->rejected[i].id, c->rejected[i].reason);
	assert_int_equal(c->n_rules, 221);
	assert_int_equal(c->n_rejected, 1);
	assert_string_equal(c->rejected[0].id, "pkcs12-file");
	assert_string_equal(c->rejected[0].reason, "path-only rule: this engine scans text, not files");
	assert_string_equal(c->title, "gitleaks config");
	for (i = 0; i < c->n_rules; i++) {
		const struct cst_gitleaks_rule *r = &c->rules[i];

		assert_non_null(r->regex.go);
		assert_non_null(r->regex.pcre2);
		assert_true(r->description[0] != '\0');
		kw += r->n_keywords;
		ent += r->entropy > 0;
		paths += r->path.go != NULL;
		al += r->n_allowlists;
	}
	/* The reference counts: 290 keywords, 130 entropies, 5 paths (one on the rejected
	 * rule), 13 rule allowlists over 9 rules. */
	assert_int_equal(kw, 290);
	assert_int_equal(ent, 130);
	assert_int_equal(paths, 4);
	assert_int_equal(al, 13);
	assert_string_equal(c->rules[0].id, "1password-secret-key");
	assert_int_equal(c->n_allowlists, 1);
	g = &c->allowlists[0];
	assert_string_equal(g->description, "global allow lists");
	assert_int_equal(g->n_paths, 25);
	assert_int_equal(g->n_regexes, 13);
	assert_int_equal(g->n_stopwords, 2);
	assert_int_equal(g->n_target_rules, 0);
	assert_string_equal(g->regexes[0].go, "(?i)^true|false|null$");
	assert_string_equal(g->stopwords[1], "abcdefghijklmnopqrstuvwxyz");
	cst_gitleaks_free(c);
}

static void
test_default_fields(void **state)
{
	static const char *const generic_kw[] = { "access", "api", "auth", "key", "credential",
		"creds", "passwd", "password", "secret", "token" };
	struct cst_gitleaks_config *c = load_default();
	const struct cst_gitleaks_rule *r;
	const struct cst_gitleaks_allowlist *a;
	size_t i;

	(void)state;
	r = find_rule(c, "generic-api-key");
	assert_true(r->entropy == 3.5);
	assert_int_equal(r->secret_group, 0);
	assert_int_equal(r->n_keywords, N_ELEM(generic_kw));
	for (i = 0; i < N_ELEM(generic_kw); i++)
		assert_string_equal(r->keywords[i], generic_kw[i]);
	assert_int_equal(r->n_allowlists, 4);
	a = &r->allowlists[0];
	assert_int_equal(a->condition, CST_GITLEAKS_OR);
	assert_int_equal(a->target, CST_GITLEAKS_SECRET);
	assert_int_equal(a->n_regexes, 1);
	assert_string_equal(a->regexes[0].go, "^[a-zA-Z_.-]+$");
	a = &r->allowlists[1];
	assert_string_equal(a->description, "Allowlist for Generic API Keys");
	assert_int_equal(a->target, CST_GITLEAKS_MATCH);
	assert_true(a->n_stopwords > 1000);
	assert_string_equal(a->stopwords[0], "000000");
	assert_int_equal(r->allowlists[2].target, CST_GITLEAKS_LINE);
	a = &r->allowlists[3];
	assert_int_equal(a->condition, CST_GITLEAKS_AND);
	assert_int_equal(a->n_paths, 4);
	assert_string_equal(a->paths[0].go, "\\.bb$");
	assert_int_equal(a->n_regexes, 3);

	r = find_rule(c, "aws-access-token");
	assert_string_equal(r->regex.go, "\\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\\b");
	assert_string_equal(r->regex.pcre2, r->regex.go);
	assert_true(r->entropy == 3.0);
	assert_int_equal(r->n_keywords, 5);
	assert_string_equal(r->keywords[0], "a3t");
	assert_int_equal(r->n_allowlists, 1);
	assert_string_equal(r->allowlists[0].regexes[0].go, ".+EXAMPLE$");

	r = find_rule(c, "sonar-api-token");
	assert_int_equal(r->secret_group, 2);

	r = find_rule(c, "kubernetes-secret-yaml");
	assert_string_equal(r->path.go, "(?i)\\.ya?ml$");
	assert_non_null(r->path.pcre2);
	assert_int_equal(r->n_allowlists, 2);

	r = find_rule(c, "github-pat");
	assert_int_equal(r->allowlists[0].n_paths, 1);
	assert_int_equal(r->allowlists[0].n_regexes, 0);
	cst_gitleaks_free(c);
}

/* Whether pattern (translated) matches s; *group1 gets capture group g when it does. */
static bool
matches(const char *pattern, const char *s, int g, char *group, size_t group_len)
{
	pcre2_code *re = cst_gitleaks_compile(pattern);
	pcre2_match_data *md;
	bool ok;

	assert_non_null(re);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	assert_non_null(md);
	ok = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0;
	if (ok && group != NULL) {
		PCRE2_SIZE len = group_len;

		assert_int_equal(pcre2_substring_copy_bynumber(md, (uint32_t)g,
		    (PCRE2_UCHAR *)group, &len), 0);
	}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return ok;
}

static void
test_default_samples(void **state)
{
	/* Made-up values of the right shape; none is a real credential. */
	static const struct {
		const char *rule, *secret, *text, *not_secret;
		int group;	/* the group holding the secret, 0: the match */
	} cases[] = {
		{ "aws-access-token", "AKIAQ3ZRWX7T2VNJ5KLM", "aws_key = AKIAQ3ZRWX7T2VNJ5KLM\n",
		  "aws_key = AKIAQ3ZRWX7T2VNJ5KL\n", 1 },
		{ "github-pat", "ghp_Zq8Rt2WmX4nY7bKc1Lp9Vd3Fh6Js0GaEoTu5",
		  "token: ghp_Zq8Rt2WmX4nY7bKc1Lp9Vd3Fh6Js0GaEoTu5",
		  "token: ghp_Zq8Rt2WmX4nY7bKc1Lp9Vd3Fh6Js0GaE", 0 },
		{ "slack-bot-token", "xoxb-1234567890-9876543210987-AbCdEfGhIjKlMnOpQrStUvWx",
		  "SLACK=xoxb-1234567890-9876543210987-AbCdEfGhIjKlMnOpQrStUvWx",
		  "SLACK=xoxb-12345-67890-abc", 0 },
		{ "stripe-access-token", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		  "stripe.key = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"", "sk_live_short", 1 },
		{ "huggingface-access-token", "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",
		  "HF_TOKEN=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\n",
		  "HF_TOKEN=hf_QwErTyUiOpAsDfGhJkLzXcVbNmQwErTy1234\n", 1 },
		{ "generic-api-key", "Zx8Kq2Lm9Vr4Tw7Yp3Nb",
		  "api_key = \"Zx8Kq2Lm9Vr4Tw7Yp3Nb\"", "the key to success is practice", 1 },
		{ "private-key", NULL,
		  "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Zx8Kq2Lm9Vr4Tw7Yp3NbMIIEowIBAAKCAQ"
		  "EA0Zx8Kq2Lm9Vr4Tw7Yp3Nb1234\n-----END RSA PRIVATE KEY-----",
		  "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----", 0 },
	};
	struct cst_gitleaks_config *c = load_default();
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		const struct cst_gitleaks_rule *r = find_rule(c, cases[i].rule);
		char got[512];

		CHECK(cases[i].rule, matches(r->regex.pcre2, cases[i].text, cases[i].group, got,
		    sizeof(got)));
		if (cases[i].secret != NULL)
			CHECK_STR(cases[i].rule, got, cases[i].secret);
		CHECK(cases[i].rule, !matches(r->regex.pcre2, cases[i].not_secret, 0, NULL, 0));
	}
	/* The rule allowlist of aws-access-token allows documentation keys. */
	CHECK("aws allowlist", matches(find_rule(c, "aws-access-token")->allowlists[0].regexes[0]
	    .pcre2, "AKIAIOSFODNN7EXAMPLE", 0, NULL, 0));
	/* The global "^true|false|null$" stop regex. */
	CHECK("global allowlist", matches(c->allowlists[0].regexes[0].pcre2, "TRUE", 0, NULL, 0));
	cst_gitleaks_free(c);
}

static void
test_translate(void **state)
{
	static const struct {
		const char *go, *pcre2;	/* pcre2 NULL: refused with reason */
		const char *reason;
		uint32_t groups;
	} cases[] = {
		{ "abc", "abc", NULL, 0 },
		{ "(?i)a(?-i:B)c", "(?i)a(?-i:B)c", NULL, 0 },
		{ "(?P<name>x)(?<n2>y)(z)", "(?P<name>x)(?<n2>y)(z)", NULL, 3 },
		{ "(?s:.)(?m)^x$(?U)a+", "(?s:.)(?m)^x$(?U)a+", NULL, 0 },
		{ "[[:alnum:]]+\\z", "[[:alnum:]]+\\z", NULL, 0 },
		{ "\\Qa.b(\\E+", "\\Qa.b(\\E+", NULL, 0 },
		{ "[]a]{2,}[^]b]{1,3}x{3}", "[]a]{2,}[^]b]{1,3}x{3}", NULL, 0 },
		{ "a{,3}", "a\\{,3}", NULL, 0 },
		{ "\\x60\\x{263a}\\pL\\p{Greek}\\d\\w\\s\\b\\A", "\\x60\\x{263a}\\pL\\p{Greek}\\d\\w\\s\\b\\A",
		  NULL, 0 },
		{ "[\\d\\s-]a+?b*?", "[\\d\\s-]a+?b*?", NULL, 0 },
		{ "(a)\\1", NULL, "regex uses unsupported construct \\1 (backreference; RE2 has none)",
		  0 },
		{ "a(?=b)", NULL, "regex uses unsupported construct lookahead (?=", 0 },
		{ "a(?!b)", NULL, "regex uses unsupported construct negative lookahead (?!", 0 },
		{ "(?<=a)b", NULL, "regex uses unsupported construct lookbehind (?<=", 0 },
		{ "(?<!a)b", NULL, "regex uses unsupported construct negative lookbehind (?<!", 0 },
		{ "(?>a+)", NULL, "regex uses unsupported construct atomic group (?>", 0 },
		{ "(?|a)", NULL, "regex uses unsupported construct branch reset (?|", 0 },
		{ "(?#c)", NULL, "regex uses unsupported construct comment group (?#", 0 },
		{ "(?(1)a|b)", NULL, "regex uses unsupported construct conditional group (?(", 0 },
		{ "(?P=n)", NULL, "regex uses unsupported construct named reference (?P=/(?P>", 0 },
		{ "(?R)", NULL, "regex uses unsupported construct a group or flag (?...) that RE2 "
		  "does not have", 0 },
		{ "(?x)a b", NULL, "regex uses unsupported construct a group or flag (?...) that RE2 "
		  "does not have", 0 },
		{ "(*UTF)a", NULL, "regex uses unsupported construct (* (PCRE verb)", 0 },
		{ "a++", NULL, "regex uses unsupported construct ++ (possessive quantifier)", 0 },
		{ "a*+", NULL, "regex uses unsupported construct *+ (possessive quantifier)", 0 },
		{ "a{2}+", NULL, "regex uses unsupported construct {n}+ (possessive quantifier)", 0 },
		{ "a\\Z", NULL, "regex uses unsupported construct \\Z (not an RE2 escape)", 0 },
		{ "\\Ka", NULL, "regex uses unsupported construct \\K (not an RE2 escape)", 0 },
		{ "\\Ca", NULL, "regex uses unsupported construct \\C (not an RE2 escape)", 0 },
		{ "[\\b]", NULL, "regex uses unsupported construct \\b (not an RE2 escape)", 0 },
		{ "a\\", NULL, "regex ends with a lone backslash", 0 },
		{ "a(b", NULL, "PCRE2 cannot compile the regex at offset 3: missing closing "
		  "parenthesis", 0 },
		{ "[z-a]", NULL, "PCRE2 cannot compile the regex at offset 3: range out of order in "
		  "character class", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		char *out = NULL, why[200];
		uint32_t groups = 99;
		int r = cst_gitleaks_translate(cases[i].go, &out, &groups, why, sizeof(why));

		if (cases[i].pcre2 != NULL) {
			CHECK_INT(cases[i].go, r, 0);
			CHECK_STR(cases[i].go, out, cases[i].pcre2);
			CHECK_INT(cases[i].go, groups, cases[i].groups);
			cst_free(out);
		} else {
			CHECK_INT(cases[i].go, r, CST_EINVAL);
			CHECK(cases[i].go, out == NULL);
			CHECK_STR(cases[i].go, why, cases[i].reason);
		}
	}
}

/* RE2's semantics under the compile options: "$" only at the very end, "{," literal. */
static void
test_semantics(void **state)
{
	static const struct {
		const char *go, *subject;
		bool match;
	} cases[] = {
		{ "abc$", "abc", true },
		{ "abc$", "abc\n", false },	/* PCRE2's default "$" would match */
		{ "(?m)abc$", "abc\nx", true },
		{ "abc\\z", "abc\n", false },
		{ "a{,2}", "a{,2}", true },
		{ "a{,2}", "aa", false },
		{ "\\d+", "\xd9\xa3", false },	/* ARABIC-INDIC DIGIT THREE: \d is ASCII in RE2 */
		{ "\\w", "\xc3\xa9", false },
		{ "(?i)\xc3\xa9", "\xc3\x89", true },	/* Unicode case folding, as in RE2 */
		{ "^.$", "\xc3\xa9", true },		/* "." is one character */
		/* Invalid UTF-8 in the subject: matched around, never by "." (gitleaks.h). */
		{ "a.b", "a\xff" "b", false },
		{ "b+", "a\xff" "bb", true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		char *p = NULL, why[200];

		CHECK_INT(cases[i].go, cst_gitleaks_translate(cases[i].go, &p, NULL, why,
		    sizeof(why)), 0);
		CHECK(cases[i].go, matches(p, cases[i].subject, 0, NULL, 0) == cases[i].match);
		cst_free(p);
	}
}

/* Builds a configuration from TOML text. */
static int
from_text(const char *toml, struct cst_gitleaks_config **c, char *err, size_t err_len)
{
	json_t *doc = NULL;
	int r;

	assert_int_equal(cst_toml_load(toml, strlen(toml), &lim, &doc, err, err_len), 0);
	r = cst_gitleaks_from_json(doc, c, err, err_len);
	json_decref(doc);
	return r;
}

static void
test_rejections(void **state)
{
	static const struct {
		const char *name, *toml, *id, *reason;
	} cases[] = {
		{ "no id", "[[rules]]\nregex = 'a'", "[[rules]] #1", "rule has no id" },
		{ "empty id", "[[rules]]\nid = ''\nregex = 'a'", "[[rules]] #1", "rule has no id" },
		{ "id not a string", "[[rules]]\nid = 5\nregex = 'a'", "[[rules]] #1",
		  "rule has no id" },
		{ "duplicate", "[[rules]]\nid = 'x'\nregex = 'a'\n[[rules]]\nid = 'x'\nregex = 'b'",
		  "x", "duplicate rule id" },
		{ "no regex", "[[rules]]\nid = 'x'", "x", "rule has neither regex nor path" },
		{ "path only", "[[rules]]\nid = 'x'\npath = '\\.p12$'", "x",
		  "path-only rule: this engine scans text, not files" },
		{ "composite", "[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.required]]\nid = 'y'", "x",
		  "composite rule ([[rules.required]]): not supported" },
		{ "skipReport", "[[rules]]\nid = 'x'\nregex = 'a'\nskipReport = true", "x",
		  "skipReport rule: only a component of composite rules, which are not supported" },
		{ "extend only", "[extend]\nuseDefault = true\n[[rules]]\nid = 'x'\nkeywords = ['k']",
		  "x", "rule without a regex changes a rule of the extended configuration, which is "
		  "not loaded" },
		{ "lookahead", "[[rules]]\nid = 'x'\nregex = '''a(?=b)'''", "x",
		  "regex: regex uses unsupported construct lookahead (?=" },
		{ "bad path regex", "[[rules]]\nid = 'x'\nregex = 'a'\npath = '(?<!x)y'", "x",
		  "path: regex uses unsupported construct negative lookbehind (?<!" },
		{ "secretGroup too big", "[[rules]]\nid = 'x'\nregex = '(a)(b)'\nsecretGroup = 3", "x",
		  "secretGroup 3 but the regex has 2 capture groups" },
		{ "secretGroup negative", "[[rules]]\nid = 'x'\nregex = '(a)'\nsecretGroup = -1", "x",
		  "'secretGroup' must be a non-negative integer" },
		{ "secretGroup string", "[[rules]]\nid = 'x'\nregex = '(a)'\nsecretGroup = '1'", "x",
		  "'secretGroup' must be a non-negative integer" },
		{ "negative entropy", "[[rules]]\nid = 'x'\nregex = 'a'\nentropy = -1.0", "x",
		  "'entropy' must be a non-negative number" },
		{ "regex not a string", "[[rules]]\nid = 'x'\nregex = 1", "x",
		  "'regex' must be a string" },
		{ "keywords not strings", "[[rules]]\nid = 'x'\nregex = 'a'\nkeywords = ['a', 1]", "x",
		  "'keywords' must be an array of strings" },
		{ "tags not an array", "[[rules]]\nid = 'x'\nregex = 'a'\ntags = 'a'", "x",
		  "'tags' must be an array of strings" },
		{ "empty allowlist", "[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\n"
		  "description = 'd'", "x",
		  "allowlist 1: an allowlist has no commits, paths, regexes or stopwords" },
		{ "bad regexTarget", "[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\n"
		  "regexTarget = 'all'\nregexes = ['b']", "x",
		  "allowlist 1: unknown allowlist regexTarget 'all'" },
		{ "bad condition", "[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\n"
		  "stopwords = ['b']\n[[rules.allowlists]]\ncondition = 'XOR'\nstopwords = ['b']", "x",
		  "allowlist 2: unknown allowlist condition 'XOR'" },
		{ "old and new allowlists", "[[rules]]\nid = 'x'\nregex = 'a'\n[rules.allowlist]\n"
		  "stopwords = ['b']\n[[rules.allowlists]]\nstopwords = ['c']", "x",
		  "both [allowlist] and [[allowlists]] are given" },
		{ "bad allowlist regex", "[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\n"
		  "regexes = ['b', '(c']", "x", "allowlist 1: regexes[1]: PCRE2 cannot compile the "
		  "regex at offset 2: missing closing parenthesis" },
		{ "targetRules in a rule", "[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\n"
		  "stopwords = ['b']\ntargetRules = ['x']", "x",
		  "allowlist 1: 'targetRules' is only for global allowlists" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_gitleaks_config *c = NULL;
		char err[256];
		const struct cst_gitleaks_rejection *x;

		CHECK_INT(cases[i].name, from_text(cases[i].toml, &c, err, sizeof(err)), 0);
		CHECK(cases[i].name, c->n_rejected >= 1);
		x = &c->rejected[c->n_rejected - 1];
		CHECK_STR(cases[i].name, x->id, cases[i].id);
		CHECK_STR(cases[i].name, x->reason, cases[i].reason);
		CHECK_INT(cases[i].name, c->n_rules + c->n_rejected,
		    strstr(cases[i].toml, "[extend]") ? 2 : strstr(cases[i].name, "duplicate") ?
		    2 : 1);
		cst_gitleaks_free(c);
	}
}

static void
test_accepted_forms(void **state)
{
	static const char toml[] = "[[rules]]\nid = 'x'\nregex = '(a)(b)'\nsecretGroup = 2\n"
	    "entropy = 3\nkeywords = ['AbC', 'déF']\ntags = ['T']\npath = '\\.env$'\n"
	    "[rules.allowlist]\ncondition = '&&'\nregexTarget = 'line'\ncommits = ['abc']\n"
	    "[[allowlists]]\ntargetRules = ['x']\nstopwords = ['s']\n[[allowlists]]\n"
	    "regexes = ['z']\n";
	struct cst_gitleaks_config *c = NULL;
	const struct cst_gitleaks_rule *r;
	char err[256];

	(void)state;
	assert_int_equal(from_text(toml, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_rules, 1);
	assert_int_equal(c->n_rejected, 0);
	assert_null(c->title);
	r = &c->rules[0];
	assert_int_equal(r->secret_group, 2);
	assert_true(r->entropy == 3.0);
	assert_string_equal(r->keywords[0], "abc");
	assert_string_equal(r->keywords[1], "d\xc3\xa9" "f");	/* ASCII lower-casing only */
	assert_string_equal(r->tags[0], "T");
	assert_string_equal(r->description, "");
	assert_string_equal(r->path.pcre2, "\\.env$");
	assert_int_equal(r->n_allowlists, 1);	/* the old single-table form */
	assert_int_equal(r->allowlists[0].condition, CST_GITLEAKS_AND);
	assert_int_equal(r->allowlists[0].target, CST_GITLEAKS_LINE);
	assert_string_equal(r->allowlists[0].commits[0], "abc");
	assert_int_equal(c->n_allowlists, 2);
	assert_string_equal(c->allowlists[0].target_rules[0], "x");
	assert_string_equal(c->allowlists[1].regexes[0].pcre2, "z");
	cst_gitleaks_free(c);
}

static void
test_file_errors(void **state)
{
	static const struct {
		const char *name, *toml, *err;
	} cases[] = {
		{ "rules not an array", "rules = 1", "'rules' must be an array of tables ([[rules]])" },
		{ "title not a string", "title = 1", "'title' must be a string" },
		{ "empty global allowlist", "[allowlist]\ndescription = 'x'",
		  "global allowlist 1: an allowlist has no commits, paths, regexes or stopwords" },
		{ "old and new global", "[allowlist]\nstopwords = ['a']\n[[allowlists]]\n"
		  "stopwords = ['b']", "global both [allowlist] and [[allowlists]] are given" },
		{ "global bad regex", "[[allowlists]]\nregexes = ['a(?=b)']",
		  "global allowlist 1: regexes[0]: regex uses unsupported construct lookahead (?=" },
		{ "unknown target rule", "[[rules]]\nid = 'x'\nregex = 'a'\n[[allowlists]]\n"
		  "targetRules = ['x', 'y']\nstopwords = ['s']",
		  "global allowlist 1: targetRules names 'y', which is not a rule of this file" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_gitleaks_config *c = NULL;
		char err[256];

		CHECK_INT(cases[i].name, from_text(cases[i].toml, &c, err, sizeof(err)), CST_EINVAL);
		CHECK(cases[i].name, c == NULL);
		CHECK_STR(cases[i].name, err, cases[i].err);
	}
	{
		struct cst_gitleaks_config *c = NULL;
		char err[512];

		assert_int_equal(cst_gitleaks_load_file("/nonexistent/gitleaks.toml", &c, err,
		    sizeof(err)), CST_ENOENT);
		assert_null(c);
		assert_true(strncmp(err, "/nonexistent/gitleaks.toml: ", 28) == 0);
	}
}

static void
test_oom(void **state)
{
	static const char toml[] = "[[rules]]\nid = 'x'\nregex = '(a)'\nkeywords = ['K', 'L']\n"
	    "tags = ['t']\npath = 'p'\n[[rules.allowlists]]\nregexes = ['b']\npaths = ['c']\n"
	    "stopwords = ['s']\n[[rules]]\nid = 'y'\nregex = 'a(?=b)'\n[[allowlists]]\n"
	    "targetRules = ['x']\nstopwords = ['s']\n";
	json_t *doc = NULL;
	char err[256];
	long n;
	int r = CST_ENOMEM;

	(void)state;
	assert_int_equal(cst_toml_load(toml, sizeof(toml) - 1, &lim, &doc, err, sizeof(err)), 0);
	for (n = 0; n < 1000 && r != 0; n++) {
		struct cst_gitleaks_config *c = NULL;

		cst_alloc_fail_after(n);
		r = cst_gitleaks_from_json(doc, &c, err, sizeof(err));
		cst_alloc_fail_after(-1);
		if (r != 0) {
			assert_int_equal(r, CST_ENOMEM);
			assert_null(c);
			assert_string_equal(err, "out of memory");
		} else {
			assert_int_equal(c->n_rules, 1);
			assert_int_equal(c->n_rejected, 1);
			cst_gitleaks_free(c);
		}
	}
	assert_int_equal(r, 0);
	assert_true(n > 10);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_counts),
		cmocka_unit_test(test_default_fields),
		cmocka_unit_test(test_default_samples),
		cmocka_unit_test(test_translate),
		cmocka_unit_test(test_semantics),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
