/*
 * The built-in rule tables (rules.h). PII patterns follow Presidio's recognisers (entity
 * names, base scores, context words); each entity's validator is in validate.c. Secret rules
 * are Castellan's own, for the credentials that matter around model deployments; GitHub
 * tokens are confirmed by their checksum. Injection phrases run on the canonical view, so
 * invisible characters, full-width and homoglyph letters do not hide them.
 */
#include "inspect/rules.h"

#include <string.h>
#include <zlib.h>

#include "inspect/match.h"

#define CI CST_PAT_CASELESS
#define PHONE_CONTEXT "phone|telephone|tel|cell|cellphone|mobile|call|fax|whatsapp"
#define BOTH (CST_RULE_RAW | CST_RULE_CANONICAL)

/*
 * Prefilters (match.h): cheap expressions that every match of a rule's regex holds, which
 * Hyperscan looks for in place of the regex (an e-mail address's local part, a run of
 * characters with no literal before the @, would otherwise be tried at every word).
 */
#define GATE_EMAIL "@[A-Za-z0-9-]+\\."
#define GATE_IT_FISCAL "\\d{2}[abcdehlmprst]\\d{2}[a-z]\\d{3}"
/* the rules with a back-reference (one separator throughout), which Hyperscan cannot take */
#define GATE_MAC "[0-9a-f]{2}[:-](?:[0-9a-f]{2}[:-]){4}[0-9a-f]{2}|" \
    "[0-9a-f]{4}\\.[0-9a-f]{4}\\.[0-9a-f]{4}"
#define GATE_SSN "\\d{3}[- .]\\d{2}[- .]\\d{4}"

