/*
 * Clocks. Monotonic time for deadlines and latencies; wall time for records and expiry.
 */
#ifndef CST_CORE_CLOCK_H
#define CST_CORE_CLOCK_H

#include <stdint.h>

/* Monotonic clock in microseconds (CLOCK_MONOTONIC). */
uint64_t cst_clock_mono_us(void);
/* Wall-clock unix time in milliseconds (CLOCK_REALTIME). */
uint64_t cst_clock_unix_ms(void);
/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t cst_days_from_civil(int64_t y, int m, int d);

#endif
