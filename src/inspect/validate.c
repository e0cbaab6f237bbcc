/*
 * The PII validators declared in validate.h: Presidio's check-digit and invalidation logic in
 * C. Every function copies at most CST_VALIDATE_MAX_LEN bytes into a stack buffer, never reads
 * past s + n, never allocates (SHA-256 for Base58Check goes through OpenSSL) and keeps no state.
 */
#include "inspect/validate.h"

#include "crypto/hash.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#define BUF_CAP CST_VALIDATE_MAX_LEN

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_alpha(unsigned char c)
{
	return is_upper(c) || (c >= 'a' && c <= 'z');
}

static bool
is_alnum(unsigned char c)
{
	return is_digit(c) || is_alpha(c);
}

static bool
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char
to_upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

static unsigned char
to_lower(unsigned char c)
{
	return is_upper(c) ? (unsigned char)(c - 'A' + 'a') : c;
}

/* c is one of the bytes of set (never true for NUL, unlike a bare strchr). */
static bool
in_set(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/*
 * Copies s[0..n) into out[cap] without the bytes in drop (a NUL-terminated set; NULL drops
 * nothing) and NUL-terminates it. Returns the length kept, or 0 when s is empty, n is above
 * CST_VALIDATE_MAX_LEN or what is kept does not fit.
 */
static size_t
squeeze(const char *s, size_t n, const char *drop, char *out, size_t cap)
{
	size_t k = 0;

	if (s == NULL || n == 0 || n > CST_VALIDATE_MAX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (drop != NULL && in_set((unsigned char)s[i], drop))
			continue;
		if (k + 1 >= cap)
			return 0;
		out[k++] = s[i];
	}
	out[k] = '\0';
	return k;
}

/* s[0..n) after dropping the bytes in drop is exactly want digits, copied into d. */
static bool
digits_exact(const char *s, size_t n, const char *drop, size_t want, char *d, size_t cap)
{
	size_t k = squeeze(s, n, drop, d, cap);

	if (k != want)
		return false;
	for (size_t i = 0; i < k; i++)
		if (!is_digit((unsigned char)d[i]))
			return false;
	return true;
}

static unsigned
dv(char c)
{
	return (unsigned)(c - '0');
}

/* Luhn over n ASCII digits: from the right, every second digit doubled. */
static bool
luhn_ok(const char *d, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned x = dv(d[n - 1 - i]);

		if (i & 1) {
			x *= 2;
			if (x > 9)
				x -= 9;
		}
		sum += x;
	}
	return sum % 10 == 0;
}

/* Weighted digit sum: sum of d[i] * w[i] for i < n. */
static unsigned
weighted(const char *d, const unsigned *w, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += dv(d[i]) * w[i];
	return sum;
}

static enum cst_valid
yes_no(bool ok)
{
	return ok ? CST_VALID_YES : CST_VALID_NO;
}

static enum cst_valid
unknown_no(bool ok)
{
	return ok ? CST_VALID_UNKNOWN : CST_VALID_NO;
}

static bool
leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A real Gregorian date (year >= 1). */
static bool
date_ok(unsigned y, unsigned m, unsigned d)
{
	static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && leap(y) ? 1u : 0u);
}

static unsigned
two(const char *d)
{
	return dv(d[0]) * 10 + dv(d[1]);
}

/* Verhoeff tables (dihedral group D5 multiplication, permutation, inverse). */
static const uint8_t verhoeff_d[10][10] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 2, 3, 4, 0, 6, 7, 8, 9, 5 },
	{ 2, 3, 4, 0, 1, 7, 8, 9, 5, 6 }, { 3, 4, 0, 1, 2, 8, 9, 5, 6, 7 },
	{ 4, 0, 1, 2, 3, 9, 5, 6, 7, 8 }, { 5, 9, 8, 7, 6, 0, 4, 3, 2, 1 },
	{ 6, 5, 9, 8, 7, 1, 0, 4, 3, 2 }, { 7, 6, 5, 9, 8, 2, 1, 0, 4, 3 },
	{ 8, 7, 6, 5, 9, 3, 2, 1, 0, 4 }, { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 },
};
static const uint8_t verhoeff_p[8][10] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 5, 7, 6, 2, 8, 3, 0, 9, 4 },
	{ 5, 8, 0, 3, 7, 9, 6, 1, 4, 2 }, { 8, 9, 1, 6, 0, 4, 3, 5, 2, 7 },
	{ 9, 4, 5, 3, 1, 2, 6, 8, 7, 0 }, { 4, 2, 8, 6, 5, 7, 3, 9, 0, 1 },
	{ 2, 7, 9, 3, 8, 0, 6, 4, 1, 5 }, { 7, 0, 4, 6, 9, 1, 3, 2, 5, 8 },
};

/*
 * Verhoeff over the digits of the number d[0..n) denotes: like Presidio, which checks
 * int(value), leading zeros are not part of it.
 */
static bool
verhoeff_ok(const char *d, size_t n)
{
	unsigned c = 0;
	size_t lead = 0;

	while (lead + 1 < n && d[lead] == '0')
		lead++;
	for (size_t i = 0; i < n - lead; i++)
		c = verhoeff_d[c][verhoeff_p[i % 8][dv(d[n - 1 - i])]];
	return c == 0;
}

enum cst_valid
cst_validate_credit_card(const char *s, size_t n)
{
	char d[BUF_CAP];
	size_t k = squeeze(s, n, " -", d, sizeof(d));

	if (k < 12 || k > 19)
		return CST_VALID_NO;
	for (size_t i = 0; i < k; i++)
		if (!is_digit((unsigned char)d[i]))
			return CST_VALID_NO;
	return yes_no(luhn_ok(d, k));
}

/*
 * The BBAN after the check digits, one class per character: 'n' digit, 'a' upper-case letter,
 * 'c' letter or digit, '0' the digit zero. From Presidio's iban_patterns.py, except four
 * countries whose Presidio pattern is shorter than the IBAN (only its prefix match lets the
 * real numbers pass); these follow the IBAN registry: MU 4a 19n 3a, PS 4c 21n, PT 21n,
 * QA 4a 21c.
 */
