/*
 * Unit tests for src/sign/crypt.c and crypt_dir.c: the encrypted-file format checked
 * independently of crypt.c (header bytes, HKDF through EVP_PKEY_HKDF, the header MAC through
 * HMAC(), segment 0 decrypted with a fresh EVP context from the documented nonce and associated
 * data), round trips around the segment size, and every tamper the format must catch: bit
 * flips in the header, segments and tags, truncation at and between segment boundaries, a
 * dropped final segment, trailing bytes, reordered segments, segments spliced from another
 * file of the same model and from another model, a renamed file, a replaced file and a wrong
 * data key, each refused with its CST_E* code and reason and with the output left empty.
 * The header and key-file parsers are tested on every prefix, every limit boundary and
 * malformed input. The directory layer runs with a software AES key wrap (RFC 5649) standing
 * in for the HSM: round trip of a nested tree, and refusals (extra, missing and renamed
 * files, a modified key file, a wrong key, symlinks, non-empty output), with nothing left at
 * the destination or in a staging directory. These tests must never pass on a stub.
 */
#include "../check.h"
#include "soft_kek.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "sign/crypt.h"

#define SEG 4096u
#define CHUNK (SEG + 16u)

static struct cst_crypt_ctx *ctx;
static uint8_t dek[32], dek2[32], mid[16], mid2[16];

struct blob {
	uint8_t *p;
	size_t n;
};

static int
setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++) {
		dek[i] = (uint8_t)(i * 7 + 1);
		dek2[i] = (uint8_t)(i * 13 + 5);
	}
	for (i = 0; i < 16; i++) {
		mid[i] = (uint8_t)(0xa0 + i);
		mid2[i] = (uint8_t)(0x30 + i);
	}
	return cst_crypt_ctx_new(&ctx);
}

static int
teardown(void **state)
{
	(void)state;
	cst_crypt_ctx_free(ctx);
	return 0;
}

static void
pattern(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 8));
}

static int
memfd_with(const uint8_t *p, size_t n)
{
	int fd = memfd_create("crypt-test", 0);

	assert_true(fd >= 0);
	if (n)
		assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static struct blob
fd_contents(int fd)
{
	struct blob b;
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	b.n = (size_t)st.st_size;
	b.p = malloc(b.n + 1);
	assert_non_null(b.p);
	if (b.n)
		assert_int_equal(pread(fd, b.p, b.n, 0), (ssize_t)b.n);
	return b;
}

/* Encrypts plain[0..len) as path of model m under key k. */
static struct blob
enc(const uint8_t *k, const uint8_t *m, const char *path, uint32_t seg, const uint8_t *plain,
    size_t len, struct cst_crypt_file_info *info)
{
	struct cst_crypt_err err;
	struct blob b;
	int in = memfd_with(plain, len), out = memfd_with(NULL, 0), r;

	r = cst_crypt_encrypt_fd(ctx, k, m, path, seg, in, out, info, &err);
	if (r != 0)
		print_error("encrypt: %s\n", err.msg);
	assert_int_equal(r, 0);
	b = fd_contents(out);
	close(in);
	close(out);
	return b;
}

/* n bytes of pattern(seed) encrypted as "w.bin" of model mid under dek, SEG-byte segments. */
static struct blob
enc_w(size_t n, unsigned seed)
{
	uint8_t *plain = malloc(n ? n : 1);
	struct blob b;

	assert_non_null(plain);
	pattern(plain, n, seed);
	b = enc(dek, mid, "w.bin", SEG, plain, n, NULL);
	free(plain);
	return b;
}

/* Decrypts ct into *pt (always set: the output's contents, empty on failure). */
static int
dec(const uint8_t *k, const uint8_t *m, const char *path, const uint8_t *digest,
    const uint8_t *ct, size_t n, struct blob *pt, struct cst_crypt_err *err)
{
	int in = memfd_with(ct, n), out = memfd_with(NULL, 0), r;

	r = cst_crypt_decrypt_fd(ctx, k, m, path, digest, in, out, NULL, err);
	*pt = fd_contents(out);
	close(in);
	close(out);
	return r;
}

static size_t
hdr_len(const char *path)
{
	return CST_CRYPT_HEADER_FIXED + strlen(path) + CST_CRYPT_MAC_LEN;
}

/*
 * Expects ct[0..n) to be refused with code and (when what != OK) reason, output empty. Returns
 * the error, for the caller's further checks.
 */
static struct cst_crypt_err
refused(const char *name, const uint8_t *ct, size_t n, const char *path, const uint8_t *k,
    const uint8_t *m, const uint8_t *digest, int code, enum cst_crypt_what what)
{
	struct cst_crypt_err err;
	struct blob pt;
	int r = dec(k, m, path, digest, ct, n, &pt, &err);

	CHECK_INT(name, r, code);
	if (what != CST_CRYPT_OK)
		CHECK_INT(name, err.what, what);
	CHECK(name, err.msg[0] != '\0');
	CHECK_INT(name, pt.n, 0);
	free(pt.p);
	return err;
}

/* ---- round trips and the format ------------------------------------------------------- */

static void
test_roundtrip(void **state)
{
	static const size_t lens[] = { 0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 7,
	    5 * SEG, 17 * SEG + 4095 };
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(lens); i++) {
		size_t len = lens[i], nseg = len == 0 ? 1 : (len + SEG - 1) / SEG;
		uint8_t *plain = malloc(len + 1);
		struct cst_crypt_file_info info, info2;
		struct cst_crypt_err err;
		struct blob ct, pt;
		char name[64];
		int in, out;

		assert_non_null(plain);
		snprintf(name, sizeof(name), "roundtrip %zu", len);
		pattern(plain, len, (unsigned)i);
		ct = enc(dek, mid, "dir/weights.bin", SEG, plain, len, &info);
		CHECK_U64(name, info.size, len);
		CHECK_U64(name, info.segments, nseg);
		CHECK_U64(name, ct.n, hdr_len("dir/weights.bin") + len + 16 * nseg);
		if (len >= 32)
			CHECK(name, memmem(ct.p, ct.n, plain, 32) == NULL);
		in = memfd_with(ct.p, ct.n);
		out = memfd_with(NULL, 0);
		CHECK_INT(name, cst_crypt_decrypt_fd(ctx, dek, mid, "dir/weights.bin",
		    info.header_sha256, in, out, &info2, &err), 0);
		pt = fd_contents(out);
		CHECK_U64(name, pt.n, len);
		CHECK(name, len == 0 || memcmp(pt.p, plain, len) == 0);
		CHECK_U64(name, info2.size, len);
		CHECK_U64(name, info2.segments, nseg);
		CHECK(name, memcmp(info.header_sha256, info2.header_sha256, 32) == 0);
		close(in);
		close(out);
		free(pt.p);
		free(ct.p);
		free(plain);
	}
}

