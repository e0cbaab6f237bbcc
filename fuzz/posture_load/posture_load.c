/*
 * libFuzzer target for src/posture/load.h and the posture checks: arbitrary bytes loaded as a
 * manifest file (the first byte picks the name: ".yaml" or ".json"), then every check run over
 * what loaded. Invariants:
 *  - loading returns 0, CST_EINVAL or CST_ELIMIT, and a failure leaves the set empty with a
 *    message that names the file;
 *  - every loaded document is an object and knows its file;
 *  - the checks succeed and every finding has a rule, a severity in range, a path and
 *    evidence, and the exit status is 1 exactly when a finding is at or above high.
 * A violated invariant calls abort(). Small limits make alias bombs and deep nesting cheap.
 */
#include "core/err.h"
#include "posture/load.h"
#include "posture/posture.h"
#include "../fuzz_check.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cst_pst_limits lim = { 1 << 20, 64, 32, 20000, 4096, 16, 10 };
	struct cst_pst_opts opts = { 0, size % 8 == 0 };	/* credentials: slow to set up */
	struct cst_pst_findings fs = { 0 };
	struct cst_pst_docs d;
	const char *name;
	char err[512];
	int r;

	if (size < 1 || size > 64 * 1024)
		return 0;
	name = data[0] & 1 ? "f.json" : "f.yaml";
	cst_pst_docs_init(&d, &lim);
	r = cst_pst_load_buf(&d, name, (const char *)data + 1, size - 1, err, sizeof(err));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	if (r != 0)
		check(d.n == 0 && strncmp(err, name, strlen(name)) == 0);
	for (size_t i = 0; i < d.n; i++)
		check(json_is_object(d.v[i].obj) && d.v[i].file != NULL);
	check(cst_posture_check(&d, &opts, &fs) == 0);
	for (size_t i = 0; i < fs.n; i++)
		check(fs.v[i].rule != NULL && fs.v[i].sev <= CST_PST_CRITICAL &&
		    fs.v[i].path != NULL && fs.v[i].evidence != NULL && fs.v[i].evidence[0]);
	{
		bool high = false;

		for (size_t i = 0; i < fs.n; i++)
			high = high || fs.v[i].sev >= CST_PST_HIGH;
		check(cst_pst_exit_status(&fs, &d, CST_PST_HIGH) == (high ? 1 : 0));
	}
	cst_pst_findings_free(&fs);
	cst_pst_docs_free(&d);
	return 0;
}
