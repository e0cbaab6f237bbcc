/*
 * Unit tests for src/audit/note.c: the golang sumdb/note PeterNeumann signature reproduced
 * byte for byte; the C2SP signed-note example verified; the §2.5 example.com/audit-log
 * checkpoint signed byte for byte, its witness cosignature verified (timestamp 1767225600) and
 * reproduced from the witness seed; every tessera test-log checkpoint verified and re-signed
 * byte for byte, counted against the files on disk; every R4 rejection (table-driven, each
 * with its message), every proper prefix of a valid note, the signature-count and size
 * limits, vkey/skey and checkpoint malformations. These tests must never pass on a stub.
 */
#include "../check.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/note.h"
#include "core/err.h"
#include "crypto/hash.h"

#define MSGCAP CST_NOTE_MSG_LEN

static const char PN_SKEY[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char PN_VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char PN_TEXT[] = "If you think cryptography is the answer to your problem,\n"
			      "then you don't know what your problem is.\n";
static const char PN_LINE[] = "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcE"
			      "lZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static const char EX_VKEY[] = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char EX_NOTE[] = "This is an example message.\n\n"
			      "\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2O"
			      "NncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

static const char AL_VKEY[] = "example.com/audit-log+a8dc225d+AejH4+wu5YwLqaq9rDna4gU6LRF3T8IuUj6Yxk63nmqb";
static const char AL_SKEY[] =
    "PRIVATE+KEY+example.com/audit-log+a8dc225d+AbOr7Qi4Nu0YzkAZjThV7iFZoYMbLCzXZTzn3wVead/D";
static const char W_VKEY[] = "witness.example.com/w1+29530b98+BINalgz7bnHCM2+IYV1yBjZRyXXcVQ3Pku+HYdvmxbAL";
static const char AL_TEXT[] = "example.com/audit-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
static const char AL_LOGLINE[] = "\xe2\x80\x94 example.com/audit-log qNwiXXFCr42lJ2YcKLGDpIhtpdujyal+lX1"
				 "v9Y0KhnvTBoOLvkjXvW5rbpiXWy37q7jCMCbUa7Ft/75jfLHcrOZXEwk=\n";
static const char AL_WLINE[] = "\xe2\x80\x94 witness.example.com/w1 KVMLmAAAAABpVbkAZnmsYuPa8D32G0/qZ"
			       "DYIsV6eUJKY6TifFy1ElMMezgiW5zfBK/0oo1aIThKih6lN2f0tMaTvXlbm9FNOgRUaCA==\n";

/* ---- helpers --------------------------------------------------------------------------- */

static struct cst_note_vkey
vkey(const char *s)
{
	struct cst_note_vkey k;
	char msg[MSGCAP] = "";

	memset(&k, 0, sizeof(k));
	if (cst_note_vkey_parse(s, strlen(s), &k, msg, sizeof(msg)) != 0) {
		print_error("vkey %s: %s\n", s, msg);
		fail();
	}
	return k;
}

static void
skey(const char *s, struct cst_note_skey *k)
{
	char msg[MSGCAP] = "";

	if (cst_note_skey_parse(s, strlen(s), k, msg, sizeof(msg)) != 0) {
		print_error("skey: %s\n", msg);
		fail();
	}
}

/* Parses s[0..n) from an exact heap copy; returns the code and fills n_out/msg. */
static int
parse_exact(const char *s, size_t n, struct cst_note *note, char *msg, char **copy)
{
	*copy = exact(s, n);
	msg[0] = '\0';
	return cst_note_parse(*copy, n, note, msg, MSGCAP);
}

static char *
cat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *p = malloc(la + lb + lc + 1);

	assert_non_null(p);
	memcpy(p, a, la);
	memcpy(p + la, b, lb);
	memcpy(p + la + lb, c, lc + 1);
	return p;
}

static char *
read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(CST_NOTE_MAX_SIZE + 1);
	size_t got;

	assert_non_null(f);
	assert_non_null(buf);
	got = fread(buf, 1, CST_NOTE_MAX_SIZE + 1, f);
	fclose(f);
	assert_true(got <= CST_NOTE_MAX_SIZE);
	*n = got;
	return buf;
}

/* ---- known-answer vectors -------------------------------------------------------------- */

