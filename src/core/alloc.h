/*
 * Allocation wrappers. Every allocation in the project goes through these so that overflow is
 * checked in one place and tests can inject failures. None of them aborts: NULL means failure.
 */
#ifndef CST_CORE_ALLOC_H
#define CST_CORE_ALLOC_H

#include <stddef.h>

void *cst_malloc(size_t n);
void *cst_calloc(size_t nmemb, size_t size);
/* reallocarray semantics: fails (NULL, old block untouched) if nmemb * size overflows. */
void *cst_reallocarray(void *p, size_t nmemb, size_t size);
void cst_free(void *p);
/* Copies len bytes of s and appends a NUL. Returns NULL on failure. */
char *cst_strndup(const char *s, size_t len);
/* Copies a NUL-terminated string. Returns NULL on failure or if s is NULL. */
char *cst_strdup(const char *s);
/* A copy of the n strings of v (each with cst_strdup) in a new array; n == 0 gives NULL and 0.
 * 0 with *out; CST_ENOMEM (nothing allocated). Free with cst_strv_free. */
int cst_strv_dup(char *const *v, size_t n, char ***out);
/* Frees the n strings of v and v itself. Accepts NULL. */
void cst_strv_free(char **v, size_t n);
/* Wipes len bytes with OPENSSL_cleanse, then frees. For secrets. Accepts NULL. */
void cst_freezero(void *p, size_t len);

/*
 * Failure injection for tests: after cst_alloc_fail_after(n), the (n+1)-th allocation and every
 * later one fail until cst_alloc_fail_after(-1). Not thread-safe; tests only.
 */
void cst_alloc_fail_after(long n);

#endif
