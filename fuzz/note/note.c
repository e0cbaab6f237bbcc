/*
 * libFuzzer target for src/audit/note.h: cst_note_parse, cst_note_verify,
 * cst_checkpoint_parse and cst_note_vkey_parse on arbitrary bytes. Invariants:
 *  - parse returns 0, CST_EINVAL or CST_ELIMIT; an error leaves the note untouched and writes
 *    a non-empty message;
 *  - a parsed note has 1..CST_NOTE_MAX_SIGS signatures whose views lie inside the input, its
 *    text ends in '\n', and it re-serialises to exactly the input bytes;
 *  - verification with the fixed PeterNeumann test key accepts only if the note carries the
 *    genuine signature line for its text (the one our signer produces), and never fails
 *    with anything but CST_EINVAL;
 *  - the input as a checkpoint body: when it parses, formatting (origin, size, root) and
 *    appending the opaque extension lines gives back exactly the input;
 *  - vkey parsing never crashes and, when it succeeds, formats back to the same string.
 * A violated invariant calls abort(). No state is kept between inputs except the parsed test
 * keys, which are constant.
 */
#include "audit/note.h"
#include "core/err.h"
#include "../fuzz_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PN_SKEY[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char PN_VKEY[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

static struct cst_note_skey sk;
static struct cst_note_vkey vk;
static bool ready;

static void
setup(void)
{
	if (ready)
		return;
	check(cst_note_skey_parse(PN_SKEY, sizeof(PN_SKEY) - 1, &sk, NULL, 0) == 0);
	check(cst_note_vkey_parse(PN_VKEY, sizeof(PN_VKEY) - 1, &vk, NULL, 0) == 0);
	ready = true;
}

static void
fuzz_note(const char *p, size_t n)
{
	struct cst_note note;
	char msg[CST_NOTE_MSG_LEN] = "", line[256];
	char *out;
	size_t i, len, ln, nv = 0;
	int r;

	memset(&note, 0xa5, sizeof(note));
	r = cst_note_parse(p, n, &note, msg, sizeof(msg));
	check(r == 0 || r == CST_EINVAL || r == CST_ELIMIT);
	if (r != 0) {
		check(msg[0] != '\0');
		check(note.n_sigs == (size_t)0xa5a5a5a5a5a5a5a5ull);
		return;
	}
	check(note.n_sigs >= 1 && note.n_sigs <= CST_NOTE_MAX_SIGS);
	check(view_in(cst_str_make(note.text.p, note.text.len), p, n));
	check(note.text.len >= 1 && note.text.p[note.text.len - 1] == '\n');
	for (i = 0; i < note.n_sigs; i++) {
		check(view_in(note.sigs[i].name, p, n) && note.sigs[i].name.len > 0);
		check(view_in(note.sigs[i].b64, p, n));
		check(note.sigs[i].sig_len >= 1);
	}
	out = malloc(n ? n : 1);
	check(out != NULL);
	check(cst_note_serialize(&note, out, n, &len) == 0);
	check(len == n && memcmp(out, p, n) == 0);
	free(out);

	r = cst_note_verify(&note, &vk, 1, &nv, msg, sizeof(msg));
	check(r == 0 || r == CST_EINVAL);
	if (r == 0) {
		bool genuine = false;

		check(cst_note_sign_line(note.text.p, note.text.len, &sk, 0, line, sizeof(line),
		    &ln) == 0);
		/* every PeterNeumann line must be the genuine one, and there is at least one */
		for (i = 0; i < note.n_sigs; i++) {
			const struct cst_note_sig *s = &note.sigs[i];
			size_t off = (size_t)(s->name.p - p) - 4;

			if (s->key_id != vk.id || !(s->name.len == vk.name_len &&
			    memcmp(s->name.p, vk.name, vk.name_len) == 0))
				continue;
			check(off + ln <= n && memcmp(p + off, line, ln) == 0);
			genuine = true;
		}
		check(genuine && nv >= 1);
	}
}

static void
fuzz_checkpoint(const char *p, size_t n)
{
	struct cst_checkpoint cp;
	char msg[CST_NOTE_MSG_LEN] = "", *out;
	size_t len;
	int r;

	r = cst_checkpoint_parse(p, n, &cp, msg, sizeof(msg));
	check(r == 0 || r == CST_EINVAL);
	if (r != 0) {
		check(msg[0] != '\0');
		return;
	}
	check(view_in(cp.origin, p, n) && view_in(cp.ext, p, n));
	out = malloc(n + 1);
	check(out != NULL);
	check(cst_checkpoint_format(cp.origin, cp.size, cp.root, out, n + 1, &len) == 0);
	check(len + cp.ext.len == n && memcmp(out, p, len) == 0);
	check(cp.ext.p == p + len);
	free(out);
}

static void
fuzz_vkey(const char *p, size_t n)
{
	struct cst_note_vkey k;
	char msg[CST_NOTE_MSG_LEN] = "", out[CST_NOTE_MAX_NAME + 64];
	int r = cst_note_vkey_parse(p, n, &k, msg, sizeof(msg));

	check(r == 0 || r == CST_EINVAL);
	if (r != 0) {
		check(msg[0] != '\0');
		return;
	}
	check(cst_note_vkey_format(&k, out, sizeof(out)) == 0);
	/* hex digits may be upper case in the input; compare the rest exactly */
	check(strlen(out) == n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p;

	setup();
	if (size > CST_NOTE_MAX_SIZE + 1)
		return 0;
	p = malloc(size ? size : 1);	/* exact copy: ASan sees any over-read */
	check(p != NULL);
	if (size)
		memcpy(p, data, size);
	fuzz_note(p, size);
	fuzz_checkpoint(p, size);
	if (size <= 512)
		fuzz_vkey(p, size);
	free(p);
	return 0;
}
