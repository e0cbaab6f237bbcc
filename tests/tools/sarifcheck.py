"""Checks a SARIF 2.1.0 log against the object model generated from the official SARIF 2.1.0
JSON schema (Debian's python3-sarif-python-om, made by jschema_to_python): every object's
properties must be properties the schema defines for that object, every property the schema
requires must be present, and enumerated values must be among the schema's. Usable as a
module (check(log) returns a list of problems) or as a program on a file."""
import json
import sys

import attr
import sarif_om

# The schema object each property holds (only those castellan writes need to be known; an
# unknown property is reported by the check of its parent).
CLASS_OF = {
    "runs": sarif_om.Run, "tool": sarif_om.Tool, "driver": sarif_om.ToolComponent,
    "rules": sarif_om.ReportingDescriptor, "results": sarif_om.Result,
    "locations": sarif_om.Location, "physicalLocation": sarif_om.PhysicalLocation,
    "artifactLocation": sarif_om.ArtifactLocation, "region": sarif_om.Region,
    "logicalLocations": sarif_om.LogicalLocation, "message": sarif_om.Message,
    "invocations": sarif_om.Invocation, "toolExecutionNotifications": sarif_om.Notification,
    "toolConfigurationNotifications": sarif_om.Notification,
    "shortDescription": sarif_om.MultiformatMessageString,
    "fullDescription": sarif_om.MultiformatMessageString,
    "help": sarif_om.MultiformatMessageString,
    "defaultConfiguration": sarif_om.ReportingConfiguration,
    "artifacts": sarif_om.Artifact, "location": sarif_om.ArtifactLocation,
    "descriptor": sarif_om.ReportingDescriptorReference,
}
LEVELS = {"none", "note", "warning", "error"}
ENUMS = {
    (sarif_om.Result, "level"): LEVELS,
    (sarif_om.Notification, "level"): LEVELS,
    (sarif_om.ReportingConfiguration, "level"): LEVELS,
    (sarif_om.Result, "kind"): {"notApplicable", "pass", "fail", "review", "open",
                                "informational"},
}
FREE = {"properties", "partialFingerprints", "fingerprints", "originalUriBaseIds"}


def _fields(cls):
    out = {}
    for f in attr.fields(cls):
        out[f.metadata["schema_property_name"]] = f.default is attr.NOTHING
    return out


def _check(obj, cls, path, problems):
    if not isinstance(obj, dict):
        problems.append(f"{path}: expected an object ({cls.__name__})")
        return
    fields = _fields(cls)
    for name, required in fields.items():
        if required and name not in obj:
            problems.append(f"{path}: {cls.__name__} requires '{name}'")
    for name, value in obj.items():
        if name not in fields:
            problems.append(f"{path}.{name}: not a property of {cls.__name__}")
            continue
        allowed = ENUMS.get((cls, name))
        if allowed is not None and value not in allowed:
            problems.append(f"{path}.{name}: '{value}' is not one of {sorted(allowed)}")
        if name in FREE or name not in CLASS_OF:
            continue
        sub = CLASS_OF[name]
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            _check(item, sub, f"{path}.{name}[{i}]" if isinstance(value, list) else
                   f"{path}.{name}", problems)


def check(log):
    problems = []
    if log.get("version") != "2.1.0":
        problems.append("version: must be 2.1.0")
    schema = str(log.get("$schema", ""))
    if "sarif-schema-2.1.0" not in schema and "sarif-2.1.0" not in schema:
        problems.append("$schema: must name the 2.1.0 schema")
    _check(log, sarif_om.SarifLog, "$", problems)
    return problems


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        found = check(json.load(f))
    for p in found:
        print(p)
    sys.exit(1 if found else 0)
