/*
 * Ray version parsing and the advisory table (internal to the posture checker).
 */
#ifndef CST_POSTURE_RAYVER_H
#define CST_POSTURE_RAYVER_H

#include <stdbool.h>
#include <stddef.h>

/* Parses "2.52.0" (or "2.52", or a tag "2.52.0-py311") into v. 0; -1 if not a version. */
int cst__pst_rayver_parse(const char *s, unsigned v[3]);
/* -1, 0, 1 as a is older, equal, newer than b. */
int cst__pst_rayver_cmp(const unsigned a[3], const unsigned b[3]);
/* The version in a Ray image's tag; false for other images and tags that are no version. */
bool cst__pst_rayver_image(const char *image, unsigned v[3]);
/* An image of Ray (rayproject/ray*, anyscale/ray*). */
bool cst__pst_is_ray_image(const char *image);
/* Writes the advisories affecting v into out ("CVE-... (what; fixed in x.y.z), ..."); returns
 * how many. */
size_t cst__pst_rayver_advisories(const unsigned v[3], char *out, size_t out_len);

#endif