/* Two encryptions of the same file differ (fresh salt: fresh file key), both decrypt. */
static void
test_fresh_salt(void **state)
{
	uint8_t plain[100];
	struct cst_crypt_file_info ia, ib;
	struct blob a, b;

	(void)state;
	pattern(plain, sizeof(plain), 3);
	a = enc(dek, mid, "x", SEG, plain, sizeof(plain), &ia);
	b = enc(dek, mid, "x", SEG, plain, sizeof(plain), &ib);
	CHECK("salts differ", memcmp(a.p + 28, b.p + 28, 32) != 0);
	CHECK("ciphertexts differ", memcmp(a.p + hdr_len("x"), b.p + hdr_len("x"), 100) != 0);
	CHECK("digests differ", memcmp(ia.header_sha256, ib.header_sha256, 32) != 0);
	free(a.p);
	free(b.p);
}

static void
hkdf_ref(const uint8_t *key, const uint8_t *salt, size_t salt_len, const uint8_t *info,
    size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t n = out_len;

	assert_non_null(p);
	assert_int_equal(EVP_PKEY_derive_init(p), 1);
	assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(p, key, 32), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(p, salt, (int)salt_len), 1);
	assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(p, info, (int)info_len), 1);
	assert_int_equal(EVP_PKEY_derive(p, out, &n), 1);
	assert_int_equal(n, out_len);
	EVP_PKEY_CTX_free(p);
}

/*
 * The documented layout, recomputed here without crypt.c: header fields, HKDF info, the
 * header MAC, and segments decrypted with AES-256-GCM from nonce 0^4 | u64 index and
 * associated data SHA-256(header) | u64 index | final.
 */
static void
test_format_independent(void **state)
{
	const char *path = "a/b.safetensors";
	size_t plen = strlen(path), hl = hdr_len(path), len = SEG + 10, i;
	uint8_t plain[SEG + 10], back[SEG], info[64 + 4096], keys[64], mac[32], digest[32];
	uint8_t aad[41], iv[12];
	struct cst_crypt_file_info fi;
	unsigned int ml = 0;
	struct blob ct;
	size_t n = 0;
	int outl = 0, fin = 0, s;

	(void)state;
	pattern(plain, len, 9);
	ct = enc(dek, mid, path, SEG, plain, len, &fi);
	CHECK("magic", memcmp(ct.p, "CSTMENC1", 8) == 0);
	CHECK("segment size", ct.p[8] == 0 && ct.p[9] == 0 && ct.p[10] == 0x10 && ct.p[11] == 0);
	CHECK("model id", memcmp(ct.p + 12, mid, 16) == 0);
	CHECK("path length", ct.p[60] == 0 && ct.p[61] == plen);
	CHECK("path", memcmp(ct.p + 62, path, plen) == 0);
	memcpy(info, "castellan-model-file-v1", 23);
	n = 23;
	memcpy(info + n, mid, 16);
	n += 16;
	memcpy(info + n, ct.p + 8, 4);
	n += 4;
	memcpy(info + n, ct.p + 60, 2 + plen);
	n += 2 + plen;
	hkdf_ref(dek, ct.p + 28, 32, info, n, keys, 64);
	assert_non_null(HMAC(EVP_sha256(), keys + 32, 32, ct.p, hl - 32, mac, &ml));
	CHECK("header mac", memcmp(mac, ct.p + hl - 32, 32) == 0);
	assert_non_null(EVP_Digest(ct.p, hl, digest, NULL, EVP_sha256(), NULL));
	CHECK("header digest", memcmp(digest, fi.header_sha256, 32) == 0);
	for (s = 0; s < 2; s++) {
		size_t slen = s == 0 ? SEG : 10;
		const uint8_t *seg = ct.p + hl + (size_t)s * CHUNK;
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

		memset(iv, 0, sizeof(iv));
		iv[11] = (uint8_t)s;
		memcpy(aad, digest, 32);
		memset(aad + 32, 0, 8);
		aad[39] = (uint8_t)s;
		aad[40] = s == 1;
		assert_non_null(c);
		assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, keys, iv), 1);
		assert_int_equal(EVP_DecryptUpdate(c, NULL, &outl, aad, 41), 1);
		assert_int_equal(EVP_DecryptUpdate(c, back, &outl, seg, (int)slen), 1);
		assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
		    (void *)(seg + slen)), 1);
		CHECK_INT(s == 0 ? "segment 0 verifies" : "segment 1 verifies",
		    EVP_DecryptFinal_ex(c, back + outl, &fin), 1);
		CHECK(s == 0 ? "segment 0 plaintext" : "segment 1 plaintext",
		    memcmp(back, plain + (size_t)s * SEG, slen) == 0);
		EVP_CIPHER_CTX_free(c);
	}
	CHECK_U64("file length", ct.n, hl + CHUNK + 26);
	for (i = 0; i < 32; i++)
		keys[i] = 0;
	free(ct.p);
}

/* ---- tampering ------------------------------------------------------------------------ */

