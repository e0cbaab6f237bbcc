/*
 * libFuzzer target for the letter decoders of src/inspect/decode.h: ROT13, leetspeak and
 * spaced letters. Invariants: any input decodes, never longer than itself, with the
 * offset-map invariants (decode_check.h); ROT13 changes exactly the ASCII letters and twice
 * gives the input back; leetspeak writes only the letters it folds to (a '1' may read as i or
 * l in either view: a listed keyword takes the reading that spells it); spaced letters keep
 * every word byte and drop only separators.
 */
#include "../decode_check.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cst_dec_out out, back;

static int
leet_i(const char *s, size_t n, struct cst_dec_out *o)
{
	return cst_dec_leet(s, n, 'i', o);
}

static int
leet_l(const char *s, size_t n, struct cst_dec_out *o)
{
	return cst_dec_leet(s, n, 'l', o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t i, letters = 0;

	check_text_decoder(cst_dec_rot13, s, size, &out);
	for (i = 0; i < size; i++)
		letters += (data[i] | 0x20) >= 'a' && (data[i] | 0x20) <= 'z';
	check(out.len == size && out.n_changed == letters);
	check_text_decoder(cst_dec_rot13, out.text, out.len, &back);
	check(back.len == size && same(back.text, data, size));

	check_text_decoder(leet_i, s, size, &out);
	check(out.len == size);
	for (i = 0; i < out.len; i++)
		check(!out.changed[i] || strchr("ileaost", out.text[i]) != NULL);
	check_text_decoder(leet_l, s, size, &out);
	for (i = 0; i < out.len; i++)
		check(!out.changed[i] || strchr("ileaost", out.text[i]) != NULL);

	check_text_decoder(cst_dec_spaced, s, size, &out);
	for (i = 0; i < out.len; i++)	/* a joined byte is the byte it maps to */
		check(out.src_end[i] - out.src_start[i] <= 4 &&
		    memchr(s + out.src_start[i], out.text[i],
		    out.src_end[i] - out.src_start[i]) != NULL);
	return 0;
}
