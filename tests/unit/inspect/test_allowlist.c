/*
 * Unit tests for src/inspect/allowlist.c and its use by the engine: each criterion alone
 * (regexes on the secret, the match and the line; stopwords; paths; commits), OR and AND,
 * paths and commits unmet when unknown (the gateway's case), global allowlists with and
 * without targetRules and for a rule of no file, the per-rule limit; then a policy with a
 * gitleaks file: allowed findings are dropped, others kept, and a cst_insp_policy_secrets
 * policy keeps them with the text criteria for its caller. These tests must never pass on
 * a stub.
 */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/toml.h"
#include "inspect/allowlist.h"
#include "inspect/gitleaks.h"
#include "inspect/inspect.h"

static const struct cst_toml_limits lim = { 16, 100000, 65536 };

struct fixture {
	struct cst_gitleaks_config *c;
	struct cst_allowlist_set *set;
	struct cst_allowlist_scratch *sc;
};

static void
fx_load(struct fixture *fx, const char *toml)
{
	json_t *doc = NULL;
	char err[256];

	memset(fx, 0, sizeof(*fx));
	if (cst_toml_load(toml, strlen(toml), &lim, &doc, err, sizeof(err)) != 0 ||
	    cst_gitleaks_from_json(doc, &fx->c, err, sizeof(err)) != 0) {
		print_error("%s\n", err);
		fail();
	}
	json_decref(doc);
	assert_int_equal(cst_allowlist_set_new((const struct cst_gitleaks_config *const *)&fx->c,
	    1, &fx->set), 0);
	assert_int_equal(cst_allowlist_scratch_new(&fx->sc), 0);
}

static void
fx_free(struct fixture *fx)
{
	cst_allowlist_scratch_free(fx->sc);
	cst_allowlist_set_free(fx->set);
	cst_gitleaks_free(fx->c);
}

/*
 * The index of the allowlist of rule 0 (or of a rule of no file called id, when builtin)
 * that allows the finding: the match is the first occurrence of match in text, the secret the
 * first occurrence of secret in it; path and commit may be NULL. -1: none.
 */
static int
judge(struct fixture *fx, bool builtin, const char *id, const char *text, const char *match,
    const char *secret, const char *path, const char *commit)
{
	const struct cst_allowlist *const *al;
	struct cst_allowlist_subject s;
	const char *m = strstr(text, match), *sec;
	uint64_t re, st;
	size_t n;
	char err[200];

	assert_non_null(m);
	sec = strstr(m, secret);
	assert_non_null(sec);
	s.text = text;
	s.len = strlen(text);
	s.match_start = (size_t)(m - text);
	s.match_end = s.match_start + strlen(match);
	s.secret_start = (size_t)(sec - text);
	s.secret_end = s.secret_start + strlen(secret);
	assert_int_equal(cst_allowlist_set_for(fx->set, builtin ? NULL : &fx->c->rules[0],
	    builtin ? id : fx->c->rules[0].id, &al, &n, err, sizeof(err)), 0);
	cst_allowlist_eval(al, n, &s, fx->sc, &re, &st);
	return cst_allowlist_first(al, n, re, st, path, commit, fx->sc);
}

#define RULE "[[rules]]\nid = 'k'\nregex = '''key=(\\w+)'''\n"

