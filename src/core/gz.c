/*
 * Streaming gzip decompression over zlib. Reads only within data[0..len) and never produces
 * more than the caller's maximum.
 */
#include "core/gz.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define GZ_PIECE (64 * 1024)

bool
cst_gz_is(const void *data, size_t len)
{
	const unsigned char *p = data;

	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int
cst_gz_inflate(const void *data, size_t len, size_t max, cst_gz_fn fn, void *arg,
    const char **why)
{
	const unsigned char *in = data;
	unsigned char *piece;
	size_t total = 0, got, used;
	z_stream zs;
	int zr, r = 0;

	*why = NULL;
	if (!cst_gz_is(data, len)) {
		*why = "not gzip data";
		return CST_EINVAL;
	}
	if ((piece = cst_malloc(GZ_PIECE)) == NULL)
		return CST_ENOMEM;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		cst_free(piece);
		return CST_ENOMEM;
	}
	zs.next_in = (unsigned char *)(uintptr_t)in;
	for (;;) {
		used = (size_t)(zs.next_in - in);
		zs.avail_in = (len - used) > 0x40000000u ? 0x40000000u : (uInt)(len - used);
		zs.next_out = piece;
		zs.avail_out = GZ_PIECE;
		zr = inflate(&zs, Z_NO_FLUSH);
		got = GZ_PIECE - zs.avail_out;
		if (got > 0) {
			if (got > max - total) {
				*why = "larger than the file limit after decompression";
				r = CST_ELIMIT;
				break;
			}
			total += got;
			if ((r = fn(arg, piece, got)) != 0)
				break;
		}
		if (zr == Z_STREAM_END) {
			used = (size_t)(zs.next_in - in);
			if (cst_gz_is(in + used, len - used)) {
				/* another member follows (gzip allows concatenation) */
				if (inflateReset(&zs) != Z_OK) {
					r = CST_ENOMEM;
					break;
				}
				continue;
			}
			if (used != len) {
				*why = "data after the end of the gzip stream";
				r = CST_EINVAL;
			}
			break;
		}
		if (zr == Z_MEM_ERROR) {
			r = CST_ENOMEM;
			break;
		}
		if (zr == Z_BUF_ERROR && got == 0) {
			/* no progress: the input ended inside a member */
			*why = "truncated gzip data";
			r = CST_EINVAL;
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			*why = "corrupt gzip data";
			r = CST_EINVAL;
			break;
		}
	}
	inflateEnd(&zs);
	cst_free(piece);
	return r;
}
