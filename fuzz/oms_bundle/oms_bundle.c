/*
 * libFuzzer target for the OMS parsers of src/sign/oms.h: cst_oms_bundle_parse (Sigstore
 * bundle JSON, verification material, DSSE envelope, base64) and cst_oms_statement_parse
 * (in-toto statement, OMS predicate, serialization, resources), on the input itself and, when
 * the input is a bundle, on its decoded payload. Invariants:
 *  - every call returns 0, CST_EINVAL or CST_ELIMIT (never anything else, never a crash);
 *    a failure leaves *out NULL and writes a non-empty message;
 *  - a parsed bundle is consistent: 1..CST_OMS_MAX_SIGS non-empty signatures, a non-empty
 *    payload, key method with a hint or raw key, certificate method with 1..CST_OMS_MAX_CERTS
 *    non-empty certificates, sigstore method with exactly one certificate and tlog entries;
 *  - a parsed statement has 1..CST_OMS_MAX_RESOURCES resources whose names are canonical
 *    model paths (shards: "<canonical path>:<start>:<end>" with start < end), a supported
 *    hash, a shard size for shards, canonical ignore paths;
 *  - writer and parser agree: the statement rebuilt from a parsed one with
 *    cst_oms_statement_json parses back to the same subject, parameters and resources.
 * A violated invariant calls abort(). Nothing is kept between inputs.
 */
#include "core/alloc.h"
#include "core/err.h"
#include "sign/manifest.h"
#include "sign/oms.h"
#include "../fuzz_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (256 * 1024)

static bool
canonical(const char *p, size_t n)
{
	char buf[CST_MANIFEST_PATH_MAX + 1];

	return cst_manifest_canon(p, n, buf, sizeof(buf)) == 0 && strlen(buf) == n &&
	    memcmp(buf, p, n) == 0;
}

static void
check_statement(const struct cst_oms_statement *s)
{
	const struct cst_manifest_params *pa = &s->params;
	size_t i;

	check(s->n_resources >= 1 && s->n_resources <= CST_OMS_MAX_RESOURCES);
	check(s->subject_name != NULL);
	check(pa->hash == CST_MANIFEST_SHA256 || pa->hash == CST_MANIFEST_BLAKE2B);
	check(pa->method == CST_MANIFEST_FILES || (pa->shard_size >= 1 &&
	    pa->shard_size <= CST_MANIFEST_SHARD_MAX));
	for (i = 0; i < pa->n_ignore_paths; i++)
		check(canonical(pa->ignore_paths[i], strlen(pa->ignore_paths[i])) &&
		    strcmp(pa->ignore_paths[i], ".") != 0);
	for (i = 0; i < s->n_resources; i++) {
		const char *nm = s->resources[i].name;
		size_t n = strlen(nm), pl;
		uint64_t st, en;

		if (pa->method == CST_MANIFEST_SHARDS) {
			check(cst_manifest_shard_parse(nm, n, &pl, &st, &en) == 0 && st < en);
			check(canonical(nm, pl));
		} else {
			check(canonical(nm, n));
		}
	}
}

/* Rebuilds the statement through the writer and checks the parser reads it back the same. */
static void
round_trip(const struct cst_oms_statement *s)
{
	struct cst_manifest m;
	struct cst_oms_statement *back = NULL;
	char *json = NULL, msg[CST_OMS_MSG_LEN];
	size_t len, i, dl = cst_manifest_digest_len(s->params.hash);
	int r;

	memset(&m, 0, sizeof(m));
	m.model_name = s->subject_name;
	m.params = s->params;
	memcpy(m.root, s->root, sizeof(m.root));
	m.n_items = s->n_resources;
	m.items = cst_calloc(s->n_resources, sizeof(*m.items));
	if (m.items == NULL)
		return;
	for (i = 0; i < s->n_resources; i++) {
		m.items[i].name = s->resources[i].name;
		memcpy(m.items[i].digest, s->resources[i].digest, sizeof(m.items[i].digest));
	}
	r = cst_oms_statement_json(&m, &json, &len);
	check(r == 0 || r == CST_ENOMEM || r == CST_ELIMIT);
	if (r == 0) {
		r = cst_oms_statement_parse(json, len, &back, NULL, msg, sizeof(msg));
		check(r == 0);
		check(strcmp(back->subject_name, s->subject_name) == 0);
		check(memcmp(back->root, s->root, sizeof(s->root)) == 0);
		check(back->params.method == s->params.method &&
		    back->params.hash == s->params.hash &&
		    back->params.shard_size == s->params.shard_size &&
		    back->params.allow_symlinks == s->params.allow_symlinks &&
		    back->params.n_ignore_paths == s->params.n_ignore_paths);
		check(back->n_resources == s->n_resources);
		for (i = 0; i < s->n_resources; i++)
			check(strcmp(back->resources[i].name, s->resources[i].name) == 0 &&
			    memcmp(back->resources[i].digest, s->resources[i].digest, dl) == 0);
		cst_oms_statement_free(back);
	}
	cst_free(json);
	cst_free(m.items);
}

static void
statement(const void *p, size_t n)
{
	struct cst_oms_statement *s = NULL;
	char msg[CST_OMS_MSG_LEN] = "";
	bool unsup = false;
	int r = cst_oms_statement_parse(p, n, &s, &unsup, msg, sizeof(msg));

	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
	check((r == 0) == (s != NULL));
	if (r != 0) {
		check(r == CST_ENOMEM || msg[0] != '\0');
		return;
	}
	check(!unsup);
	check_statement(s);
	round_trip(s);
	cst_oms_statement_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cst_oms_bundle *b = NULL;
	char msg[CST_OMS_MSG_LEN] = "";
	size_t i;
	int r;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	r = cst_oms_bundle_parse(data, size, &b, msg, sizeof(msg));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT || r == CST_ENOMEM);
	check((r == 0) == (b != NULL));
	if (r != 0) {
		check(r == CST_ENOMEM || msg[0] != '\0');
		statement(data, size);	/* the statement parser on raw input too */
		return 0;
	}
	check(b->n_sigs >= 1 && b->n_sigs <= CST_OMS_MAX_SIGS);
	for (i = 0; i < b->n_sigs; i++)
		check(b->sigs[i].p != NULL && b->sigs[i].len > 0);
	check(b->payload.p != NULL && b->payload.len > 0 && b->payload_type != NULL);
	switch (b->method) {
	case CST_OMS_METHOD_KEY:
		check(b->n_certs == 0 && (b->key_hint != NULL || b->key_raw.len > 0));
		break;
	case CST_OMS_METHOD_CERTIFICATE:
		check(b->n_certs >= 1 && b->n_certs <= CST_OMS_MAX_CERTS);
		break;
	case CST_OMS_METHOD_SIGSTORE:
		check(b->n_certs == 1 && b->has_tlog_entries && b->n_tlog_entries >= 1);
		break;
	default:
		check(false);
	}
	for (i = 0; i < b->n_certs; i++)
		check(b->certs[i].p != NULL && b->certs[i].len > 0);
	check(b->n_tlog_entries <= CST_OMS_MAX_TLOG);
	statement(b->payload.p, b->payload.len);
	cst_oms_bundle_free(b);
	return 0;
}