static const struct iban_format {
	char cc[3];
	const char *bban;
} iban_formats[] = {
	{ "AD", "nnnnnnnncccccccccccc" }, { "AE", "nnnnnnnnnnnnnnnnnnn" },
	{ "AL", "nnnnnnnncccccccccccccccc" }, { "AT", "nnnnnnnnnnnnnnnn" },
	{ "AZ", "ccccnnnnnnnnnnnnnnnnnnnn" }, { "BA", "nnnnnnnnnnnnnnnn" },
	{ "BE", "nnnnnnnnnnnn" }, { "BG", "aaaannnnnncccccccc" },
	{ "BH", "aaaacccccccccccccc" }, { "BR", "nnnnnnnnnnnnnnnnnnnnnnnac" },
	{ "BY", "ccccnnnncccccccccccccccc" }, { "CH", "nnnnncccccccccccc" },
	{ "CR", "0nnnnnnnnnnnnnnnnn" }, { "CY", "nnnnnnnncccccccccccccccc" },
	{ "CZ", "nnnnnnnnnnnnnnnnnnnn" }, { "DE", "nnnnnnnnnnnnnnnnnn" },
	{ "DK", "nnnnnnnnnnnnnn" }, { "DO", "aaaannnnnnnnnnnnnnnnnnnn" },
	{ "EE", "nnnnnnnnnnnnnnnn" }, { "ES", "nnnnnnnnnnnnnnnnnnnn" },
	{ "FI", "nnnnnnnnnnnnnn" }, { "FO", "nnnnnnnnnnnnnn" },
	{ "FR", "nnnnnnnnnncccccccccccnn" }, { "GB", "aaaannnnnnnnnnnnnn" },
	{ "GE", "ccnnnnnnnnnnnnnnnn" }, { "GI", "aaaaccccccccccccccc" },
	{ "GL", "nnnnnnnnnnnnnn" }, { "GR", "nnnnnnncccccccccccccccc" },
	{ "GT", "cccccccccccccccccccccccc" }, { "HR", "nnnnnnnnnnnnnnnnn" },
	{ "HU", "nnnnnnnnnnnnnnnnnnnnnnnn" }, { "IE", "ccccnnnnnnnnnnnnnn" },
	{ "IL", "nnnnnnnnnnnnnnnnnnn" }, { "IS", "nnnnnnnnnnnnnnnnnnnnnn" },
	{ "IT", "annnnnnnnnncccccccccccc" }, { "JO", "aaaannnnnnnnnnnnnnnnnnnnnn" },
	{ "KW", "aaaacccccccccccccccccccccc" }, { "KZ", "nnnccccccccccccc" },
	{ "LB", "nnnncccccccccccccccccccc" }, { "LI", "nnnnncccccccccccc" },
	{ "LT", "nnnnnnnnnnnnnnnn" }, { "LU", "nnnccccccccccccc" },
	{ "LV", "aaaaccccccccccccc" }, { "MC", "nnnnnnnnnncccccccccccnn" },
	{ "MD", "cccccccccccccccccccc" }, { "ME", "nnnnnnnnnnnnnnnnnn" },
	{ "MK", "nnnccccccccccnn" }, { "MR", "nnnnnnnnnnnnnnnnnnnnnnn" },
	{ "MT", "aaaannnnncccccccccccccccccc" }, { "MU", "aaaannnnnnnnnnnnnnnnnnnaaa" },
	{ "NL", "aaaannnnnnnnnn" }, { "NO", "nnnnnnnnnnn" },
	{ "PK", "ccccnnnnnnnnnnnnnnnn" }, { "PL", "nnnnnnnnnnnnnnnnnnnnnnnn" },
	{ "PS", "ccccnnnnnnnnnnnnnnnnnnnnn" }, { "PT", "nnnnnnnnnnnnnnnnnnnnn" },
	{ "QA", "aaaaccccccccccccccccccccc" }, { "RO", "aaaacccccccccccccccc" },
	{ "RS", "nnnnnnnnnnnnnnnnnn" }, { "SA", "nncccccccccccccccccc" },
	{ "SE", "nnnnnnnnnnnnnnnnnnnn" }, { "SI", "nnnnnnnnnnnnnnn" },
	{ "SK", "nnnnnnnnnnnnnnnnnnnn" }, { "SM", "annnnnnnnnncccccccccccc" },
	{ "TL", "nnnnnnnnnnnnnnnnnnn" }, { "TN", "nnnnnnnnnnnnnnnnnnnn" },
	{ "TR", "nnnnnccccccccccccccccc" }, { "VA", "nnnnnnnnnnnnnnnnnn" },
	{ "VG", "ccccnnnnnnnnnnnnnnnn" }, { "XK", "nnnnnnnnnnnnnnnn" },
};

#define IBAN_MAX 34

/* Presidio's __is_valid_format: country code known (case-sensitive), digits, then the BBAN. */
static bool
iban_format_ok(const char *t, size_t k)
{
	for (size_t i = 0; i < sizeof(iban_formats) / sizeof(iban_formats[0]); i++) {
		const struct iban_format *f = &iban_formats[i];
		size_t blen;

		if (t[0] != f->cc[0] || t[1] != f->cc[1])
			continue;
		blen = strlen(f->bban);
		if (k != 4 + blen || !is_digit((unsigned char)t[2]) || !is_digit((unsigned char)t[3]))
			return false;
		for (size_t j = 0; j < blen; j++) {
			unsigned char c = (unsigned char)t[4 + j];
			bool ok = false;

			switch (f->bban[j]) {
			case 'n': ok = is_digit(c); break;
			case 'a': ok = is_upper(c); break;
			case 'c': ok = is_alnum(c); break;
			case '0': ok = c == '0'; break;
			}
			if (!ok)
				return false;
		}
		return true;
	}
	return false;
}

