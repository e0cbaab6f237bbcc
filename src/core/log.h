/*
 * Operational log lines on stderr ("castellan: warn: ..."). Not the invocation records, which
 * go through the audit sink. Callers never pass secrets or request content.
 */
#ifndef CST_CORE_LOG_H
#define CST_CORE_LOG_H

enum cst_log_level { CST_LOG_DEBUG, CST_LOG_INFO, CST_LOG_WARN, CST_LOG_ERROR };

/* Sets the lowest level printed (default CST_LOG_INFO). */
void cst_log_set_level(enum cst_log_level lvl);
void cst_log(enum cst_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cst_log_debug(...) cst_log(CST_LOG_DEBUG, __VA_ARGS__)
#define cst_log_info(...) cst_log(CST_LOG_INFO, __VA_ARGS__)
#define cst_log_warn(...) cst_log(CST_LOG_WARN, __VA_ARGS__)
#define cst_log_error(...) cst_log(CST_LOG_ERROR, __VA_ARGS__)

#endif
