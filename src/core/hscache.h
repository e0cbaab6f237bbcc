/*
 * An on-disk cache of compiled Hyperscan databases. Compiling a database is the fixed cost of
 * every process that matches patterns (tenths of a second for a few dozen regexes); loading a
 * serialised one (hs_deserialize_database) takes a millisecond. The cache stores a database
 * under the SHA-256 of everything the compile depends on: the patterns, their flags and ids,
 * the mode, the Hyperscan version and the platform it was compiled for (hs_populate_platform:
 * CPU features and tuning), so a changed rule set, library or CPU never finds another's entry.
 *
 * Trust: an entry is used only when its file is a regular file owned by the effective user,
 * not writable by group or others, in a directory of the same kind, and its header, key,
 * length and SHA-256 of the payload all check out; anything else (a corrupt, truncated,
 * mismatched or foreign entry) is ignored and the database compiled and written again. The
 * cache never turns a compile into a failure: an unwritable or unusable directory means the
 * database is compiled as without the cache. Entries are written to a temporary file and
 * renamed into place, so a reader never sees half an entry. The checksum guards against
 * corruption, not against a writer with the user's rights (who could run code as the user
 * anyway).
 *
 * Directory: cst_hscache_configure's, else $CASTELLAN_CACHE_DIR, else
 * $XDG_CACHE_HOME/castellan, else $HOME/.cache/castellan. Configure before starting threads;
 * compiles may then run on any number of threads at once.
 */
#ifndef CST_CORE_HSCACHE_H
#define CST_CORE_HSCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <hs/hs.h>

/* Largest entry read from the cache (a larger one is ignored). */
#define CST_HSCACHE_MAX_ENTRY ((size_t)256 << 20)

/*
 * Sets the cache directory for the process: dir (copied), or NULL for the default above;
 * enabled false turns the cache off (every compile is a plain hs_compile_multi). 0;
 * CST_ENOMEM.
 */
int cst_hscache_configure(const char *dir, bool enabled);

/*
 * hs_compile_multi(expr, flags, ids, n, mode, NULL, db, ce) with the cache: the same results
 * and the same ownership (*db for hs_free_database, *ce for hs_free_compile_error). A failed
 * compile is not cached. ids may be NULL (all zero, as Hyperscan takes it).
 */
hs_error_t cst_hscache_compile_multi(const char *const *expr, const unsigned *flags,
    const unsigned *ids, unsigned n, unsigned mode, hs_database_t **db,
    hs_compile_error_t **ce);

/* What the cache did since the process started (for tests and statistics). */
struct cst_hscache_stats {
	unsigned long hits;		/* databases loaded from the cache */
	unsigned long misses;		/* compiled: no entry */
	unsigned long rejected;		/* compiled: an entry was there but not usable */
	unsigned long written;		/* entries written */
	unsigned long write_failed;	/* entries that could not be written */
};
void cst_hscache_stats(struct cst_hscache_stats *out);

/*
 * The path of the entry a compile of these inputs uses, into out[0..cap) (for tests). 0;
 * CST_ENOENT (the cache is off or has no directory); CST_E2BIG.
 */
int cst_hscache_entry_path(const char *const *expr, const unsigned *flags,
    const unsigned *ids, unsigned n, unsigned mode, char *out, size_t cap);

#endif