static const struct cst_insp_rule pii_rules[] = {
	{ "pii.credit_card", CST_INSP_PII, "CREDIT_CARD",
	    "\\b(?:4\\d{3}|5[0-5]\\d{2}|6\\d{3}|1\\d{3}|3\\d{3})[- ]?\\d{3,4}[- ]?\\d{3,4}[- ]?"
	    "\\d{3,5}\\b", 0, 300,
	    "credit|card|visa|mastercard|cc|amex|discover|jcb|diners|maestro|instapayment",
	    NULL, 0, 0, BOTH, NULL },
	{ "pii.email", CST_INSP_PII, "EMAIL_ADDRESS",
	    "\\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-][A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]*@[A-Za-z0-9-]+"
	    "(?:\\.[A-Za-z0-9-]+)+\\b", 0, 500, "email", NULL, 0, 0, BOTH, GATE_EMAIL },
	{ "pii.iban", CST_INSP_PII, "IBAN_CODE",
	    "\\b[A-Z]{2}[ -]?\\d{2}(?:[ -]?[A-Z0-9]){9,30}\\b", 0, 500, "iban|bank|transaction",
	    NULL, 0, 0, BOTH, NULL },
	{ "pii.ipv4", CST_INSP_PII, "IP_ADDRESS",
	    "\\b(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|"
	    "[1-9]?\\d)(?:/\\d{1,2})?\\b", 0, 600, "ip|ipv4", NULL, 0, 0, BOTH, NULL },
	{ "pii.ipv6", CST_INSP_PII, "IP_ADDRESS",
	    "(?<![\\w:])(?:[0-9a-f]{1,4}:){2,7}(?::|[0-9a-f]{1,4})(?::[0-9a-f]{1,4}){0,5}"
	    "(?![\\w:])", CI, 600, "ip|ipv6", NULL, 0, 0, BOTH, NULL },
	{ "pii.mac", CST_INSP_PII, "MAC_ADDRESS",
	    "\\b[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\\1){4}[0-9a-f]{2}\\b|\\b[0-9a-f]{4}\\.[0-9a-f]{4}"
	    "\\.[0-9a-f]{4}\\b", CI, 600, "mac|address", NULL, 0, 0, BOTH, GATE_MAC },
	/* Without libphonenumber: international and North American forms stand alone, other
	 * digit groups need a context word; 7 to 15 digits in all (E.164). */
	{ "pii.phone_international", CST_INSP_PII, "PHONE_NUMBER",
	    "(?<![\\w+])\\+\\d{1,3}(?:[ .-]?\\(?\\d{1,4}\\)?){1,5}(?![\\w-])", 0, 600, PHONE_CONTEXT,
	    NULL, 0, 0, BOTH, NULL },
	{ "pii.phone_nanp", CST_INSP_PII, "PHONE_NUMBER",
	    "(?<![\\w+-])(?:\\(\\d{3}\\)\\s?|\\d{3}[.-])\\d{3}[.-]\\d{4}(?![\\w-])", 0, 500,
	    PHONE_CONTEXT, NULL, 0, 0, BOTH, NULL },
	{ "pii.phone", CST_INSP_PII, "PHONE_NUMBER",
	    "(?<![\\w+-])\\d{2,5}(?:[ .-]\\d{2,5}){1,4}(?![\\w-])", 0, 100, PHONE_CONTEXT, NULL,
	    0, 0, BOTH, NULL },
	/* Off unless enabled: links in answers are judged by the exfil rules' allow-list */
	{ "pii.url", CST_INSP_PII, "URL",
	    "\\b(?:https?://|www\\.)[^\\s<>\"'`)\\]]{2,}", CI, 500, "url|website|link", NULL,
	    0, 0, BOTH | CST_RULE_OFF, NULL },
	{ "pii.crypto", CST_INSP_PII, "CRYPTO",
	    "\\b(?:bc1[a-z0-9]{25,87}|[13][a-km-zA-HJ-NP-Z1-9]{25,34}|0x[0-9a-fA-F]{40})\\b", 0,
	    500, "wallet|btc|bitcoin|crypto|eth|ethereum", NULL, 0, 0, BOTH, NULL },
	{ "pii.date", CST_INSP_PII, "DATE_TIME",
	    "\\b(?:\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2})?)?|\\d{1,2}[/.-]\\d{1,2}"
	    "[/.-]\\d{2,4})\\b", 0, 600, "date|birthday|born|dob", NULL, 0, 0,
	    BOTH | CST_RULE_OFF, NULL },
	{ "pii.medical_license", CST_INSP_PII, "MEDICAL_LICENSE",
	    "\\b[abcdefghjklmprstux][a-z9]\\d{7}\\b", CI, 400, "medical|certificate|dea", NULL, 0,
	    0, BOTH, NULL },
	{ "pii.us_ssn", CST_INSP_PII, "US_SSN", "\\b\\d{3}([- .])\\d{2}\\1\\d{4}\\b", 0, 500,
	    "social|security|ssn|ssns|ssid", NULL, 0, 0, BOTH, GATE_SSN },
	{ "pii.us_ssn_bare", CST_INSP_PII, "US_SSN", "\\b\\d{9}\\b", 0, 50,
	    "social|security|ssn|ssns|ssid", NULL, 0, 0, BOTH, NULL },
	{ "pii.us_itin", CST_INSP_PII, "US_ITIN",
	    "\\b9\\d{2}[- ]?(?:5\\d|6[0-5]|7\\d|8[0-8]|9[0-24-9])[- ]?\\d{4}\\b", 0, 500,
	    "individual|taxpayer|itin|tax|payer|taxid|tin", NULL, 0, 0, BOTH, NULL },
	{ "pii.us_passport", CST_INSP_PII, "US_PASSPORT", "\\b(?:[a-z]\\d{8}|\\d{9})\\b", CI, 50,
	    "us|united|states|passport|passport#|travel|document", NULL, 0, 0, BOTH, NULL },
	{ "pii.us_driver_license", CST_INSP_PII, "US_DRIVER_LICENSE",
	    "\\b(?:[a-z]\\d{3,6}|[a-z]\\d{5,9}|[a-z]\\d{6}[a-z]|[a-z]{2}\\d{2,5}|\\d{7,12})\\b",
	    CI, 100, "driver|license|permit|lic|identification|dls|cdls|lic#|driving", NULL, 0, 0,
	    BOTH, NULL },
	{ "pii.us_bank_number", CST_INSP_PII, "US_BANK_NUMBER", "\\b\\d{8,17}\\b", 0, 50,
	    "bank|check|account|account#|acct|save|debit", NULL, 0, 0, BOTH, NULL },
	{ "pii.aba_routing", CST_INSP_PII, "ABA_ROUTING_NUMBER", "\\b[0-35-8]\\d{3}-?\\d{4}-?\\d\\b",
	    0, 300, "aba|routing|abarouting|association|bankrouting", NULL, 0, 0, BOTH, NULL },
	{ "pii.us_npi", CST_INSP_PII, "US_NPI", "\\b[12]\\d{3}[- ]?\\d{3}[- ]?\\d{3}\\b", 0, 100,
	    "npi|provider|national provider", NULL, 0, 0, BOTH, NULL },
	{ "pii.uk_nhs", CST_INSP_PII, "UK_NHS", "\\b\\d{3}[- ]?\\d{3}[- ]?\\d{4}\\b", 0, 500,
	    "national health service|nhs|health services authority|health authority", NULL, 0, 0,
	    BOTH, NULL },
	{ "pii.uk_nino", CST_INSP_PII, "UK_NINO",
	    "\\b(?!bg|gb|nk|kn|nt|tn|zz)[a-ceghj-pr-tw-z][a-ceghj-npr-tw-z] ?\\d{2} ?\\d{2} ?"
	    "\\d{2} ?[a-d]\\b", CI, 500, "national insurance|ni number|nino",
	    NULL, 0, 0, BOTH, NULL },
	{ "pii.es_nif", CST_INSP_PII, "ES_NIF", "\\b\\d{8}-?[a-z]\\b", CI, 500,
	    "documento nacional de identidad|dni|nif|identificacion", NULL, 0, 0, BOTH, NULL },
	{ "pii.es_nie", CST_INSP_PII, "ES_NIE", "\\b[xyz]-?\\d{7}-?[a-z]\\b", CI, 500,
	    "nie|numero de identidad de extranjero|extranjero", NULL, 0, 0, BOTH, NULL },
	{ "pii.it_fiscal_code", CST_INSP_PII, "IT_FISCAL_CODE",
	    "\\b[a-z]{6}\\d{2}[abcdehlmprst]\\d{2}[a-z]\\d{3}[a-z]\\b", CI, 300,
	    "codice fiscale|cf", NULL, 0, 0, BOTH, GATE_IT_FISCAL },
	{ "pii.pl_pesel", CST_INSP_PII, "PL_PESEL", "\\b\\d{2}[0-3]\\d{8}\\b", 0, 400, "pesel",
	    NULL, 0, 0, BOTH, NULL },
	{ "pii.fi_hetu", CST_INSP_PII, "FI_PERSONAL_IDENTITY_CODE",
	    "\\b\\d{6}[-+a-fu-y]\\d{3}[0-9a-y]\\b", CI, 500,
	    "hetu|henkilotunnus|personbeteckningen|personal identity code",
	    NULL, 0, 0, BOTH, NULL },
	{ "pii.se_personnummer", CST_INSP_PII, "SE_PERSONNUMMER",
	    "\\b(?:\\d{2})?\\d{6}[-+]?\\d{4}\\b", 0, 300, "personnummer|samordningsnummer", NULL, 0,
	    0, BOTH, NULL },
	{ "pii.za_id", CST_INSP_PII, "ZA_ID_NUMBER", "\\b\\d{13}\\b", 0, 50,
	    "id|identity|south african", NULL, 0, 0, BOTH, NULL },
	{ "pii.ca_sin", CST_INSP_PII, "CA_SIN", "\\b\\d{3}[- ]?\\d{3}[- ]?\\d{3}\\b", 0, 100,
	    "sin|social insurance", NULL, 0, 0, BOTH, NULL },
	{ "pii.kr_rrn", CST_INSP_PII, "KR_RRN", "\\b\\d{6}-?[1-4]\\d{6}\\b", 0, 300,
	    "rrn|resident registration|\xec\xa3\xbc\xeb\xaf\xbc\xeb\x93\xb1\xeb\xa1\x9d\xeb\xb2\x88"
	    "\xed\x98\xb8", NULL, 0, 0, BOTH, NULL },
	{ "pii.tr_national_id", CST_INSP_PII, "TR_NATIONAL_ID", "\\b[1-9]\\d{10}\\b", 0, 300,
	    "tc|tckn|kimlik", NULL, 0, 0, BOTH, NULL },
	{ "pii.de_tax_id", CST_INSP_PII, "DE_TAX_ID", "\\b[1-9]\\d{2} ?\\d{3} ?\\d{3} ?\\d{2}\\b",
	    0, 300, "steuer-id|steuerid|idnr|identifikationsnummer|steueridentifikationsnummer",
	    NULL, 0, 0, BOTH, NULL },
	{ "pii.in_aadhaar", CST_INSP_PII, "IN_AADHAAR", "\\b[2-9]\\d{3}[- :]?\\d{4}[- :]?\\d{4}\\b",
	    0, 10, "aadhaar|uidai", NULL, 0, 0, BOTH, NULL },
	{ "pii.ng_nin", CST_INSP_PII, "NG_NIN", "\\b\\d{11}\\b", 0, 10, "nin|nimc", NULL, 0, 0,
	    BOTH, NULL },
	{ "pii.au_abn", CST_INSP_PII, "AU_ABN", "\\b\\d{2} ?\\d{3} ?\\d{3} ?\\d{3}\\b", 0, 100,
	    "abn|australian business number", NULL, 0, 0, BOTH, NULL },
	{ "pii.au_acn", CST_INSP_PII, "AU_ACN", "\\b\\d{3} ?\\d{3} ?\\d{3}\\b", 0, 100,
	    "acn|australian company number", NULL, 0, 0, BOTH, NULL },
	{ "pii.au_tfn", CST_INSP_PII, "AU_TFN", "\\b\\d{3} ?\\d{3} ?\\d{3}\\b", 0, 100,
	    "tfn|tax file number", NULL, 0, 0, BOTH, NULL },
	{ "pii.au_medicare", CST_INSP_PII, "AU_MEDICARE", "\\b[2-6]\\d{3} ?\\d{5} ?\\d\\b", 0, 100,
	    "medicare", NULL, 0, 0, BOTH, NULL },
	{ "pii.sg_nric", CST_INSP_PII, "SG_NRIC_FIN", "\\b[stfgm]\\d{7}[a-z]\\b", CI, 500,
	    "fin|nric|singapore", NULL, 0, 0, BOTH, NULL },
	{ "pii.th_tnin", CST_INSP_PII, "TH_TNIN", "\\b[1-8]\\d{12}\\b", 0, 300,
	    "tnin|thai national id", NULL, 0, 0, BOTH, NULL },
};

