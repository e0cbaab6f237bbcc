/*
 * The Hyperscan database cache (hscache.h). An entry is one file, KEY.hsdb in the cache
 * directory (KEY the hex SHA-256 of the compile's inputs):
 *
 *   "CSTHSDB1"  magic (8 bytes)
 *   key         32 bytes, the same as the name says
 *   length      8 bytes little-endian: the payload's length
 *   sha256      32 bytes: SHA-256 of the payload
 *   payload     hs_serialize_database's bytes
 *
 * It must never use an entry it has not checked whole, never follow a symbolic link, never
 * fail a compile because of the cache.
 */
#include "core/hscache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/fileio.h"

#define MAGIC "CSTHSDB1"
#define HDR_LEN (8 + 32 + 8 + 32)
#define KEY_VERSION "castellan hscache 1"

static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static char *cfg_dir;		/* set by cst_hscache_configure; NULL: the default */
static bool cfg_off;
static struct cst_hscache_stats stats;

int
cst_hscache_configure(const char *dir, bool enabled)
{
	char *d = NULL;

	if (dir != NULL && (d = cst_strdup(dir)) == NULL)
		return CST_ENOMEM;
	pthread_mutex_lock(&cfg_mu);
	cst_free(cfg_dir);
	cfg_dir = d;
	cfg_off = !enabled;
	pthread_mutex_unlock(&cfg_mu);
	return 0;
}

void
cst_hscache_stats(struct cst_hscache_stats *out)
{
	pthread_mutex_lock(&cfg_mu);
	*out = stats;
	pthread_mutex_unlock(&cfg_mu);
}

static void
count(unsigned long *c)
{
	pthread_mutex_lock(&cfg_mu);
	(*c)++;
	pthread_mutex_unlock(&cfg_mu);
}

/* The cache directory into out[0..cap): 0; CST_ENOENT (off, or no directory known); E2BIG. */
static int
cache_dir(char *out, size_t cap)
{
	const char *e;
	int n = -1;

	pthread_mutex_lock(&cfg_mu);
	if (cfg_off) {
		pthread_mutex_unlock(&cfg_mu);
		return CST_ENOENT;
	}
	if (cfg_dir != NULL)
		n = snprintf(out, cap, "%s", cfg_dir);
	pthread_mutex_unlock(&cfg_mu);
	if (n < 0) {
		if ((e = getenv("CASTELLAN_CACHE_DIR")) != NULL && e[0] != '\0')
			n = snprintf(out, cap, "%s", e);
		else if ((e = getenv("XDG_CACHE_HOME")) != NULL && e[0] == '/')
			n = snprintf(out, cap, "%s/castellan", e);
		else if ((e = getenv("HOME")) != NULL && e[0] == '/')
			n = snprintf(out, cap, "%s/.cache/castellan", e);
		else
			return CST_ENOENT;
	}
	if (n < 0 || (size_t)n >= cap)
		return CST_E2BIG;
	return 0;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool
digest_add(EVP_MD_CTX *c, const void *p, size_t n)
{
	unsigned char len[8];

	put_u64(len, n);	/* every field length-prefixed: no two inputs hash alike */
	return EVP_DigestUpdate(c, len, 8) == 1 && EVP_DigestUpdate(c, p, n) == 1;
}

/* The key of a compile: SHA-256 over the version, the platform and every input. */
static int
make_key(const char *const *expr, const unsigned *flags, const unsigned *ids, unsigned n,
    unsigned mode, unsigned char key[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	hs_platform_info_t plat;
	const char *ver = hs_version();
	unsigned i, v[3];
	bool ok;

	memset(&plat, 0, sizeof(plat));
	if (c == NULL)
		return CST_ENOMEM;
	ok = hs_populate_platform(&plat) == HS_SUCCESS &&
	    EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    digest_add(c, KEY_VERSION, strlen(KEY_VERSION)) &&
	    digest_add(c, ver, strlen(ver)) &&
	    digest_add(c, &plat.tune, sizeof(plat.tune)) &&
	    digest_add(c, &plat.cpu_features, sizeof(plat.cpu_features));
	v[0] = mode;
	v[1] = n;
	ok = ok && digest_add(c, v, 2 * sizeof(v[0]));
	for (i = 0; i < n && ok; i++) {
		v[0] = flags != NULL ? flags[i] : 0;
		v[1] = ids != NULL ? ids[i] : 0;
		ok = digest_add(c, v, 2 * sizeof(v[0])) && digest_add(c, expr[i], strlen(expr[i]));
	}
	ok = ok && EVP_DigestFinal_ex(c, key, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : CST_ECRYPTO;
}

static bool
sha256(const void *p, size_t n, unsigned char out[32])
{
	return EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) == 1;
}

/* dir/KEY.hsdb into out; 0; CST_E2BIG. */
static int
entry_name(const char *dir, const unsigned char key[32], char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	char k[65];
	int i, n;

	for (i = 0; i < 32; i++) {
		k[2 * i] = hex[key[i] >> 4];
		k[2 * i + 1] = hex[key[i] & 15];
	}
	k[64] = '\0';
	n = snprintf(out, cap, "%s/%s.hsdb", dir, k);
	return n < 0 || (size_t)n >= cap ? CST_E2BIG : 0;
}

int
cst_hscache_entry_path(const char *const *expr, const unsigned *flags, const unsigned *ids,
    unsigned n, unsigned mode, char *out, size_t cap)
{
	char dir[4096];
	unsigned char key[32];
	int r;

	if ((r = cache_dir(dir, sizeof(dir))) != 0 ||
	    (r = make_key(expr, flags, ids, n, mode, key)) != 0)
		return r;
	return entry_name(dir, key, out, cap);
}

/* Whether st is ours alone: owned by the effective user, not writable by group or others. */
static bool
private_to_us(const struct stat *st)
{
	return st->st_uid == geteuid() && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* Whether dir is a directory (not a link) private to the user. */
static bool
dir_ours(const char *dir)
{
	struct stat st;

	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && private_to_us(&st);
}

/*
 * Loads the entry at path for key: *db on success. False for every reason not to use it
 * (*present says whether a file was there at all).
 */
static bool
load(const char *path, const unsigned char key[32], hs_database_t **db, bool *present)
{
	unsigned char sum[32];
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	uint64_t plen;
	bool ok = false;
	int fd;

	*present = false;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		*present = errno != ENOENT;	/* a symbolic link, say */
		return false;
	}
	*present = true;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !private_to_us(&st) ||
	    (size_t)st.st_size > CST_HSCACHE_MAX_ENTRY ||
	    cst_read_fd(fd, CST_HSCACHE_MAX_ENTRY, &buf, &len) != 0)
		goto out;
	if (len < HDR_LEN || memcmp(buf, MAGIC, 8) != 0 || memcmp(buf + 8, key, 32) != 0)
		goto out;
	plen = get_u64((const unsigned char *)buf + 40);
	if (plen != len - HDR_LEN || !sha256(buf + HDR_LEN, (size_t)plen, sum) ||
	    CRYPTO_memcmp(sum, buf + 48, 32) != 0)
		goto out;
	ok = hs_deserialize_database(buf + HDR_LEN, (size_t)plen, db) == HS_SUCCESS;
out:
	cst_free(buf);
	close(fd);
	return ok;
}

/* Makes dir (and its parents) as directories private to the user. 0, or CST_EIO. */
static int
make_dir(const char *dir)
{
	char p[4096];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return CST_EIO;
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return CST_EIO;
		p[i] = dir[i];
	}
	/* the directory itself must be ours: others could swap entries in a shared one */
	return dir_ours(dir) ? 0 : CST_EIO;
}