static void
test_targets(void **state)
{
	struct fixture fx;

	(void)state;
	/* secret (default): the regex sees the secret only */
	fx_load(&fx, RULE "[[rules.allowlists]]\nregexes = ['''^abc''']\n");
	assert_int_equal(judge(&fx, false, NULL, "x key=abcdef y", "key=abcdef", "abcdef", NULL,
	    NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "x key=zabcdef y", "key=zabcdef", "zabcdef",
	    NULL, NULL), -1);
	fx_free(&fx);
	/* match: the whole match, not the line */
	fx_load(&fx, RULE "[[rules.allowlists]]\nregexTarget = 'match'\nregexes = ['''^key=a''']\n");
	assert_int_equal(judge(&fx, false, NULL, "x key=abc y", "key=abc", "abc", NULL, NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "x key=bbc y", "key=bbc", "bbc", NULL, NULL), -1);
	fx_free(&fx);
	fx_load(&fx, RULE "[[rules.allowlists]]\nregexTarget = 'match'\nregexes = ['''y$''']\n");
	assert_int_equal(judge(&fx, false, NULL, "x key=abc y", "key=abc", "abc", NULL, NULL), -1);
	fx_free(&fx);
	/* line: the whole line holding the match, not the next one, '\r' not included */
	fx_load(&fx, RULE "[[rules.allowlists]]\nregexTarget = 'line'\nregexes = "
	    "['''^# example: .*y$''']\n");
	assert_int_equal(judge(&fx, false, NULL, "a\n# example: key=abc y\r\nb", "key=abc", "abc",
	    NULL, NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "# example:\nkey=abc y\n", "key=abc", "abc",
	    NULL, NULL), -1);
	assert_int_equal(judge(&fx, false, NULL, "# example: key=abc\ny", "key=abc", "abc", NULL,
	    NULL), -1);
	fx_free(&fx);
	/* the secret regex never sees the line */
	fx_load(&fx, RULE "[[rules.allowlists]]\nregexes = ['''example''']\n");
	assert_int_equal(judge(&fx, false, NULL, "example key=abc", "key=abc", "abc", NULL, NULL),
	    -1);
	fx_free(&fx);
}

static void
test_stopwords(void **state)
{
	struct fixture fx;

	(void)state;
	fx_load(&fx, RULE "[[rules.allowlists]]\nstopwords = ['Dummy', 'xyz']\n");
	assert_int_equal(judge(&fx, false, NULL, "key=aDUMMYb", "key=aDUMMYb", "aDUMMYb", NULL,
	    NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "key=abxyz", "key=abxyz", "abxyz", NULL, NULL),
	    0);
	/* in the match but not in the secret: no */
	assert_int_equal(judge(&fx, false, NULL, "dummy key=abc", "key=abc", "abc", NULL, NULL),
	    -1);
	assert_int_equal(judge(&fx, false, NULL, "key=dumm", "key=dumm", "dumm", NULL, NULL), -1);
	fx_free(&fx);
}

static void
test_paths_commits(void **state)
{
	static const char c1[] = "0123456789abcdef0123456789abcdef01234567";
	struct fixture fx;

	(void)state;
	/* OR: a path alone allows only where the path is known and matches */
	fx_load(&fx, RULE "[[rules.allowlists]]\npaths = ['''^docs/''']\n");
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, NULL), -1);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", "docs/a.md", NULL),
	    0);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", "src/a.c", NULL),
	    -1);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", "", NULL), -1);
	fx_free(&fx);
	/* commits: case-blind, surrounding blanks ignored; unknown: unmet */
	fx_load(&fx, RULE "[[rules.allowlists]]\n"
	    "commits = [' 0123456789ABCDEF0123456789abcdef01234567 ']\n");
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, c1), 0);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, NULL), -1);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, "01234567"),
	    -1);
	fx_free(&fx);
}

static void
test_conditions(void **state)
{
	struct fixture fx;

	(void)state;
	/* OR (default): either criterion */
	fx_load(&fx, RULE "[[rules.allowlists]]\nregexes = ['''^a''']\nstopwords = ['zz']\n"
	    "paths = ['''^docs/''']\n");
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "key=bzz", "key=bzz", "bzz", NULL, NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "key=bcd", "key=bcd", "bcd", "docs/x", NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "key=bcd", "key=bcd", "bcd", NULL, NULL), -1);
	fx_free(&fx);
	/* AND: every criterion given; an unknown path makes it unmet */
	fx_load(&fx, RULE "[[rules.allowlists]]\ncondition = 'AND'\nregexes = ['''^a''']\n"
	    "stopwords = ['zz']\n");
	assert_int_equal(judge(&fx, false, NULL, "key=azz", "key=azz", "azz", NULL, NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, NULL), -1);
	assert_int_equal(judge(&fx, false, NULL, "key=bzz", "key=bzz", "bzz", NULL, NULL), -1);
	fx_free(&fx);
	fx_load(&fx, RULE "[[rules.allowlists]]\ncondition = 'AND'\nregexes = ['''^a''']\n"
	    "paths = ['''^docs/''']\n");
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, NULL), -1);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", "docs/x", NULL), 0);
	assert_int_equal(judge(&fx, false, NULL, "key=bbc", "key=bbc", "bbc", "docs/x", NULL),
	    -1);
	fx_free(&fx);
	fx_load(&fx, RULE "[[rules.allowlists]]\ncondition = '&&'\nregexes = ['''^a''']\n"
	    "commits = ['abc123']\n");
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, NULL), -1);
	assert_int_equal(judge(&fx, false, NULL, "key=abc", "key=abc", "abc", NULL, "ABC123"), 0);
	fx_free(&fx);
}