static void
test_peter_neumann(void **state)
{
	struct cst_note_skey sk;
	struct cst_note_vkey vk = vkey(PN_VKEY), keys[1];
	char out[512], vs[256], msg[MSGCAP] = "", *want, *copy;
	size_t n, nv = 0;
	struct cst_note note;

	(void)state;
	skey(PN_SKEY, &sk);
	CHECK_INT("pn id", sk.id, 0xc74f20a3u);
	CHECK("pn pub matches vkey", memcmp(sk.pub, vk.pub, 32) == 0);
	assert_int_equal(cst_note_sign(PN_TEXT, strlen(PN_TEXT), &sk, 0, out, sizeof(out), &n), 0);
	want = cat(PN_TEXT, "\n", PN_LINE);
	CHECK_INT("pn len", n, strlen(want));
	CHECK("pn bytes", memcmp(out, want, n) == 0);
	/* too small a buffer */
	CHECK_INT("pn e2big", cst_note_sign(PN_TEXT, strlen(PN_TEXT), &sk, 0, out, n - 1, &n),
	    CST_E2BIG);
	cst_note_skey_wipe(&sk);
	CHECK("wiped", sk.seed[0] == 0 && sk.id == 0);
	assert_int_equal(cst_note_vkey_format(&vk, vs, sizeof(vs)), 0);
	CHECK_STR("pn vkey format", vs, PN_VKEY);
	CHECK_INT("pn parse", parse_exact(want, strlen(want), &note, msg, &copy), 0);
	keys[0] = vk;
	CHECK_INT("pn verify", cst_note_verify(&note, keys, 1, &nv, msg, MSGCAP), 0);
	CHECK_INT("pn nv", nv, 1);
	free(copy);
	free(want);
}

static void
test_c2sp_example(void **state)
{
	struct cst_note_vkey keys[1] = { vkey(EX_VKEY) };
	struct cst_note note;
	char msg[MSGCAP], *copy, out[512];
	size_t nv = 0, n;

	(void)state;
	CHECK_INT("ex parse", parse_exact(EX_NOTE, strlen(EX_NOTE), &note, msg, &copy), 0);
	CHECK("ex text", str_is(note.text, "This is an example message.\n"));
	CHECK_INT("ex sigs", note.n_sigs, 1);
	CHECK("ex name", str_is(note.sigs[0].name, "example.com/foo"));
	CHECK_INT("ex id", note.sigs[0].key_id, 0x530d903au);
	CHECK_INT("ex siglen", note.sigs[0].sig_len, 64);
	CHECK_INT("ex verify", cst_note_verify(&note, keys, 1, &nv, msg, MSGCAP), 0);
	CHECK_INT("ex nv", nv, 1);
	assert_int_equal(cst_note_serialize(&note, out, sizeof(out), &n), 0);
	CHECK("ex roundtrip", n == strlen(EX_NOTE) && memcmp(out, EX_NOTE, n) == 0);
	CHECK_INT("ex ser e2big", cst_note_serialize(&note, out, n - 1, &n), CST_E2BIG);
	free(copy);
}