static void
test_header_bitflips(void **state)
{
	uint8_t plain[2 * SEG + 5];
	struct cst_crypt_file_info fi;
	struct blob ct;
	size_t hl = hdr_len("w.bin"), bit;
	char name[64];

	(void)state;
	pattern(plain, sizeof(plain), 1);
	ct = enc(dek, mid, "w.bin", SEG, plain, sizeof(plain), &fi);
	for (bit = 0; bit < 8 * hl; bit++) {
		struct cst_crypt_err err;
		struct blob pt;
		int r;

		snprintf(name, sizeof(name), "header bit %zu", bit);
		ct.p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = dec(dek, mid, "w.bin", NULL, ct.p, ct.n, &pt, &err);
		CHECK(name, r == CST_EINVAL || r == CST_ECRYPTO);
		CHECK(name, err.what == CST_CRYPT_HEADER || err.what == CST_CRYPT_HEADER_AUTH ||
		    err.what == CST_CRYPT_OTHER_MODEL);
		if (bit / 8 >= 28)	/* salt, path length, path, MAC: only the MAC can tell */
			CHECK(name, err.what == CST_CRYPT_HEADER_AUTH || err.what == CST_CRYPT_HEADER);
		if (bit / 8 >= 12 && bit / 8 < 28)
			CHECK_INT(name, err.what, CST_CRYPT_OTHER_MODEL);
		CHECK_INT(name, pt.n, 0);
		free(pt.p);
		ct.p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Unflipped, it still decrypts: the loop restored every bit. */
	{
		struct cst_crypt_err err;
		struct blob pt;

		CHECK_INT("restored", dec(dek, mid, "w.bin", fi.header_sha256, ct.p, ct.n, &pt,
		    &err), 0);
		CHECK("restored", pt.n == sizeof(plain) && memcmp(pt.p, plain, pt.n) == 0);
		free(pt.p);
	}
	free(ct.p);
}

/* Bit flips in segment ciphertext and in every tag bit: SEGMENT_AUTH of that segment. */
static void
test_segment_bitflips(void **state)
{
	struct blob ct;
	size_t hl = hdr_len("w.bin"), off;
	char name[64];

	(void)state;
	ct = enc_w(3 * SEG + 100, 2);
	for (off = hl; off < ct.n; off++) {
		size_t in_chunk = (off - hl) % CHUNK, seg = (off - hl) / CHUNK;
		bool tag = in_chunk >= (seg == 3 ? 100 : SEG);
		int b, bits = tag ? 8 : 1;

		if (!tag && in_chunk % 97 != 0 && in_chunk != 0 && in_chunk != SEG - 1)
			continue;
		for (b = 0; b < bits; b++) {
			unsigned bit = tag ? (unsigned)b : (unsigned)(off % 8);

			snprintf(name, sizeof(name), "segment %zu byte %zu bit %u%s", seg, in_chunk,
			    bit, tag ? " (tag)" : "");
			ct.p[off] ^= (uint8_t)(1u << bit);
			CHECK_U64(name, refused(name, ct.p, ct.n, "w.bin", dek, mid, NULL,
			    CST_ECRYPTO, CST_CRYPT_SEGMENT_AUTH).segment, seg);
			ct.p[off] ^= (uint8_t)(1u << bit);
		}
	}
	free(ct.p);
}

/*
 * Truncation at every length in the header, at every segment boundary and around it:
 * HEADER inside the header, TRUNCATED at a boundary (naming the last whole segment),
 * SEGMENT_AUTH or TRUNCATED inside a segment.
 */
static void
test_truncation(void **state)
{
	struct blob ct;
	size_t hl = hdr_len("w.bin"), len;
	char name[64];

	(void)state;
	ct = enc_w(4 * SEG, 4);	/* exactly 4 segments: the final one is full */
	CHECK_U64("length", ct.n, hl + 4 * CHUNK);
	for (len = 0; len < ct.n; len++) {
		size_t rel = len - hl;
		bool boundary = len >= hl && rel % CHUNK == 0;
		bool near = len >= hl && (rel % CHUNK < 20 || rel % CHUNK > CHUNK - 20 ||
		    rel % CHUNK == CHUNK / 2);

		if (len >= hl && !boundary && !near)
			continue;
		snprintf(name, sizeof(name), "truncated to %zu", len);
		if (len < hl) {
			refused(name, ct.p, len, "w.bin", dek, mid, NULL, CST_EINVAL, CST_CRYPT_HEADER);
		} else if (boundary) {
			struct cst_crypt_err err = refused(name, ct.p, len, "w.bin", dek, mid, NULL,
			    CST_ECRYPTO, CST_CRYPT_TRUNCATED);

			if (rel > 0)
				CHECK_U64(name, err.segment, rel / CHUNK - 1);
			CHECK(name, strstr(err.msg, "truncated") != NULL);
		} else {
			struct cst_crypt_err err = refused(name, ct.p, len, "w.bin", dek, mid, NULL,
			    CST_ECRYPTO, CST_CRYPT_OK);

			CHECK(name, err.what == CST_CRYPT_SEGMENT_AUTH ||
			    err.what == CST_CRYPT_TRUNCATED);
		}
	}
	free(ct.p);
}

/* The final segment dropped from a file whose last segment is short. */
static void
test_drop_last(void **state)
{
	struct blob ct;
	size_t hl = hdr_len("w.bin");

	(void)state;
	ct = enc_w(2 * SEG + 300, 5);
	CHECK_U64("drop last", refused("drop last", ct.p, hl + 2 * CHUNK, "w.bin", dek, mid, NULL,
	    CST_ECRYPTO, CST_CRYPT_TRUNCATED).segment, 1);
	free(ct.p);
}

/* Bytes after the final segment. */
static void
test_trailing(void **state)
{
	uint8_t *longer;
	struct cst_crypt_err err;
	struct blob ct;

	(void)state;
	ct = enc_w(2 * SEG, 6);
	longer = malloc(ct.n + 50);
	assert_non_null(longer);
	memcpy(longer, ct.p, ct.n);
	memset(longer + ct.n, 0, 50);
	err = refused("trailing", longer, ct.n + 50, "w.bin", dek, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_TRAILING);
	CHECK_U64("trailing", err.segment, 1);
	CHECK("trailing", strstr(err.msg, "50 bytes follow") != NULL);
	/* An empty file with bytes after its only (final, empty) segment. */
	free(ct.p);
	ct = enc_w(0, 6);
	memcpy(longer, ct.p, ct.n);
	refused("trailing after empty", longer, ct.n + 1, "w.bin", dek, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_SEGMENT_AUTH);
	free(longer);
	free(ct.p);
}

static void
test_reorder(void **state)
{
	uint8_t tmp[CHUNK];
	struct blob ct;
	size_t hl = hdr_len("w.bin");

	(void)state;
	ct = enc_w(4 * SEG + 1, 7);
	memcpy(tmp, ct.p + hl + CHUNK, CHUNK);
	memcpy(ct.p + hl + CHUNK, ct.p + hl + 2 * CHUNK, CHUNK);
	memcpy(ct.p + hl + 2 * CHUNK, tmp, CHUNK);
	CHECK_U64("swap 1 and 2", refused("swap 1 and 2", ct.p, ct.n, "w.bin", dek, mid, NULL,
	    CST_ECRYPTO, CST_CRYPT_SEGMENT_AUTH).segment, 1);
	/* A duplicated segment in place of the next one. */
	memcpy(ct.p + hl + CHUNK, tmp, CHUNK);
	memcpy(ct.p + hl + 2 * CHUNK, tmp, CHUNK);
	refused("segment 1 repeated as 2", ct.p, ct.n, "w.bin", dek, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_SEGMENT_AUTH);
	free(ct.p);
}

/* A segment from another file of the same model, and from another model, spliced in. */
static void
test_splice(void **state)
{
	uint8_t plain[3 * SEG];
	struct blob a, b, c;
	size_t ha = hdr_len("a.bin"), hb = hdr_len("b.bin");

	(void)state;
	pattern(plain, sizeof(plain), 8);
	a = enc(dek, mid, "a.bin", SEG, plain, sizeof(plain), NULL);
	b = enc(dek, mid, "b.bin", SEG, plain, sizeof(plain), NULL);	/* same bytes, other file */
	c = enc(dek2, mid2, "a.bin", SEG, plain, sizeof(plain), NULL);	/* other model */
	memcpy(a.p + ha + CHUNK, b.p + hb + CHUNK, CHUNK);
	CHECK_U64("splice same model", refused("splice same model", a.p, a.n, "a.bin", dek, mid,
	    NULL, CST_ECRYPTO, CST_CRYPT_SEGMENT_AUTH).segment, 1);
	memcpy(a.p + ha + CHUNK, c.p + ha + CHUNK, CHUNK);
	refused("splice other model", a.p, a.n, "a.bin", dek, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_SEGMENT_AUTH);
	/* Whole files: another model's file, a renamed file. */
	refused("other model's file", c.p, c.n, "a.bin", dek, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_OTHER_MODEL);
	refused("renamed b to a", b.p, b.n, "a.bin", dek, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_RENAMED);
	refused("moved into a dir", b.p, b.n, "sub/b.bin", dek, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_RENAMED);
	/* Another model's header in front of this model's segments. */
	memcpy(c.p + ha, b.p + hb, c.n - ha);
	refused("other model's segments", c.p, c.n, "a.bin", dek2, mid2, NULL, CST_ECRYPTO,
	    CST_CRYPT_SEGMENT_AUTH);
	free(a.p);
	free(b.p);
	free(c.p);
}

static void
test_wrong_key_and_replaced(void **state)
{
	uint8_t plain[SEG + 3];
	struct cst_crypt_file_info i1, i2;
	struct blob a, b, pt;
	struct cst_crypt_err err;

	(void)state;
	pattern(plain, sizeof(plain), 10);
	a = enc(dek, mid, "w.bin", SEG, plain, sizeof(plain), &i1);
	b = enc(dek, mid, "w.bin", SEG, plain, sizeof(plain), &i2);
	refused("wrong data key", a.p, a.n, "w.bin", dek2, mid, NULL, CST_ECRYPTO,
	    CST_CRYPT_HEADER_AUTH);
	refused("replaced by another encryption", b.p, b.n, "w.bin", dek, mid, i1.header_sha256,
	    CST_ECRYPTO, CST_CRYPT_REPLACED);
	CHECK_INT("own digest", dec(dek, mid, "w.bin", i2.header_sha256, b.p, b.n, &pt, &err), 0);
	CHECK_U64("own digest", pt.n, sizeof(plain));
	free(pt.p);
	free(a.p);
	free(b.p);
}

/* A failed decryption truncates the output back to where it started. */
static void
test_output_rolled_back(void **state)
{
	struct cst_crypt_err err;
	struct blob ct, got;
	int in, out;

	(void)state;
	ct = enc_w(3 * SEG, 11);
	ct.p[ct.n - 1] ^= 1;	/* last tag: segments 0 and 1 verify and are written first */
	in = memfd_with(ct.p, ct.n);
	out = memfd_with((const uint8_t *)"keep", 4);
	assert_int_equal(lseek(out, 4, SEEK_SET), 4);
	CHECK_INT("last tag", cst_crypt_decrypt_fd(ctx, dek, mid, "w.bin", NULL, in, out, NULL,
	    &err), CST_ECRYPTO);
	CHECK_U64("last tag", err.segment, 2);
	got = fd_contents(out);
	CHECK_U64("rolled back", got.n, 4);
	CHECK("prefix kept", memcmp(got.p, "keep", 4) == 0);
	close(in);
	close(out);
	free(got.p);
	free(ct.p);
}

/* ---- parsers --------------------------------------------------------------------------- */

static void
test_path_check(void **state)
{
	static const struct {
		const char *p;
		int want;
	} T[] = {
		{ "a", 0 }, { "a/b/c.bin", 0 }, { ".hidden", 0 }, { "a..b", 0 }, { "...", 0 },
		{ "caf\xc3\xa9", 0 }, { "x\xf0\x9f\x98\x80", 0 },
		{ "", CST_EINVAL }, { "/a", CST_EINVAL }, { "a/", CST_EINVAL }, { "a//b", CST_EINVAL },
		{ ".", CST_EINVAL }, { "..", CST_EINVAL }, { "a/./b", CST_EINVAL },
		{ "a/../b", CST_EINVAL }, { "a\nb", CST_EINVAL }, { "a\x7f", CST_EINVAL },
		{ "\xc3", CST_EINVAL }, { "\xc0\xaf", CST_EINVAL }, { "\xed\xa0\x80", CST_EINVAL },
		{ "\xf4\x90\x80\x80", CST_EINVAL }, { "\xff", CST_EINVAL },
	};
	static const struct {
		const char *p, *why;
	} W[] = {
		{ "\xc3\x01", "path is not valid UTF-8" },
		{ "a\x01\xff", "control character in path" },
		{ "\xff/\x01", "path is not valid UTF-8" },
		{ "\xc3/b", "path is not valid UTF-8" },
		{ "..\x01/x", "control character in path" },
		{ "../\xff", "'.' or '..' path component" },
		{ "a//\xff", "empty path component (leading, trailing or double '/')" },
		{ "a/\x7f/", "control character in path" },
	};
	char name[64], big[CST_CRYPT_PATH_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(T); i++) {
		snprintf(name, sizeof(name), "path %zu", i);
		CHECK_INT(name, cst_crypt_path_check(T[i].p, strlen(T[i].p), NULL, 0), T[i].want);
	}
	memset(big, 'a', sizeof(big));
	CHECK_INT("component 250", cst_crypt_path_check(big, 250, NULL, 0), 0);
	CHECK_INT("component 251", cst_crypt_path_check(big, 251, NULL, 0), CST_EINVAL);
	for (i = 250; i < sizeof(big); i += 251)
		big[i] = '/';
	CHECK_INT("path max", cst_crypt_path_check(big, CST_CRYPT_PATH_MAX - 1, NULL, 0), 0);
	big[CST_CRYPT_PATH_MAX - 1] = 'a';
	CHECK_INT("path max", cst_crypt_path_check(big, CST_CRYPT_PATH_MAX, NULL, 0), 0);
	CHECK_INT("path max + 1", cst_crypt_path_check(big, CST_CRYPT_PATH_MAX + 1, NULL, 0),
	    CST_EINVAL);
	/* The first fault, left to right, is the one named; a component's bytes come first. */
	for (i = 0; i < N_ELEM(W); i++) {
		char why[128] = "";

		CHECK_INT(W[i].p, cst_crypt_path_check(W[i].p, strlen(W[i].p), why, sizeof(why)),
		    CST_EINVAL);
		CHECK_STR(W[i].p, why, W[i].why);
	}
	{
		char why[128] = "";

		CHECK_INT("nul", cst_crypt_path_check("a\0b", 3, why, sizeof(why)), CST_EINVAL);
		CHECK_STR("nul", why, "control character in path");
	}
}

static void
test_header_parse(void **state)
{
	uint8_t hb[CST_CRYPT_HEADER_MAX + 10];
	struct cst_crypt_header h, g;
	char why[128];
	size_t len;
	int r;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.seg_size = SEG;
	memcpy(h.model_id, mid, 16);
	memset(h.salt, 0x55, 32);
	memcpy(h.path, "dir/f", 6);
	h.path_len = 5;
	memset(h.mac, 0x77, 32);
	h.len = hdr_len("dir/f");
	cst_crypt_header_encode(&h, hb);
	CHECK_INT("whole", cst_crypt_header_parse(hb, h.len, &g, why, sizeof(why)), (int)h.len);
	CHECK("fields", g.seg_size == SEG && memcmp(g.model_id, mid, 16) == 0 &&
	    strcmp(g.path, "dir/f") == 0 && g.mac[31] == 0x77 && g.salt[0] == 0x55);
	CHECK_INT("longer input", cst_crypt_header_parse(hb, h.len + 5, &g, why, sizeof(why)),
	    (int)h.len);
	for (len = 0; len < h.len; len++) {
		char name[32];

		snprintf(name, sizeof(name), "prefix %zu", len);
		g.seg_size = 1;
		CHECK_INT(name, cst_crypt_header_parse(hb, len, &g, why, sizeof(why)), CST_EAGAIN);
		CHECK_INT(name, g.seg_size, 1);
	}
	hb[0] = 'X';
	CHECK_INT("bad magic", cst_crypt_header_parse(hb, h.len, &g, why, sizeof(why)),
	    CST_EINVAL);
	CHECK_INT("bad magic prefix", cst_crypt_header_parse(hb, 3, &g, why, sizeof(why)),
	    CST_EINVAL);
	hb[0] = 'C';
	{
		static const struct {
			uint32_t seg;
			int ok;
		} S[] = { { CST_CRYPT_SEG_MIN - 1, 0 }, { CST_CRYPT_SEG_MIN, 1 },
		    { CST_CRYPT_SEG_MAX, 1 }, { CST_CRYPT_SEG_MAX + 1, 0 }, { 0, 0 },
		    { UINT32_MAX, 0 } };
		size_t i;

		for (i = 0; i < N_ELEM(S); i++) {
			hb[8] = (uint8_t)(S[i].seg >> 24);
			hb[9] = (uint8_t)(S[i].seg >> 16);
			hb[10] = (uint8_t)(S[i].seg >> 8);
			hb[11] = (uint8_t)S[i].seg;
			r = cst_crypt_header_parse(hb, h.len, &g, why, sizeof(why));
			CHECK_INT("segment size bound", r, S[i].ok ? (int)h.len : CST_EINVAL);
		}
		hb[8] = 0, hb[9] = 0, hb[10] = 0x10, hb[11] = 0;
	}
	hb[60] = 0, hb[61] = 0;
	CHECK_INT("path length 0", cst_crypt_header_parse(hb, h.len, &g, why, sizeof(why)),
	    CST_EINVAL);
	hb[60] = (uint8_t)((CST_CRYPT_PATH_MAX + 1) >> 8);
	hb[61] = (uint8_t)(CST_CRYPT_PATH_MAX + 1);
	CHECK_INT("path length max + 1", cst_crypt_header_parse(hb, sizeof(hb), &g, why,
	    sizeof(why)), CST_EINVAL);
	CHECK("path length why", strstr(why, "path length") != NULL);
	hb[60] = 0, hb[61] = 5;
	hb[62 + 3] = '/';	/* "dir//" */
	hb[62 + 4] = '/';
	CHECK_INT("bad path", cst_crypt_header_parse(hb, h.len, &g, why, sizeof(why)),
	    CST_EINVAL);
}

/* A small valid key file. */
static void
keyfile_make(struct cst_crypt_keyfile *kf, char **dirs, struct cst_crypt_entry *files)
{
	memset(kf, 0, sizeof(*kf));
	memcpy(kf->model_id, mid, 16);
	memcpy(kf->kek_name, "model-kek", 10);
	memcpy(kf->kek_type, "aes-256", 8);
	memset(kf->wrapped, 0x42, sizeof(kf->wrapped));
	kf->seg_size = 1u << 20;
	dirs[0] = (char *)"a";
	dirs[1] = (char *)"a/b";
	kf->dirs = dirs;
	kf->n_dirs = 2;
	files[0].path = (char *)"a/b/c.bin";
	files[0].size = 123456789;
	memset(files[0].header_sha256, 0x11, 32);
	files[1].path = (char *)"a/x";
	files[1].size = 0;
	memset(files[1].header_sha256, 0x22, 32);
	files[2].path = (char *)"top \xc3\xa9.json";
	files[2].size = 5;
	memset(files[2].header_sha256, 0x33, 32);
	kf->files = files;
	kf->n_files = 3;
	assert_int_equal(cst_crypt_keyfile_mac(kf, dek, kf->mac), 0);
}

static void
test_keyfile_roundtrip(void **state)
{
	struct cst_crypt_keyfile kf, got;
	struct cst_crypt_entry files[3];
	char *dirs[2], *s, why[256], name[48];
	size_t len, i;
	int r;

	(void)state;
	keyfile_make(&kf, dirs, files);
	assert_int_equal(cst_crypt_keyfile_encode(&kf, &s, &len), 0);
	r = cst_crypt_keyfile_parse(s, len, &got, why, sizeof(why));
	if (r != 0)
		print_error("parse: %s\n%s\n", why, s);
	CHECK_INT("parse", r, 0);
	CHECK("model id", memcmp(got.model_id, mid, 16) == 0);
	CHECK_STR("kek name", got.kek_name, "model-kek");
	CHECK_STR("kek type", got.kek_type, "aes-256");
	CHECK("wrapped", memcmp(got.wrapped, kf.wrapped, 40) == 0);
	CHECK_U64("seg", got.seg_size, 1u << 20);
	CHECK_U64("dirs", got.n_dirs, 2);
	CHECK_U64("files", got.n_files, 3);
	CHECK_STR("file 0", got.files[0].path, "a/b/c.bin");
	CHECK_U64("file 0 size", got.files[0].size, 123456789);
	CHECK_STR("file 2", got.files[2].path, "top \xc3\xa9.json");
	CHECK("digest", got.files[1].header_sha256[5] == 0x22);
	CHECK_INT("mac verifies", cst_crypt_keyfile_verify(&got, dek), 0);
	CHECK_INT("wrong dek", cst_crypt_keyfile_verify(&got, dek2), CST_ECRYPTO);
	/* Every field is covered by the MAC. */
	got.files[0].size++;
	CHECK_INT("size", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.files[0].size--;
	got.files[1].header_sha256[0] ^= 1;
	CHECK_INT("digest", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.files[1].header_sha256[0] ^= 1;
	got.files[2].path[0] = 'T';
	CHECK_INT("path", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.files[2].path[0] = 't';
	got.n_files = 2;
	CHECK_INT("file removed", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.n_files = 3;
	got.n_dirs = 1;
	CHECK_INT("dir removed", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.n_dirs = 2;
	got.kek_name[0] = 'M';
	CHECK_INT("kek name", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.kek_name[0] = 'm';
	got.wrapped[39] ^= 1;
	CHECK_INT("wrapped", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.wrapped[39] ^= 1;
	got.seg_size = 4096;
	CHECK_INT("seg", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.seg_size = 1u << 20;
	got.model_id[0] ^= 1;
	CHECK_INT("model id", cst_crypt_keyfile_verify(&got, dek), CST_ECRYPTO);
	got.model_id[0] ^= 1;
	CHECK_INT("restored", cst_crypt_keyfile_verify(&got, dek), 0);
	cst_crypt_keyfile_free(&got);
	/* Every proper prefix is refused (the text is one JSON object). */
	for (i = 0; i + 1 < len; i++) {
		char *p = exact(s, i);

		snprintf(name, sizeof(name), "prefix %zu", i);
		CHECK(name, cst_crypt_keyfile_parse(p, i, &got, why, sizeof(why)) != 0);
		CHECK(name, got.files == NULL && got.n_files == 0);
		free(p);
	}
	free(s);
}

static void
test_keyfile_malformed(void **state)
{
	static const char head[] = "{\"format\":\"castellan-model-key/v1\",\"model_id\":"
	    "\"000102030405060708090a0b0c0d0e0f\",\"kek\":{\"name\":\"k\",\"type\":\"aes-256\"},"
	    "\"wrapped_dek\":\"" "00000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000\",\"cipher\":\"AES-256-GCM\",\"segment_size\":4096,";
	static const char mac[] = ",\"mac\":\"00000000000000000000000000000000000000000000000000"
	    "00000000000000\"}";
	static const char d64[] = "0000000000000000000000000000000000000000000000000000000000000000";
	static const struct {
		const char *name, *body;
		const char *why;
	} T[] = {
		{ "ok", "\"dirs\":[\"a\"],\"files\":[{\"path\":\"a/x\",\"size\":1,\"header_sha256\":"
		    "\"D\"}]", NULL },
		{ "unknown member", "\"dirs\":[],\"files\":[],\"extra\":1", "unknown member" },
		{ "no files", "\"dirs\":[]", "files" },
		{ "files not array", "\"dirs\":[],\"files\":{}", "files" },
		{ "unsorted", "\"dirs\":[],\"files\":[{\"path\":\"b\",\"size\":1,\"header_sha256\":"
		    "\"D\"},{\"path\":\"a\",\"size\":1,\"header_sha256\":\"D\"}]", "not sorted" },
		{ "duplicate", "\"dirs\":[],\"files\":[{\"path\":\"a\",\"size\":1,\"header_sha256\":"
		    "\"D\"},{\"path\":\"a\",\"size\":1,\"header_sha256\":\"D\"}]", "duplicate" },
		{ "parent missing", "\"dirs\":[],\"files\":[{\"path\":\"a/x\",\"size\":1,"
		    "\"header_sha256\":\"D\"}]", "not listed" },
		{ "dir parent missing", "\"dirs\":[\"a/b\"],\"files\":[]", "not listed" },
		{ "file and dir", "\"dirs\":[\"a\"],\"files\":[{\"path\":\"a\",\"size\":1,"
		    "\"header_sha256\":\"D\"}]", "file and a directory" },
		{ "cenc clash", "\"dirs\":[\"a.cenc\"],\"files\":[{\"path\":\"a\",\"size\":1,"
		    "\"header_sha256\":\"D\"}]", "encrypted name" },
		{ "reserved dir", "\"dirs\":[\".castellan-model-key\"],\"files\":[]", "reserved" },
		{ "bad path", "\"dirs\":[],\"files\":[{\"path\":\"../x\",\"size\":1,"
		    "\"header_sha256\":\"D\"}]", "'..'" },
		{ "absolute path", "\"dirs\":[\"/etc\"],\"files\":[]", "empty path component" },
		{ "negative size", "\"dirs\":[],\"files\":[{\"path\":\"a\",\"size\":-1,"
		    "\"header_sha256\":\"D\"}]", "size" },
		{ "size too big", "\"dirs\":[],\"files\":[{\"path\":\"a\",\"size\":17592186044417,"
		    "\"header_sha256\":\"D\"}]", "size" },
		{ "short digest", "\"dirs\":[],\"files\":[{\"path\":\"a\",\"size\":1,"
		    "\"header_sha256\":\"00\"}]", "header_sha256" },
		{ "upper-case hex", "\"dirs\":[],\"files\":[{\"path\":\"a\",\"size\":1,"
		    "\"header_sha256\":\"0000000000000000000000000000000000000000000000000000000000"
		    "00000A\"}]", "header_sha256" },
		{ "file member", "\"dirs\":[],\"files\":[{\"path\":\"a\",\"size\":1,"
		    "\"header_sha256\":\"D\",\"mode\":1}]", "unknown member" },
		{ "deep", "\"dirs\":[[[[[]]]]],\"files\":[]", "JSON" },
	};
	char buf[2048], *text, why[256];
	struct cst_crypt_keyfile kf;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < N_ELEM(T); i++) {
		const char *b = T[i].body, *d;
		size_t n = 0;

		n = (size_t)snprintf(buf, sizeof(buf), "%s", head);
		while ((d = strstr(b, "\"D\"")) != NULL) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%.*s\"%s\"", (int)(d - b), b,
			    d64);
			b = d + 3;
		}
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", b, mac);
		assert_true(n < sizeof(buf));
		text = exact(buf, n);
		why[0] = '\0';
		r = cst_crypt_keyfile_parse(text, n, &kf, why, sizeof(why));
		if (T[i].why == NULL) {
			if (r != 0)
				print_error("%s: %s\n", T[i].name, why);
			CHECK_INT(T[i].name, r, 0);
			cst_crypt_keyfile_free(&kf);
		} else {
			CHECK(T[i].name, r == CST_EINVAL || r == CST_ELIMIT);
			if (strstr(why, T[i].why) == NULL)
				print_error("%s: why = \"%s\"\n", T[i].name, why);
			CHECK(T[i].name, strstr(why, T[i].why) != NULL);
			CHECK(T[i].name, kf.files == NULL && kf.dirs == NULL);
		}
		free(text);
	}
	/* Top-level fields, one at a time broken in the valid key file. */
	{
		static const struct {
			const char *from, *to;
		} F[] = {
			{ "castellan-model-key/v1", "castellan-model-key/v2" },
			{ "\"aes-256\"", "\"ec-p256\"" },
			{ "AES-256-GCM", "AES-128-GCM" },
			{ "\"segment_size\":4096", "\"segment_size\":4095" },
			{ "\"segment_size\":4096", "\"segment_size\":16777217" },
			{ "\"segment_size\":4096", "\"segment_size\":\"4096\"" },
			{ "\"name\":\"k\"", "\"name\":\"\"" },
			{ "\"name\":\"k\"", "\"name\":\"k\\n\"" },
			{ "\"model_id\":\"00", "\"model_id\":\"0" },
			{ "{\"format\"", "[{\"format\"" },
		};
		char base[2048], mod[2048];
		size_t j;

		snprintf(base, sizeof(base), "%s\"dirs\":[],\"files\":[]%s", head, mac);
		CHECK_INT("base parses", cst_crypt_keyfile_parse(base, strlen(base), &kf, why,
		    sizeof(why)), 0);
		cst_crypt_keyfile_free(&kf);
		for (j = 0; j < N_ELEM(F); j++) {
			const char *at = strstr(base, F[j].from);

			assert_non_null(at);
			snprintf(mod, sizeof(mod), "%.*s%s%s", (int)(at - base), base, F[j].to,
			    at + strlen(F[j].from));
			CHECK(F[j].to, cst_crypt_keyfile_parse(mod, strlen(mod), &kf, why,
			    sizeof(why)) != 0);
		}
	}
	CHECK_INT("too large", cst_crypt_keyfile_parse("{}", CST_CRYPT_KEYFILE_MAX + 1, &kf, why,
	    sizeof(why)), CST_ELIMIT);
}

/* ---- directories, with a software key wrap standing in for the HSM -------------------- */

static uint8_t kek_key[32], kek_key2[32];

static const struct cst_crypt_kek kek1 = { "kek-one", "aes-256", soft_wrap, soft_unwrap, kek_key };
static const struct cst_crypt_kek kek2 = { "kek-two", "aes-256", soft_wrap, soft_unwrap, kek_key2 };
static const struct cst_crypt_kek kek1_other = { "kek-one", "aes-256", soft_wrap, soft_unwrap,
    kek_key2 };

static char root[64];

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
rm_rf(const char *p)
{
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
put(const char *rel, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void
mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static bool
exists(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) == 0;
}

static bool
same_file(const char *a, const char *b)
{
	char pa[512], pb[512];
	struct blob x, y;
	int fa, fb;
	bool eq;

	snprintf(pa, sizeof(pa), "%s/%s", root, a);
	snprintf(pb, sizeof(pb), "%s/%s", root, b);
	if ((fa = open(pa, O_RDONLY)) < 0)
		return false;
	if ((fb = open(pb, O_RDONLY)) < 0) {
		close(fa);
		return false;
	}
	x = fd_contents(fa);
	y = fd_contents(fb);
	eq = x.n == y.n && (x.n == 0 || memcmp(x.p, y.p, x.n) == 0);
	close(fa);
	close(fb);
	free(x.p);
	free(y.p);
	return eq;
}

/* No staging directory left in root. */
static bool
no_staging(void)
{
	DIR *d = opendir(root);
	struct dirent *de;
	bool none = true;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".partial-") != NULL)
			none = false;
	closedir(d);
	return none;
}

static char *
at(const char *rel)
{
	static char bufs[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(bufs[k], sizeof(bufs[k]), "%s/%s", root, rel);
	return bufs[k];
}

static void
make_model(void)
{
	uint8_t big[3 * SEG + 17];

	pattern(big, sizeof(big), 12);
	mk("m");
	mk("m/sub");
	mk("m/sub/deeper");
	mk("m/empty");
	put("m/config.json", (const uint8_t *)"{\"a\":1}", 7);
	put("m/sub/weights.bin", big, sizeof(big));
	put("m/sub/deeper/tok.model", big, 100);
	put("m/sub/zero", NULL, 0);
}

/* Expects decrypting root/enc into root/out to fail with what; nothing at out, no staging. */
static void
dir_refused(const char *name, const struct cst_crypt_kek *k, enum cst_crypt_what what,
    const char *msg_part)
{
	struct cst_crypt_opts o = { SEG, 2 };
	struct cst_crypt_err err;
	int r = cst_crypt_dir_decrypt(at("enc"), at("out"), k, &o, NULL, &err);

	CHECK(name, r != 0);
	if (err.what != what || (msg_part && strstr(err.msg, msg_part) == NULL))
		print_error("%s: what %d, msg \"%s\"\n", name, err.what, err.msg);
	CHECK_INT(name, err.what, what);
	CHECK(name, msg_part == NULL || strstr(err.msg, msg_part) != NULL);
	CHECK(name, !exists("out"));
	CHECK(name, no_staging());
}

static void
test_dir_roundtrip_and_tamper(void **state)
{
	struct cst_crypt_opts o = { SEG, 2 };
	struct cst_crypt_summary sum;
	struct cst_crypt_err err;
	int r;

	(void)state;
	memset(kek_key, 0x61, 32);
	memset(kek_key2, 0x62, 32);
	snprintf(root, sizeof(root), "/tmp/cst-test-crypt-XXXXXX");
	assert_non_null(mkdtemp(root));
	make_model();
	r = cst_crypt_dir_encrypt(at("m"), at("enc"), &kek1, &o, &sum, &err);
	if (r != 0)
		print_error("encrypt: %s\n", err.msg);
	CHECK_INT("encrypt", r, 0);
	CHECK_U64("files", sum.files, 4);
	CHECK_U64("dirs", sum.dirs, 3);
	CHECK_U64("bytes", sum.bytes, 7 + 3 * SEG + 17 + 100);
	CHECK("layout", exists("enc/.castellan-model-key") && exists("enc/sub/weights.bin.cenc") &&
	    exists("enc/empty") && exists("enc/sub/zero.cenc") && !exists("enc/config.json"));
	CHECK("no staging", no_staging());
	/* Output must not exist (non-empty) or be inside the input. */
	CHECK_INT("out exists", cst_crypt_dir_encrypt(at("m"), at("enc"), &kek1, &o, NULL, &err),
	    CST_EEXIST);
	CHECK_INT("out exists", err.what, CST_CRYPT_OUT_EXISTS);
	CHECK_INT("out inside", cst_crypt_dir_encrypt(at("m"), at("m/sub/x"), &kek1, &o, NULL,
	    &err), CST_EINVAL);
	CHECK_INT("out inside", err.what, CST_CRYPT_OUT_INSIDE);
	CHECK("nothing made", !exists("m/sub/x") && no_staging());

	r = cst_crypt_dir_decrypt(at("enc"), at("out"), &kek1, &o, &sum, &err);
	if (r != 0)
		print_error("decrypt: %s\n", err.msg);
	CHECK_INT("decrypt", r, 0);
	CHECK("config", same_file("m/config.json", "out/config.json"));
	CHECK("weights", same_file("m/sub/weights.bin", "out/sub/weights.bin"));
	CHECK("tok", same_file("m/sub/deeper/tok.model", "out/sub/deeper/tok.model"));
	CHECK("zero", same_file("m/sub/zero", "out/sub/zero"));
	CHECK("empty dir", exists("out/empty"));
	CHECK("no key file in plaintext", !exists("out/.castellan-model-key"));
	rm_rf(at("out"));

	/* An empty existing output directory is fine. */
	mk("out");
	CHECK_INT("into empty dir", cst_crypt_dir_decrypt(at("enc"), at("out"), &kek1, &o, NULL,
	    &err), 0);
	CHECK("into empty dir", same_file("m/config.json", "out/config.json"));
	rm_rf(at("out"));

	dir_refused("wrong key", &kek2, CST_CRYPT_WRONG_KEY, "wrong key");
	dir_refused("same name, other key", &kek1_other, CST_CRYPT_WRONG_KEY, "does not unwrap");

	/* A file removed, added, renamed; a directory added. */
	assert_int_equal(rename(at("enc/config.json.cenc"), at("saved.cenc")), 0);
	dir_refused("removed file", &kek1, CST_CRYPT_LIST, "missing file config.json.cenc");
	assert_int_equal(rename(at("saved.cenc"), at("enc/other.json.cenc")), 0);
	dir_refused("renamed file", &kek1, CST_CRYPT_LIST, "file list:");
	assert_int_equal(rename(at("enc/other.json.cenc"), at("enc/config.json.cenc")), 0);
	put("enc/sub/extra.cenc", (const uint8_t *)"x", 1);
	dir_refused("added file", &kek1, CST_CRYPT_LIST, "extra file sub/extra.cenc");
	assert_int_equal(unlink(at("enc/sub/extra.cenc")), 0);
	put("enc/notes.txt", (const uint8_t *)"x", 1);
	dir_refused("added plain file", &kek1, CST_CRYPT_LIST, "extra file notes.txt");
	assert_int_equal(unlink(at("enc/notes.txt")), 0);
	mk("enc/newdir");
	dir_refused("added dir", &kek1, CST_CRYPT_LIST, "extra directory newdir");
	assert_int_equal(rmdir(at("enc/newdir")), 0);
	assert_int_equal(symlink("sub", at("enc/link")), 0);
	dir_refused("symlink", &kek1, CST_CRYPT_LIST, "symbolic link");
	assert_int_equal(unlink(at("enc/link")), 0);

	/* Two files' ciphertexts swapped under each other's names. */
	assert_int_equal(rename(at("enc/sub/zero.cenc"), at("swap")), 0);
	assert_int_equal(rename(at("enc/config.json.cenc"), at("enc/sub/zero.cenc")), 0);
	assert_int_equal(rename(at("swap"), at("enc/config.json.cenc")), 0);
	dir_refused("swapped files", &kek1, CST_CRYPT_RENAMED, "renamed");
	assert_int_equal(rename(at("enc/sub/zero.cenc"), at("swap")), 0);
	assert_int_equal(rename(at("enc/config.json.cenc"), at("enc/sub/zero.cenc")), 0);
	assert_int_equal(rename(at("swap"), at("enc/config.json.cenc")), 0);

	/* A segment modified in the big file; the later files of a model are then not released. */
	{
		int fd = open(at("enc/sub/weights.bin.cenc"), O_RDWR);
		uint8_t b;
		off_t off = (off_t)hdr_len("sub/weights.bin") + 2 * CHUNK + 5;

		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &b, 1, off), 1);
		b ^= 0x10;
		assert_int_equal(pwrite(fd, &b, 1, off), 1);
		dir_refused("flipped segment", &kek1, CST_CRYPT_SEGMENT_AUTH,
		    "sub/weights.bin: segment 2 failed authentication");
		b ^= 0x10;
		assert_int_equal(pwrite(fd, &b, 1, off), 1);
		assert_int_equal(ftruncate(fd, off - 5), 0);	/* cut at the start of segment 2 */
		dir_refused("truncated file", &kek1, CST_CRYPT_TRUNCATED,
		    "sub/weights.bin: truncated: final segment missing");
		close(fd);
	}
	rm_rf(at("enc"));
	CHECK_INT("re-encrypt", cst_crypt_dir_encrypt(at("m"), at("enc"), &kek1, &o, NULL, &err),
	    0);

	/* The key file: one byte changed in the file list. */
	{
		int fd = open(at("enc/.castellan-model-key"), O_RDWR);
		struct blob kf;
		char *p;

		assert_true(fd >= 0);
		kf = fd_contents(fd);
		p = memmem(kf.p, kf.n, "\"size\": 7", 9);
		assert_non_null(p);
		p[8] = '8';
		assert_int_equal(pwrite(fd, kf.p, kf.n, 0), (ssize_t)kf.n);
		dir_refused("key file list", &kek1, CST_CRYPT_KEYFILE_AUTH, "failed authentication");
		p[8] = '7';
		p = memmem(kf.p, kf.n, "\"format\"", 8);
		assert_non_null(p);
		p[1] = 'F';
		assert_int_equal(pwrite(fd, kf.p, kf.n, 0), (ssize_t)kf.n);
		dir_refused("key file syntax", &kek1, CST_CRYPT_KEYFILE, "malformed key file");
		p[1] = 'f';
		assert_int_equal(pwrite(fd, kf.p, kf.n, 0), (ssize_t)kf.n);
		/* Over the limit by one byte (sparse), then exactly its own size again. */
		assert_int_equal(ftruncate(fd, (off_t)CST_CRYPT_KEYFILE_MAX + 1), 0);
		dir_refused("key file size", &kek1, CST_CRYPT_KEYFILE, "larger than 16777216 bytes");
		assert_int_equal(ftruncate(fd, (off_t)kf.n), 0);
		close(fd);
		free(kf.p);
	}
	CHECK_INT("intact again", cst_crypt_dir_decrypt(at("enc"), at("out"), &kek1, &o, NULL,
	    &err), 0);
	rm_rf(at("out"));

	/* Input refusals. */
	assert_int_equal(symlink("config.json", at("m/link.json")), 0);
	CHECK_INT("symlink in input", cst_crypt_dir_encrypt(at("m"), at("enc2"), &kek1, &o, NULL,
	    &err), CST_EINVAL);
	CHECK_INT("symlink in input", err.what, CST_CRYPT_UNSUPPORTED);
	CHECK("symlink message", strstr(err.msg, "link.json: a symbolic link") != NULL);
	CHECK("nothing made", !exists("enc2") && no_staging());
	assert_int_equal(unlink(at("m/link.json")), 0);
	assert_int_equal(mkfifo(at("m/fifo"), 0600), 0);
	CHECK_INT("fifo in input", cst_crypt_dir_encrypt(at("m"), at("enc2"), &kek1, &o, NULL,
	    &err), CST_EINVAL);
	CHECK("fifo message", strstr(err.msg, "fifo: a FIFO") != NULL);
	assert_int_equal(unlink(at("m/fifo")), 0);
	CHECK_INT("missing input", cst_crypt_dir_encrypt(at("nope"), at("enc2"), &kek1, &o, NULL,
	    &err), CST_ENOENT);
	CHECK_INT("missing input", err.what, CST_CRYPT_INPUT);
	CHECK_INT("not a model", cst_crypt_dir_decrypt(at("m"), at("out"), &kek1, &o, NULL, &err),
	    CST_ENOENT);
	CHECK_INT("not a model", err.what, CST_CRYPT_NOT_MODEL);

	/* Shred: refused for another key name or a key that does not unwrap; then done. */
	CHECK_INT("shred other name", cst_crypt_dir_shred(at("enc"), &kek2, NULL, &err),
	    CST_EPERM);
	CHECK_INT("shred other name", err.what, CST_CRYPT_KEY_MISMATCH);
	CHECK_INT("shred other key", cst_crypt_dir_shred(at("enc"), &kek1_other, NULL, &err),
	    CST_ECRYPTO);
	CHECK_INT("shred other key", err.what, CST_CRYPT_WRONG_KEY);
	CHECK("still there", exists("enc/.castellan-model-key"));
	assert_int_equal(symlink(root, at("enc/sub/up")), 0);	/* removed, never followed */
	CHECK_INT("shred", cst_crypt_dir_shred(at("enc"), &kek1, &sum, &err), 0);
	CHECK("gone", !exists("enc"));
	CHECK("model untouched", exists("m/config.json") &&
	    exists("m/sub/weights.bin"));
	rm_rf(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_fresh_salt),
		cmocka_unit_test(test_format_independent),
		cmocka_unit_test(test_header_bitflips),
		cmocka_unit_test(test_segment_bitflips),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_drop_last),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_splice),
		cmocka_unit_test(test_wrong_key_and_replaced),
		cmocka_unit_test(test_output_rolled_back),
		cmocka_unit_test(test_path_check),
		cmocka_unit_test(test_header_parse),
		cmocka_unit_test(test_keyfile_roundtrip),
		cmocka_unit_test(test_keyfile_malformed),
		cmocka_unit_test(test_dir_roundtrip_and_tamper),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
