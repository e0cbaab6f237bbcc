/*
 * castellan init DIR: a working, secure-by-default setup. Refuses to overwrite anything.
 *
 * Everything init creates is private to the user who runs it: directories 0700, files 0600
 * (castellan.yaml, state.db, token.key, the private keys, and the certificates too; the
 * certificates are not secret, but a copy is easy to hand out, and one rule is easy to check).
 * The process runs with umask 077 while it creates them, and the files that matter are also
 * created with an explicit 0600 and O_EXCL. state.db's -wal and -shm files, which SQLite makes
 * later, take state.db's mode. DIR must be new, or an existing empty directory owned by the
 * user and not writable by group or others (it is then set to 0700).
 */
#include "cli/cli.h"

#include "core/clock.h"
#include "core/err.h"
#include "audit/tlog.h"
#include "core/str.h"
#include "crypto/hash.h"
#include "crypto/kms.h"
#include "crypto/x509.h"
#include "gateway/auth.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: castellan init DIR [--upstream URL] [--model NAME] [--port N] [--admin-port N]\n"
    "                          [--origin NAME]\n\n"
    "Creates DIR/castellan.yaml, a local CA (DIR/tls/ca.crt), a TLS server certificate for\n"
    "localhost, an admin client certificate (DIR/tls/admin.crt), the token signing key and the\n"
    "state database, and the signing key of the tamper-evident audit log (DIR/log.key; the\n"
    "log's origin is NAME, by default castellan/<host>/<random>), and a SoftHSM2 token for\n"
    "castellan kms in DIR/hsm (PINs in DIR/hsm/pin and DIR/hsm/so-pin). Defaults: upstream http://127.0.0.1:8081/v1, model demo-model, ports 8443\n"
    "(gateway, HTTPS) and 8444 (admin, mutual TLS; --admin-port 0 disables it).\n\n"
    "DIR must not exist yet, or be an empty directory of yours that group and others cannot\n"
    "write. Everything created is private: directories 0700, files 0600.\n";

/* Writes "dir/name" into out (len bytes). Returns 0, or CST_E2BIG if it does not fit. */
static int
path_join(char *out, size_t len, const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);

	if (d + 1 + n >= len)
		return CST_E2BIG;
	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n + 1);
	return 0;
}

/*
 * Makes dir (0700), or accepts an existing directory only if it is empty, owned by the user
 * and not writable by group or others, and then sets it to 0700. A symbolic link is refused.
 * Returns 0 or a CLI exit code after printing what was wrong.
 */
static int
prepare_dir(const char *dir)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return cst_cli_fail("init", "%s: %s", dir, strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cst_cli_fail("init", "%s: %s", dir, errno == ENOTDIR || errno == ELOOP ?
		    "exists and is not a directory (symbolic links are refused)" : strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return cst_cli_fail("init", "%s: %s", dir, strerror(errno));
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return cst_cli_fail("init", "%s: owned by uid %u, not by you (uid %u); give a new "
		    "directory", dir, (unsigned)st.st_uid, (unsigned)geteuid());
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		close(fd);
		return cst_cli_fail("init", "%s: writable by group or others (mode %04o); give a new "
		    "directory, or one only you can write", dir, (unsigned)(st.st_mode & 07777));
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return cst_cli_fail("init", "%s: %s", dir, strerror(errno));
	}
	errno = 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			break;
	if (e != NULL || errno != 0) {
		int r = e != NULL ?
		    cst_cli_fail("init", "%s: not empty (it holds '%s'); refusing to overwrite or mix "
		    "with existing files: give a new or empty directory", dir, e->d_name) :
		    cst_cli_fail("init", "%s: %s", dir, strerror(errno));

		closedir(d);
		return r;
	}
	if (fchmod(dirfd(d), 0700) != 0) {
		int r = cst_cli_fail("init", "%s: cannot set mode 0700: %s", dir, strerror(errno));

		closedir(d);
		return r;
	}
	closedir(d);
	return 0;
}