static void
test_globals(void **state)
{
	struct fixture fx;
	const struct cst_allowlist *const *al;
	size_t n;
	char err[200];

	(void)state;
	/* the rule's own first, then the global ones that target it; the old table form */
	fx_load(&fx, "[[allowlists]]\ndescription = 'g1'\nstopwords = ['zz']\n"
	    "[[allowlists]]\ndescription = 'g2'\ntargetRules = ['other']\nstopwords = ['yy']\n"
	    RULE "[rules.allowlist]\ndescription = 'own'\nregexes = ['''^a''']\n"
	    "[[rules]]\nid = 'other'\nregex = 'o'\n");
	assert_int_equal(cst_allowlist_set_for(fx.set, &fx.c->rules[0], "k", &al, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(cst_allowlist_description(al[0]), "own");
	assert_string_equal(cst_allowlist_description(al[1]), "g1");
	assert_int_equal(judge(&fx, false, NULL, "key=bzz", "key=bzz", "bzz", NULL, NULL), 1);
	assert_int_equal(judge(&fx, false, NULL, "key=byy", "key=byy", "byy", NULL, NULL), -1);
	assert_int_equal(cst_allowlist_set_for(fx.set, &fx.c->rules[1], "other", &al, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(cst_allowlist_description(al[1]), "g2");
	/* a rule of no file (a built-in one): the untargeted global ones */
	assert_int_equal(judge(&fx, true, "secret.aws", "key=bzz", "key=bzz", "bzz", NULL, NULL),
	    0);
	assert_int_equal(judge(&fx, true, "secret.aws", "key=azz", "key=azz", "azz", NULL, NULL),
	    0);
	assert_int_equal(judge(&fx, true, "secret.aws", "key=abc", "key=abc", "abc", NULL, NULL),
	    -1);
	fx_free(&fx);
	/* no allowlist at all */
	fx_load(&fx, RULE);
	assert_int_equal(cst_allowlist_set_for(fx.set, &fx.c->rules[0], "k", &al, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(al);
	fx_free(&fx);
}

static void
test_limit(void **state)
{
	struct fixture fx;
	const struct cst_allowlist *const *al;
	char *toml = cst_malloc(65536), err[200];
	size_t n, len, i;

	(void)state;
	assert_non_null(toml);
	len = (size_t)snprintf(toml, 65536, "%s", RULE);
	for (i = 0; i < CST_ALLOWLIST_MAX + 1; i++)
		len += (size_t)snprintf(toml + len, 65536 - len, "[[rules.allowlists]]\n"
		    "stopwords = ['w%zuq']\n", i);
	fx_load(&fx, toml);
	assert_int_equal(cst_allowlist_set_for(fx.set, &fx.c->rules[0], "k", &al, &n, err,
	    sizeof(err)), CST_ELIMIT);
	assert_non_null(strstr(err, "rule k: more than 64 allowlists"));
	fx_free(&fx);
	/* exactly the limit: the last one still counts */
	len = (size_t)snprintf(toml, 65536, "%s", RULE);
	for (i = 0; i < CST_ALLOWLIST_MAX; i++)
		len += (size_t)snprintf(toml + len, 65536 - len, "[[rules.allowlists]]\n"
		    "stopwords = ['w%zuq']\n", i);
	fx_load(&fx, toml);
	assert_int_equal(judge(&fx, false, NULL, "key=aw63q", "key=aw63q", "aw63q", NULL, NULL), 63);
	fx_free(&fx);
	cst_free(toml);
}

/* A policy naming a gitleaks file: the engine drops what an allowlist allows. */
static const char engine_toml[] =
    "[[rules]]\nid = 'acme'\nregex = '''acme_([a-z0-9]{16})'''\nkeywords = ['acme_']\n"
    "[[rules.allowlists]]\nregexTarget = 'line'\nregexes = ['''(?i)example:''']\n"
    "[[rules.allowlists]]\npaths = ['''docs/''']\n"
    "[[rules.allowlists]]\ncondition = 'AND'\nstopwords = ['test']\npaths = ['''x''']\n";

static void
scan_count(struct cst_insp_policy *p, const char *text, size_t want, const char *rule)
{
	struct cst_insp_ctx *c;
	struct cst_insp_result res;

	assert_int_equal(cst_insp_ctx_new(p, &c), 0);
	assert_int_equal(cst_insp_scan(c, CST_INSP_INPUT, text, strlen(text), &res), 0);
	if (res.n_findings != want)
		print_error("%s: %zu findings\n", text, res.n_findings);
	assert_int_equal(res.n_findings, want);
	if (want > 0)
		assert_string_equal(res.findings[0].rule, rule);
	cst_insp_ctx_free(c);
}

static void
test_engine(void **state)
{
	char dir[] = "/tmp/cst_allowlist_XXXXXX", path[300], err[512];
	struct cst_insp_policy *p;
	struct cst_gitleaks_config *gc;
	struct cst_insp_ctx *c;
	struct cst_insp_result res;
	struct cst_allowlist_scratch *sc;
	json_t *cfg;
	FILE *f;
	bool warn;
	const char *text = "key acme_0123456789abcdef test acme_testtesttesttest\n"
	    "Example: acme_fedcba9876543210\n";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rules.toml", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(engine_toml, f);
	fclose(f);
	cfg = json_pack("{s:{s:{s:s, s:b, s:s}}}", "input", "secrets", "action", "redact",
	    "builtin", 0, "gitleaks", "rules.toml");
	assert_int_equal(cst_insp_policy_load(cfg, dir, &p, err, sizeof(err)), 0);
	assert_int_equal(cst_insp_policy_n_notes(p), 1);
	assert_non_null(strstr(cst_insp_policy_note(p, 0, &warn), "1 of 1 gitleaks rules loaded"));
	assert_false(warn);
	/* the first key is found; the stopword AND path one is unmet; the line one allowed */
	scan_count(p, text, 2, "acme");
	scan_count(p, "Example: acme_fedcba9876543210", 0, NULL);
	cst_insp_policy_free(p);
	/* relative to the policy's directory: elsewhere the file is not found, named */
	assert_int_equal(cst_insp_policy_load(cfg, "/nonexistent", &p, err, sizeof(err)),
	    CST_EINVAL);
	assert_non_null(strstr(err, "input.secrets.gitleaks: /nonexistent/rules.toml"));
	json_decref(cfg);
	/* the secrets policy keeps allowed findings with the text criteria */
	assert_int_equal(cst_gitleaks_load_file(path, &gc, err, sizeof(err)), 0);
	assert_int_equal(cst_insp_policy_secrets((const struct cst_gitleaks_config *const *)&gc,
	    1, false, &p, err, sizeof(err)), 0);
	cst_gitleaks_free(gc);
	assert_int_equal(cst_insp_ctx_new(p, &c), 0);
	assert_int_equal(cst_insp_scan(c, CST_INSP_INPUT, text, strlen(text), &res), 0);
	assert_int_equal(res.n_findings, 3);
	assert_int_equal(res.findings[0].n_allow, 3);
	assert_int_equal(res.findings[0].allow_regex, 0);
	assert_int_equal(res.findings[1].allow_stop, 4);
	assert_int_equal(res.findings[2].allow_regex, 1);
	assert_int_equal(cst_allowlist_scratch_new(&sc), 0);
	assert_int_equal(cst_allowlist_first(res.findings[1].allow, 3, 0, 4, NULL, NULL, sc), -1);
	assert_int_equal(cst_allowlist_first(res.findings[1].allow, 3, 0, 4, "a/x", NULL, sc), 2);
	assert_int_equal(cst_allowlist_first(res.findings[0].allow, 3, 0, 0, "docs/x", NULL, sc),
	    1);
	cst_allowlist_scratch_free(sc);
	cst_insp_ctx_free(c);
	cst_insp_policy_free(p);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_stopwords),
		cmocka_unit_test(test_paths_commits),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
