/*
 * Unit tests for src/inspect/validate.c. Table-driven: every validator against the example
 * strings of its Presidio recognizer's own tests (presidio-analyzer/tests/test_*_recognizer.py)
 * with the verdict Presidio gives them, plus separators, wrong lengths and bytes, and the
 * deliberate differences listed in validate.h. Each input is a heap copy of exactly its
 * length, so ASan catches a read past the end. A second table changes one digit of each
 * confirmed example at a time and wants it no longer confirmed; a third runs every validator
 * in the entity table on empty, NULL, over-long and binary input. These tests must never pass
 * on a stub: every row asserts one exact verdict.
 */
#include "../check.h"

#include "inspect/validate.h"

#define NO CST_VALID_NO
#define UNK CST_VALID_UNKNOWN
#define YES CST_VALID_YES

/* The date the ZA ID rows are judged on (Presidio's test pins the same day). */
#define TODAY 20250615u

struct row {
	const char *entity;	/* Presidio entity type: the validator from cst_validate_find */
	const char *s;
	enum cst_valid want;
};

static const struct row rows[] = {
	/* CREDIT_CARD: test_credit_card_recognizer.py */
	{ "CREDIT_CARD", "4012888888881881", YES },
	{ "CREDIT_CARD", "4012-8888-8888-1881", YES },
	{ "CREDIT_CARD", "4012 8888 8888 1881", YES },
	{ "CREDIT_CARD", "122000000000003", YES },
	{ "CREDIT_CARD", "371449635398431", YES },
	{ "CREDIT_CARD", "5555555555554444", YES },
	{ "CREDIT_CARD", "5019717010103742", YES },
	{ "CREDIT_CARD", "30569309025904", YES },
	{ "CREDIT_CARD", "6011000400000000", YES },
	{ "CREDIT_CARD", "3528000700000000", YES },
	{ "CREDIT_CARD", "6759649826438453", YES },
	{ "CREDIT_CARD", "4111111111111111", YES },
	{ "CREDIT_CARD", "4917300800000000", YES },
	{ "CREDIT_CARD", "4484070000000000", YES },
	{ "CREDIT_CARD", "4012-8888-8888-1882", NO },
	{ "CREDIT_CARD", "36168002586008", NO },
	{ "CREDIT_CARD", "4012.8888.8888.1881", NO },	/* '.' is not stripped */
	{ "CREDIT_CARD", "4012_8888_8888_1881", NO },
	{ "CREDIT_CARD", "79927398713", NO },		/* Luhn-valid, 11 digits */
	{ "CREDIT_CARD", "000000000000", YES },		/* 12 digits: the lower bound */
	{ "CREDIT_CARD", "4111111111111111110", YES },	/* 19 digits: the upper bound */
	{ "CREDIT_CARD", "41111111111111111108", NO },	/* 20 digits */

	/* IBAN_CODE: test_iban_recognizer.py, one valid number per country (all 70) */
	{ "IBAN_CODE", "AL47212110090000000235698741", YES },
	{ "IBAN_CODE", "AD1200012030200359100100", YES },
	{ "IBAN_CODE", "AT611904300234573201", YES },
	{ "IBAN_CODE", "AZ21NABZ00000000137010001944", YES },
	{ "IBAN_CODE", "BH67BMAG00001299123456", YES },
	{ "IBAN_CODE", "BY13NBRB3600900000002Z00AB00", YES },
	{ "IBAN_CODE", "BE68539007547034", YES },
	{ "IBAN_CODE", "BE71096123456769", YES },
	{ "IBAN_CODE", "BA391290079401028494", YES },
	{ "IBAN_CODE", "BR9700360305000010009795493P1", YES },
	{ "IBAN_CODE", "BG80BNBG96611020345678", YES },
	{ "IBAN_CODE", "CR05015202001026284066", YES },
	{ "IBAN_CODE", "HR1210010051863000160", YES },
	{ "IBAN_CODE", "CY17002001280000001200527600", YES },
	{ "IBAN_CODE", "CZ6508000000192000145399", YES },
	{ "IBAN_CODE", "DK5000400440116243", YES },
	{ "IBAN_CODE", "DO28BAGR00000001212453611324", YES },
	{ "IBAN_CODE", "TL380080012345678910157", YES },
	{ "IBAN_CODE", "EE382200221020145685", YES },
	{ "IBAN_CODE", "FO6264600001631634", YES },
	{ "IBAN_CODE", "FI2112345600000785", YES },
	{ "IBAN_CODE", "FR1420041010050500013M02606", YES },
	{ "IBAN_CODE", "GE29NB0000000101904917", YES },
	{ "IBAN_CODE", "DE89370400440532013000", YES },
	{ "IBAN_CODE", "GI75NWBK000000007099453", YES },
	{ "IBAN_CODE", "GR1601101250000000012300695", YES },
	{ "IBAN_CODE", "GL8964710001000206", YES },
	{ "IBAN_CODE", "GT82TRAJ01020000001210029690", YES },
	{ "IBAN_CODE", "HU42117730161111101800000000", YES },
	{ "IBAN_CODE", "IS140159260076545510730339", YES },
	{ "IBAN_CODE", "IE29AIBK93115212345678", YES },
	{ "IBAN_CODE", "IL620108000000099999999", YES },
	{ "IBAN_CODE", "IT60X0542811101000000123456", YES },
	{ "IBAN_CODE", "JO94CBJO0010000000000131000302", YES },
	{ "IBAN_CODE", "KZ86125KZT5004100100", YES },
	{ "IBAN_CODE", "XK051212012345678906", YES },
	{ "IBAN_CODE", "KW81CBKU0000000000001234560101", YES },
	{ "IBAN_CODE", "LV80BANK0000435195001", YES },
	{ "IBAN_CODE", "LB62099900000001001901229114", YES },
	{ "IBAN_CODE", "LI21088100002324013AA", YES },
	{ "IBAN_CODE", "LT121000011101001000", YES },
	{ "IBAN_CODE", "LU280019400644750000", YES },
	{ "IBAN_CODE", "MT84MALT011000012345MTLCAST001S", YES },
	{ "IBAN_CODE", "MR1300020001010000123456753", YES },
	{ "IBAN_CODE", "MU17BOMM0101101030300200000MUR", YES },
	{ "IBAN_CODE", "MD24AG000225100013104168", YES },
	{ "IBAN_CODE", "MC5811222000010123456789030", YES },
	{ "IBAN_CODE", "ME25505000012345678951", YES },
	{ "IBAN_CODE", "NL91ABNA0417164300", YES },
	{ "IBAN_CODE", "MK07250120000058984", YES },
	{ "IBAN_CODE", "NO9386011117947", YES },
	{ "IBAN_CODE", "PK36SCBL0000001123456702", YES },
	{ "IBAN_CODE", "PS92PALS000000000400123456702", YES },
	{ "IBAN_CODE", "PL61109010140000071219812874", YES },
	{ "IBAN_CODE", "PT50000201231234567890154", YES },
	{ "IBAN_CODE", "QA58DOHB00001234567890ABCDEFG", YES },
	{ "IBAN_CODE", "RO49AAAA1B31007593840000", YES },
	{ "IBAN_CODE", "SM86U0322509800000000270100", YES },
	{ "IBAN_CODE", "SA0380000000608010167519", YES },
	{ "IBAN_CODE", "RS35260005601001611379", YES },
	{ "IBAN_CODE", "SK3112000000198742637541", YES },
	{ "IBAN_CODE", "SI56263300012039086", YES },
	{ "IBAN_CODE", "ES9121000418450200051332", YES },
	{ "IBAN_CODE", "SE4550000000058398257466", YES },
	{ "IBAN_CODE", "CH9300762011623852957", YES },
	{ "IBAN_CODE", "TN5910006035183598478831", YES },
	{ "IBAN_CODE", "TR330006100519786457841326", YES },
	{ "IBAN_CODE", "AE070331234567890123456", YES },
	{ "IBAN_CODE", "GB29NWBK60161331926819", YES },
	{ "IBAN_CODE", "VA59001123000012345678", YES },
	{ "IBAN_CODE", "VG96VPVG0000012345678901", YES },
	/* grouped forms and the recognizer test's rejections */
	{ "IBAN_CODE", "AL47 2121 1009 0000 0002 3569 8741", YES },
	{ "IBAN_CODE", "MT84 MALT 0110 0001 2345 MTLC AST0 01S", YES },
	{ "IBAN_CODE", "GB29-NWBK-6016-1331-9268-19", YES },
	{ "IBAN_CODE", "AL47 212A 1009 0000 0002 3569 8741", NO },
	{ "IBAN_CODE", "AL47 2121 1009 0000 0002 3569 8740", NO },
	{ "IBAN_CODE", "AD12000A203020035910010", NO },
	{ "IBAN_CODE", "AZ21NABZ000000001370100019", NO },
	{ "IBAN_CODE", "BH67BMA100001299123456", NO },
	{ "IBAN_CODE", "EE38 2200 2210  014 5686", NO },
	{ "IBAN_CODE", "GI75 aWBK 0000 0000 7099 453", NO },
	{ "IBAN_CODE", "KW81 aBKU 0000 0000 0000 1234 5601 01", NO },
	{ "IBAN_CODE", "IL15 0120 6900 0000", NO },
	{ "IBAN_CODE", "IL15 0120 6900 0000 3111 0120 6900 0000 3111 141", NO },
	{ "IBAN_CODE", "AB150120690000003111141", NO },
	{ "IBAN_CODE", "AM47212110090000000235698740", NO },
	{ "IBAN_CODE", "DE89370400440532013000 2", NO },
	{ "IBAN_CODE", "DE89.3704.0044.0532.0130.00", NO },
	/* checksum right, BBAN format wrong for the country (DE is 18 digits) */
	{ "IBAN_CODE", "DE6837040044053201300", NO },
	/* checksum right, letters in lower case: Presidio keeps the base score */
	{ "IBAN_CODE", "de89370400440532013000", UNK },
	{ "IBAN_CODE", "LV80 bANK 0000 4351 9500 1", UNK },

	/* US_SSN: invalidate only, so a pass keeps the base score */
	{ "US_SSN", "078051121", UNK },
	{ "US_SSN", "078-05-1123", UNK },
	{ "US_SSN", "078.05.1123", UNK },
	{ "US_SSN", "078 05 1123", UNK },
	{ "US_SSN", "07805-1123", UNK },
	{ "US_SSN", "912-34-5678", UNK },	/* 9xx only in strict mode */
	{ "US_SSN", "0780511201", NO },
	{ "US_SSN", "078051120", NO },
	{ "US_SSN", "078-05-1120", NO },
	{ "US_SSN", "000000000", NO },
	{ "US_SSN", "666000000", NO },
	{ "US_SSN", "666-12-3456", NO },
	{ "US_SSN", "000-12-3456", NO },
	{ "US_SSN", "078-05-0000", NO },
	{ "US_SSN", "078 00 1123", NO },
	{ "US_SSN", "693-09.4444", NO },
	{ "US_SSN", "123-45-6789", NO },
	{ "US_SSN", "987-65-4321", NO },
	{ "US_SSN", "555-55-5555", NO },
	{ "US_SSN", "078/05/1123", NO },
	{ "US_SSN", "078-05-112a", NO },

	/* US_ITIN: pattern rules only */
	{ "US_ITIN", "911-701234", UNK },
	{ "US_ITIN", "91170-1234", UNK },
	{ "US_ITIN", "911701234", UNK },
	{ "US_ITIN", "911-70-1234", UNK },
	{ "US_ITIN", "911 94 1234", UNK },
	{ "US_ITIN", "911-89-1234", NO },
	{ "US_ITIN", "911-93-1234", NO },
	{ "US_ITIN", "911-66-1234", NO },
	{ "US_ITIN", "811-70-1234", NO },
	{ "US_ITIN", "9117-01234", NO },
	{ "US_ITIN", "911--701234", NO },
	{ "US_ITIN", "9117012345", NO },

	/* ABA_ROUTING_NUMBER: test_aba_routing_recognizer.py */
	{ "ABA_ROUTING_NUMBER", "121000358", YES },
	{ "ABA_ROUTING_NUMBER", "3222-7162-7", YES },
	{ "ABA_ROUTING_NUMBER", "121042882", YES },
	{ "ABA_ROUTING_NUMBER", "0711-0130-7", YES },
	{ "ABA_ROUTING_NUMBER", "421042111", NO },
	{ "ABA_ROUTING_NUMBER", "1234-0000-0", NO },
	{ "ABA_ROUTING_NUMBER", "121 000 358", NO },	/* only '-' is stripped */

	/* US_NPI: test_us_npi_recognizer.py */
	{ "US_NPI", "1234567893", YES },
	{ "US_NPI", "1245319599", YES },
	{ "US_NPI", "1003000126", YES },
	{ "US_NPI", "1234-567-893", YES },
	{ "US_NPI", "1234 567 893", YES },
	{ "US_NPI", "0234567893", NO },
	{ "US_NPI", "3234567893", NO },
	{ "US_NPI", "9234567893", NO },
	{ "US_NPI", "123456789", NO },
	{ "US_NPI", "12345678934", NO },
	{ "US_NPI", "1111111112", NO },
	{ "US_NPI", "1234567890", NO },

	/* MEDICAL_LICENSE (DEA): test_dea_number_recognizer.py */
	{ "MEDICAL_LICENSE", "BE1234563", YES },
	{ "MEDICAL_LICENSE", "Gn2494932", YES },
	{ "MEDICAL_LICENSE", "Gz1234563", YES },
	{ "MEDICAL_LICENSE", "B91234563", YES },
	{ "MEDICAL_LICENSE", "BE-1234563", YES },
	{ "MEDICAL_LICENSE", "cA3561105", NO },
	{ "MEDICAL_LICENSE", "Nu2494932", NO },
	{ "MEDICAL_LICENSE", "B81234563", NO },
	{ "MEDICAL_LICENSE", "BE123456", NO },

	/* UK_NHS: test_uk_nhs_recognizer.py */
	{ "UK_NHS", "401-023-2137", YES },
	{ "UK_NHS", "221 395 1837", YES },
	{ "UK_NHS", "0032698674", YES },
	{ "UK_NHS", "401-023-2138", NO },
	{ "UK_NHS", "401/023/2137", NO },

	/* UK_NINO: test_uk_nino_recognizer.py (no checksum: a pass keeps the score) */
	{ "UK_NINO", "AA 12 34 56 B", UNK },
	{ "UK_NINO", "hh 01 02 03 d", UNK },
	{ "UK_NINO", "tw987654a", UNK },
	{ "UK_NINO", "PR 123612C", UNK },
	{ "UK_NINO", "YZ 61 48 68 B", UNK },
	{ "UK_NINO", "AA 12 34 56 H", NO },
	{ "UK_NINO", "FQ 00 00 00 C", NO },
	{ "UK_NINO", "BG123612A", NO },
	{ "UK_NINO", "nt 99 88 77 a", NO },
	{ "UK_NINO", "UV 98 76 54 B", NO },
	{ "UK_NINO", "AA-12-34-56-B", NO },

	/* AU_ABN, AU_ACN, AU_TFN, AU_MEDICARE: test_au_*_recognizer.py */
	{ "AU_ABN", "51 824 753 556", YES },
	{ "AU_ABN", "51824753556", YES },
	{ "AU_ABN", "52 824 753 556", NO },
	{ "AU_ABN", "52824753556", NO },
	{ "AU_ABN", "5282475355632", NO },
	{ "AU_ABN", "52824753556AF", NO },
	{ "AU_ABN", "51 824 753 5564", NO },
	{ "AU_ABN", "123 456\n789", NO },
	{ "AU_ACN", "000 000 019", YES },
	{ "AU_ACN", "005 499 981", YES },
	{ "AU_ACN", "006249976", YES },
	{ "AU_ACN", "824 753 557", NO },
	{ "AU_ACN", "824753557", NO },
	{ "AU_ACN", "5282475355632", NO },
	/* weighted sum = 0 mod 10: check digit 0 by ASIC's rule (Presidio drops it) */
	{ "AU_ACN", "123 456 780", YES },
	{ "AU_TFN", "876 543 210", YES },
	{ "AU_TFN", "876543210", YES },
	{ "AU_TFN", "824 753 557", NO },
	{ "AU_TFN", "824753557", NO },
	{ "AU_TFN", "52824753556AF", NO },
	{ "AU_MEDICARE", "2123 45670 1", YES },
	{ "AU_MEDICARE", "2123456701", YES },
	{ "AU_MEDICARE", "2123 25870 1", NO },
	{ "AU_MEDICARE", "2123258701", NO },
	{ "AU_MEDICARE", "212345670221", NO },
	{ "AU_MEDICARE", "2123456702AF", NO },
	{ "AU_MEDICARE", "123 456\n789", NO },
	{ "AU_MEDICARE", "7123456701", NO },

	/* IN_AADHAAR: test_in_aadhaar_recognizer.py */
	{ "IN_AADHAAR", "312345678909", YES },
	{ "IN_AADHAAR", "399876543211", YES },
	{ "IN_AADHAAR", "3123 4567 8909", YES },
	{ "IN_AADHAAR", "3998-7654-3211", YES },
	{ "IN_AADHAAR", "3123:4567:8909", YES },
	{ "IN_AADHAAR", "400123456787", YES },
	{ "IN_AADHAAR", "123456789012", NO },
	{ "IN_AADHAAR", "1234 5678 9012", NO },
	{ "IN_AADHAAR", "1234:5678:9012", NO },
	{ "IN_AADHAAR", "222222222222", NO },	/* Verhoeff-valid palindrome */

	/* NG_NIN: test_ng_nin_recognizer.py (VALID_NIN_1..3 computed with its generator) */
	{ "NG_NIN", "12345678902", YES },
	{ "NG_NIN", "98765432102", YES },
	{ "NG_NIN", "55512345672", YES },
	{ "NG_NIN", "12345678901", NO },
	{ "NG_NIN", "1234567890", NO },
	{ "NG_NIN", "123456789012", NO },
	{ "NG_NIN", "1234567890a", NO },
	{ "NG_NIN", "1234 5678 902", NO },	/* Presidio strips nothing here */

	/* ES_NIF, ES_NIE: test_es_ni*_recognizer.py */
	{ "ES_NIF", "55555555K", YES },
	{ "ES_NIF", "55555555-K", YES },
	{ "ES_NIF", "1111111-G", YES },
	{ "ES_NIF", "1111111G", YES },
	{ "ES_NIF", "01111111G", YES },
	{ "ES_NIF", "401-023-2138", NO },
	{ "ES_NIF", "55555555J", NO },
	{ "ES_NIF", "55555555k", NO },	/* Presidio compares the letter as written */
	{ "ES_NIE", "Z8078221M", YES },
	{ "ES_NIE", "X9613851N", YES },
	{ "ES_NIE", "Y8063915Z", YES },
	{ "ES_NIE", "Y8063915-Z", YES },
	{ "ES_NIE", "y8063915z", YES },
	{ "ES_NIE", "Y8063915Q", NO },
	{ "ES_NIE", "Y806391Q", NO },
	{ "ES_NIE", "58063915Q", NO },
	{ "ES_NIE", "W8063915Q", NO },
	{ "ES_NIE", "Y80639A5Z", NO },

	/* IT_FISCAL_CODE: test_it_fiscal_code_recognizer.py; a wrong letter keeps the score */
	{ "IT_FISCAL_CODE", "AAAAAA00B11C333Y", YES },
	{ "IT_FISCAL_CODE", "RSSMRA85T10A562S", YES },
	{ "IT_FISCAL_CODE", "rssmra85t10a562s", YES },
	{ "IT_FISCAL_CODE", "AAAAAA00B11C333N", UNK },
	{ "IT_FISCAL_CODE", "AAAAAA - 00B11C333N", NO },
	{ "IT_FISCAL_CODE", "A55AAA00B11C333N", NO },
	{ "IT_FISCAL_CODE", "AAAAAA00B11C333", NO },

	/* PL_PESEL: Presidio's current check digit (10 - sum mod 10) mod 10 */
	{ "PL_PESEL", "44051401359", YES },
	{ "PL_PESEL", "11111111116", YES },
	{ "PL_PESEL", "11111111114", NO },	/* valid only under Presidio's old rule */
	{ "PL_PESEL", "1111321111", NO },
	{ "PL_PESEL", "11-11-11-11114", NO },

	/* FI_PERSONAL_IDENTITY_CODE: test_fi_personal_identity_code_recognizer.py */
	{ "FI_PERSONAL_IDENTITY_CODE", "010594Y9032", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "010594Y9021", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020594X903P", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020594X902N", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "030594W903B", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "030694W9024", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "040594V9030", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "040594V902Y", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "050594U903M", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "050594U902L", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "010516B903X", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "010516B902W", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020516C903K", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020516C902J", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "030516D9037", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "030516D9026", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "010501E9032", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020502E902X", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020503F9037", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020504A902E", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "020504B904H", YES },
	{ "FI_PERSONAL_IDENTITY_CODE", "111111-111A", NO },
	{ "FI_PERSONAL_IDENTITY_CODE", "111111+110G", NO },
	{ "FI_PERSONAL_IDENTITY_CODE", "311190-1111", NO },
	{ "FI_PERSONAL_IDENTITY_CODE", "310289-211C", NO },
	{ "FI_PERSONAL_IDENTITY_CODE", "012245A110G", NO },
	{ "FI_PERSONAL_IDENTITY_CODE", "010324A110G", NO },
	{ "FI_PERSONAL_IDENTITY_CODE", "010594Z9032", NO },
	{ "FI_PERSONAL_IDENTITY_CODE", "010594Y903", NO },

	/* SE_PERSONNUMMER: test_se_personnummer_recognizer.py */
	{ "SE_PERSONNUMMER", "189004119807", YES },
	{ "SE_PERSONNUMMER", "189110089811", YES },
	{ "SE_PERSONNUMMER", "191005059801", YES },
	{ "SE_PERSONNUMMER", "198712202384", YES },
	{ "SE_PERSONNUMMER", "871220-2384", YES },
	{ "SE_PERSONNUMMER", "199109242397", YES },
	{ "SE_PERSONNUMMER", "19910924-2397", YES },
	{ "SE_PERSONNUMMER", "199201232387", YES },
	{ "SE_PERSONNUMMER", "9201232387", YES },
	{ "SE_PERSONNUMMER", "200109022392", YES },
	{ "SE_PERSONNUMMER", "201109252385", YES },
	{ "SE_PERSONNUMMER", "20110925-2385", YES },
	{ "SE_PERSONNUMMER", "199003052397", YES },
	{ "SE_PERSONNUMMER", "19000309-3393", NO },
	{ "SE_PERSONNUMMER", "19001309-2393", NO },
	{ "SE_PERSONNUMMER", "200504422381", NO },
	{ "SE_PERSONNUMMER", "189x09179809", NO },
	{ "SE_PERSONNUMMER", "18970c17-9809", NO },
	{ "SE_PERSONNUMMER", "871220--2384", NO },
	{ "SE_PERSONNUMMER", "8712-202384", NO },

	/* ZA_ID_NUMBER: test_za_id_number_recognizer.py, judged on TODAY */
	{ "ZA_ID_NUMBER", "8001015009087", YES },
	{ "ZA_ID_NUMBER", "8001015000086", YES },
	{ "ZA_ID_NUMBER", "9202201234088", YES },
	{ "ZA_ID_NUMBER", "0002294321191", YES },
	{ "ZA_ID_NUMBER", "9912316789285", YES },
	{ "ZA_ID_NUMBER", "0001015002288", YES },
	{ "ZA_ID_NUMBER", "8001015009086", NO },
	{ "ZA_ID_NUMBER", "9913326789285", NO },
	{ "ZA_ID_NUMBER", "9902294321191", NO },
	{ "ZA_ID_NUMBER", "8001015000076", NO },
	{ "ZA_ID_NUMBER", "8001015009176", NO },
	{ "ZA_ID_NUMBER", "1234567890123", NO },
	{ "ZA_ID_NUMBER", "80010150090", NO },
	{ "ZA_ID_NUMBER", "80010150090870", NO },
	{ "ZA_ID_NUMBER", "80010150090A7", NO },
	{ "ZA_ID_NUMBER", "2512315009086", NO },	/* born 2025-12-31, after TODAY */

	/* CA_SIN: invalidate only; test_ca_sin_recognizer.py */
	{ "CA_SIN", "130 692 544", UNK },
	{ "CA_SIN", "435 418 165", UNK },
	{ "CA_SIN", "948 584 792", UNK },
	{ "CA_SIN", "347-677-452", UNK },
	{ "CA_SIN", "731-530-150", UNK },
	{ "CA_SIN", "130692544", UNK },
	{ "CA_SIN", "550090112", UNK },
	{ "CA_SIN", "258 933 688", UNK },
	{ "CA_SIN", "130 692 545", NO },
	{ "CA_SIN", "130692545", NO },
	{ "CA_SIN", "435-418-166", NO },
	{ "CA_SIN", "046 454 286", NO },
	{ "CA_SIN", "812 345 678", NO },
	{ "CA_SIN", "111 111 111", NO },
	{ "CA_SIN", "999 999 999", NO },
	{ "CA_SIN", "046-454 286", NO },
	{ "CA_SIN", "130 692-544", NO },
	{ "CA_SIN", "13069254", NO },
	{ "CA_SIN", "1306925440", NO },
	{ "CA_SIN", "130-692544", NO },

	/* KR_RRN: test_kr_rrn_recognizer.py */
	{ "KR_RRN", "960121-1234567", UNK },
	{ "KR_RRN", "9601211234567", UNK },
	{ "KR_RRN", "000505-3637892", UNK },
	{ "KR_RRN", "0005053637892", UNK },
	{ "KR_RRN", "960121-1021413", YES },
	{ "KR_RRN", "9601211021413", YES },
	{ "KR_RRN", "050912-2000019", YES },
	{ "KR_RRN", "0509122000019", YES },
	{ "KR_RRN", "001332-1234567", NO },
	{ "KR_RRN", "0013321234567", NO },
	{ "KR_RRN", "960121+1021413", NO },
	{ "KR_RRN", "960111-10214131", NO },
	{ "KR_RRN", "960303-0021413", NO },
	{ "KR_RRN", "760413-5212134", NO },
	{ "KR_RRN", "000402-6214431", NO },
	{ "KR_RRN", "051102-9234110", NO },
	{ "KR_RRN", "96012-11021413", NO },

	/* TH_TNIN: test_th_tnin_recognizer.py */
	{ "TH_TNIN", "1234567890121", YES },
	{ "TH_TNIN", "2345678901234", YES },
	{ "TH_TNIN", "3456789012347", YES },
	{ "TH_TNIN", "4567890123459", YES },
	{ "TH_TNIN", "5678901234560", YES },
	{ "TH_TNIN", "123456789012", NO },
	{ "TH_TNIN", "12345678901234", NO },
	{ "TH_TNIN", "123456789012a", NO },
	{ "TH_TNIN", "123456789012 ", NO },
	{ "TH_TNIN", "0234567890124", NO },
	{ "TH_TNIN", "0034567890124", NO },
	{ "TH_TNIN", "1034567890124", NO },
	{ "TH_TNIN", "1304567890124", NO },
	{ "TH_TNIN", "1284567890124", NO },
	{ "TH_TNIN", "1294567890124", NO },
	{ "TH_TNIN", "1594567890124", NO },
	{ "TH_TNIN", "1684567890124", NO },
	{ "TH_TNIN", "1694567890124", NO },
	{ "TH_TNIN", "1784567890124", NO },
	{ "TH_TNIN", "1794567890124", NO },
	{ "TH_TNIN", "1874567890124", NO },
	{ "TH_TNIN", "1884567890124", NO },
	{ "TH_TNIN", "1894567890124", NO },
	{ "TH_TNIN", "1974567890124", NO },
	{ "TH_TNIN", "1984567890124", NO },
	{ "TH_TNIN", "1994567890124", NO },
	{ "TH_TNIN", "1234567890123", NO },
	{ "TH_TNIN", "2345678901235", NO },
	{ "TH_TNIN", "3456789012346", NO },
	{ "TH_TNIN", "0000000000000", NO },
	{ "TH_TNIN", "1111111111111", NO },

	/* TR_NATIONAL_ID: test_tr_national_id_recognizer.py */
	{ "TR_NATIONAL_ID", "10000000146", YES },
	{ "TR_NATIONAL_ID", "76543210794", YES },
	{ "TR_NATIONAL_ID", "36493665440", YES },
	{ "TR_NATIONAL_ID", "53857632436", YES },
	{ "TR_NATIONAL_ID", "94357219628", YES },
	{ "TR_NATIONAL_ID", "79059236630", YES },
	{ "TR_NATIONAL_ID", "64625294480", YES },
	{ "TR_NATIONAL_ID", "00000000000", NO },
	{ "TR_NATIONAL_ID", "02531814694", NO },
	{ "TR_NATIONAL_ID", "12345678900", NO },
	{ "TR_NATIONAL_ID", "76543210780", NO },
	{ "TR_NATIONAL_ID", "83219500748", NO },
	{ "TR_NATIONAL_ID", "11798724308", NO },
	{ "TR_NATIONAL_ID", "10000000145", NO },
	{ "TR_NATIONAL_ID", "62286775983", NO },
	{ "TR_NATIONAL_ID", "97485249605", NO },
	{ "TR_NATIONAL_ID", "1234567890", NO },
	{ "TR_NATIONAL_ID", "123456789012", NO },
	{ "TR_NATIONAL_ID", "abcdefghijk", NO },

	/* DE_TAX_ID: the recognizer's occurrence rule and ISO 7064 MOD 11,10 */
	{ "DE_TAX_ID", "86095742719", YES },
	{ "DE_TAX_ID", "47036892816", YES },
	{ "DE_TAX_ID", "86 095 742 719", YES },
	{ "DE_TAX_ID", "86095742718", NO },
	{ "DE_TAX_ID", "12345678903", NO },	/* no repeated digit in the first ten */
	{ "DE_TAX_ID", "02345678903", NO },
	{ "DE_TAX_ID", "abcdefghijk", NO },
	{ "DE_TAX_ID", "1234567890", NO },
	{ "DE_TAX_ID", "123456789030", NO },
	{ "DE_TAX_ID", "11111111111", NO },
	{ "DE_TAX_ID", "11112345678", NO },
	{ "DE_TAX_ID", "12222234567", NO },

	/* SG_NRIC_FIN: Presidio has no checksum; a right letter confirms, a wrong one keeps */
	{ "SG_NRIC_FIN", "S2740116C", YES },
	{ "SG_NRIC_FIN", "s2740116c", YES },
	{ "SG_NRIC_FIN", "T1234567J", YES },
	{ "SG_NRIC_FIN", "F1234567N", YES },
	{ "SG_NRIC_FIN", "G1234567X", YES },
	{ "SG_NRIC_FIN", "S2740116D", UNK },
	{ "SG_NRIC_FIN", "M1234567K", UNK },
	{ "SG_NRIC_FIN", "A1234567B", UNK },
	{ "SG_NRIC_FIN", "S274011C", NO },
	{ "SG_NRIC_FIN", "S27401166", NO },
	{ "SG_NRIC_FIN", "52740116C", NO },

	/* CRYPTO: test_crypto_recognizer.py */
	{ "CRYPTO", "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ", YES },
	{ "CRYPTO", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", YES },
	{ "CRYPTO", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", YES },
	{ "CRYPTO", "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", YES },
	{ "CRYPTO", "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ2", NO },
	{ "CRYPTO", "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyY", NO },
	{ "CRYPTO", "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1Bo0Z", NO },	/* '0' is not Base58 */
	{ "CRYPTO", "8f953371d3e85eddb89b05ed6b9e680791055315c73e1025ab5dba7bb2aee189", NO },
	{ "CRYPTO", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr", NO },
	{ "CRYPTO", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mDq", NO },	/* mixed case */
	{ "CRYPTO", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mbq", NO },	/* 'b' not in set */
	{ "CRYPTO", "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", NO },	/* prefix is "bc1" */
	{ "CRYPTO", "111", NO },
	/* Ethereum: EIP-55 needs Keccak-256, so well-formed addresses keep the base score */
	{ "CRYPTO", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", UNK },
	{ "CRYPTO", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", UNK },
	{ "CRYPTO", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", NO },
	{ "CRYPTO", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", NO },

	/* IP_ADDRESS: test_ip_recognizer.py (invalidate only) */
	{ "IP_ADDRESS", "192.168.0.1", UNK },
	{ "IP_ADDRESS", "255.255.255.255", UNK },
	{ "IP_ADDRESS", "0.0.0.0", UNK },
	{ "IP_ADDRESS", "684D:1111:222:3333:4444:5555:6:77", UNK },
	{ "IP_ADDRESS", "2345:0425:2CA1:0000:0000:0567:5673:23b5", UNK },
	{ "IP_ADDRESS", "2345:0425:2CA1::0567:5673:23b5", UNK },
	{ "IP_ADDRESS", "2400:c401::5054:ff:fe1b:b031", UNK },
	{ "IP_ADDRESS", "::1", UNK },
	{ "IP_ADDRESS", "fe80::1%eth0", UNK },
	{ "IP_ADDRESS", "::ffff:192.0.2.1", UNK },
	{ "IP_ADDRESS", "::ffff:0:192.168.1.1", UNK },
	{ "IP_ADDRESS", "64:ff9b::192.0.2.1", UNK },
	{ "IP_ADDRESS", "0:0:0:0:0:FFFF:129.144.52.38", UNK },
	{ "IP_ADDRESS", "192.168.1.0/24", UNK },
	{ "IP_ADDRESS", "0.0.0.0/0", UNK },
	{ "IP_ADDRESS", "2001:db8::/32", UNK },
	{ "IP_ADDRESS", "::1/128", UNK },
	{ "IP_ADDRESS", "fe80::1%eth0/64", UNK },
	{ "IP_ADDRESS", "::", NO },
	{ "IP_ADDRESS", "::/0", NO },
	{ "IP_ADDRESS", "192.168.0", NO },
	{ "IP_ADDRESS", "684D:1111:222:3333:4444:5555:77", NO },
	{ "IP_ADDRESS", "::ffff:256.0.0.1", NO },
	{ "IP_ADDRESS", "256.256.256.256", NO },
	{ "IP_ADDRESS", "192.168.1.256", NO },
	{ "IP_ADDRESS", "gggg:hhhh::1234", NO },
	{ "IP_ADDRESS", "12345:db8::1", NO },
	{ "IP_ADDRESS", "2001::db8::1", NO },
	{ "IP_ADDRESS", "2001:db8::256.1.1.1", NO },
	{ "IP_ADDRESS", "192.168.2.1%eth0", NO },
	{ "IP_ADDRESS", "10.0.0.0/123", NO },
	{ "IP_ADDRESS", "10.0.0.0/33", NO },
	{ "IP_ADDRESS", "2001:db8::/129", NO },
	{ "IP_ADDRESS", "10.0.0.0/", NO },
	{ "IP_ADDRESS", "fe80::1%", NO },
	{ "IP_ADDRESS", "01.2.3.4", NO },
	{ "IP_ADDRESS", ":::", NO },
	{ "IP_ADDRESS", "12:34:56", NO },

	/* MAC_ADDRESS: test_mac_recognizer.py */
	{ "MAC_ADDRESS", "00:1A:2B:3C:4D:5E", UNK },
	{ "MAC_ADDRESS", "00-1A-2B-3C-4D-5E", UNK },
	{ "MAC_ADDRESS", "0012.3456.789A", UNK },
	{ "MAC_ADDRESS", "aabb.ccdd.eeff", UNK },
	{ "MAC_ADDRESS", "00:1A:2B:3C:4D", NO },
	{ "MAC_ADDRESS", "ZZ:ZZ:ZZ:ZZ:ZZ:ZZ", NO },
	{ "MAC_ADDRESS", "FF:FF:FF:FF:FF:FF", NO },
	{ "MAC_ADDRESS", "ff-ff-ff-ff-ff-ff", NO },
	{ "MAC_ADDRESS", "00 1A 2B 3C 4D 5E", NO },

	/* EMAIL_ADDRESS: domain sanity in place of tldextract */
	{ "EMAIL_ADDRESS", "info@presidio.site", YES },
	{ "EMAIL_ADDRESS", "my.name+tag@example.co.uk", YES },
	{ "EMAIL_ADDRESS", "user@xn--80ak6aa92e.xn--p1ai", YES },
	{ "EMAIL_ADDRESS", "user@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84", YES },
	{ "EMAIL_ADDRESS", "user@localhost", NO },
	{ "EMAIL_ADDRESS", "user@example.c", NO },
	{ "EMAIL_ADDRESS", "user@example.123", NO },
	{ "EMAIL_ADDRESS", "@example.com", NO },
	{ "EMAIL_ADDRESS", "user@", NO },
	{ "EMAIL_ADDRESS", "user@-example.com", NO },
	{ "EMAIL_ADDRESS", "user@example-.com", NO },
	{ "EMAIL_ADDRESS", "user@exa_mple.com", NO },
	{ "EMAIL_ADDRESS", "user@example..com", NO },
	{ "EMAIL_ADDRESS", "user@example.com.", NO },
	{ "EMAIL_ADDRESS", "a b@example.com", NO },
	{ "EMAIL_ADDRESS", "userexample.com", NO },

	/* URL: host sanity (Presidio has no URL validator) */
	{ "URL", "https://www.microsoft.com/", UNK },
	{ "URL", "www.microsoft.com", UNK },
	{ "URL", "microsoft.com/path?q=1#x", UNK },
	{ "URL", "http://user:pw@example.com:8080/x?y", UNK },
	{ "URL", "ftp://files.example.org", UNK },
	{ "URL", "http://localhost/", NO },
	{ "URL", "http://192.168.0.1/", NO },
	{ "URL", "https://exa mple.com", NO },
	{ "URL", "http://example.com:123456/", NO },
	{ "URL", "http://example.com:/", NO },
	{ "URL", "1ttp://example.com", NO },
	{ "URL", "https://", NO },
	{ "URL", "://example.com", NO },
};

static void
test_rows(void **state)
{
	const struct cst_validate_opts o = { .ssn_strict = false, .today = TODAY };

	(void)state;
	for (size_t i = 0; i < N_ELEM(rows); i++) {
		const struct row *r = &rows[i];
		cst_validate_fn *fn = cst_validate_find(r->entity);
		size_t n = strlen(r->s);
		char *p = exact(r->s, n);

		CHECK(r->s, fn != NULL);
		CHECK_INT(r->s, fn(p, n, &o), r->want);
		free(p);
	}
}

/* The named functions agree with the table's adapters and take their options. */
static void
test_direct(void **state)
{
	(void)state;
	assert_int_equal(cst_validate_credit_card("4111111111111111", 16), YES);
	assert_int_equal(cst_validate_us_ssn("912-34-5678", 11, false), UNK);
	assert_int_equal(cst_validate_us_ssn("912-34-5678", 11, true), NO);
	assert_int_equal(cst_validate_us_ssn("078-05-1123", 11, true), UNK);
	/* the ZA birth date pivot: 25 is 2025 on TODAY, 1925 a year earlier */
	assert_int_equal(cst_validate_za_id("2512315009086", 13, TODAY), NO);
	assert_int_equal(cst_validate_za_id("2512315009086", 13, 20240615u), YES);
	assert_int_equal(cst_validate_za_id("2512315009086", 13, 0), YES);
	/* 29 Feb 2000 exists, 29 Feb 1900 does not; without a date either century will do */
	assert_int_equal(cst_validate_za_id("0002294321191", 13, TODAY), YES);
	assert_int_equal(cst_validate_za_id("0002294321191", 13, 19990101u), NO);
	assert_int_equal(cst_validate_za_id("0002294321191", 13, 0), YES);
	/* FI: the separator's century decides leap years (1800 is not one) */
	assert_int_equal(cst_validate_fi_hetu("290200+123A", 11), NO);
	/* NULL options mean all off */
	assert_int_equal(cst_validate_find("US_SSN")("912-34-5678", 11, NULL), UNK);
	assert_int_equal(cst_validate_find("ZA_ID_NUMBER")("2512315009086", 13, NULL), YES);
	assert_null(cst_validate_find("PHONE_NUMBER"));
	assert_null(cst_validate_find("us_ssn"));
	assert_null(cst_validate_find(NULL));
}

/*
 * Confirmed examples whose every digit, changed to the next digit, must lose the
 * confirmation: to want (NO, or UNKNOWN where Presidio keeps the score). skip lists positions
 * the check does not cover (Medicare's issue number, the century of a 12-digit personnummer,
 * the TNIN digit whose weight is 11).
 */
static const struct mutation {
	const char *entity;
	const char *s;
	enum cst_valid want;
	unsigned long skip;	/* bit i set: leave byte i alone */
} mutations[] = {
	{ "CREDIT_CARD", "4012-8888-8888-1881", NO, 0 },
	{ "CREDIT_CARD", "371449635398431", NO, 0 },
	{ "IBAN_CODE", "GB29 NWBK 6016 1331 9268 19", NO, 0 },
	{ "IBAN_CODE", "MT84MALT011000012345MTLCAST001S", NO, 0 },
	{ "IBAN_CODE", "BR9700360305000010009795493P1", NO, 0 },
	{ "ABA_ROUTING_NUMBER", "0711-0130-7", NO, 0 },
	{ "US_NPI", "1245319599", NO, 0 },
	{ "MEDICAL_LICENSE", "BE1234563", NO, 0 },
	{ "UK_NHS", "401-023-2137", NO, 0 },
	{ "AU_ABN", "51 824 753 556", NO, 0 },
	{ "AU_ACN", "005 499 981", NO, 0 },
	{ "AU_TFN", "876 543 210", NO, 0 },
	{ "AU_MEDICARE", "2123 45670 1", NO, 1ul << 11 },
	{ "IN_AADHAAR", "3998 7654 3211", NO, 0 },
	{ "NG_NIN", "98765432102", NO, 0 },
	{ "ES_NIF", "55555555-K", NO, 0 },
	{ "ES_NIE", "X9613851N", NO, 0 },
	{ "IT_FISCAL_CODE", "RSSMRA85T10A562S", UNK, 0 },
	{ "PL_PESEL", "44051401359", NO, 0 },
	{ "FI_PERSONAL_IDENTITY_CODE", "020516C903K", NO, 0 },
	{ "SE_PERSONNUMMER", "19910924-2397", NO, 3ul },
	{ "ZA_ID_NUMBER", "9202201234088", NO, 0 },
	{ "KR_RRN", "960121-1021413", UNK, 0 },
	{ "TH_TNIN", "3456789012347", NO, 1ul << 2 },
	{ "TR_NATIONAL_ID", "76543210794", NO, 0 },
	{ "DE_TAX_ID", "86095742719", NO, 0 },
	{ "SG_NRIC_FIN", "S2740116C", UNK, 0 },
	{ "CRYPTO", "16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ", NO, 0 },
	{ "CRYPTO", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", NO, 0 },
	{ "CRYPTO", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", NO, 0 },
};


static void
test_one_digit_changed(void **state)
{
	const struct cst_validate_opts o = { .ssn_strict = false, .today = TODAY };

	(void)state;
	for (size_t i = 0; i < N_ELEM(mutations); i++) {
		const struct mutation *m = &mutations[i];
		cst_validate_fn *fn = cst_validate_find(m->entity);
		size_t n = strlen(m->s), changed = 0;
		char *p = exact(m->s, n);

		CHECK(m->s, fn != NULL);
		CHECK_INT(m->s, fn(p, n, &o), YES);
		for (size_t j = 0; j < n; j++) {
			char name[160];

			if (m->s[j] < '0' || m->s[j] > '9' || (j < 64 && (m->skip >> j) & 1))
				continue;
			p[j] = (char)(m->s[j] == '9' ? '0' : m->s[j] + 1);
			snprintf(name, sizeof(name), "%s with byte %zu changed", m->s, j);
			CHECK_INT(name, fn(p, n, &o), m->want);
			p[j] = m->s[j];
			changed++;
		}
		CHECK(m->s, changed > 0);
		free(p);
	}
}

/* Every validator: empty, NULL, over-long, binary and NUL-laden input are dropped. */
static void
test_bad_input(void **state)
{
	const struct cst_validate_opts o = { .ssn_strict = true, .today = TODAY };
	size_t n_ent;
	const struct cst_validate_entity *ent = cst_validate_entities(&n_ent);
	static char big[CST_VALIDATE_URL_MAX + 2];

	(void)state;
	assert_int_equal(n_ent, 33);
	memset(big, '1', sizeof(big));
	for (size_t i = 0; i < n_ent; i++) {
		const char *name = ent[i].entity;
		char *p;

		CHECK(name, ent[i].recognizer != NULL && ent[i].fn != NULL);
		CHECK(name, cst_validate_find(name) == ent[i].fn);
		CHECK_INT(name, ent[i].fn(NULL, 0, &o), NO);
		CHECK_INT(name, ent[i].fn("", 0, &o), NO);
		CHECK_INT(name, ent[i].fn(big, sizeof(big), &o), NO);
		CHECK_INT(name, ent[i].fn(big, CST_VALIDATE_EMAIL_MAX + 1, &o), NO);
		CHECK_INT(name, ent[i].fn(big, CST_VALIDATE_MAX_LEN + 1, &o), NO);
		p = exact("4111\0" "111111111111", 17);
		CHECK_INT(name, ent[i].fn(p, 17, &o), NO);
		free(p);
		p = exact("\xff\xfe\x00\x01", 4);
		CHECK_INT(name, ent[i].fn(p, 4, &o), NO);
		free(p);
	}
	/* the length bounds themselves */
	assert_int_equal(cst_validate_url_host(big, CST_VALIDATE_URL_MAX), NO);
	big[0] = 'a';
	big[1] = '.';
	big[2] = 'b';
	big[3] = 'c';
	big[4] = '/';
	assert_int_equal(cst_validate_url_host(big, CST_VALIDATE_URL_MAX), UNK);
	assert_int_equal(cst_validate_url_host(big, CST_VALIDATE_URL_MAX + 1), NO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_one_digit_changed),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