/* Creates path (which must not exist) with mode 0600 for writing; NULL with errno set. */
static FILE *
create_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	if ((f = fdopen(fd, "w")) == NULL) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

/*
 * A log origin unique to this setup: "castellan/<host>/<8 random hex digits>", the host name
 * reduced to the characters a key name may hold.
 */
static void
default_origin(char *out, size_t cap)
{
	char host[64] = "", rnd[9];
	unsigned char b[4];
	size_t i, j = 0;

	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	for (i = 0; host[i] && j + 1 < sizeof(host); i++)
		if ((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') || host[i] == '.' || host[i] == '-')
			host[j++] = host[i];
	host[j] = '\0';
	if (cst_random_bytes(b, sizeof(b)) != 0)
		memset(b, 0, sizeof(b));
	snprintf(rnd, sizeof(rnd), "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
	snprintf(out, cap, "castellan/%s/%s", j ? host : "localhost", rnd);
}

/* Writes a random PIN (32 hex digits) into pin and, with a line break, into a new 0600 file. */
static int
write_pin(const char *path, char pin[33])
{
	unsigned char b[16];
	FILE *f;
	int ok;

	if (cst_random_bytes(b, sizeof(b)) != 0)
		return CST_ECRYPTO;
	cst_hex(b, sizeof(b), pin);
	OPENSSL_cleanse(b, sizeof(b));
	if ((f = create_private(path)) == NULL)
		return cst_err_errno(errno);
	ok = fprintf(f, "%s\n", pin) > 0;
	if (fclose(f) != 0 || !ok)
		return CST_EIO;
	return 0;
}

/*
 * The key store: a SoftHSM2 token "castellan" of this setup's own (DIR/hsm/tokens, described
 * by DIR/hsm/softhsm2.conf), with random user and security-officer PINs in DIR/hsm/pin and
 * DIR/hsm/so-pin. Without the SoftHSM2 module the setup is still made, with a warning.
 */
static int
make_token(const char *dir)
{
	char hsm[PATH_MAX], toks[PATH_MAX], conf[PATH_MAX], pinp[PATH_MAX], sop[PATH_MAX];
	char abs[PATH_MAX], pin[33], so[33];
	struct cst_kms_err err = { "" };
	FILE *f;
	int r, ok;

	if (realpath(dir, abs) == NULL || path_join(hsm, sizeof(hsm), abs, "hsm") != 0 ||
	    path_join(toks, sizeof(toks), hsm, "tokens") != 0 ||
	    path_join(conf, sizeof(conf), hsm, "softhsm2.conf") != 0 ||
	    path_join(pinp, sizeof(pinp), hsm, "pin") != 0 ||
	    path_join(sop, sizeof(sop), hsm, "so-pin") != 0)
		return cst_cli_fail("init", "%s: path too long", dir);
	if (mkdir(hsm, 0700) != 0 || mkdir(toks, 0700) != 0)
		return cst_cli_fail("init", "%s: %s", hsm, strerror(errno));
	if ((f = create_private(conf)) == NULL)
		return cst_cli_fail("init", "%s: %s", conf, strerror(errno));
	ok = fprintf(f, "# SoftHSM2 token store of this Castellan setup (kms.softhsm2_conf)\n"
	    "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n"
	    "slots.removable = false\n", toks) > 0;
	if (fclose(f) != 0 || !ok)
		return cst_cli_fail("init", "%s: write failed", conf);
	if ((r = write_pin(pinp, pin)) != 0 || (r = write_pin(sop, so)) != 0)
		return cst_cli_fail("init", "%s: %s", hsm, cst_strerror(r));
	if (setenv("SOFTHSM2_CONF", conf, 1) != 0)
		return cst_cli_fail("init", "cannot set SOFTHSM2_CONF");
	r = cst_kms_p11_init_token(NULL, "castellan", so, pin, &err);
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(so, sizeof(so));
	if (r == CST_ENOENT) {
		fprintf(stderr, "castellan init: warning: no key store token: %s (install softhsm2, "
		    "then: softhsm2-util --init-token --free --label castellan with the PINs in "
		    "%s)\n", err.msg, hsm);
		return 0;
	}
	if (r != 0)
		return cst_cli_fail("init", "key store token: %s", err.msg[0] ? err.msg :
		    cst_strerror(r));
	return 0;
}

/* The command itself; cst_cmd_init runs it under umask 077. */
static int
init_run(int argc, char **argv)
{
	static const struct option opts[] = { { "upstream", required_argument, NULL, 'u' },
		{ "model", required_argument, NULL, 'm' }, { "port", required_argument, NULL, 'p' },
		{ "admin-port", required_argument, NULL, 'a' },
		{ "origin", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *upstream = "http://127.0.0.1:8081/v1", *model = "demo-model", *dir;
	const char *origin = NULL;
	char p_log[4096], origin_buf[128], vkey[600];
	char p_ca[4096], p_cak[4096], p_crt[4096], p_key[4096], p_adm[4096], p_admk[4096];
	char p_cfg[4096], p_db[4096], p_tok[4096], p_tls[4096], fp[65], err[512], models[64];
	unsigned char tk[CST_TOKEN_KEY_LEN];
	struct cst_credential admin;
	struct cst_config *cfg = NULL;
	struct cst_store *st = NULL;
	uint64_t port = 8443, aport = 8444;
	FILE *f;
	int ch, r, n, fd;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': upstream = optarg; break;
		case 'm': model = optarg; break;
		case 'o': origin = optarg; break;
		case 'p':
		case 'a':
			/* The gateway port must be fixed (listen.port 1..65535); admin 0 = off. */
			if (cst_parse_u64(cst_str_make(optarg, strlen(optarg)), 65535,
			    ch == 'p' ? &port : &aport) != 0 || (ch == 'p' && port == 0))
				return cst_cli_usage_error("init", "--%s: expected a port number (%s)",
				    ch == 'p' ? "port" : "admin-port", ch == 'p' ? "1 to 65535" :
				    "1 to 65535, or 0 to disable the admin listener");
			break;
		case 'h': fputs(usage, stdout); return CST_EXIT_OK;
		default: return cst_cli_usage_error("init", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cst_cli_usage_error("init", "expected one directory");
	dir = argv[optind];
	if (cst_cli_models("init", model, models, sizeof(models)) != 0 || strchr(model, ','))
		return cst_cli_usage_error("init", "--model: one model name");
	if (path_join(p_tls, sizeof(p_tls), dir, "tls") != 0)
		return cst_cli_usage_error("init", "directory name too long");
	if ((r = prepare_dir(dir)) != 0)
		return r;
	if (mkdir(p_tls, 0700) != 0)
		return cst_cli_fail("init", "%s: %s (refusing to overwrite an existing setup)", p_tls,
		    strerror(errno));
	path_join(p_ca, sizeof(p_ca), p_tls, "ca.crt");
	path_join(p_cak, sizeof(p_cak), p_tls, "ca.key");
	path_join(p_crt, sizeof(p_crt), p_tls, "server.crt");
	path_join(p_key, sizeof(p_key), p_tls, "server.key");
	path_join(p_adm, sizeof(p_adm), p_tls, "admin.crt");
	path_join(p_admk, sizeof(p_admk), p_tls, "admin.key");
	path_join(p_cfg, sizeof(p_cfg), dir, "castellan.yaml");
	path_join(p_db, sizeof(p_db), dir, "state.db");
	path_join(p_tok, sizeof(p_tok), dir, "token.key");
	path_join(p_log, sizeof(p_log), dir, "log.key");
	if ((r = cst_x509_make_ca(p_ca, p_cak, "Castellan local CA", 3650)) != 0 ||
	    (r = cst_x509_issue(p_ca, p_cak, p_crt, p_key, CST_CERT_SERVER, "localhost", "gateway",
	    NULL, 825, fp)) != 0 ||
	    (r = cst_x509_issue(p_ca, p_cak, p_adm, p_admk, CST_CERT_CLIENT, "admin", "admin",
	    NULL, 365, fp)) != 0)
		return cst_cli_fail("init", "certificates: %s", cst_strerror(r));
	if ((r = cst_token_key_load(p_tok, true, tk)) != 0)
		return cst_cli_fail("init", "%s: %s", p_tok, cst_strerror(r));
	if (origin == NULL)
		default_origin(origin_buf, sizeof(origin_buf));
	if (cst_tlog_key_create(p_log, origin ? origin : origin_buf, CST_NOTE_SIG_ED25519, vkey,
	    sizeof(vkey), err, sizeof(err)) != 0)
		return cst_cli_fail("init", "%s", err);
	if ((r = make_token(dir)) != 0)
		return r;
	if ((f = create_private(p_cfg)) == NULL)
		return cst_cli_fail("init", "%s: %s", p_cfg, strerror(errno));
	n = fprintf(f, CST_CONFIG_TEMPLATE, (unsigned)port, (unsigned)aport, upstream, model);
	if (fclose(f) != 0 || n < 0)
		return cst_cli_fail("init", "%s: write failed", p_cfg);
	if ((r = cst_config_load(p_cfg, &cfg, err, sizeof(err))) != 0)
		return cst_cli_fail("init", "the generated configuration is invalid: %s", err);
	cst_config_unref(cfg);
	/* Made empty with 0600 first: SQLite would create it with 0644 less the umask. */
	if ((fd = open(p_db, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    close(fd) != 0)
		return cst_cli_fail("init", "%s: %s", p_db, strerror(errno));
	if ((r = cst_store_open(p_db, true, &st)) != 0)
		return cst_cli_fail("init", "%s: %s", p_db, cst_strerror(r));
	memset(&admin, 0, sizeof(admin));
	snprintf(admin.id, sizeof(admin.id), "ac_%.16s", fp);
	admin.kind = CST_CRED_ADMIN;
	snprintf(admin.principal, sizeof(admin.principal), "admin");
	memcpy(admin.secret_hash, fp, sizeof(admin.secret_hash));
	admin.rpm = admin.tpm = admin.concurrency = admin.max_tokens = CST_LIMIT_DEFAULT;
	admin.created_ms = cst_clock_unix_ms();
	if ((r = cst_store_credential_add(st, &admin)) == 0)
		r = cst_store_admin_action(st, admin.created_ms, CST_STORE_CLI_ACTOR, "init",
		    admin.id);
	cst_store_close(st);
	if (r != 0)
		return cst_cli_fail("init", "cannot register the admin certificate: %s",
		    cst_strerror(r));
	printf("Created a Castellan setup in %s\n\n"
	    "  %s        configuration (model '%s' -> %s)\n"
	    "  %s/ca.crt        local CA: give it to clients to verify the gateway\n"
	    "  %s/admin.crt     admin client certificate (with admin.key)\n"
	    "  %s           state database\n"
	    "  %s          audit log signing key; verifier key: %s\n"
	    "  %s/hsm/        SoftHSM2 key store (token castellan): castellan kms --help\n\n"
	    "Next steps:\n"
	    "  1. castellan serve -c %s\n"
	    "  2. castellan apikey create -c %s --principal alice --models %s\n"
	    "  3. curl --cacert %s/ca.crt https://localhost:%u/v1/models -H 'Authorization: Bearer KEY'\n"
	    "  4. castellan admin status -c %s\n"
	    "  5. castellan log verify %s/log --key %s.vkey\n",
	    dir, p_cfg, model, upstream, p_tls, p_tls, p_db, p_log, vkey, dir, p_cfg, p_cfg, model,
	    p_tls,
	    (unsigned)port, p_cfg, dir, p_log);
	return CST_EXIT_OK;
}

int
cst_cmd_init(int argc, char **argv)
{
	mode_t old = umask(077);
	int r = init_run(argc, argv);

	umask(old);
	return r;
}