/* Adds one base-36 character's decimal digits to a running mod-97 remainder. */
static bool
mod97_add(unsigned *r, unsigned char c)
{
	c = to_upper(c);
	if (is_digit(c)) {
		*r = (*r * 10 + (unsigned)(c - '0')) % 97;
		return true;
	}
	if (is_upper(c)) {
		*r = (*r * 100 + (unsigned)(c - 'A' + 10)) % 97;
		return true;
	}
	return false;
}

enum cst_valid
cst_validate_iban(const char *s, size_t n)
{
	char t[BUF_CAP], u[BUF_CAP];
	size_t k = squeeze(s, n, " -", t, sizeof(t));
	unsigned r = 0, want;

	if (k < 5 || k > IBAN_MAX)
		return CST_VALID_NO;
	/* 98 - (BBAN + country + "00" mod 97) must be the two digits at 2..3. */
	for (size_t i = 4; i < k; i++)
		if (!mod97_add(&r, (unsigned char)t[i]))
			return CST_VALID_NO;
	if (!mod97_add(&r, (unsigned char)t[0]) || !mod97_add(&r, (unsigned char)t[1]) ||
	    !mod97_add(&r, '0') || !mod97_add(&r, '0'))
		return CST_VALID_NO;
	want = 98 - r;
	if (t[2] != (char)('0' + want / 10) || t[3] != (char)('0' + want % 10))
		return CST_VALID_NO;
	if (iban_format_ok(t, k))
		return CST_VALID_YES;
	for (size_t i = 0; i <= k; i++)
		u[i] = (char)to_upper((unsigned char)t[i]);
	return unknown_no(iban_format_ok(u, k));
}

enum cst_valid
cst_validate_us_ssn(const char *s, size_t n, bool strict)
{
	char d[BUF_CAP];
	size_t k = 0;
	char delim = 0;
	bool same = true;
	static const char *const samples[] = { "000", "666", "123456789", "98765432", "078051120" };

	if (s == NULL || n == 0 || n > 11)
		return CST_VALID_NO;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-' || s[i] == '.' || s[i] == ' ') {
			if (delim != 0 && s[i] != delim)
				return CST_VALID_NO;	/* mismatched delimiters */
			delim = s[i];
		} else if (is_digit((unsigned char)s[i])) {
			d[k++] = s[i];
		} else {
			return CST_VALID_NO;
		}
	}
	if (k != 9)
		return CST_VALID_NO;
	for (size_t i = 1; i < k; i++)
		same = same && d[i] == d[0];
	if (same)
		return CST_VALID_NO;
	if (memcmp(d + 3, "00", 2) == 0 || memcmp(d + 5, "0000", 4) == 0)
		return CST_VALID_NO;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (memcmp(d, samples[i], strlen(samples[i])) == 0)
			return CST_VALID_NO;
	if (strict && d[0] == '9')
		return CST_VALID_NO;
	return CST_VALID_UNKNOWN;
}

enum cst_valid
cst_validate_us_itin(const char *s, size_t n)
{
	char d[9];
	size_t k = 0;
	unsigned g;

	if (s == NULL || n < 9 || n > 11)
		return CST_VALID_NO;
	/* 9 digits, a single '-' or ' ' allowed after the 3rd and after the 5th digit. */
	for (size_t i = 0; i < n; i++) {
		if (is_digit((unsigned char)s[i]) && k < 9)
			d[k++] = s[i];
		else if (!((s[i] == '-' || s[i] == ' ') && (k == 3 || k == 5) &&
		    is_digit((unsigned char)s[i - 1])))
			return CST_VALID_NO;
	}
	if (k != 9 || d[0] != '9')
		return CST_VALID_NO;
	g = two(d + 3);
	return unknown_no((g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) ||
	    g >= 94);
}

enum cst_valid
cst_validate_aba_routing(const char *s, size_t n)
{
	static const unsigned w[9] = { 3, 7, 1, 3, 7, 1, 3, 7, 1 };
	char d[BUF_CAP];

	if (!digits_exact(s, n, "-", 9, d, sizeof(d)) || !in_set((unsigned char)d[0], "0123678"))
		return CST_VALID_NO;
	return yes_no(weighted(d, w, 9) % 10 == 0);
}

enum cst_valid
cst_validate_us_npi(const char *s, size_t n)
{
	char d[BUF_CAP];
	char p[15] = { '8', '0', '8', '4', '0' };
	bool same = true;

	if (!digits_exact(s, n, " -", 10, d, sizeof(d)) || (d[0] != '1' && d[0] != '2'))
		return CST_VALID_NO;
	for (size_t i = 1; i < 9; i++)
		same = same && d[i] == d[0];
	if (same)
		return CST_VALID_NO;	/* degenerate body, Presidio's invalidate_result */
	memcpy(p + 5, d, 10);
	return yes_no(luhn_ok(p, sizeof(p)));
}

enum cst_valid
cst_validate_dea(const char *s, size_t n)
{
	char t[BUF_CAP];
	size_t k = squeeze(s, n, " -", t, sizeof(t));
	const char *d = t + 2;
	unsigned sum;

	if (k != 9 || !in_set(to_upper((unsigned char)t[0]), "ABCDEFGHJKLMPRSTUX") ||
	    !(is_alpha((unsigned char)t[1]) || t[1] == '9'))
		return CST_VALID_NO;
	for (size_t i = 0; i < 7; i++)
		if (!is_digit((unsigned char)d[i]))
			return CST_VALID_NO;
	sum = dv(d[0]) + dv(d[2]) + dv(d[4]) + 2 * (dv(d[1]) + dv(d[3]) + dv(d[5]));
	return yes_no(sum % 10 == dv(d[6]));
}

enum cst_valid
cst_validate_uk_nhs(const char *s, size_t n)
{
	static const unsigned w[10] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	char d[BUF_CAP];

	if (!digits_exact(s, n, " -", 10, d, sizeof(d)))
		return CST_VALID_NO;
	return yes_no(weighted(d, w, 10) % 11 == 0);
}

