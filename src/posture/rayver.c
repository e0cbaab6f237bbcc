/*
 * Ray versions and their advisories (R-RAY-09): a version read from rayVersion or from a Ray
 * image tag ("rayproject/ray:2.52.0-py311-gpu"), compared numerically component by component
 * (2.9 < 2.10), against a compiled-in table of fixed versions.
 */
#include "posture/rayver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *cve;
	unsigned fixed[3];
	const char *what;
} advisories[] = {
	{ "CVE-2023-48023", { 2, 8, 1 }, "SSRF in the dashboard's /log_proxy" },
	{ "CVE-2023-6019", { 2, 8, 1 }, "command injection via cpu_profile" },
	{ "CVE-2023-6020", { 2, 8, 1 }, "local file inclusion in static files" },
	{ "CVE-2023-6021", { 2, 8, 1 }, "path traversal in the log API" },
	{ "CVE-2025-1979", { 2, 43, 0 }, "Redis password written to logs" },
	{ "CVE-2025-62593", { 2, 52, 0 }, "RCE through browsers by DNS rebinding" },
	{ "CVE-2026-27482", { 2, 54, 0 }, "unauthenticated DELETE on the dashboard" },
	{ "CVE-2026-32981", { 2, 55, 0 }, "dashboard path traversal" },
};

int
cst__pst_rayver_parse(const char *s, unsigned v[3])
{
	char *end;

	if (s == NULL)
		return -1;
	for (int i = 0; i < 3; i++) {
		unsigned long x;

		if (*s < '0' || *s > '9')
			return -1;
		x = strtoul(s, &end, 10);
		if (x > 100000)
			return -1;
		v[i] = (unsigned)x;
		s = end;
		if (i < 2) {
			if (*s != '.') {
				if (i == 0)
					return -1;
				v[2] = 0;	/* "2.52": patch 0 */
				break;
			}
			s++;
		}
	}
	return 0;
}

int
cst__pst_rayver_cmp(const unsigned a[3], const unsigned b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

bool
cst__pst_rayver_image(const char *image, unsigned v[3])
{
	static const char *const repos[] = { "rayproject/ray:", "rayproject/ray-ml:",
		"anyscale/ray:", "anyscale/ray-ml:", NULL };
	const char *tag;

	if (image == NULL)
		return false;
	for (int i = 0; repos[i] != NULL; i++)
		if ((tag = strstr(image, repos[i])) != NULL)
			return cst__pst_rayver_parse(tag + strlen(repos[i]), v) == 0;
	return false;
}

bool
cst__pst_is_ray_image(const char *image)
{
	return image != NULL && (strstr(image, "rayproject/ray") != NULL ||
	    strstr(image, "anyscale/ray") != NULL);
}

size_t
cst__pst_rayver_advisories(const unsigned v[3], char *out, size_t out_len)
{
	size_t n = 0, used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(advisories) / sizeof(advisories[0]); i++) {
		int w;

		if (cst__pst_rayver_cmp(v, advisories[i].fixed) >= 0)
			continue;
		w = snprintf(out + used, out_len - used, "%s%s (%s; fixed in %u.%u.%u)",
		    n ? ", " : "", advisories[i].cve, advisories[i].what, advisories[i].fixed[0],
		    advisories[i].fixed[1], advisories[i].fixed[2]);
		if (w > 0 && (size_t)w < out_len - used)
			used += (size_t)w;
		n++;
	}
	return n;
}
