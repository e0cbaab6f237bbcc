/*
 * Check-digit and structure validators that confirm or drop a PII candidate the matcher found.
 * Each reproduces the validate_result() / invalidate_result() of one Microsoft Presidio
 * recognizer (presidio-analyzer, predefined_recognizers/, read at 0aa9f8e and later), so a
 * candidate gets the same verdict here as there:
 *
 *   CST_VALID_NO       Presidio drops it (validate_result False or invalidate_result True);
 *   CST_VALID_YES      Presidio confirms it (validate_result True): score 1.0;
 *   CST_VALID_UNKNOWN  Presidio keeps the pattern's base score (validate_result None, or the
 *                      recognizer only invalidates and the candidate passed).
 *
 * Every function takes a candidate as bytes s[0..n) (not NUL-terminated; s may be NULL when n is
 * 0), first removes the separators the Presidio recognizer removes, and returns CST_VALID_NO
 * for empty input, input longer than the entity can be (each bound is listed below; none is
 * above CST_VALIDATE_MAX_LEN except the e-mail and URL checks) and any byte the recognizer
 * would not accept. They are pure: no global state, no allocation, no I/O, the same answer for
 * the same bytes on every call and in every thread. The one exception: cst_validate_crypto()
 * computes SHA-256 through OpenSSL (src/crypto/hash.h), which allocates a digest context; if
 * OpenSSL fails it answers CST_VALID_UNKNOWN (the candidate keeps its base score).
 *
 * Validator                  Algorithm                                    Presidio recognizer
 * -------------------------  -------------------------------------------  --------------------
 * credit_card  (' ' '-')     Luhn over 12-19 digits                       CreditCardRecognizer
 * iban         (' ' '-')     ISO 13616 mod-97 check digits, then the      IbanRecognizer +
 *                            per-country BBAN format of iban_patterns.py   iban_patterns.py
 *                            (70 countries), exact length
 * us_ssn       (' ' '-' '.') invalidate: mixed delimiters, one repeated    UsSsnRecognizer
 *                            digit, group 00, serial 0000, prefixes 000,
 *                            666, 123456789, 98765432, 078051120;
 *                            optional strict rejection of area 9xx
 * us_itin      (' ' '-')     pattern only: 9xx, group 50-65/70-88/90-92/    UsItinRecognizer
 *                            94-99
 * aba_routing  ('-')         weights 3-7-1 mod 10, first digit 0-3/6-8    AbaRoutingRecognizer
 * us_npi       (' ' '-')     Luhn over "80840" + 10 digits; body of one    UsNpiRecognizer
 *                            repeated digit dropped
 * dea          (' ' '-')     DEA check digit: (d1+d3+d5 + 2(d2+d4+d6))     MedicalLicenseRecognizer
 *                            mod 10 = d7
 * uk_nhs       (' ' '-')     weights 10..1 mod 11 = 0                     NhsRecognizer
 * uk_nino      (' ')         prefix letters and suffix rules               UkNinoRecognizer
 * au_abn       (' ' '-')     first digit - 1, weights 10,1,3..19 mod 89    AuAbnRecognizer
 * au_acn       (' ' '-')     weights 8..1, complement mod 10 (see below)   AuAcnRecognizer
 * au_tfn       (' ' '-')     weights 1,4,3,7,5,8,6,9,10 mod 11             AuTfnRecognizer
 * au_medicare  (' ' '-')     weights 1,3,7,9,1,3,7,9 mod 10 = digit 9      AuMedicareRecognizer
 * in_aadhaar   (' ' '-' ':') Verhoeff, first digit >= 2, not a palindrome  InAadhaarRecognizer
 * ng_nin       (none)        Verhoeff over the 11 digits                   NgNinRecognizer
 * es_nif       (' ' '-')     letter TRWAGMYFPDXBNJZSQVHLCKE[n mod 23]      EsNifRecognizer
 * es_nie       (' ' '-')     X/Y/Z -> 0/1/2, then the NIF letter           EsNieRecognizer
 * it_fiscal    (none)        odd/even position tables, check letter mod 26 ItFiscalCodeRecognizer
 *                            (a wrong letter is UNKNOWN, as in Presidio)
 * pl_pesel     (none)        weights 1,3,7,9 mod 10                        PlPeselRecognizer
 * fi_hetu      (none)        real date (century from the separator) and    FiPersonalIdentity-
 *                            control character mod 31                      CodeRecognizer
 * se_pnr       ('-' '+')     month/day (day-60 for samordningsnummer),     SePersonnummer-
 *                            Luhn over the last 10 digits                  Recognizer
 * za_id        (none)        birth date not in the future, citizenship     ZaIdNumberRecognizer
 *                            0-2, digit 12 is 8/9, Luhn over 13 digits
 * ca_sin       (' ' '-')     invalidate: Luhn over 9 digits                CaSinRecognizer
 * kr_rrn       ('-')         date/gender structure; region <= 95 and the   KrRrnRecognizer
 *                            weights 2..9,2..5 mod 11 check give YES,
 *                            otherwise UNKNOWN (post-2020 numbers)
 * th_tnin      (none)        province rules, weights 13..2 mod 11          ThTninRecognizer
 * tr_tckn      (none)        TCKN 10th and 11th digit rules                TrNationalIdRecognizer
 * de_tax_id    (' ' '-')     digit-occurrence rule, ISO 7064 MOD 11,10     DeTaxIdRecognizer
 * sg_nric      (none)        Presidio has no checksum; S/T/F/G weights     SgFinRecognizer
 *                            2,7,6,5,4,3,2 mod 11 letter gives YES,
 *                            otherwise UNKNOWN
 * crypto       (none)        "1"/"3": Base58Check (double SHA-256);        CryptoRecognizer
 *                            "bc1": Bech32 / Bech32m checksum; "0x" + 40
 *                            hex: UNKNOWN (EIP-55 needs Keccak-256, which
 *                            OpenSSL 3.0 lacks); anything else NO
 * ip           (none)        inet_pton IPv4 / IPv6 (IPv6 zone "%if"),      IpRecognizer
 *                            optional CIDR "/len"; "::" alone is NO
 * mac          (':' '-' '.') 12 hex digits, not FF:FF:FF:FF:FF:FF          MacAddressRecognizer
 * email        (none)        local part, dotted domain, letter TLD 2-63    EmailRecognizer
 *                            (stands in for tldextract's FQDN test)
 * url_host     (none)        the host after an optional scheme is a        UrlRecognizer (no
 *                            dotted name with a letter TLD 2-63            validator there)
 *
 * Where these differ from Presidio on purpose: the IBAN format must match the whole BBAN
 * (Presidio matches only a prefix; for MU, PS, PT and QA, whose Presidio pattern is shorter
 * than the real IBAN, the IBAN registry's format is used); the ACN check uses ASIC's rule (a
 * complement of 10 is check digit 0; Presidio compares 10 with the digit and so drops valid
 * numbers); the structural constraints of each recognizer's regex are checked here too (so a
 * validator is safe to call on any candidate); IT fiscal code and SG NRIC check letters and
 * the Ethereum case are as noted above; the e-mail check uses no public-suffix list; "::"
 * alone is NO where Presidio keeps it at 0.1.
 */