/* Writes db as the entry path (key) of dir: a temporary file, renamed into place. */
static int
store(const char *dir, const char *path, const unsigned char key[32], const hs_database_t *db)
{
	char *ser = NULL, tmp[4200];
	unsigned char hdr[HDR_LEN];
	size_t sl = 0;
	int fd = -1, r = CST_EIO;

	if (make_dir(dir) != 0 || hs_serialize_database(db, &ser, &sl) != HS_SUCCESS)
		goto out;
	memcpy(hdr, MAGIC, 8);
	memcpy(hdr + 8, key, 32);
	put_u64(hdr + 40, sl);
	if (!sha256(ser, sl, hdr + 48))
		goto out;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp) ||
	    (fd = mkstemp(tmp)) < 0)
		goto out;
	if (cst_write_all(fd, hdr, sizeof(hdr)) != 0 || cst_write_all(fd, ser, sl) != 0 ||
	    close(fd) != 0) {
		fd = -1;
		unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(ser);	/* hs_serialize_database allocates with the misc allocator: malloc */
	return r;
}

hs_error_t
cst_hscache_compile_multi(const char *const *expr, const unsigned *flags, const unsigned *ids,
    unsigned n, unsigned mode, hs_database_t **db, hs_compile_error_t **ce)
{
	char dir[4096], path[4200];
	unsigned char key[32];
	bool cached, present = false;
	hs_error_t e;

	cached = cache_dir(dir, sizeof(dir)) == 0 &&
	    make_key(expr, flags, ids, n, mode, key) == 0 &&
	    entry_name(dir, key, path, sizeof(path)) == 0;
	if (cached && dir_ours(dir) && load(path, key, db, &present)) {
		count(&stats.hits);
		*ce = NULL;
		return HS_SUCCESS;
	}
	e = hs_compile_multi(expr, flags, ids, n, mode, NULL, db, ce);
	if (!cached || e != HS_SUCCESS)
		return e;
	count(present ? &stats.rejected : &stats.misses);
	count(store(dir, path, key, *db) == 0 ? &stats.written : &stats.write_failed);
	return e;
}