enum cst_valid
cst_validate_uk_nino(const char *s, size_t n)
{
	static const char *const banned[] = { "BG", "GB", "NK", "KN", "NT", "TN", "ZZ" };
	char t[BUF_CAP];
	size_t k = squeeze(s, n, " ", t, sizeof(t));

	if (k != 9)
		return CST_VALID_NO;
	for (size_t i = 0; i < k; i++)
		t[i] = (char)to_upper((unsigned char)t[i]);
	if (!is_upper((unsigned char)t[0]) || !is_upper((unsigned char)t[1]) ||
	    in_set((unsigned char)t[0], "DFIQUV") || in_set((unsigned char)t[1], "DFIOQUV"))
		return CST_VALID_NO;
	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (memcmp(t, banned[i], 2) == 0)
			return CST_VALID_NO;
	for (size_t i = 2; i < 8; i++)
		if (!is_digit((unsigned char)t[i]))
			return CST_VALID_NO;
	return unknown_no(t[8] >= 'A' && t[8] <= 'D');
}

enum cst_valid
cst_validate_au_abn(const char *s, size_t n)
{
	static const unsigned w[11] = { 10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 };
	char d[BUF_CAP];
	unsigned sum;

	if (!digits_exact(s, n, " -", 11, d, sizeof(d)))
		return CST_VALID_NO;
	sum = weighted(d + 1, w + 1, 10) + (d[0] == '0' ? 9 : dv(d[0]) - 1) * w[0];
	return yes_no(sum % 89 == 0);
}