static void
test_audit_log_checkpoint(void **state)
{
	static const uint8_t want_root_hex_check[4] = { 0x5d, 0xc9, 0xda, 0x79 };
	struct cst_note_skey sk, wsk;
	struct cst_note_vkey keys[2] = { vkey(AL_VKEY), vkey(W_VKEY) };
	struct cst_note note;
	struct cst_checkpoint cp;
	char out[1024], msg[MSGCAP], *full, *copy, wkey[128], b64[64];
	uint8_t seed[33];
	size_t n, nv = 0;
	uint64_t ts = 0;

	(void)state;
	skey(AL_SKEY, &sk);
	assert_int_equal(cst_note_sign_line(AL_TEXT, strlen(AL_TEXT), &sk, 0, out, sizeof(out),
	    &n), 0);
	CHECK("al log line", n == strlen(AL_LOGLINE) && memcmp(out, AL_LOGLINE, n) == 0);
	cst_note_skey_wipe(&sk);

	/* The witness signer from its documented seed, SHA-256("audit-log test witness 1"). */
	seed[0] = CST_NOTE_SIG_COSIG;
	assert_int_equal(cst_sha256("audit-log test witness 1", 24, seed + 1), 0);
	assert_int_equal(EVP_EncodeBlock((unsigned char *)b64, seed, 33), 44);
	n = (size_t)snprintf(wkey, sizeof(wkey), "PRIVATE+KEY+witness.example.com/w1+29530b98+%s",
	    b64);
	skey(wkey, &wsk);
	CHECK("w pub", memcmp(wsk.pub, keys[1].pub, 32) == 0);
	assert_int_equal(cst_note_sign_line(AL_TEXT, strlen(AL_TEXT), &wsk, 1767225600, out,
	    sizeof(out), &n), 0);
	CHECK("al witness line", n == strlen(AL_WLINE) && memcmp(out, AL_WLINE, n) == 0);
	cst_note_skey_wipe(&wsk);

	n = strlen(AL_TEXT) + 1 + strlen(AL_LOGLINE) + strlen(AL_WLINE) + 1;
	full = malloc(n);
	assert_non_null(full);
	n = (size_t)snprintf(full, n, "%s\n%s%s", AL_TEXT, AL_LOGLINE, AL_WLINE);
	CHECK_INT("al 321 bytes", n, 321);
	CHECK_INT("al parse", parse_exact(full, n, &note, msg, &copy), 0);
	CHECK_INT("al sigs", note.n_sigs, 2);
	CHECK_INT("al verify", cst_note_verify(&note, keys, 2, &nv, msg, MSGCAP), 0);
	CHECK_INT("al nv", nv, 2);
	CHECK_INT("al cosig", cst_note_verify_sig(&note, &note.sigs[1], &keys[1], &ts), 0);
	CHECK_U64("al ts", ts, 1767225600u);
	/* the cosignature key must not verify the log's line, nor the log key the cosig */
	CHECK_INT("al cross", cst_note_verify_sig(&note, &note.sigs[0], &keys[1], NULL), CST_EINVAL);
	CHECK_INT("al cross2", cst_note_verify_sig(&note, &note.sigs[1], &keys[0], NULL), CST_EINVAL);

	CHECK_INT("al cp parse", cst_checkpoint_parse(note.text.p, note.text.len, &cp, msg,
	    MSGCAP), 0);
	CHECK("al origin", str_is(cp.origin, "example.com/audit-log"));
	CHECK_U64("al size", cp.size, 8);
	CHECK("al root", memcmp(cp.root, want_root_hex_check, 4) == 0);
	CHECK_INT("al ext", cp.ext.len, 0);
	assert_int_equal(cst_checkpoint_format(cp.origin, cp.size, cp.root, out, sizeof(out), &n),
	    0);
	CHECK("al cp format", n == strlen(AL_TEXT) && memcmp(out, AL_TEXT, n) == 0);
	CHECK_INT("al cp e2big", cst_checkpoint_format(cp.origin, cp.size, cp.root, out, n - 1,
	    &n), CST_E2BIG);
	free(copy);
	free(full);
}

/* ---- the tessera test log -------------------------------------------------------------- */

static void
test_tessera(void **state)
{
	const char *src = getenv("CST_SOURCE_DIR");
	char dir[1024], path[2048], msg[MSGCAP] = "", line[512];
	struct cst_note_vkey keys[1];
	struct cst_note_skey sk;
	struct dirent *de;
	size_t found = 0, verified = 0, n, kn;
	char *kbuf;
	DIR *d;

	(void)state;
	assert_non_null(src);
	snprintf(dir, sizeof(dir), "%s/../shared/data/merkle/tessera-testlog", src);
	snprintf(path, sizeof(path), "%s/log.vkey", dir);
	kbuf = read_all(path, &kn);
	while (kn > 0 && kbuf[kn - 1] == '\n')
		kn--;
	assert_int_equal(cst_note_vkey_parse(kbuf, kn, &keys[0], msg, MSGCAP), 0);
	free(kbuf);
	snprintf(path, sizeof(path), "%s/log.skey", dir);
	kbuf = read_all(path, &kn);
	while (kn > 0 && kbuf[kn - 1] == '\n')
		kn--;
	assert_int_equal(cst_note_skey_parse(kbuf, kn, &sk, msg, MSGCAP), 0);
	free(kbuf);

	snprintf(path, sizeof(path), "%s/log", dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct cst_note note;
		struct cst_checkpoint cp;
		size_t nv = 0, ln;
		char *buf;

		if (strncmp(de->d_name, "checkpoint", 10) != 0)
			continue;
		found++;
		snprintf(path, sizeof(path), "%s/log/%s", dir, de->d_name);
		buf = read_all(path, &n);
		CHECK_INT(de->d_name, cst_note_parse(buf, n, &note, msg, MSGCAP), 0);
		CHECK_INT(de->d_name, cst_note_verify(&note, keys, 1, &nv, msg, MSGCAP), 0);
		CHECK_INT(de->d_name, nv, 1);
		CHECK_INT(de->d_name, cst_checkpoint_parse(note.text.p, note.text.len, &cp, msg,
		    MSGCAP), 0);
		CHECK(de->d_name, str_is(cp.origin, "example.com/log/testdata"));
		if (strcmp(de->d_name, "checkpoint") == 0)
			CHECK_U64(de->d_name, cp.size, 15);
		else
			CHECK_U64(de->d_name, cp.size, strtoull(de->d_name + 11, NULL, 10));
		/* re-signing reproduces the stored line byte for byte */
		CHECK_INT(de->d_name, cst_note_sign_line(note.text.p, note.text.len, &sk, 0, line,
		    sizeof(line), &ln), 0);
		CHECK(de->d_name, ln == n - note.text.len - 1 &&
		    memcmp(line, buf + note.text.len + 1, ln) == 0);
		verified++;
		free(buf);
	}
	closedir(d);
	cst_note_skey_wipe(&sk);
	CHECK_INT("tessera found", found, 17);
	CHECK_INT("tessera verified", verified, found);
}