static const struct cst_insp_rule secret_rules[] = {
	{ "secret.aws_access_key_id", CST_INSP_SECRET, "AWS_ACCESS_KEY",
	    "\\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\\b", 0, 900, NULL, NULL, 300, 1,
	    CST_RULE_RAW, NULL },
	{ "secret.aws_secret_access_key", CST_INSP_SECRET, "AWS_SECRET_KEY",
	    "(?i)aws.{0,20}?(?:secret|private|access).{0,20}?[\"'\\s:=]+([A-Za-z0-9/+=]{40})"
	    "(?![A-Za-z0-9/+=])", 0, 900, NULL, "aws", 400, 1, CST_RULE_RAW, NULL },
	{ "secret.azure_client_secret", CST_INSP_SECRET, "AZURE_CLIENT_SECRET",
	    "(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}\\dQ~[A-Za-z0-9_~.-]{31,34})"
	    "(?![A-Za-z0-9_~.-])", 0, 900, NULL, "q~", 300, 1, CST_RULE_RAW, NULL },
	{ "secret.gcp_api_key", CST_INSP_SECRET, "GCP_API_KEY", "\\b(AIza[\\w-]{35})(?![\\w-])", 0,
	    900, NULL, NULL, 300, 1, CST_RULE_RAW, NULL },
	{ "secret.gcp_service_account", CST_INSP_SECRET, "GCP_SERVICE_ACCOUNT_KEY",
	    "\"private_key\"\\s*:\\s*\"(-----BEGIN PRIVATE KEY-----[^\"]{64,})\"", 0, 950, NULL,
	    "private_key", 0, 1, CST_RULE_RAW, NULL },
	{ "secret.github_token", CST_INSP_SECRET, "GITHUB_TOKEN",
	    "\\b(gh[pousr]_[A-Za-z0-9]{36})\\b", 0, 700, NULL, NULL, 0, 1, CST_RULE_RAW, NULL },
	{ "secret.github_fine_grained_pat", CST_INSP_SECRET, "GITHUB_TOKEN",
	    "\\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\\b", 0, 950, NULL, NULL, 0, 1,
	    CST_RULE_RAW, NULL },
	{ "secret.gitlab_token", CST_INSP_SECRET, "GITLAB_TOKEN",
	    "\\b(gl(?:pat|dt|ptt|rt|cbt|oas|soat|ffct|imt|agent)-[A-Za-z0-9_-]{20,})(?![\\w-])", 0,
	    900, NULL, NULL, 300, 1, CST_RULE_RAW, NULL },
	{ "secret.openai_api_key", CST_INSP_SECRET, "OPENAI_API_KEY",
	    "\\b(sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,74}T3BlbkFJ[A-Za-z0-9_-]{20,74}|"
	    "sk-[A-Za-z0-9]{48})(?![\\w-])", 0, 950, NULL, "sk-", 0, 1, CST_RULE_RAW, NULL },
	{ "secret.anthropic_api_key", CST_INSP_SECRET, "ANTHROPIC_API_KEY",
	    "\\b(sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA)(?![\\w-])", 0, 950, NULL, "sk-ant-",
	    0, 1, CST_RULE_RAW, NULL },
	{ "secret.huggingface_token", CST_INSP_SECRET, "HUGGINGFACE_TOKEN",
	    "\\b(hf_[A-Za-z]{34})\\b", 0, 900, NULL, NULL, 300, 1, CST_RULE_RAW, NULL },
	{ "secret.slack_token", CST_INSP_SECRET, "SLACK_TOKEN",
	    "\\b(xox[baprse]-[0-9A-Za-z-]{10,250})(?![\\w-])", 0, 900, NULL, "xox", 0, 1,
	    CST_RULE_RAW, NULL },
	{ "secret.slack_webhook", CST_INSP_SECRET, "SLACK_WEBHOOK",
	    "(https://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{40,})", 0,
	    900, NULL, "hooks.slack.com", 0, 1, CST_RULE_RAW, NULL },
	{ "secret.stripe_key", CST_INSP_SECRET, "STRIPE_KEY",
	    "\\b((?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{24,99})\\b", 0, 900, NULL, NULL, 0, 1,
	    CST_RULE_RAW, NULL },
	{ "secret.private_key", CST_INSP_SECRET, "PRIVATE_KEY",
	    "(-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\\s\\S]{64,}?"
	    "(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|$))", 0, 950, NULL,
	    "private key", 0, 1, CST_RULE_RAW, NULL },
	{ "secret.jwt", CST_INSP_SECRET, "JWT",
	    "\\b(ey[A-Za-z0-9_-]{15,}\\.ey[A-Za-z0-9_-]{15,}\\.[A-Za-z0-9_-]{10,})(?![\\w.-])", 0,
	    800, NULL, NULL, 0, 1, CST_RULE_RAW, NULL },
	{ "secret.database_url", CST_INSP_SECRET, "DATABASE_URL_PASSWORD",
	    "\\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\\+srv)?|redis|rediss|amqps?|mssql|"
	    "sqlserver|oracle)://[^\\s:/@]{1,128}:([^\\s@/]{3,256})@[^\\s/]{1,255}", CI, 900, NULL,
	    "://", 0, 1, CST_RULE_RAW, NULL },
	{ "secret.generic_assignment", CST_INSP_SECRET, "GENERIC_SECRET",
	    "(?i)\\b(?:[\\w.-]{0,30}?(?:api[_.-]?key|secret|token|passw(?:or)?d|pwd|auth[_.-]?"
	    "key|credential|access[_.-]?key))[\\w.-]{0,20}[\"']?\\s{0,5}(?::|=|:=|=>)\\s{0,5}"
	    "[\"']?([A-Za-z0-9_+/=.~-]{16,128})(?![A-Za-z0-9_+/=.~-])", 0, 700, NULL,
	    "key|secret|token|passw|pwd|auth|credential", 350, 1, CST_RULE_RAW, NULL },
};