enum cst_valid
cst_validate_au_acn(const char *s, size_t n)
{
	static const unsigned w[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	char d[BUF_CAP];

	if (!digits_exact(s, n, " -", 9, d, sizeof(d)))
		return CST_VALID_NO;
	return yes_no((10 - weighted(d, w, 8) % 10) % 10 == dv(d[8]));
}

enum cst_valid
cst_validate_au_tfn(const char *s, size_t n)
{
	static const unsigned w[9] = { 1, 4, 3, 7, 5, 8, 6, 9, 10 };
	char d[BUF_CAP];

	if (!digits_exact(s, n, " -", 9, d, sizeof(d)))
		return CST_VALID_NO;
	return yes_no(weighted(d, w, 9) % 11 == 0);
}

enum cst_valid
cst_validate_au_medicare(const char *s, size_t n)
{
	static const unsigned w[8] = { 1, 3, 7, 9, 1, 3, 7, 9 };
	char d[BUF_CAP];

	if (!digits_exact(s, n, " -", 10, d, sizeof(d)) || d[0] < '2' || d[0] > '6')
		return CST_VALID_NO;
	return yes_no(weighted(d, w, 8) % 10 == dv(d[8]));
}

enum cst_valid
cst_validate_in_aadhaar(const char *s, size_t n)
{
	char d[BUF_CAP];
	bool palindrome = true;

	if (!digits_exact(s, n, " -:", 12, d, sizeof(d)) || d[0] < '2')
		return CST_VALID_NO;
	for (size_t i = 0; i < 6; i++)
		palindrome = palindrome && d[i] == d[11 - i];
	return yes_no(!palindrome && verhoeff_ok(d, 12));
}

enum cst_valid
cst_validate_ng_nin(const char *s, size_t n)
{
	char d[BUF_CAP];

	if (!digits_exact(s, n, NULL, 11, d, sizeof(d)))
		return CST_VALID_NO;
	return yes_no(verhoeff_ok(d, 11));
}

static const char nif_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

/* The NIF control letter for the decimal number d[0..k): letters[number mod 23]. */
static char
nif_letter(const char *d, size_t k)
{
	unsigned r = 0;

	for (size_t i = 0; i < k; i++)
		r = (r * 10 + dv(d[i])) % 23;
	return nif_letters[r];
}

enum cst_valid
cst_validate_es_nif(const char *s, size_t n)
{
	char t[BUF_CAP];
	size_t k = squeeze(s, n, " -", t, sizeof(t));

	if (k != 8 && k != 9)
		return CST_VALID_NO;
	for (size_t i = 0; i + 1 < k; i++)
		if (!is_digit((unsigned char)t[i]))
			return CST_VALID_NO;
	/* The letter is compared as written: Presidio does not fold case here. */
	return yes_no(t[k - 1] == nif_letter(t, k - 1));
}

enum cst_valid
cst_validate_es_nie(const char *s, size_t n)
{
	char t[BUF_CAP];
	size_t k = squeeze(s, n, " -", t, sizeof(t));

	if (k != 8 && k != 9)
		return CST_VALID_NO;
	for (size_t i = 0; i < k; i++)
		t[i] = (char)to_upper((unsigned char)t[i]);
	if (t[0] < 'X' || t[0] > 'Z' || !is_upper((unsigned char)t[k - 1]))
		return CST_VALID_NO;
	for (size_t i = 1; i + 1 < k; i++)
		if (!is_digit((unsigned char)t[i]))
			return CST_VALID_NO;
	t[0] = (char)('0' + (t[0] - 'X'));
	return yes_no(t[k - 1] == nif_letter(t, k - 1));
}

/* Omocodia: a digit of the fiscal code may be replaced by a letter of this set. */
static bool
it_digitish(unsigned char c)
{
	return is_digit(c) || in_set(c, "LMNPQRSTUV");
}

enum cst_valid
cst_validate_it_fiscal(const char *s, size_t n)
{
	/* Values of 0-9 and A-Z at odd (1st, 3rd, ...) positions. */
	static const uint8_t odd_digit[10] = { 1, 0, 5, 7, 9, 13, 15, 17, 19, 21 };
	static const uint8_t odd_alpha[26] = { 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20,
		11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23 };
	char t[17];
	unsigned sum = 0;

	if (s == NULL || n != 16)
		return CST_VALID_NO;
	for (size_t i = 0; i < 16; i++)
		t[i] = (char)to_upper((unsigned char)s[i]);
	for (size_t i = 0; i < 16; i++) {
		unsigned char c = (unsigned char)t[i];
		bool letter = i < 6 || i == 8 || i == 11 || i == 15;

		if (letter ? !is_upper(c) : !it_digitish(c))
			return CST_VALID_NO;
	}
	for (size_t i = 0; i < 15; i++) {
		unsigned char c = (unsigned char)t[i];

		if (i % 2 == 0)
			sum += is_digit(c) ? odd_digit[c - '0'] : odd_alpha[c - 'A'];
		else
			sum += is_digit(c) ? (unsigned)(c - '0') : (unsigned)(c - 'A');
	}
	/* A wrong check letter keeps the base score in Presidio (validate_result None). */
	return t[15] == (char)('A' + sum % 26) ? CST_VALID_YES : CST_VALID_UNKNOWN;
}

enum cst_valid
cst_validate_pl_pesel(const char *s, size_t n)
{
	static const unsigned w[10] = { 1, 3, 7, 9, 1, 3, 7, 9, 1, 3 };
	char d[BUF_CAP];

	if (!digits_exact(s, n, NULL, 11, d, sizeof(d)))
		return CST_VALID_NO;
	return yes_no((10 - weighted(d, w, 10) % 10) % 10 == dv(d[10]));
}

enum cst_valid
cst_validate_fi_hetu(const char *s, size_t n)
{
	static const char control[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
	unsigned century, r = 0;

	if (s == NULL || n != 11)
		return CST_VALID_NO;
	for (size_t i = 0; i < 10; i++)
		if (i != 6 && !is_digit((unsigned char)s[i]))
			return CST_VALID_NO;
	if (s[6] == '+')
		century = 1800;
	else if (in_set((unsigned char)s[6], "-YXWVU"))
		century = 1900;
	else if (in_set((unsigned char)s[6], "ABCDEF"))
		century = 2000;
	else
		return CST_VALID_NO;
	if (!date_ok(century + two(s + 4), two(s + 2), two(s)))
		return CST_VALID_NO;
	for (size_t i = 0; i < 10; i++)
		if (i != 6)
			r = (r * 10 + dv(s[i])) % 31;
	return yes_no(s[10] == control[r]);
}

enum cst_valid
cst_validate_se_pnr(const char *s, size_t n)
{
	char d[12];
	size_t k = 0;
	unsigned m, day;
	const char *p;

	if (s == NULL || n < 10 || n > 13)
		return CST_VALID_NO;
	/* 6-8 date digits, an optional '-' or '+' and 4 digits: 10 to 12 digits in all. */
	for (size_t i = 0; i < n; i++) {
		if (is_digit((unsigned char)s[i]) && k < sizeof(d))
			d[k++] = s[i];
		else if (!((s[i] == '-' || s[i] == '+') && i == n - 5 && i >= 6))
			return CST_VALID_NO;
	}
	if (k < 10)
		return CST_VALID_NO;
	p = d + k - 10;
	m = two(p + 2);
	day = two(p + 4);
	if (day >= 61)
		day -= 60;	/* samordningsnummer */
	if (m < 1 || m > 12 || day < 1 || day > 31)
		return CST_VALID_NO;
	return yes_no(luhn_ok(p, 10));
}

enum cst_valid
cst_validate_za_id(const char *s, size_t n, unsigned today)
{
	char d[BUF_CAP];
	unsigned yy, mm, dd, year;

	if (!digits_exact(s, n, NULL, 13, d, sizeof(d)))
		return CST_VALID_NO;
	yy = two(d);
	mm = two(d + 2);
	dd = two(d + 4);
	if (today != 0) {
		year = (yy > (today / 10000) % 100 ? 1900 : 2000) + yy;
		if (!date_ok(year, mm, dd) || year * 10000 + mm * 100 + dd > today)
			return CST_VALID_NO;
	} else if (!date_ok(2000 + yy, mm, dd) && !date_ok(1900 + yy, mm, dd)) {
		return CST_VALID_NO;
	}
	if (d[10] < '0' || d[10] > '2' || (d[11] != '8' && d[11] != '9'))
		return CST_VALID_NO;
	return yes_no(luhn_ok(d, 13));
}

enum cst_valid
cst_validate_ca_sin(const char *s, size_t n)
{
	char d[BUF_CAP];
	const char *drop = NULL;

	/* DDDDDDDDD or DDD?DDD?DDD with one delimiter, ' ' or '-', used twice. */
	if (s == NULL || (n != 9 && n != 11))
		return CST_VALID_NO;
	if (n == 11) {
		if ((s[3] != ' ' && s[3] != '-') || s[7] != s[3])
			return CST_VALID_NO;
		drop = s[3] == ' ' ? " " : "-";
	}
	if (!digits_exact(s, n, drop, 9, d, sizeof(d)) || d[0] == '0' || d[0] == '8')
		return CST_VALID_NO;
	return unknown_no(luhn_ok(d, 9));
}

enum cst_valid
cst_validate_kr_rrn(const char *s, size_t n)
{
	static const unsigned w[12] = { 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5 };
	char d[BUF_CAP];
	unsigned m, day;

	if (n == 14 && s != NULL && s[6] != '-')
		return CST_VALID_NO;
	if (!digits_exact(s, n, "-", 13, d, sizeof(d)))
		return CST_VALID_NO;
	m = two(d + 2);
	day = two(d + 4);
	if (m < 1 || m > 12 || day < 1 || day > 31 || d[6] < '1' || d[6] > '4')
		return CST_VALID_NO;
	/* Numbers issued since October 2020 carry no check digit: no match is UNKNOWN. */
	if (two(d + 7) <= 95 && (11 - weighted(d, w, 12) % 11) % 10 == dv(d[12]))
		return CST_VALID_YES;
	return CST_VALID_UNKNOWN;
}

enum cst_valid
cst_validate_th_tnin(const char *s, size_t n)
{
	static const unsigned w[12] = { 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2 };
	static const unsigned bad[] = { 28, 29, 59, 68, 69, 78, 79, 87, 88, 89, 97, 98, 99 };
	char d[BUF_CAP];
	unsigned x;

	if (!digits_exact(s, n, NULL, 13, d, sizeof(d)) || d[0] == '0' || d[1] == '0')
		return CST_VALID_NO;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (two(d + 1) == bad[i])
			return CST_VALID_NO;
	x = weighted(d, w, 12) % 11;
	return yes_no((11 - x) % 10 == dv(d[12]));
}

enum cst_valid
cst_validate_tr_tckn(const char *s, size_t n)
{
	char d[BUF_CAP];
	unsigned odd, even, all = 0;

	if (!digits_exact(s, n, NULL, 11, d, sizeof(d)) || d[0] == '0')
		return CST_VALID_NO;
	odd = dv(d[0]) + dv(d[2]) + dv(d[4]) + dv(d[6]) + dv(d[8]);
	even = dv(d[1]) + dv(d[3]) + dv(d[5]) + dv(d[7]);
	/* (7 * odd - even) mod 10, kept non-negative like Python's %. */
	if ((odd * 7 + 10 * 36 - even) % 10 != dv(d[9]))
		return CST_VALID_NO;
	for (size_t i = 0; i < 10; i++)
		all += dv(d[i]);
	return yes_no(all % 10 == dv(d[10]));
}

enum cst_valid
cst_validate_de_tax_id(const char *s, size_t n)
{
	char d[BUF_CAP];
	unsigned counts[10] = { 0 }, repeated = 0, product = 10, check;

	if (!digits_exact(s, n, " -", 11, d, sizeof(d)) || d[0] == '0')
		return CST_VALID_NO;
	for (size_t i = 0; i < 10; i++)
		counts[dv(d[i])]++;
	for (size_t i = 0; i < 10; i++) {
		if (counts[i] > 3)
			return CST_VALID_NO;
		if (counts[i] >= 2)
			repeated++;
	}
	if (repeated != 1)
		return CST_VALID_NO;
	/* ISO 7064 MOD 11,10. */
	for (size_t i = 0; i < 10; i++) {
		unsigned total = (dv(d[i]) + product) % 10;

		product = ((total == 0 ? 10 : total) * 2) % 11;
	}
	check = 11 - product;
	return yes_no((check == 10 ? 0 : check) == dv(d[10]));
}

enum cst_valid
cst_validate_sg_nric(const char *s, size_t n)
{
	static const unsigned w[7] = { 2, 7, 6, 5, 4, 3, 2 };
	unsigned char first, last;
	unsigned sum;
	const char *table;

	if (s == NULL || n != 9)
		return CST_VALID_NO;
	first = to_upper((unsigned char)s[0]);
	last = to_upper((unsigned char)s[8]);
	if (!is_upper(first) || !is_upper(last))
		return CST_VALID_NO;
	for (size_t i = 1; i < 8; i++)
		if (!is_digit((unsigned char)s[i]))
			return CST_VALID_NO;
	sum = weighted(s + 1, w, 7);
	if (first == 'S' || first == 'T')
		table = "JZIHGFEDCBA";
	else if (first == 'F' || first == 'G')
		table = "XWUTRQPNMLK";
	else
		return CST_VALID_UNKNOWN;	/* M and other series: pattern only */
	if (first == 'T' || first == 'G')
		sum += 4;
	return table[sum % 11] == (char)last ? CST_VALID_YES : CST_VALID_UNKNOWN;
}

#define B58_MAX_CHARS 64
#define B58_MAX_BYTES 48	/* 64 * log2(58) / 8 rounded up */

/* Presidio's __decode_base58 + double-SHA-256 checksum of P2PKH / P2SH addresses. */
static enum cst_valid
base58check(const char *s, size_t n)
{
	static const char alphabet[] =
	    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	uint8_t num[B58_MAX_BYTES] = { 0 };	/* big-endian, value in the last num_len */
	uint8_t raw[B58_MAX_CHARS + B58_MAX_BYTES];
	unsigned char h1[CST_SHA256_LEN], h2[CST_SHA256_LEN];
	size_t ones = 0, num_len = 0, total;

	if (n > B58_MAX_CHARS)
		return CST_VALID_NO;
	while (ones < n && s[ones] == '1')
		ones++;
	for (size_t i = ones; i < n; i++) {
		const char *p = in_set((unsigned char)s[i], alphabet) ? strchr(alphabet, s[i]) : NULL;
		unsigned carry;

		if (p == NULL)
			return CST_VALID_NO;
		carry = (unsigned)(p - alphabet);
		for (size_t j = 0; j < B58_MAX_BYTES; j++) {
			carry += 58u * num[B58_MAX_BYTES - 1 - j];
			num[B58_MAX_BYTES - 1 - j] = (uint8_t)carry;
			carry >>= 8;
		}
		if (carry != 0)
			return CST_VALID_NO;
	}
	while (num_len < B58_MAX_BYTES && num[num_len] == 0)
		num_len++;
	num_len = B58_MAX_BYTES - num_len;
	total = ones + num_len;
	if (total < 4)
		return CST_VALID_NO;
	memset(raw, 0, ones);
	memcpy(raw + ones, num + B58_MAX_BYTES - num_len, num_len);
	if (cst_sha256(raw, total - 4, h1) != 0 || cst_sha256(h1, sizeof(h1), h2) != 0)
		return CST_VALID_UNKNOWN;
	return yes_no(memcmp(h2, raw + total - 4, 4) == 0);
}

static uint32_t
bech32_polymod_step(uint32_t chk, unsigned v)
{
	static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
		0x2a1462b3 };
	uint32_t top = chk >> 25;

	chk = ((chk & 0x1ffffff) << 5) ^ v;
	for (unsigned i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= gen[i];
	return chk;
}

/* Presidio's bech32_decode: checksum constant 1 (Bech32) or 0x2bc830a3 (Bech32m). */
static enum cst_valid
bech32(const char *s, size_t n)
{
	static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
	bool lower = false, upper = false;
	size_t pos = 0;
	bool found = false;
	uint32_t chk = 1;

	if (n > 90)
		return CST_VALID_NO;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126)
			return CST_VALID_NO;
		lower = lower || (c >= 'a' && c <= 'z');
		upper = upper || is_upper(c);
		if (c == '1') {
			pos = i;
			found = true;
		}
	}
	if ((lower && upper) || !found || pos < 1 || pos + 7 > n)
		return CST_VALID_NO;
	for (size_t i = 0; i < pos; i++)
		chk = bech32_polymod_step(chk, to_lower((unsigned char)s[i]) >> 5);
	chk = bech32_polymod_step(chk, 0);
	for (size_t i = 0; i < pos; i++)
		chk = bech32_polymod_step(chk, to_lower((unsigned char)s[i]) & 31u);
	for (size_t i = pos + 1; i < n; i++) {
		const char *p = strchr(charset, to_lower((unsigned char)s[i]));

		if (p == NULL)
			return CST_VALID_NO;
		chk = bech32_polymod_step(chk, (unsigned)(p - charset));
	}
	return yes_no(chk == 1 || chk == 0x2bc830a3);
}

