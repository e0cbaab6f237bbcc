/*
 * Bounded JSON decoding. The depth pre-scan is a single pass with O(1) memory.
 */
#include "core/json.h"

#include "core/err.h"

#include <stdio.h>

int
cst_json_check_depth(const char *data, size_t len, size_t max_depth)
{
	size_t depth = 0, i;
	int in_str = 0, esc = 0;

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case '[':
		case '{':
			if (++depth > max_depth)
				return CST_ELIMIT;
			break;
		case ']':
		case '}':
			if (depth == 0)
				return CST_EINVAL;
			depth--;
			break;
		default:
			break;
		}
	}
	return (in_str || depth != 0) ? CST_EINVAL : 0;
}

int
cst_json_decode(const char *data, size_t len, size_t max_depth, json_t **out, char *err,
    size_t err_len)
{
	json_error_t je;
	json_t *v;
	int r;

	if ((r = cst_json_check_depth(data, len, max_depth)) != 0) {
		snprintf(err, err_len, r == CST_ELIMIT ? "JSON nested deeper than %zu levels" :
		    "malformed JSON (unbalanced brackets or unterminated string)", max_depth);
		return r;
	}
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		snprintf(err, err_len, "malformed JSON at byte %d: %s", je.position, je.text);
		return CST_EINVAL;
	}
	*out = v;
	return 0;
}