#ifndef CST_INSPECT_VALIDATE_H
#define CST_INSPECT_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* The longest candidate any identifier validator accepts. */
#define CST_VALIDATE_MAX_LEN 128
/* The longest e-mail address and URL the e-mail and URL checks accept. */
#define CST_VALIDATE_EMAIL_MAX 320
#define CST_VALIDATE_URL_MAX 8192

enum cst_valid {
	CST_VALID_NO = 0,	/* drop the candidate */
	CST_VALID_UNKNOWN = 1,	/* keep the pattern's base score */
	CST_VALID_YES = 2,	/* confirmed: score 1.0 */
};

/* What the few validators that need more than the bytes are given. */
struct cst_validate_opts {
	bool ssn_strict;	/* also reject SSN area numbers 900-999 (never issued) */
	unsigned today;		/* today's date as yyyymmdd (ZA ID birth dates); 0 = no check */
};

enum cst_valid cst_validate_credit_card(const char *s, size_t n);
enum cst_valid cst_validate_iban(const char *s, size_t n);
/* strict: also reject area numbers 9xx (Presidio does not). */
enum cst_valid cst_validate_us_ssn(const char *s, size_t n, bool strict);
enum cst_valid cst_validate_us_itin(const char *s, size_t n);
enum cst_valid cst_validate_aba_routing(const char *s, size_t n);
enum cst_valid cst_validate_us_npi(const char *s, size_t n);
enum cst_valid cst_validate_dea(const char *s, size_t n);
enum cst_valid cst_validate_uk_nhs(const char *s, size_t n);
enum cst_valid cst_validate_uk_nino(const char *s, size_t n);
enum cst_valid cst_validate_au_abn(const char *s, size_t n);
enum cst_valid cst_validate_au_acn(const char *s, size_t n);
enum cst_valid cst_validate_au_tfn(const char *s, size_t n);
enum cst_valid cst_validate_au_medicare(const char *s, size_t n);
enum cst_valid cst_validate_in_aadhaar(const char *s, size_t n);
enum cst_valid cst_validate_ng_nin(const char *s, size_t n);
enum cst_valid cst_validate_es_nif(const char *s, size_t n);
enum cst_valid cst_validate_es_nie(const char *s, size_t n);
enum cst_valid cst_validate_it_fiscal(const char *s, size_t n);
enum cst_valid cst_validate_pl_pesel(const char *s, size_t n);
enum cst_valid cst_validate_fi_hetu(const char *s, size_t n);
enum cst_valid cst_validate_se_pnr(const char *s, size_t n);
/*
 * today: the current date as yyyymmdd (a birth date after it is NO; the two-digit year is
 * 19yy when yy is above today's year modulo 100, as in Presidio); 0 skips both uses and reads
 * yy as 19yy or 20yy, whichever gives a real date, 20yy first.
 */
