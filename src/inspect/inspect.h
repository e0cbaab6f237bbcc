/*
 * The content-inspection engine: applies a policy (which rules, what confidence, what action)
 * to a text and says what it found, whether the text must be blocked, and the text rewritten
 * where the policy redacts, masks or tokenises. Used alone by `castellan inspect` and by the
 * gateway's INSPECT_IN / INSPECT_OUT stages.
 *
 * A text is matched twice when its canonical view (view.h) differs from it: rules marked raw
 * (secrets: exact bytes matter) see the raw text, the others both; a finding in the canonical
 * view is mapped back to exact raw byte offsets. What the text hides in encodings (base64,
 * hex, escapes, ROT13, leetspeak, spaced letters: decode.h) is decoded, bounded, and matched
 * too, each finding mapped back to the raw bytes of the encoding it came from. Candidates from the matcher (match.h) are
 * confirmed by validators (validate.h), keyword and entropy checks, and scored as Presidio
 * does: a validator's yes gives 1.0 and its no drops the candidate; a context word among the
 * five words before the candidate adds 0.35 with a floor of 0.4.
 *
 * Findings never hold the matched value, only where it is. A policy is immutable and shared
 * by threads; each thread inspects with its own context, whose buffers are reused.
 */
#ifndef CST_INSPECT_INSPECT_H
#define CST_INSPECT_INSPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cst_insp_cat {
	CST_INSP_PII,
	CST_INSP_SECRET,
	CST_INSP_INJECTION,
	CST_INSP_DENIED,	/* the policy's denied words, phrases and regexes */
	CST_INSP_SMUGGLING,	/* hidden characters: tag smuggling, invisible-character floods */
	CST_INSP_EXFIL,		/* output sanitisation: markdown images and links to hosts outside
				 * the allow-list, active HTML, event handlers, script URLs */
	CST_INSP_LEAK,		/* the policy's canary strings (system-prompt leakage) */
	CST_INSP_N_CAT
};

/* In order of strength: where findings overlap, the strongest action wins. */
enum cst_insp_action {
	CST_INSP_LOG,		/* report only */
	CST_INSP_NEUTRALIZE,	/* make markup inert: '<' as "&lt;", "](" as "] (" (sanitize.h) */
	CST_INSP_MASK,		/* keep the last four characters, the rest '*' */
	CST_INSP_TOKENIZE,	/* [ENTITY:tok_<16 hex>], an HMAC of the value under the policy key */
	CST_INSP_REDACT,	/* [REDACTED:ENTITY] */
	CST_INSP_REMOVE,	/* delete the span */
	CST_INSP_BLOCK,		/* refuse the whole text */
};

enum cst_insp_dir { CST_INSP_INPUT, CST_INSP_OUTPUT };

/* Where an input text comes from: what the user sent, or content the model reads on the side
 * (retrieved documents, tool results). The injection classifier has a threshold for each. */
enum cst_insp_src { CST_INSP_SRC_DIRECT, CST_INSP_SRC_INDIRECT };

/* "pii", "secret", "injection", "denied", "smuggling", "exfil", "leak"; "log", "mask", ... */
const char *cst_insp_cat_name(enum cst_insp_cat c);
const char *cst_insp_action_name(enum cst_insp_action a);
/* Parses an action name; false when unknown. */
bool cst_insp_action_parse(const char *s, enum cst_insp_action *out);

struct cst_insp_finding {
	const char *rule;	/* stable id: "pii.credit_card", "secret.github_pat", ... */
	enum cst_insp_cat cat;
	const char *entity;	/* "CREDIT_CARD", "GITHUB_TOKEN", "PROMPT_INJECTION", ... */
	uint16_t confidence;	/* per mille */
	size_t start, end;	/* raw byte offsets [start, end) */
	const char *view;	/* where it was found: "raw", "canonical", or the decode chain
				 * in order of application ("base64", "canonical>hex>base64",
				 * "rot13" ...); valid until the next scan */
	const char *validator;	/* "valid", "unknown" (no checksum), or NULL (none applies) */
	enum cst_insp_action action;
	/* gitleaks allowlists (allowlist.h) that apply to the finding's rule (the policy's,
	 * valid while it is; NULL and 0 when none), and which of their text criteria hold: bit
	 * i of allow_regex / allow_stop for allow[i]'s regexes / stopwords. A policy with
	 * allowlists drops a finding they allow with path and commit unknown, except a
	 * cst_insp_policy_secrets policy, which leaves the decision to its caller. */
	const struct cst_allowlist *const *allow;
	uint32_t n_allow;
	uint64_t allow_regex, allow_stop;
};

