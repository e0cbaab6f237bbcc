/*
 * Run statistics (see runstats.h): counters copied from the reader and the rule set, the peak
 * resident set from getrusage, and the rates derived from them.
 */
#include "detect/runstats.h"

#include <sys/resource.h>

void
cst_runstats_fill(struct cst_runstats *s, const struct cst_ev_reader *rd,
    const struct cst_rs *rs, uint64_t cap, uint64_t elapsed_us)
{
	struct rusage ru;

	s->files = cst_ev_count(rd, CST_EVC_FILES);
	s->bytes_read = cst_ev_count(rd, CST_EVC_BYTES_READ);
	s->bytes_json = cst_ev_count(rd, CST_EVC_BYTES_JSON);
	s->records = cst_ev_count(rd, CST_EVC_RECORDS);
	s->elapsed_us = elapsed_us;
	s->peak_rss = getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss > 0 ?
	    (uint64_t)ru.ru_maxrss * 1024 : 0;	/* Linux: kibibytes */
	s->corr_cap = cap;
	s->corr_kept = cst_rs_kept(rs);
	s->corr_peak = cst_rs_kept_peak(rs);
	s->corr_evicted = cst_rs_evicted(rs);
}

static double
seconds(const struct cst_runstats *s)
{
	return (double)(s->elapsed_us > 0 ? s->elapsed_us : 1) / 1e6;
}

double
cst_runstats_records_per_s(const struct cst_runstats *s)
{
	return (double)s->records / seconds(s);
}

double
cst_runstats_mb_per_s(const struct cst_runstats *s)
{
	return (double)s->bytes_json / 1e6 / seconds(s);
}

json_t *
cst_runstats_json(const struct cst_runstats *s)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:I,s:{s:I,s:I,s:I,s:I}}",
	    "files", (json_int_t)s->files, "bytes_read", (json_int_t)s->bytes_read,
	    "bytes_decompressed", (json_int_t)s->bytes_json, "records", (json_int_t)s->records,
	    "elapsed_s", (double)s->elapsed_us / 1e6,
	    "records_per_s", cst_runstats_records_per_s(s), "mb_per_s", cst_runstats_mb_per_s(s),
	    "peak_rss_bytes", (json_int_t)s->peak_rss,
	    "correlation_state", "cap", (json_int_t)s->corr_cap, "kept", (json_int_t)s->corr_kept,
	    "peak", (json_int_t)s->corr_peak, "evicted", (json_int_t)s->corr_evicted);
}

void
cst_runstats_print(FILE *o, const struct cst_runstats *s)
{
	fprintf(o, "stats: files=%llu bytes_read=%llu bytes_decompressed=%llu records=%llu "
	    "elapsed=%.3fs records/s=%.0f MB/s=%.1f peak_rss=%.1fMiB correlation_state: cap=%llu "
	    "kept=%llu peak=%llu evicted=%llu\n", (unsigned long long)s->files,
	    (unsigned long long)s->bytes_read, (unsigned long long)s->bytes_json,
	    (unsigned long long)s->records, (double)s->elapsed_us / 1e6,
	    cst_runstats_records_per_s(s), cst_runstats_mb_per_s(s),
	    (double)s->peak_rss / 1048576.0, (unsigned long long)s->corr_cap,
	    (unsigned long long)s->corr_kept, (unsigned long long)s->corr_peak,
	    (unsigned long long)s->corr_evicted);
}
