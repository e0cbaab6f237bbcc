/*
 * The built-in inspection rules: PII recognisers (Presidio's pattern entities, with its base
 * scores and context words), secret rules of Castellan's own, and multilingual prompt-
 * injection phrases. Internal to src/inspect/; inspect.c compiles them with a policy.
 */
#ifndef CST_INSPECT_RULES_H
#define CST_INSPECT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/inspect.h"

enum {
	CST_RULE_RAW = 1 << 0,		/* matched on the raw text */
	CST_RULE_CANONICAL = 1 << 1,	/* matched on the canonical view when it differs */
	CST_RULE_OFF = 1 << 2,		/* disabled unless the policy enables its entity */
	CST_RULE_URL = 1 << 3,		/* reported only if its URL leaves the allow-list
					 * (cst_sanitize_url_flagged) */
	CST_RULE_FIRST_GROUP = 1 << 4,	/* the value is the first non-empty capture group (else
					 * the whole match): gitleaks without secretGroup */
	CST_RULE_GITLEAKS = 1 << 5,	/* from a gitleaks file: line breaks around the match
					 * are not part of it (gitleaks trims them) */
};

struct cst_insp_rule {
	const char *id;		/* "pii.credit_card" */
	enum cst_insp_cat cat;
	const char *entity;	/* Presidio entity type for PII; its validator is looked up by it */
	const char *regex;	/* PCRE2 */
	unsigned pat_flags;	/* CST_PAT_* */
	uint16_t base;		/* base confidence, per mille */
	const char *context;	/* '|'-separated lower-case context words, or NULL */
	const char *keywords;	/* '|'-separated lower-case keywords, one of which must occur in
				 * the text for the rule to count (gitleaks semantics), or NULL */
	uint16_t entropy;	/* minimum Shannon entropy of the value, in hundredths, or 0 */
	uint8_t group;		/* capture group holding the value (0: the whole match); with
				 * CST_RULE_FIRST_GROUP, the number of groups the pattern has */
	uint8_t flags;		/* CST_RULE_* */
	const char *prefilter;	/* what Hyperscan looks for instead of regex (match.h: every
				 * match of regex holds one), or NULL */
};

/* The built-in rules of category cat; *n set to their count. */
const struct cst_insp_rule *cst_insp_builtin_rules(enum cst_insp_cat cat, size_t *n);

/* Whether s[0..n) holds 7 to 15 digits, as a phone number does (E.164). */
bool cst_insp_phone_digits(const char *s, size_t n);

#endif