enum cst_valid
cst_validate_crypto(const char *s, size_t n)
{
	if (s == NULL || n == 0 || n > CST_VALIDATE_MAX_LEN)
		return CST_VALID_NO;
	if (s[0] == '1' || s[0] == '3')
		return base58check(s, n);
	if (n >= 3 && memcmp(s, "bc1", 3) == 0)
		return bech32(s, n);
	if (n >= 2 && memcmp(s, "0x", 2) == 0) {
		if (n != 42)
			return CST_VALID_NO;
		for (size_t i = 2; i < n; i++)
			if (!is_hex((unsigned char)s[i]))
				return CST_VALID_NO;
		return CST_VALID_UNKNOWN;	/* EIP-55 needs Keccak-256 */
	}
	return CST_VALID_NO;
}

#define IP_MAX 80	/* longest IPv6 text (45) + "%" zone + "/128" */

enum cst_valid
cst_validate_ip(const char *s, size_t n)
{
	char t[IP_MAX + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	size_t alen = n;
	const char *slash, *pct;
	unsigned prefix = 0, max_prefix;
	bool v6;

	if (s == NULL || n == 0 || n > IP_MAX)
		return CST_VALID_NO;
	memcpy(t, s, n);
	t[n] = '\0';
	if (strlen(t) != n)
		return CST_VALID_NO;	/* embedded NUL */
	slash = strchr(t, '/');
	if (slash != NULL) {
		size_t digits = n - (size_t)(slash - t) - 1;

		if (digits < 1 || digits > 3)
			return CST_VALID_NO;
		for (size_t i = 1; i <= digits; i++) {
			if (!is_digit((unsigned char)slash[i]))
				return CST_VALID_NO;
			prefix = prefix * 10 + dv(slash[i]);
		}
		alen = (size_t)(slash - t);
		t[alen] = '\0';
	}
	v6 = strchr(t, ':') != NULL;
	max_prefix = v6 ? 128 : 32;
	if (slash != NULL && prefix > max_prefix)
		return CST_VALID_NO;
	pct = strchr(t, '%');
	if (pct != NULL) {
		/* A zone index: IPv6 only, non-empty, no further '%'. */
		if (!v6 || pct[1] == '\0' || strchr(pct + 1, '%') != NULL)
			return CST_VALID_NO;
		alen = (size_t)(pct - t);
		t[alen] = '\0';
	}
	if (strcmp(t, "::") == 0)
		return CST_VALID_NO;	/* the unspecified address: Presidio scores it 0.1 */
	if (inet_pton(v6 ? AF_INET6 : AF_INET, t, addr) != 1)
		return CST_VALID_NO;
	return CST_VALID_UNKNOWN;
}

enum cst_valid
cst_validate_mac(const char *s, size_t n)
{
	char t[BUF_CAP];
	size_t k = squeeze(s, n, ":-.", t, sizeof(t));
	bool all_f = true;

	if (k != 12)
		return CST_VALID_NO;
	for (size_t i = 0; i < k; i++) {
		if (!is_hex((unsigned char)t[i]))
			return CST_VALID_NO;
		all_f = all_f && to_upper((unsigned char)t[i]) == 'F';
	}
	return unknown_no(!all_f);	/* broadcast FF:FF:FF:FF:FF:FF is dropped */
}

/*
 * A host name: dot-separated labels of 1-63 letters, digits, hyphens (not first or last) or
 * UTF-8 bytes, 253 bytes at most, at least two labels, and a last label of 2-63 letters
 * (UTF-8 bytes count as letters) or an "xn--" punycode label.
 */
static bool
host_ok(const char *h, size_t n)
{
	size_t labels = 0, start = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		size_t len;

		if (i < n && h[i] != '.')
			continue;
		len = i - start;
		if (len == 0 || len > 63 || h[start] == '-' || h[i - 1] == '-')
			return false;
		for (size_t j = start; j < i; j++) {
			unsigned char c = (unsigned char)h[j];

			if (!is_alnum(c) && c != '-' && c < 0x80)
				return false;
		}
		labels++;
		if (i == n) {
			bool letters = len >= 2;

			for (size_t j = start; j < i; j++)
				letters = letters && (is_alpha((unsigned char)h[j]) ||
				    (unsigned char)h[j] >= 0x80);
			if (!letters && !(len > 4 && (h[start] | 0x20) == 'x' &&
			    (h[start + 1] | 0x20) == 'n' && h[start + 2] == '-' &&
			    h[start + 3] == '-'))
				return false;
		}
		start = i + 1;
	}
	return labels >= 2;
}