/*
 * Output sanitisation (sanitize.h): markup a UI would act on. URL rules are reported only when
 * the URL leaves the policy's allow-list; the HTML rules always. Matched on the raw text:
 * renderers read the raw bytes. The PCRE2 match limits bound the work on hostile markup.
 */
#define URL_DEST "(?:<[^>\\n]*>|[^\\s)]+)"
#define EXFIL_URL (CST_RULE_RAW | CST_RULE_URL)

static const struct cst_insp_rule exfil_rules[] = {
	{ "exfil.markdown_url", CST_INSP_EXFIL, "MARKDOWN_URL",
	    "(?:!?\\[[^\\[\\]]*)?\\]\\(\\s*" URL_DEST "(?:\\s+\"[^\"\\n]*\")?\\s*\\)?", 0, 1000,
	    NULL, NULL, 0, 0, EXFIL_URL, NULL },
	{ "exfil.markdown_reference", CST_INSP_EXFIL, "MARKDOWN_REFERENCE",
	    "^[ ]{0,3}\\[[^\\]\\n]+\\]:[ \\t]*\\n?[ \\t]*" URL_DEST, CST_PAT_MULTILINE, 1000,
	    NULL, NULL, 0, 0, EXFIL_URL, NULL },
	{ "exfil.autolink", CST_INSP_EXFIL, "MARKDOWN_URL", "<(?:https?:|//)[^>\\s]+>?", CI, 1000,
	    NULL, NULL, 0, 0, EXFIL_URL, NULL },
	{ "exfil.html_link", CST_INSP_EXFIL, "HTML_LINK",
	    "<a\\b[^>]*?\\bhref\\s*=\\s*[\"']?[^\"'\\s>]+", CI, 1000, NULL, NULL, 0, 0,
	    EXFIL_URL, NULL },
	{ "exfil.html_tag", CST_INSP_EXFIL, "HTML_TAG",
	    "<(?:img|image|script|iframe|frame|frameset|object|embed|applet|svg|math|style|link|"
	    "meta|base|form|input|button|video|audio|source|track|picture|body|html|template|"
	    "portal|isindex)\\b[^>]*>?", CI, 1000, NULL, NULL, 0, 0, CST_RULE_RAW, NULL },
	{ "exfil.html_event_handler", CST_INSP_EXFIL, "HTML_EVENT_HANDLER",
	    "<[a-z][a-z0-9-]*[^>]*?[\\s/\"']on[a-z]{3,30}\\s*=", CI, 1000, NULL, NULL, 0, 0,
	    CST_RULE_RAW, NULL },
	{ "exfil.script_url", CST_INSP_EXFIL, "SCRIPT_URL",
	    "<[a-z][^>]*?\\b(?:javascript|vbscript|livescript)\\s*:", CI, 1000, NULL, NULL, 0, 0,
	    CST_RULE_RAW, NULL },
};

