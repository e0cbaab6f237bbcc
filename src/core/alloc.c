/*
 * The one place that calls the C allocator. Never aborts on failure.
 */
#include "core/alloc.h"

#include "core/err.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

static int
should_fail(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

void
cst_alloc_fail_after(long n)
{
	fail_after = n;
}

void *
cst_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *
cst_calloc(size_t nmemb, size_t size)
{
	if (should_fail())
		return NULL;
	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	return calloc(nmemb, size);
}

void *
cst_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n))
		return NULL;
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void
cst_free(void *p)
{
	free(p);
}

char *
cst_strndup(const char *s, size_t len)
{
	char *d;

	if (len == SIZE_MAX || (d = cst_malloc(len + 1)) == NULL)
		return NULL;
	if (len)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *
cst_strdup(const char *s)
{
	return s ? cst_strndup(s, strlen(s)) : NULL;
}

void
cst_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

int
cst_strv_dup(char *const *v, size_t n, char ***out)
{
	char **d;
	size_t i;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((d = cst_calloc(n, sizeof(*d))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++)
		if ((d[i] = cst_strdup(v[i])) == NULL) {
			cst_strv_free(d, i);
			return CST_ENOMEM;
		}
	*out = d;
	return 0;
}

void
cst_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		cst_free(v[i]);
	cst_free(v);
}