enum cst_valid
cst_validate_email(const char *s, size_t n)
{
	size_t at = n;

	if (s == NULL || n < 3 || n > CST_VALIDATE_EMAIL_MAX)
		return CST_VALID_NO;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			return CST_VALID_NO;
		if (c == '@')
			at = i;
	}
	if (at == 0 || at == n || at > 64)
		return CST_VALID_NO;
	return yes_no(host_ok(s + at + 1, n - at - 1));
}

enum cst_valid
cst_validate_url_host(const char *s, size_t n)
{
	size_t start = 0, end, at;

	if (s == NULL || n == 0 || n > CST_VALIDATE_URL_MAX)
		return CST_VALID_NO;
	for (size_t i = 0; i + 2 < n && i < 16; i++) {
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
			if (i == 0)
				return CST_VALID_NO;	/* empty scheme */
			for (size_t j = 0; j < i; j++)
				if (!is_alpha((unsigned char)s[j]) && !(j > 0 &&
				    (is_digit((unsigned char)s[j]) || in_set((unsigned char)s[j], "+-."))))
					return CST_VALID_NO;
			start = i + 3;
			break;
		}
	}
	end = start;
	while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#')
		end++;
	/* Drop user information and a port. */
	at = end;
	while (at > start && s[at - 1] != '@')
		at--;
	if (at > start)
		start = at;
	for (size_t i = start; i < end; i++) {
		if (s[i] == ':') {
			if (i + 1 == end || end - i - 1 > 5)
				return CST_VALID_NO;
			for (size_t j = i + 1; j < end; j++)
				if (!is_digit((unsigned char)s[j]))
					return CST_VALID_NO;
			end = i;
			break;
		}
	}
	return unknown_no(host_ok(s + start, end - start));
}