enum cst_valid cst_validate_za_id(const char *s, size_t n, unsigned today);
enum cst_valid cst_validate_ca_sin(const char *s, size_t n);
enum cst_valid cst_validate_kr_rrn(const char *s, size_t n);
enum cst_valid cst_validate_th_tnin(const char *s, size_t n);
enum cst_valid cst_validate_tr_tckn(const char *s, size_t n);
enum cst_valid cst_validate_de_tax_id(const char *s, size_t n);
enum cst_valid cst_validate_sg_nric(const char *s, size_t n);
enum cst_valid cst_validate_crypto(const char *s, size_t n);
enum cst_valid cst_validate_ip(const char *s, size_t n);
enum cst_valid cst_validate_mac(const char *s, size_t n);
enum cst_valid cst_validate_email(const char *s, size_t n);
enum cst_valid cst_validate_url_host(const char *s, size_t n);

/* One validator behind a uniform signature; o may be NULL (all options off). */
typedef enum cst_valid cst_validate_fn(const char *s, size_t n, const struct cst_validate_opts *o);

struct cst_validate_entity {
	const char *entity;	/* Presidio entity type, e.g. "CREDIT_CARD" */
	const char *recognizer;	/* the Presidio recognizer class reproduced */
	cst_validate_fn *fn;
};

/* The table of every validator above, n_out set to its length. Static storage, never NULL. */
const struct cst_validate_entity *cst_validate_entities(size_t *n_out);

/*
 * The validator for a Presidio entity type (exact, case-sensitive, e.g. "US_SSN"), or NULL
 * when none exists (entities confirmed by pattern and context alone).
 */
cst_validate_fn *cst_validate_find(const char *entity);

#endif
