/*
 * The findings of a detection run as OCSF 1.8.0 Detection Findings (class_uid 2004, category
 * Findings), one JSON object per line (NDJSON). Evidence events are mapped as OCSF API
 * Activity maps CloudTrail: actor.user from userIdentity, api from eventName/eventSource/
 * requestID, src_endpoint from sourceIPAddress, cloud from awsRegion/recipientAccountId; the
 * file, record index and eventID of every evidence event are kept (docs/detection.md has the
 * whole table).
 *
 * Output is a pure function of the findings: keys are sorted, no wall-clock time is written
 * (a finding's time is its latest evidence event's) and finding_info.uid is a hash of the rule
 * and its evidence, so a rerun on the same input gives the same bytes. Everything taken from a
 * log is written as JSON strings with non-ASCII escaped; nothing here reads input or prints
 * anything but the stream it is given.
 */
#ifndef CST_DETECT_OCSF_H
#define CST_DETECT_OCSF_H

#include "detect/ruleset.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define CST_OCSF_VERSION "1.8.0"
#define CST_OCSF_UID_LEN 64	/* hex characters of finding_info.uid */

/*
 * The OCSF severity_id of a Sigma level: informational 1, low 2, medium 3, high 4, critical 5;
 * 0 (Unknown) for NULL or anything else.
 */
int cst_ocsf_severity_id(const char *level);

/*
 * finding_info.uid: lower-case hex SHA-256 of rule_id followed by the evidence event ids
 * sorted bytewise, each preceded by a NUL byte (so the order the ids are given in does not
 * matter and no two lists hash alike by concatenation). ids[i] must not be NULL. 0;
 * CST_ENOMEM; CST_ECRYPTO.
 */
int cst_ocsf_finding_uid(const char *rule_id, const char *const *ids, size_t n_ids,
    char out[CST_OCSF_UID_LEN + 1]);

/*
 * The finding_info.attacks array for Sigma tags (NULL-free, n entries): attack.<tactic> (the
 * Enterprise tactics of ATT&CK v19, with defense-evasion for TA0005 as it was named before, '-'
 * or '_' between words; or attack.taNNNN) gives tactic {uid, name};
 * attack.tNNNN[.NNN] gives technique {uid: TNNNN} and sub_technique {uid: TNNNN.NNN}. When the
 * rule names exactly one tactic it is set on each technique entry; otherwise tactics and
 * techniques are separate entries. A technique also present as a sub-technique is given once.
 * Other tags are ignored. A new array (maybe empty); NULL on allocation failure.
 */
json_t *cst_ocsf_attacks(const char *const *tags, size_t n);

/*
 * Finding f of set rs as one Detection Finding object (a new reference) in *out. 0;
 * CST_ENOMEM; CST_ECRYPTO.
 */
int cst_ocsf_finding(const struct cst_rs *rs, const struct cst_finding *f, json_t **out);

/*
 * Writes every finding of rs (in the set's order) to o, one compact line each. 0; CST_ENOMEM;
 * CST_ECRYPTO; CST_EIO when o reports a write error.
 */
int cst_ocsf_write(FILE *o, struct cst_rs *rs);

#endif