struct cst_insp_result {
	const struct cst_insp_finding *findings;	/* valid until the next scan */
	size_t n_findings;
	bool blocked;		/* a finding's action is block, or the text was not fully
				 * inspected and the policy fails closed */
	enum cst_insp_cat block_cat;	/* the category of the first blocking finding */
	bool complete;		/* every rule ran to the end (no matcher limit was hit) */
	const char *incomplete;	/* when not complete, the first limit hit: "span_cap" (a rule
				 * found more than CST_PAT_MAX_SPANS values), "work_cap" (a rule
				 * rejected more candidates than CST_PAT_MAX_REJECTED: checksum
				 * failures and low confidence count as work, not values),
				 * "match_limit" (a rule hit the PCRE2 limits), "decode_limit"
				 * (the decoding budget ran out or a decoder's gate hit a limit),
				 * "finding_cap" (more than CST_INSP_MAX_FINDINGS findings) */
	bool rewritten;		/* text differs from the input */
	const char *text;	/* the text to pass on: rewritten, or the input itself */
	size_t len;
	struct {
		uint32_t hidden;	/* invisible, tag, variation-selector and filler characters */
		uint32_t confusables;
		bool canonical_scanned;
		uint32_t decoded;	/* decoded segments matched */
		bool classified;	/* the injection classifier scored the text */
		double injection_p;	/* its calibrated probability for the text's source */
	} signals;
};

struct cst_insp_policy;
struct cst_insp_ctx;
struct cst_gitleaks_config;
struct cst_allowlist;

/*
 * Compiles a policy from its configuration (NULL: the defaults), an object of the shape
 * documented in docs/content-inspection.md:
 *   { "input": DIRECTION, "output": DIRECTION, "fail_closed": bool,
 *     "tokenize_key": "hex" }
 *   DIRECTION: { "pii": { "action": A, "min_confidence": 0.4,
 *                         "entities": { "CREDIT_CARD": { "enabled": true, "action": A,
 *                                                        "min_confidence": 0.5 }, ... } },
 *                "secrets": { "action": A, "builtin": bool, "gitleaks": FILE | [FILE...] },
 *                "injection": { "action": A, "classifier": { "enabled": bool,
 *                               "threshold": 0.9, "indirect_threshold": 0.9, "model": FILE } },
 *                "smuggling": { "action": A, "max_hidden": 8 },
 *                "denied": { "action": A, "words": [...], "regexes": [...] } }
 * The injection classifier's weights are the built-in ones unless "model" names a weights
 * file; a file that is unreadable or fails its checks (classify.h) is CST_EINVAL.
 * "gitleaks" adds the accepted rules of gitleaks rule files (gitleaks.h) to the secret rules,
 * with their allowlists (allowlist.h: paths and commits unmet); "builtin": false leaves the
 * built-in secret rules out. A file that cannot be read or parsed, or whose rules cannot be
 * compiled, is CST_EINVAL naming the file (and the rule); each refused rule is a note
 * (cst_insp_policy_note).
 * 0; CST_EINVAL with err naming the member and the problem; CST_ENOMEM.
 */
int cst_insp_policy_new(const json_t *cfg, struct cst_insp_policy **out, char *err,
    size_t err_len);
/* The same, with relative file names in cfg (a classifier "model") read from base_dir
 * (NULL: the working directory), as the gateway does for its configuration's directory. */
int cst_insp_policy_load(const json_t *cfg, const char *base_dir,
    struct cst_insp_policy **out, char *err, size_t err_len);