/* ---- malformed notes (R4) -------------------------------------------------------------- */

#define SIG_EX "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
#define DASH "\xe2\x80\x94 "

static const struct {
	const char *name;
	const char *in;
	int want;
	const char *msg;
} BAD[] = {
	{ "non-utf8 0xff", "This is \xff\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "invalid UTF-8 at byte 8" },
	{ "overlong", "A\xc0\x80\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "invalid UTF-8 at byte 1" },
	{ "surrogate", "A\xed\xa0\x80\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "invalid UTF-8*" },
	{ "truncated utf8", "A\xe2\x80\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "invalid UTF-8*" },
	{ "above 10ffff", "A\xf4\x90\x80\x80\n\n" DASH "example.com/foo " SIG_EX "\n",
	    CST_EINVAL, "invalid UTF-8*" },
	{ "tab", "This\tis\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "control character at byte 4" },
	{ "cr", "This is\r\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "control character*" },
	{ "del", "This\x7f\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "control character*" },
	{ "c1 nel", "This\xc2\x85\n\n" DASH "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "control character*" },
	{ "nul in sig", "This\n\n" DASH "example.com/foo\0 " SIG_EX "\n", CST_EINVAL,
	    "control character*" },
	{ "no blank line", "This is an example message.\n" DASH "example.com/foo " SIG_EX "\n",
	    CST_EINVAL, "no blank line before signatures" },
	{ "no signatures", "This is an example message.\n\n", CST_EINVAL, "no signature lines" },
	{ "no final newline", "This\n\n" DASH "example.com/foo " SIG_EX, CST_EINVAL,
	    "signature line 1 does not end in a newline" },
	{ "hyphen not em dash", "This\n\n- example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 does not start with an em dash and a space" },
	{ "en dash", "This\n\n\xe2\x80\x93 example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 does not start*" },
	{ "dash no space", "This\n\n\xe2\x80\x94" "example.com/foo " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 does not start*" },
	{ "blank after sigs", "This\n\n" DASH "example.com/foo " SIG_EX "\n\n", CST_EINVAL,
	    "no signature lines" },
	{ "second line bad", "This\n\n" DASH "example.com/foo " SIG_EX "\nx\n", CST_EINVAL,
	    "signature line 2 does not start*" },
	{ "no space", "This\n\n" DASH "example.com/foo\n", CST_EINVAL,
	    "signature line 1 has no space after the name" },
	{ "empty name", "This\n\n" DASH " " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 has an invalid key name" },
	{ "plus in name", "This\n\n" DASH "example.com+foo " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 has an invalid key name" },
	{ "nbsp in name", "This\n\n" DASH "example\xc2\xa0" "foo " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 has an invalid key name" },
	{ "ideographic space in name", "This\n\n" DASH "ex\xe3\x80\x80 " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 has an invalid key name" },
	{ "two spaces", "This\n\n" DASH "example.com/foo  " SIG_EX "\n", CST_EINVAL,
	    "signature line 1 has invalid base64" },
	{ "trailing space", "This\n\n" DASH "example.com/foo " SIG_EX " \n", CST_EINVAL,
	    "signature line 1 has invalid base64" },
	{ "b64 unpadded", "This\n\n" DASH "a Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM\n",
	    CST_EINVAL, "signature line 1 has invalid base64" },
	{ "b64 nonzero pad bits", "This\n\n" DASH "a Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQN=\n",
	    CST_EINVAL, "signature line 1 has invalid base64" },
	{ "b64 url alphabet", "This\n\n" DASH "a Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72Ine_aQM=\n",
	    CST_EINVAL, "signature line 1 has invalid base64" },
	{ "b64 pad in middle", "This\n\n" DASH "a Uw2Q=kn8srV1yJGh\n", CST_EINVAL,
	    "signature line 1 has invalid base64" },
	{ "b64 triple pad", "This\n\n" DASH "a AAAAA===\n", CST_EINVAL,
	    "signature line 1 has invalid base64" },
	{ "b64 empty", "This\n\n" DASH "a \n", CST_EINVAL,
	    "signature line 1 is shorter than a key ID and a signature" },
	{ "4 bytes only", "This\n\n" DASH "a AAAAAA==\n", CST_EINVAL,
	    "signature line 1 is shorter than a key ID and a signature" },
	{ "5 bytes ok", "This\n\n" DASH "a AAAAAAA=\n", 0, "" },
	{ "blank lines in text ok", "A\n\nB\n\n" DASH "a AAAAAAA=\n", 0, "" },
};

static void
test_malformed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(BAD); i++) {
		struct cst_note note;
		char msg[MSGCAP], *copy;
		size_t len = strlen(BAD[i].in);
		int r;

		if (strcmp(BAD[i].name, "nul in sig") == 0)
			len = 6 + 4 + 15 + 1 + 1 + strlen(SIG_EX) + 1;
		note.n_sigs = 999;
		r = parse_exact(BAD[i].in, len, &note, msg, &copy);
		CHECK_INT(BAD[i].name, r, BAD[i].want);
		if (r != 0) {
			CHECK(BAD[i].name, msg_matches(msg, BAD[i].msg));
			CHECK_INT(BAD[i].name, note.n_sigs, 999);	/* untouched */
		} else {
			CHECK_INT(BAD[i].name, note.n_sigs, 1);
		}
		free(copy);
	}
}

/* Every proper prefix of a valid one-signature note is refused. */
static void
test_prefixes(void **state)
{
	size_t i, len = strlen(EX_NOTE);

	(void)state;
	for (i = 0; i < len; i++) {
		struct cst_note note;
		char msg[MSGCAP], *copy;
		int r = parse_exact(EX_NOTE, i, &note, msg, &copy);

		CHECK("prefix", r == CST_EINVAL && msg[0] != '\0');
		free(copy);
	}
}

/* Tampered text, tampered signature, wrong ID, unknown keys, a failing key among good ones. */
static void
test_verify_failures(void **state)
{
	struct cst_note_vkey ex = vkey(EX_VKEY), al[2] = { vkey(AL_VKEY), vkey(W_VKEY) };
	struct cst_note_vkey pn = vkey(PN_VKEY), wrong;
	struct cst_note note;
	char msg[MSGCAP], *buf, *copy;
	size_t nv = 77, i, flips = 0;
	int r;

	(void)state;
	/* tampered text */
	buf = exact(EX_NOTE, strlen(EX_NOTE));
	buf[26] = '!';
	assert_int_equal(cst_note_parse(buf, strlen(EX_NOTE), &note, msg, MSGCAP), 0);
	CHECK_INT("tampered text", cst_note_verify(&note, &ex, 1, &nv, msg, MSGCAP), CST_EINVAL);
	CHECK("tampered text msg", msg_matches(msg,
	    "signature 1 by known key example.com/foo+530d903a does not verify"));
	CHECK_INT("nv untouched", nv, 77);
	free(buf);

	/* every base64 character of the signature (after the key ID) changed: never verifies */
	for (i = strlen(EX_NOTE) - 1 - strlen(SIG_EX) + 8; i < strlen(EX_NOTE) - 2; i++) {
		buf = exact(EX_NOTE, strlen(EX_NOTE));
		buf[i] = buf[i] == 'A' ? 'B' : 'A';
		r = cst_note_parse(buf, strlen(EX_NOTE), &note, msg, MSGCAP);
		if (r == 0) {
			CHECK_INT("tampered sig", cst_note_verify(&note, &ex, 1, NULL, msg, MSGCAP),
			    CST_EINVAL);
			flips++;
		} else {
			CHECK_INT("tampered sig parse", r, CST_EINVAL);
		}
		free(buf);
	}
	CHECK("flips tried", flips > 80);

	/* a key with the right name but another ID: the signature is unknown, so refused */
	wrong = ex;
	wrong.id ^= 1;
	CHECK_INT("ex parse", parse_exact(EX_NOTE, strlen(EX_NOTE), &note, msg, &copy), 0);
	CHECK_INT("wrong id", cst_note_verify(&note, &wrong, 1, NULL, msg, MSGCAP), CST_EINVAL);
	CHECK_STR("wrong id msg", msg, "no signature by a known key");
	CHECK_INT("unrelated key", cst_note_verify(&note, &pn, 1, NULL, msg, MSGCAP), CST_EINVAL);
	CHECK_INT("no keys", cst_note_verify(&note, NULL, 0, NULL, msg, MSGCAP), CST_EINVAL);
	/* a matching (name, ID) with a different public key must fail, not be ignored */
	wrong = ex;
	wrong.pub[0] ^= 1;
	CHECK_INT("wrong pub", cst_note_verify(&note, &wrong, 1, NULL, msg, MSGCAP), CST_EINVAL);
	CHECK("wrong pub msg", msg_matches(msg, "signature 1 by known key*"));
	free(copy);

	/* the audit-log note with its witness line tampered */
	{
		char full[512], *p;
		size_t n = (size_t)snprintf(full, sizeof(full), "%s\n%s%s", AL_TEXT, AL_LOGLINE,
		    AL_WLINE);

		p = strstr(full, "KVMLmAAAAABpVbkA");
		assert_non_null(p);
		p[16] = p[16] == 'A' ? 'B' : 'A';	/* first signature byte area */
		CHECK_INT("al tampered parse", parse_exact(full, n, &note, msg, &copy), 0);
		CHECK_INT("known failing among good", cst_note_verify(&note, al, 2, &nv, msg,
		    MSGCAP), CST_EINVAL);
		CHECK("al msg", msg_matches(msg,
		    "signature 2 by known key witness.example.com/w1+29530b98*"));
		/* without the witness key the bad cosignature is unknown and ignored */
		CHECK_INT("unknown ignored", cst_note_verify(&note, al, 1, &nv, msg, MSGCAP), 0);
		CHECK_INT("unknown ignored nv", nv, 1);
		free(copy);
		/* timestamp changed: the cosignature no longer verifies */
		n = (size_t)snprintf(full, sizeof(full), "%s\n%s%s", AL_TEXT, AL_LOGLINE, AL_WLINE);
		p = strstr(full, "KVMLmAAAAABpVbkA");
		p[13] = 'l';	/* changes the low bits of the timestamp */
		CHECK_INT("al ts parse", parse_exact(full, n, &note, msg, &copy), 0);
		CHECK_INT("al ts tampered", cst_note_verify_sig(&note, &note.sigs[1], &al[1], NULL),
		    CST_EINVAL);
		free(copy);
	}
}

/* 16 and 100 signatures are accepted, 101 is over the limit; so is a note over 1 MiB. */
static void
test_limits(void **state)
{
	struct cst_note_vkey ex = vkey(EX_VKEY);
	static const char filler[] = DASH "other.example/k AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
	const char *real = EX_NOTE + strlen("This is an example message.\n\n");
	size_t counts[] = { 16, 100, 101 }, i, j, o, nv;
	struct cst_note note;
	char msg[MSGCAP], *buf;
	int r;

	(void)state;
	buf = malloc(CST_NOTE_MAX_SIZE + 2);
	assert_non_null(buf);
	for (i = 0; i < N_ELEM(counts); i++) {
		o = (size_t)snprintf(buf, 64, "This is an example message.\n\n");
		for (j = 0; j + 1 < counts[i]; j++) {
			memcpy(buf + o, filler, sizeof(filler) - 1);
			o += sizeof(filler) - 1;
		}
		memcpy(buf + o, real, strlen(real));
		o += strlen(real);
		r = cst_note_parse(buf, o, &note, msg, MSGCAP);
		if (counts[i] <= CST_NOTE_MAX_SIGS) {
			CHECK_INT("sig count ok", r, 0);
			CHECK_INT("n_sigs", note.n_sigs, counts[i]);
			CHECK_INT("verify many", cst_note_verify(&note, &ex, 1, &nv, msg, MSGCAP), 0);
			CHECK_INT("verify many nv", nv, 1);
		} else {
			CHECK_INT("sig count over", r, CST_ELIMIT);
			CHECK_STR("sig count msg", msg, "more than 100 signatures");
		}
	}
	/* size: exactly the maximum is parsed (and refused only for content), one more is not */
	memset(buf, 'a', CST_NOTE_MAX_SIZE + 1);
	o = strlen(EX_NOTE);
	memcpy(buf + CST_NOTE_MAX_SIZE - o, EX_NOTE, o);
	buf[CST_NOTE_MAX_SIZE - o - 1] = '\n';
	CHECK_INT("max size", cst_note_parse(buf, CST_NOTE_MAX_SIZE, &note, msg, MSGCAP), 0);
	CHECK_INT("max size text", note.text.len, CST_NOTE_MAX_SIZE - o + 28);
	buf[CST_NOTE_MAX_SIZE] = 'a';
	memmove(buf + 1, buf, CST_NOTE_MAX_SIZE);
	CHECK_INT("over size", cst_note_parse(buf, CST_NOTE_MAX_SIZE + 1, &note, msg, MSGCAP),
	    CST_ELIMIT);
	free(buf);
}

/* ---- keys ------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *in;
	const char *msg;
} BADKEY[] = {
	{ "no plus", "example.com/foo", "key has no '+' after the name" },
	{ "empty name", "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key has an invalid name" },
	{ "space in name", "example.com foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key has an invalid name" },
	{ "short id", "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key ID is not 8 lower-case hex digits" },
	{ "non-hex id", "example.com/foo+530d903g+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key ID is not 8 lower-case hex digits" },
	{ "upper-case id", "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key ID is not 8 lower-case hex digits" },
	{ "wrong id", "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key ID 530d903b does not match the key (530d903a)" },
	{ "wrong name", "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key ID 530d903a does not match*" },
	{ "short key", "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",
	    "key data is not base64 of 33 bytes" },
	{ "bad b64", "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2*",
	    "key data is not base64 of 33 bytes" },
	{ "type 2", "example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "key data is not base64 of 33 bytes" },
	{ "type 0x02", "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "unsupported key type 0x02" },
};

static void
test_keys(void **state)
{
	struct cst_note_vkey k;
	struct cst_note_skey sk;
	char msg[MSGCAP];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(BADKEY); i++) {
		msg[0] = '\0';
		CHECK_INT(BADKEY[i].name, cst_note_vkey_parse(BADKEY[i].in, strlen(BADKEY[i].in),
		    &k, msg, MSGCAP), CST_EINVAL);
		CHECK(BADKEY[i].name, msg_matches(msg, BADKEY[i].msg));
	}
	/* a vkey is not a signer key and vice versa */
	CHECK_INT("vkey as skey", cst_note_skey_parse(PN_VKEY, strlen(PN_VKEY), &sk, msg, MSGCAP),
	    CST_EINVAL);
	CHECK_STR("vkey as skey msg", msg, "signer key does not start PRIVATE+KEY+");
	CHECK_INT("skey as vkey", cst_note_vkey_parse(PN_SKEY, strlen(PN_SKEY), &k, msg, MSGCAP),
	    CST_EINVAL);
	/* an skey whose ID does not match the derived public key; the message has no secret */
	{
		char bad[] = "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

		CHECK_INT("skey wrong id", cst_note_skey_parse(bad, strlen(bad), &sk, msg, MSGCAP),
		    CST_EINVAL);
		CHECK_STR("skey wrong id msg", msg, "key ID c74f20a4 does not match the key (c74f20a3)");
	}
	/* signing refuses text that is not valid note text */
	skey(PN_SKEY, &sk);
	{
		char out[256];
		size_t n;

		CHECK_INT("sign no newline", cst_note_sign("abc", 3, &sk, 0, out, sizeof(out), &n),
		    CST_EINVAL);
		CHECK_INT("sign empty", cst_note_sign("", 0, &sk, 0, out, sizeof(out), &n),
		    CST_EINVAL);
		CHECK_INT("sign ctrl", cst_note_sign("a\tb\n", 4, &sk, 0, out, sizeof(out), &n),
		    CST_EINVAL);
		CHECK_INT("sign bad utf8", cst_note_sign("a\xff\n", 3, &sk, 0, out, sizeof(out), &n),
		    CST_EINVAL);
	}
	cst_note_skey_wipe(&sk);
}

/* ---- checkpoints ----------------------------------------------------------------------- */

#define ROOT "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="

static const struct {
	const char *name;
	const char *in;
	int want;
	unsigned long long size;
	const char *msg;
} CP[] = {
	{ "ok", "o\n8\n" ROOT "\n", 0, 8, "" },
	{ "zero", "o\n0\n" ROOT "\n", 0, 0, "" },
	{ "max", "o\n18446744073709551615\n" ROOT "\n", 0, 18446744073709551615ull, "" },
	{ "ext", "o\n8\n" ROOT "\next one\next two\n", 0, 8, "" },
	{ "overflow", "o\n18446744073709551616\n" ROOT "\n", CST_EINVAL, 0,
	    "checkpoint size exceeds 2^64-1" },
	{ "leading zero", "o\n08\n" ROOT "\n", CST_EINVAL, 0, "checkpoint size has a leading zero" },
	{ "double zero", "o\n00\n" ROOT "\n", CST_EINVAL, 0, "checkpoint size has a leading zero" },
	{ "plus", "o\n+8\n" ROOT "\n", CST_EINVAL, 0, "checkpoint size is not decimal" },
	{ "minus", "o\n-8\n" ROOT "\n", CST_EINVAL, 0, "checkpoint size is not decimal" },
	{ "hex", "o\n8a\n" ROOT "\n", CST_EINVAL, 0, "checkpoint size is not decimal" },
	{ "space", "o\n 8\n" ROOT "\n", CST_EINVAL, 0, "checkpoint size is not decimal" },
	{ "empty size", "o\n\n" ROOT "\n", CST_EINVAL, 0, "checkpoint has no size line" },
	{ "empty origin", "\n8\n" ROOT "\n", CST_EINVAL, 0, "checkpoint has no origin line" },
	{ "no size", "o\n", CST_EINVAL, 0, "checkpoint has no size line" },
	{ "no root", "o\n8\n", CST_EINVAL, 0, "checkpoint has no root hash line" },
	{ "root no newline", "o\n8\n" ROOT, CST_EINVAL, 0, "checkpoint has no root hash line" },
	{ "root 31 bytes", "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==\n", CST_EINVAL, 0,
	    "checkpoint root hash is not base64 of 32 bytes" },
	{ "root 33 bytes", "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQygA\n", CST_EINVAL, 0,
	    "checkpoint root hash is not base64 of 32 bytes" },
	{ "root unpadded", "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n", CST_EINVAL, 0,
	    "checkpoint root hash is not base64 of 32 bytes" },
	{ "root pad bits", "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n", CST_EINVAL, 0,
	    "checkpoint root hash is not base64 of 32 bytes" },
	{ "empty ext line", "o\n8\n" ROOT "\n\n", CST_EINVAL, 0, "checkpoint has an empty line" },
	{ "ext no newline", "o\n8\n" ROOT "\next", CST_EINVAL, 0,
	    "checkpoint does not end in a newline" },
};

static void
test_checkpoints(void **state)
{
	size_t i, n;
	char out[256];

	(void)state;
	for (i = 0; i < N_ELEM(CP); i++) {
		struct cst_checkpoint cp;
		char msg[MSGCAP] = "", *copy = exact(CP[i].in, strlen(CP[i].in));
		int r = cst_checkpoint_parse(copy, strlen(CP[i].in), &cp, msg, MSGCAP);

		CHECK_INT(CP[i].name, r, CP[i].want);
		if (r == 0) {
			CHECK_U64(CP[i].name, cp.size, CP[i].size);
			CHECK(CP[i].name, str_is(cp.origin, "o"));
			if (strcmp(CP[i].name, "ext") == 0)
				CHECK(CP[i].name, str_is(cp.ext, "ext one\next two\n"));
			else
				CHECK_INT(CP[i].name, cp.ext.len, 0);
		} else {
			CHECK(CP[i].name, msg_matches(msg, CP[i].msg));
		}
		free(copy);
	}
	{
		uint8_t root[32] = { 0 };

		CHECK_INT("fmt empty origin", cst_checkpoint_format(cst_str_make("", 0), 1, root,
		    out, sizeof(out), &n), CST_EINVAL);
		CHECK_INT("fmt newline origin", cst_checkpoint_format(CST_STR_LIT("a\nb"), 1, root,
		    out, sizeof(out), &n), CST_EINVAL);
		CHECK_INT("fmt zero", cst_checkpoint_format(CST_STR_LIT("o"), 0, root, out,
		    sizeof(out), &n), 0);
		CHECK("fmt zero bytes", n == 49 && memcmp(out,
		    "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", n) == 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peter_neumann),
		cmocka_unit_test(test_c2sp_example),
		cmocka_unit_test(test_audit_log_checkpoint),
		cmocka_unit_test(test_tessera),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_verify_failures),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_checkpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
