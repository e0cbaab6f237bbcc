/*
 * Statistics of one detection run (PF-1): how much was read, how fast, and how much memory the
 * process and the correlation state took. Filled once at the end of a run; printed as a text
 * line or given as JSON. Nothing here reads input.
 */
#ifndef CST_DETECT_RUNSTATS_H
#define CST_DETECT_RUNSTATS_H

#include "detect/events.h"
#include "detect/ruleset.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

struct cst_runstats {
	uint64_t files;			/* files read (the reader's "files") */
	uint64_t bytes_read;		/* bytes read from files, compressed as stored */
	uint64_t bytes_json;		/* bytes of JSON after decompression */
	uint64_t records;		/* records delivered (the reader's "records") */
	uint64_t elapsed_us;		/* reading, matching and correlating */
	uint64_t peak_rss;		/* bytes: the process's peak resident set (ru_maxrss) */
	uint64_t corr_cap;		/* the cap on kept correlation matches; 0: none */
	uint64_t corr_kept, corr_peak, corr_evicted;	/* cst_rs_kept, _kept_peak, _evicted */
};

/* Fills s from the reader and the set after a run that took elapsed_us; cap as set. */
void cst_runstats_fill(struct cst_runstats *s, const struct cst_ev_reader *rd,
    const struct cst_rs *rs, uint64_t cap, uint64_t elapsed_us);

/* Records per second and decompressed MB (10^6 bytes) per second (elapsed 0 counts as 1 us). */
double cst_runstats_records_per_s(const struct cst_runstats *s);
double cst_runstats_mb_per_s(const struct cst_runstats *s);

/*
 * s as a JSON object (a new reference; NULL when out of memory): files, bytes_read,
 * bytes_decompressed, records, elapsed_s, records_per_s, mb_per_s, peak_rss_bytes and
 * correlation_state {cap, kept, peak, evicted}.
 */
json_t *cst_runstats_json(const struct cst_runstats *s);

/* s as one line "stats: files=... ", newline-terminated. */
void cst_runstats_print(FILE *o, const struct cst_runstats *s);

#endif