/*
 * Injection and jailbreak phrases, matched case-insensitively on both views. Phrasings
 * follow the public attack corpora (garak, BIPIA, jailbreak_llms) and their translations.
 */
#define IGNORE_EN "(?:ignore|disregard|forget|skip|override|bypass|drop)"
#define PRIOR_EN "(?:previous|prior|above|preceding|earlier|initial|original|system|all|your)"
#define RULES_EN "(?:instructions?|prompts?|rules|directions|guidelines|commands|context|" \
	"constraints|programming|guardrails)"

static const struct cst_insp_rule injection_rules[] = {
	{ "injection.override", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b" IGNORE_EN "\\W+(?:\\w+\\W+){0,3}?" PRIOR_EN "\\W+(?:\\w+\\W+){0,2}?" RULES_EN
	    "\\b", CI, 900, NULL, NULL, 0, 0, BOTH, NULL },
	{ "injection.new_instructions", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b(?:new|updated|real|actual|true)\\s+(?:system\\s+)?instructions?\\s*(?::|follow)|"
	    "\\bfrom\\s+now\\s+on,?\\s+you\\s+(?:will|must|are|shall)\\b", CI, 750, NULL, NULL, 0,
	    0, BOTH, NULL },
	{ "injection.system_prompt_leak", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b(?:reveal|show|print|output|repeat|display|tell\\s+me|what\\s+(?:is|are|was))\\s+"
	    "(?:\\w+\\s+){0,3}?(?:system|initial|hidden|secret|original)\\s+(?:prompt|"
	    "instructions?|message)\\b|\\brepeat\\s+(?:the\\s+)?(?:words|text)\\s+above\\b", CI,
	    850, NULL, NULL, 0, 0, BOTH, NULL },
	{ "injection.roleplay_jailbreak", CST_INSP_INJECTION, "JAILBREAK",
	    "\\b(?:do\\s+anything\\s+now|dan\\s+mode|developer\\s+mode\\s+(?:enabled|output)|"
	    "jailbr(?:oken|eak)\\s+mode|you\\s+are\\s+(?:now\\s+)?(?:dan|stan|dude|aim)\\b|"
	    "act\\s+as\\s+an?\\s+(?:unfiltered|uncensored|unrestricted)|without\\s+any\\s+"
	    "(?:moral|ethical)\\s+(?:restrictions|guidelines|limits)|"
	    "(?:no|free\\s+of|without)\\s+(?:content\\s+)?(?:policy|policies|filters|"
	    "restrictions)\\s+(?:apply|whatsoever))", CI, 850, NULL, NULL, 0, 0, BOTH, NULL },
	{ "injection.role_markers", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "<\\|(?:im_start|im_end|system|endoftext|start_header_id|eot_id)\\|>|\\[/?INST\\]|"
	    "<<SYS>>|^\\s*#{2,}\\s*(?:system|instruction)s?\\s*:?\\s*$|^\\s*system\\s*:\\s*you\\s+"
	    "(?:are|must)\\b", CI | CST_PAT_MULTILINE, 800, NULL, NULL, 0, 0, BOTH, NULL },
	{ "injection.decode_and_run", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b(?:decode|decrypt|base64[- ]decode|rot13|translate)\\s+(?:\\w+\\s+){0,4}?(?:and|"
	    "then)\\s+(?:follow|execute|run|obey|do|perform)\\b", CI, 800, NULL,
	    NULL, 0, 0, BOTH, NULL },
	{ "injection.override_de", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b(?:ignoriere|vergiss|missachte)\\s+(?:\\w+\\s+){0,3}?(?:vorherigen|bisherigen|"
	    "obigen|alle)\\s+(?:\\w+\\s+){0,2}?(?:anweisungen|befehle|regeln|instruktionen)",
	    CI, 900, NULL, NULL, 0, 0, BOTH, NULL },
	{ "injection.override_fr", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b(?:ignore[rz]?|oublie[rz]?)\\s+(?:\\w+\\s+){0,3}?(?:instructions|consignes|"
	    "regles)\\s+(?:\\w+\\s+){0,1}?(?:precedentes|anterieures|ci-dessus)", CI, 900, NULL,
	    NULL, 0, 0, BOTH, NULL },
	{ "injection.override_es_pt_it", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b(?:ignora|ignore|olvida|esquece|esqueca|dimentica)\\s+(?:\\w+\\s+){0,3}?"
	    "(?:instrucciones|instrucoes|istruzioni|reglas|regras|regole)\\s+(?:\\w+\\s+){0,1}?"
	    "(?:anteriores|precedentes|precedenti|previas|previe)", CI, 900, NULL, NULL, 0, 0,
	    BOTH, NULL },
	{ "injection.override_nl", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "\\b(?:negeer|vergeet)\\s+(?:\\w+\\s+){0,3}?(?:vorige|eerdere|bovenstaande)\\s+"
	    "(?:instructies|opdrachten|regels)", CI, 900, NULL, NULL, 0, 0, BOTH, NULL },
	{ "injection.override_ru", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "(?:\xd0\xb8\xd0\xb3\xd0\xbd\xd0\xbe\xd1\x80\xd0\xb8\xd1\x80\xd1\x83\xd0\xb9|"
	    "\xd0\xb7\xd0\xb0\xd0\xb1\xd1\x83\xd0\xb4\xd1\x8c)[^.\\n]{0,40}?"
	    "(?:\xd0\xb8\xd0\xbd\xd1\x81\xd1\x82\xd1\x80\xd1\x83\xd0\xba\xd1\x86\xd0\xb8|"
	    "\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xb8\xd0\xbb)", CI, 900, NULL,
	    NULL, 0, 0, BOTH, NULL },
	{ "injection.override_zh", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "(?:\xe5\xbf\xbd\xe7\x95\xa5|\xe6\x97\xa0\xe8\xa7\x86|\xe5\xbf\x98\xe8\xae\xb0)"
	    "[^\xe3\x80\x82\\n]{0,30}?(?:\xe6\x8c\x87\xe4\xbb\xa4|\xe6\x8c\x87\xe7\xa4\xba|"
	    "\xe8\xa7\x84\xe5\x88\x99|\xe6\x8f\x90\xe7\xa4\xba)", 0, 900, NULL,
	    NULL, 0, 0, BOTH, NULL },
	{ "injection.override_ja", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "(?:\xe6\x8c\x87\xe7\xa4\xba|\xe5\x91\xbd\xe4\xbb\xa4|\xe3\x83\xab\xe3\x83\xbc\xe3\x83"
	    "\xab)[^\xe3\x80\x82\\n]{0,30}?(?:\xe7\x84\xa1\xe8\xa6\x96|\xe5\xbf\x98\xe3\x82\x8c)",
	    0, 900, NULL, NULL, 0, 0, BOTH, NULL },
	{ "injection.override_ko", CST_INSP_INJECTION, "PROMPT_INJECTION",
	    "(?:\xec\xa7\x80\xec\x8b\x9c|\xeb\xaa\x85\xeb\xa0\xb9|\xea\xb7\x9c\xec\xb9\x99)"
	    "[^.\\n]{0,30}?(?:\xeb\xac\xb4\xec\x8b\x9c|\xec\x9e\x8a)", 0, 900, NULL, NULL, 0, 0,
	    BOTH, NULL },
};

const struct cst_insp_rule *
cst_insp_builtin_rules(enum cst_insp_cat cat, size_t *n)
{
	switch (cat) {
	case CST_INSP_PII:
		*n = sizeof(pii_rules) / sizeof(pii_rules[0]);
		return pii_rules;
	case CST_INSP_SECRET:
		*n = sizeof(secret_rules) / sizeof(secret_rules[0]);
		return secret_rules;
	case CST_INSP_INJECTION:
		*n = sizeof(injection_rules) / sizeof(injection_rules[0]);
		return injection_rules;
	case CST_INSP_EXFIL:
		*n = sizeof(exfil_rules) / sizeof(exfil_rules[0]);
		return exfil_rules;
	default:
		*n = 0;
		return NULL;
	}
}

bool
cst_insp_github_checksum(const char *s, size_t n)
{
	static const char b62[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *u = memchr(s, '_', n);
	char want[6];
	unsigned long crc;
	int i;

	if (u == NULL || (size_t)(s + n - (u + 1)) != 36)
		return false;
	crc = crc32(0L, (const unsigned char *)u + 1, 30);
	for (i = 5; i >= 0; i--) {
		want[i] = b62[crc % 62];
		crc /= 62;
	}
	return memcmp(want, u + 31, 6) == 0;
}

bool
cst_insp_phone_digits(const char *s, size_t n)
{
	size_t i, d = 0;

	for (i = 0; i < n; i++)
		d += s[i] >= '0' && s[i] <= '9';
	return d >= 7 && d <= 15;
}