static enum cst_valid
v_us_ssn(const char *s, size_t n, const struct cst_validate_opts *o)
{
	return cst_validate_us_ssn(s, n, o != NULL && o->ssn_strict);
}

static enum cst_valid
v_za_id(const char *s, size_t n, const struct cst_validate_opts *o)
{
	return cst_validate_za_id(s, n, o != NULL ? o->today : 0);
}

/* Adapters for the validators that take only the bytes. */
#define ADAPT(name)                                                                     \
	static enum cst_valid v_##name(const char *s, size_t n,                         \
	    const struct cst_validate_opts *o)                                          \
	{                                                                               \
		(void)o;                                                                \
		return cst_validate_##name(s, n);                                       \
	}
ADAPT(credit_card)
ADAPT(iban)
ADAPT(us_itin)
ADAPT(aba_routing)
ADAPT(us_npi)
ADAPT(dea)
ADAPT(uk_nhs)
ADAPT(uk_nino)
ADAPT(au_abn)
ADAPT(au_acn)
ADAPT(au_tfn)
ADAPT(au_medicare)
ADAPT(in_aadhaar)
ADAPT(ng_nin)
ADAPT(es_nif)
ADAPT(es_nie)
ADAPT(it_fiscal)
ADAPT(pl_pesel)
ADAPT(fi_hetu)
ADAPT(se_pnr)
ADAPT(ca_sin)
ADAPT(kr_rrn)
ADAPT(th_tnin)
ADAPT(tr_tckn)
ADAPT(de_tax_id)
ADAPT(sg_nric)
ADAPT(crypto)
ADAPT(ip)
ADAPT(mac)
ADAPT(email)
ADAPT(url_host)
#undef ADAPT

static const struct cst_validate_entity entities[] = {
	{ "CREDIT_CARD", "CreditCardRecognizer", v_credit_card },
	{ "IBAN_CODE", "IbanRecognizer", v_iban },
	{ "US_SSN", "UsSsnRecognizer", v_us_ssn },
	{ "US_ITIN", "UsItinRecognizer", v_us_itin },
	{ "ABA_ROUTING_NUMBER", "AbaRoutingRecognizer", v_aba_routing },
	{ "US_NPI", "UsNpiRecognizer", v_us_npi },
	{ "MEDICAL_LICENSE", "MedicalLicenseRecognizer", v_dea },
	{ "UK_NHS", "NhsRecognizer", v_uk_nhs },
	{ "UK_NINO", "UkNinoRecognizer", v_uk_nino },
	{ "AU_ABN", "AuAbnRecognizer", v_au_abn },
	{ "AU_ACN", "AuAcnRecognizer", v_au_acn },
	{ "AU_TFN", "AuTfnRecognizer", v_au_tfn },
	{ "AU_MEDICARE", "AuMedicareRecognizer", v_au_medicare },
	{ "IN_AADHAAR", "InAadhaarRecognizer", v_in_aadhaar },
	{ "NG_NIN", "NgNinRecognizer", v_ng_nin },
	{ "ES_NIF", "EsNifRecognizer", v_es_nif },
	{ "ES_NIE", "EsNieRecognizer", v_es_nie },
	{ "IT_FISCAL_CODE", "ItFiscalCodeRecognizer", v_it_fiscal },
	{ "PL_PESEL", "PlPeselRecognizer", v_pl_pesel },
	{ "FI_PERSONAL_IDENTITY_CODE", "FiPersonalIdentityCodeRecognizer", v_fi_hetu },
	{ "SE_PERSONNUMMER", "SePersonnummerRecognizer", v_se_pnr },
	{ "ZA_ID_NUMBER", "ZaIdNumberRecognizer", v_za_id },
	{ "CA_SIN", "CaSinRecognizer", v_ca_sin },
	{ "KR_RRN", "KrRrnRecognizer", v_kr_rrn },
	{ "TH_TNIN", "ThTninRecognizer", v_th_tnin },
	{ "TR_NATIONAL_ID", "TrNationalIdRecognizer", v_tr_tckn },
	{ "DE_TAX_ID", "DeTaxIdRecognizer", v_de_tax_id },
	{ "SG_NRIC_FIN", "SgFinRecognizer", v_sg_nric },
	{ "CRYPTO", "CryptoRecognizer", v_crypto },
	{ "IP_ADDRESS", "IpRecognizer", v_ip },
	{ "MAC_ADDRESS", "MacAddressRecognizer", v_mac },
	{ "EMAIL_ADDRESS", "EmailRecognizer", v_email },
	{ "URL", "UrlRecognizer", v_url_host },
};

const struct cst_validate_entity *
cst_validate_entities(size_t *n_out)
{
	*n_out = sizeof(entities) / sizeof(entities[0]);
	return entities;
}

cst_validate_fn *
cst_validate_find(const char *entity)
{
	if (entity == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
		if (strcmp(entities[i].entity, entity) == 0)
			return entities[i].fn;
	return NULL;
}