/*
 * A policy of secret rules alone, for scanners of files and repositories (`castellan
 * secrets`): the built-in secret rules unless builtin is false, then the accepted rules of
 * each gitleaks configuration gl[0..n_gl) in order (copied: the configurations may be freed
 * afterwards). Both directions apply the same rules with action log and the default minimum
 * confidence; fail_closed is true. A gitleaks rule keeps its id, entity "SECRET", confidence
 * 0.8, its keywords and secretGroup (unset: the first non-empty capture group, else the whole
 * match) and its entropy (the secret's Shannon entropy must exceed it, as gitleaks asks).
 * Its path is not applied here; its allowlists (and the files' global ones, to every rule)
 * are evaluated on the text and left in the finding (allow, allow_regex, allow_stop) for the
 * caller, which knows paths and commits, to decide with cst_allowlist_first; finding.rule is
 * the rule id. A finding is returned whatever its allowlists say.
 * 0; CST_EINVAL (no rule at all, a secretGroup over 255, or a pattern that does not compile,
 * named in err); CST_ENOMEM.
 */
int cst_insp_policy_secrets(const struct cst_gitleaks_config *const *gl, size_t n_gl,
    bool builtin, struct cst_insp_policy **out, char *err, size_t err_len);
void cst_insp_policy_free(struct cst_insp_policy *p);
/*
 * What compiling the policy has to tell: for each gitleaks file, how many of its rules were
 * loaded (warn false) and each rule it refused with the reason (warn true). Note i < n of
 * cst_insp_policy_n_notes, valid while the policy is.
 */
size_t cst_insp_policy_n_notes(const struct cst_insp_policy *p);
const char *cst_insp_policy_note(const struct cst_insp_policy *p, size_t i, bool *warn);
/* A number that tells this policy from every other the process made (never 0, never
 * reused, unlike its address): what a cache of per-policy contexts is keyed by. */
uint64_t cst_insp_policy_serial(const struct cst_insp_policy *p);
/* Rules compiled for a direction (for `inspect --rules` and the benchmarks). */
size_t cst_insp_policy_rules(const struct cst_insp_policy *p, enum cst_insp_dir d);

int cst_insp_ctx_new(const struct cst_insp_policy *p, struct cst_insp_ctx **out);
void cst_insp_ctx_free(struct cst_insp_ctx *c);

/* Most findings one scan keeps (the rest are counted as a limit: complete = false). */
#define CST_INSP_MAX_FINDINGS 4096

/*
 * Inspects text[0..len) for direction d. 0 (res filled; its pointers stay valid until the
 * next scan with c), CST_ELIMIT (text over 1 GiB), CST_ENOMEM.
 */
int cst_insp_scan(struct cst_insp_ctx *c, enum cst_insp_dir d, const char *text, size_t len,
    struct cst_insp_result *res);

/*
 * Rewrites raw[0..len) as the rewriting actions of findings f[0..n) say (f sorted by start,
 * offsets into raw; a finding reaching past len is cut at len): overlapping findings merge
 * into one region whose action is the strongest among them. *out is raw itself when nothing
 * changes, else the context's output buffer (valid until the next scan or rewrite with c).
 * 0 or CST_ENOMEM.
 */
int cst_insp_rewrite(struct cst_insp_ctx *c, const char *raw, size_t len,
    const struct cst_insp_finding *f, size_t n, const char **out, size_t *out_len);

/*
 * The text raw[0..len) of the last scan with c with every finding redacted, whatever its
 * action: the copy a content log keeps. *out as cst_insp_rewrite. 0 or CST_ENOMEM.
 */
int cst_insp_redact_all(struct cst_insp_ctx *c, const char *raw, size_t len, const char **out,
    size_t *out_len);

/* The stream settings of a direction (stream.h). */
struct cst_insp_stream_conf {
	size_t window;		/* bytes held back */
	size_t max_hold;	/* most bytes ever held */
	bool fail_closed;	/* the policy's fail_closed */
};
void cst_insp_policy_stream(const struct cst_insp_policy *p, enum cst_insp_dir d,
    struct cst_insp_stream_conf *out);
/* GitHub's token checksum: the last six base62 characters are the CRC32 of the 30 before. */
bool cst_insp_github_checksum(const char *s, size_t n);
/* As cst_insp_scan (which is src = CST_INSP_SRC_DIRECT), for a text from src. */
int cst_insp_scan_src(struct cst_insp_ctx *c, enum cst_insp_dir d, enum cst_insp_src src,
    const char *text, size_t len, struct cst_insp_result *res);

#endif
