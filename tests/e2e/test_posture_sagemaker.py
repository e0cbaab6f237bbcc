"""Black-box tests of `castellan posture` on AWS CLI descriptions (SageMaker and Bedrock,
tests/fixtures/posture/sagemaker) and on Gateway API / OpenShift routes into Ray and other
sensitive interfaces (tests/fixtures/posture/routes): the exact findings per fixture, their
severities, paths and equivalent ids, SARIF validity, compliant fixtures without findings, the
Prowler DirectInternetAccess regression, wrapped and listed descriptions, and malformed input."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import sarifcheck  # noqa: E402

CASTELLAN = os.environ.get("CASTELLAN_BIN", "build/castellan")
SRC = os.environ.get("CST_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SM = os.path.join(SRC, "tests", "fixtures", "posture", "sagemaker")
ROUTES = os.path.join(SRC, "tests", "fixtures", "posture", "routes")


def posture(*args):
    p = subprocess.run([CASTELLAN, "posture", *args], capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def run(path, creds=False, fmt="json"):
    extra = () if creds else ("--no-credentials",)
    code, out, err = posture("--format", fmt, *extra, path)
    assert code in (0, 1), err
    return code, json.loads(out), out


def got(doc):
    """(id, severity, path) of every finding."""
    return {(f["id"], f["severity"], f["path"]) for f in doc["findings"]}


H, M, C = "high", "medium", "critical"

EXPECTED = {
    "notebook-noncompliant.json": {
        ("CST-SM-NOTEBOOK-DIRECT-INTERNET", H, "DirectInternetAccess"),
        ("CST-SM-NOTEBOOK-ROOT-ACCESS", H, "RootAccess"),
        ("CST-SM-NOTEBOOK-NO-VPC", H, "SubnetId"),
        ("CST-SM-NOTEBOOK-NO-KMS", M, "KmsKeyId"),
        ("CST-SM-NOTEBOOK-IMDSV1", M,
         "InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion"),
        ("CST-SM-NOTEBOOK-PLATFORM", M, "PlatformIdentifier")},
    # Prowler reads RootAccess for its direct-internet check; these two must not mix.
    "notebook-prowler-internet-only.json": {
        ("CST-SM-NOTEBOOK-DIRECT-INTERNET", H, "DirectInternetAccess")},
    "notebook-prowler-root-only.json": {("CST-SM-NOTEBOOK-ROOT-ACCESS", H, "RootAccess")},
    "training-job-noncompliant.json": {
        ("CST-SM-TRAINING-NO-NETWORK-ISOLATION", H, "EnableNetworkIsolation"),
        ("CST-SM-TRAINING-NO-ENCRYPTION-IN-TRANSIT", M, "EnableInterContainerTrafficEncryption"),
        ("CST-SM-TRAINING-NO-VPC", H, "VpcConfig"),
        ("CST-SM-TRAINING-NO-VOLUME-KMS", H, "ResourceConfig.VolumeKmsKeyId"),
        ("CST-SM-TRAINING-NO-OUTPUT-KMS", H, "OutputDataConfig.KmsKeyId")},
    "endpoint-config-noncompliant.json": {
        ("CST-SM-ENDPOINT-NO-KMS", M, "KmsKeyId"),
        ("CST-SM-ENDPOINT-SINGLE-INSTANCE", M, "ProductionVariants[0].InitialInstanceCount"),
        ("CST-SM-ENDPOINT-CAPTURE-NO-KMS", M, "DataCaptureConfig.KmsKeyId")},
    "endpoint-config.yaml": {
        ("CST-SM-ENDPOINT-SINGLE-INSTANCE", M, "ProductionVariants[1].InitialInstanceCount")},
    "model-noncompliant.json": {
        ("CST-SM-MODEL-NO-NETWORK-ISOLATION", M, "EnableNetworkIsolation"),
        ("CST-SM-MODEL-NO-VPC", M, "VpcConfig"),
        ("CST-SM-MODEL-PRIMARY-REGISTRY", M, "PrimaryContainer.ImageConfig")},
    "model-multicontainer.json": {
        ("CST-SM-MODEL-CONTAINERS-REGISTRY", M, "Containers[0].ImageConfig.RepositoryAccessMode")},
    "domain-noncompliant.json": {
        ("CST-SM-DOMAIN-NO-SSO", M, "AuthMode"),
        ("CST-SM-DOMAIN-PUBLIC-INTERNET", H, "AppNetworkAccessType"),
        ("CST-SM-DOMAIN-NO-KMS", M, "KmsKeyId")},
    "guardrail-noncompliant.json": {
        ("CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK", H, "contentPolicy.filters[0].inputStrength"),
        ("CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS", M, "contentPolicy.filters[2]"),
        ("CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS", M, "contentPolicy.filters"),
        ("CST-BEDROCK-GUARDRAIL-SENSITIVE-INFO", H, "sensitiveInformationPolicy"),
        ("CST-BEDROCK-GUARDRAIL-GROUNDING", M, "contextualGroundingPolicy")},
    # Everything present, but detect-only or switched off.
    "guardrail-detect-only.json": {
        ("CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK", H, "contentPolicy.filters[0]"),
        ("CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS", M, "contentPolicy.filters[4]"),
        ("CST-BEDROCK-GUARDRAIL-SENSITIVE-INFO", H, "sensitiveInformationPolicy"),
        ("CST-BEDROCK-GUARDRAIL-GROUNDING", M, "contextualGroundingPolicy")},
    "agent-noncompliant.json": {
        ("CST-BEDROCK-AGENT-NO-GUARDRAIL", H, "agent.guardrailConfiguration"),
        ("CST-BEDROCK-AGENT-NO-CMK", M, "agent.customerEncryptionKeyArn")},
    "logging-disabled.json": {("CST-BEDROCK-LOGGING-DISABLED", M, "loggingConfig")},
    "logging-no-text.json": {
        ("CST-BEDROCK-LOGGING-NO-TEXT", M, "loggingConfig.textDataDeliveryEnabled")},
}

COMPLIANT = ["notebook-compliant.json", "training-job-compliant.json",
             "endpoint-config-compliant.json", "model-compliant.json", "domain-compliant.json",
             "guardrail-compliant.json", "agent-compliant.json", "logging-compliant.json"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_noncompliant_exact(name):
    code, d, _ = run(os.path.join(SM, name))
    assert got(d) == EXPECTED[name]
    assert code == (1 if any(s in (H, C) for _, s, _ in EXPECTED[name]) else 0)
    assert d["documents"] == 1 and d["documents_not_checked"] == 0


@pytest.mark.parametrize("name", COMPLIANT)
def test_compliant_no_findings(name):
    # Credentials included: the compliant descriptions hold none (MAX_TOTAL_TOKENS and
    # TOKENIZER_PATH are not credential names).
    code, d, _ = run(os.path.join(SM, name), creds=True)
    assert code == 0 and d["findings"] == [] and d["documents_not_checked"] == 0


def test_resource_kind_and_arn():
    _, d, _ = run(os.path.join(SM, "notebook-noncompliant.json"))
    res = {(f["resource"]["kind"], f["resource"]["namespace"], f["resource"]["name"])
           for f in d["findings"]}
    assert res == {("AWS::SageMaker::NotebookInstance", "",
                    "arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/research-nb")}
    dia = [f for f in d["findings"] if f["id"] == "CST-SM-NOTEBOOK-DIRECT-INTERNET"][0]
    assert "Enabled" in dia["evidence"]


EQUIV = {
    "CST-SM-NOTEBOOK-DIRECT-INTERNET": [
        "Security Hub SageMaker.1", "AWS Config sagemaker-notebook-no-direct-internet-access",
        "Prowler sagemaker_notebook_instance_without_direct_internet_access_configured "
        "(which reads RootAccess: not reproduced)", "Checkov CKV_AWS_122", "R-SM-01"],
    "CST-SM-NOTEBOOK-NO-VPC": [
        "Security Hub SageMaker.2", "AWS Config sagemaker-notebook-instance-inside-vpc",
        "Prowler sagemaker_notebook_instance_vpc_settings_configured", "Checkov CKV_AWS_306",
        "R-SM-01"],
    "CST-SM-NOTEBOOK-ROOT-ACCESS": [
        "Security Hub SageMaker.3", "AWS Config sagemaker-notebook-instance-root-access-check",
        "Prowler sagemaker_notebook_instance_root_access_disabled", "Checkov CKV_AWS_307",
        "R-SM-01"],
    "CST-SM-NOTEBOOK-NO-KMS": [
        "Security Hub SageMaker.21", "AWS Config sagemaker-notebook-instance-storage-vol-kms-"
        "encrypted, sagemaker-notebook-instance-kms-key-configured",
        "Prowler sagemaker_notebook_instance_encryption_enabled", "Checkov CKV_AWS_22",
        "R-SM-01"],
    "CST-SM-NOTEBOOK-PLATFORM": [
        "Security Hub SageMaker.8", "AWS Config sagemaker-notebook-instance-platform-version",
        "R-SM-01"],
    "CST-SM-NOTEBOOK-IMDSV1": ["Checkov CKV_AWS_371", "R-SM-01"],
    "CST-SM-ENDPOINT-SINGLE-INSTANCE": [
        "Security Hub SageMaker.4", "AWS Config sagemaker-endpoint-config-prod-instance-count",
        "Prowler sagemaker_endpoint_config_prod_variant_instances", "R-SM-03"],
    "CST-SM-ENDPOINT-NO-KMS": [
        "AWS Config sagemaker-endpoint-configuration-kms-key-configured",
        "Prowler sagemaker_endpoint_config_kms_encryption_enabled", "Checkov CKV_AWS_98",
        "R-SM-03"],
    "CST-SM-ENDPOINT-CAPTURE-NO-KMS": ["R-SM-03"],
    "CST-SM-MODEL-NO-NETWORK-ISOLATION": [
        "Security Hub SageMaker.5", "AWS Config sagemaker-model-isolation-enabled",
        "Prowler sagemaker_models_network_isolation_enabled", "Checkov CKV_AWS_370", "R-SM-04"],
    "CST-SM-MODEL-NO-VPC": [
        "AWS Config sagemaker-model-in-vpc", "Prowler sagemaker_models_vpc_settings_configured",
        "R-SM-04"],
    "CST-SM-MODEL-PRIMARY-REGISTRY": [
        "Security Hub SageMaker.16", "AWS Config sagemaker-model-private-registry-required",
        "R-SM-04"],
    "CST-SM-MODEL-CONTAINERS-REGISTRY": [
        "Security Hub SageMaker.19",
        "AWS Config sagemaker-model-multicontainer-private-registry", "R-SM-04"],
    "CST-SM-TRAINING-NO-NETWORK-ISOLATION": [
        "Prowler sagemaker_training_jobs_network_isolation_enabled", "R-SM-02"],
    "CST-SM-TRAINING-NO-ENCRYPTION-IN-TRANSIT": [
        "Prowler sagemaker_training_jobs_intercontainer_encryption_enabled", "R-SM-02"],
    "CST-SM-TRAINING-NO-VPC": ["Prowler sagemaker_training_jobs_vpc_settings_configured",
                               "R-SM-02"],
    "CST-SM-TRAINING-NO-VOLUME-KMS": [
        "Prowler sagemaker_training_jobs_volume_and_output_encryption_enabled", "R-SM-02"],
    "CST-SM-DOMAIN-NO-SSO": ["Prowler sagemaker_domain_sso_configured"],
    "CST-SM-DOMAIN-NO-KMS": ["Checkov CKV_AWS_187"],
    "CST-SM-DOMAIN-PUBLIC-INTERNET": [],
    "CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK": [
        "Prowler bedrock_guardrail_prompt_attack_filter_enabled"],
    "CST-BEDROCK-GUARDRAIL-SENSITIVE-INFO": [
        "Prowler bedrock_guardrail_sensitive_information_filter_enabled"],
    "CST-BEDROCK-GUARDRAIL-GROUNDING": [
        "Prowler bedrock_guardrail_contextual_grounding_filter_enabled"],
    "CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS": [],
    "CST-BEDROCK-AGENT-NO-GUARDRAIL": ["Prowler bedrock_agent_guardrail_enabled",
                                       "Checkov CKV_AWS_383"],
    "CST-BEDROCK-AGENT-NO-CMK": ["Checkov CKV_AWS_373"],
    "CST-BEDROCK-LOGGING-DISABLED": ["Prowler bedrock_model_invocation_logging_enabled"],
    "CST-BEDROCK-LOGGING-NO-TEXT": [],
}


def test_equivalent_ids():
    _, d, _ = run(SM)
    seen = {}
    for f in d["findings"]:
        seen.setdefault(f["id"], f["equivalent"])
    for rid, equiv in EQUIV.items():
        assert seen.get(rid) == equiv, rid


def test_whole_directory_sarif():
    code, out, err = posture("--format", "sarif", "--no-credentials", SM)
    assert code == 1, err
    s = json.loads(out)
    assert s["version"] == "2.1.0" and sarifcheck.check(s) == []
    rules = {r["id"]: r for r in s["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CST-SM-NOTEBOOK-DIRECT-INTERNET"]["properties"]["equivalent"][0] == \
        "Security Hub SageMaker.1"
    res = s["runs"][0]["results"]
    expected = sum(len(v) for v in EXPECTED.values())
    # The listing, the search result and the array repeat noncompliant descriptions.
    assert len(res) == expected + 3 + 5 + 1
    dia = [r for r in res if r["ruleId"] == "CST-SM-NOTEBOOK-DIRECT-INTERNET"]
    assert {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in dia} >= {
        "AWS::SageMaker::NotebookInstance//arn:aws:sagemaker:us-east-1:111122223333:"
        "notebook-instance/research-nb/DirectInternetAccess"}


def test_search_results_are_rooted():
    # `aws sagemaker search --resource TrainingJob` wraps each job in {"TrainingJob": {...}}.
    _, d, _ = run(os.path.join(SM, "search-training-jobs.json"))
    assert d["documents"] == 2
    assert {(f["item"], f["path"]) for f in d["findings"]} == {
        (1, "TrainingJob.EnableNetworkIsolation"),
        (1, "TrainingJob.EnableInterContainerTrafficEncryption"),
        (1, "TrainingJob.VpcConfig"), (1, "TrainingJob.ResourceConfig.VolumeKmsKeyId"),
        (1, "TrainingJob.OutputDataConfig.KmsKeyId")}


def test_listing_and_array():
    _, d, _ = run(os.path.join(SM, "models-listing.json"))
    assert d["documents"] == 2
    assert {(f["item"], f["id"]) for f in d["findings"]} == {
        (1, "CST-SM-MODEL-NO-NETWORK-ISOLATION"), (1, "CST-SM-MODEL-NO-VPC"),
        (1, "CST-SM-MODEL-PRIMARY-REGISTRY")}
    _, d, _ = run(os.path.join(SM, "notebooks-array.json"))
    assert [(f["item"], f["id"], f["resource"]["name"].rsplit("/", 1)[1])
            for f in d["findings"]] == [(1, "CST-SM-NOTEBOOK-ROOT-ACCESS", "root-only-nb")]


def test_credentials_in_sagemaker_descriptions():
    _, d, out = run(os.path.join(SM, "training-job-noncompliant.json"), creds=True)
    cred = {(f["id"], f["path"]) for f in d["findings"] if f["id"].startswith("CST-CRED")}
    assert cred == {("CST-CRED-ENV-LITERAL", "Environment.HF_TOKEN"),
                    ("CST-CRED-ENV-LITERAL", "HyperParameters.wandb_api_key"),
                    ("CST-CRED-HARDCODED", "Environment.HF_TOKEN")}
    assert "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" not in out
    assert "3f9a6c2e8b1d4f7a0c5e9b2d6a8f1c3e7b0d4a92" not in out
    _, d, out = run(os.path.join(SM, "model-multicontainer.json"), creds=True)
    assert [(f["id"], f["path"]) for f in d["findings"] if f["id"].startswith("CST-CRED")] == [
        ("CST-CRED-ENV-LITERAL", "Containers[1].Environment.DB_PASSWORD")]
    assert "correct-horse-battery-staple" not in out


def test_lifecycle_script_secret_found_decoded():
    code, d, out = run(os.path.join(SM, "lifecycle-config-secret.json"), creds=True)
    assert code == 1
    assert [(f["id"], f["path"]) for f in d["findings"]] == [
        ("CST-CRED-HARDCODED", "OnStart[0].Content")]
    f = d["findings"][0]
    assert "base64-decoded lifecycle script" in f["evidence"] and "checksum valid" in f["evidence"]
    assert "Prowler sagemaker_notebook_instance_no_secrets" in f["equivalent"]
    assert "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" not in out


def test_missing_fields_take_api_defaults(tmp_path):
    # A notebook description reduced to its ARN: every check fails closed.
    f = tmp_path / "nb.json"
    f.write_text(json.dumps({"NotebookInstanceArn": "arn:aws:sagemaker:us-east-1:1:"
                             "notebook-instance/x"}))
    _, d, _ = run(str(f))
    assert {x["id"] for x in d["findings"]} == {
        "CST-SM-NOTEBOOK-DIRECT-INTERNET", "CST-SM-NOTEBOOK-ROOT-ACCESS",
        "CST-SM-NOTEBOOK-NO-VPC", "CST-SM-NOTEBOOK-NO-KMS", "CST-SM-NOTEBOOK-IMDSV1",
        "CST-SM-NOTEBOOK-PLATFORM"}
    assert any("default is Enabled" in x["evidence"] for x in d["findings"])
    f.write_text(json.dumps({"loggingConfig": {"cloudWatchConfig": {"logGroupName": "g"},
                                               "textDataDeliveryEnabled": True}}))
    _, d, _ = run(str(f))
    assert [(x["id"], x["path"]) for x in d["findings"]] == [
        ("CST-BEDROCK-LOGGING-DISABLED", "loggingConfig")]
    assert "roleArn" in d["findings"][0]["evidence"]


def test_wrong_types_fail_closed(tmp_path):
    f = tmp_path / "tj.json"
    f.write_text(json.dumps({"TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/t",
                             "EnableNetworkIsolation": "true", "VpcConfig": {"Subnets": [""]},
                             "ResourceConfig": {"VolumeKmsKeyId": 7},
                             "EnableInterContainerTrafficEncryption": True,
                             "OutputDataConfig": {"KmsKeyId": "k"}}))
    _, d, _ = run(str(f))
    assert {x["id"] for x in d["findings"]} == {
        "CST-SM-TRAINING-NO-NETWORK-ISOLATION", "CST-SM-TRAINING-NO-VPC",
        "CST-SM-TRAINING-NO-VOLUME-KMS"}


@pytest.mark.parametrize("name", ["notebook-noncompliant.json", "guardrail-compliant.json"])
def test_truncated_json_exit_2(tmp_path, name):
    text = open(os.path.join(SM, name)).read()
    for cut in (1, len(text) // 3, len(text) // 2, len(text) - 3):
        f = tmp_path / "cut.json"
        f.write_text(text[:cut])
        code, out, err = posture("--no-credentials", str(f))
        assert code == 2, (cut, out)
        assert str(f) in err and "document 0" in err
        assert "0 findings" in out


def test_malformed_json_message(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('{"NotebookInstanceArn": "arn:x", "RootAccess": Enabled}\n')
    code, out, err = posture("--no-credentials", str(f))
    assert code == 2 and "bad.json: document 0 (line 1)" in err


# Routes ---------------------------------------------------------------------------------------

def route_findings(name):
    _, d, _ = run(os.path.join(ROUTES, name))
    return {(f["resource"]["kind"], f["resource"]["name"], f["id"], f["severity"], f["path"])
            for f in d["findings"]
            if f["resource"]["kind"] in ("HTTPRoute", "GRPCRoute", "Route", "Gateway")
            or "EXPOSURE" in f["id"] or "EXPOSED" in f["id"]}


def test_httproute_to_ray():
    assert route_findings("httproute-ray.yaml") == {
        ("HTTPRoute", "ray-dashboard", "CST-RAY-EXPOSED-NO-AUTH", C,
         "spec.rules[0].backendRefs[0]"),
        ("HTTPRoute", "ray-dashboard", "CST-RAY-INGRESS", M, "spec.hostnames"),
        ("HTTPRoute", "ray-dashboard", "CST-RAY-INGRESS", M, "spec.parentRefs"),
        # Through a Service selecting the head by the operator's labels, port 80 -> 8265.
        ("HTTPRoute", "ray-jobs", "CST-RAY-EXPOSED-NO-AUTH", C, "spec.rules[0].backendRefs[0]"),
        ("HTTPRoute", "ray-jobs", "CST-RAY-INGRESS", M, "spec.parentRefs")}


def test_grpcroute_internal_with_auth():
    _, d, _ = run(os.path.join(ROUTES, "grpcroute-internal.yaml"))
    exp = [f for f in d["findings"] if f["resource"]["kind"] == "GRPCRoute"]
    assert [(f["id"], f["severity"], f["path"]) for f in exp] == [
        ("CST-RAY-EXPOSED", M, "spec.rules[0].backendRefs[0]")]
    assert "Ray Client" in exp[0]["evidence"] and "internal load balancer" in exp[0]["evidence"]
    assert "host ray.internal.example" in exp[0]["evidence"]
    assert "C-0266" in exp[0]["equivalent"][1]


def test_openshift_routes():
    assert route_findings("openshift-route.yaml") == {
        ("Route", "ray-dashboard", "CST-RAY-EXPOSED-NO-AUTH", C, "spec.to"),
        ("Route", "ray-dashboard", "CST-RAY-INGRESS", M, "spec.tls"),
        ("Deployment", "notebook", "CST-K8S-SENSITIVE-INTERFACE-EXPOSED", H,
         "spec.template.metadata.labels")}
    _, d, _ = run(os.path.join(ROUTES, "openshift-route.yaml"))
    nb = [f for f in d["findings"] if f["id"] == "CST-K8S-SENSITIVE-INTERFACE-EXPOSED"][0]
    assert nb["evidence"] == ("Route notebook routes to Service notebook, which selects its "
                              "pods; it serves a Jupyter server")


def test_httproute_plain_app_is_only_external():
    assert route_findings("httproute-internal-app.yaml") == {
        ("Deployment", "shop", "CST-K8S-EXTERNAL-EXPOSURE", "low",
         "spec.template.metadata.labels")}


def test_routes_sarif():
    code, out, err = posture("--format", "sarif", "--no-credentials", ROUTES)
    assert code == 1, err
    s = json.loads(out)
    assert sarifcheck.check(s) == []
    assert sum(r["ruleId"] == "CST-RAY-EXPOSED-NO-AUTH" for r in s["runs"][0]["results"]) == 3


def test_route_to_other_namespace_and_tls_route(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text(
        "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TLSRoute\n"
        "metadata: {name: t, namespace: edge}\nspec:\n  hostnames: [ray.example.com]\n"
        "  rules:\n  - backendRefs:\n    - {name: rc-head-svc, namespace: ml, port: 10001}\n"
        "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        "metadata: {name: other, namespace: edge}\nspec:\n  rules:\n  - backendRefs:\n"
        "    - {kind: ServiceImport, name: rc-head-svc, namespace: ml, port: 8265}\n")
    _, d, _ = run(str(f))
    assert [(x["resource"]["name"], x["id"], x["path"]) for x in d["findings"]] == [
        ("t", "CST-RAY-EXPOSED", "spec.rules[0].backendRefs[0]")]
    assert "not in the input" in d["findings"][0]["evidence"]


def test_kuberay_gateway_api_sample():
    # The real KubeRay sample: an external Azure ALB Gateway on plain HTTP and an HTTPRoute to
    # the head Service of raycluster-kuberay with no port (every port) and no host names. The
    # cluster itself is ray-cluster.sample.yaml: alone the route is high (authentication
    # unknown), with the cluster (no authentication) critical.
    samples = os.path.join(SRC, "..", "shared", "data", "k8s", "kuberay", "samples")
    route = os.path.join(samples, "ray-cluster-agc-gatewayapi.yaml")
    for extra, sev in (((), H), ((os.path.join(samples, "ray-cluster.sample.yaml"),), C)):
        code, out, err = posture("--format", "json", "--no-credentials", route, *extra)
        assert code == 1, err
        d = json.loads(out)
        assert {(f["id"], f["severity"], f["path"]) for f in d["findings"]
                if f["resource"]["kind"] == "HTTPRoute"} == {
            ("CST-RAY-EXPOSED-NO-AUTH" if sev == C else "CST-RAY-EXPOSED", sev,
             "spec.rules[0].backendRefs[0]"),
            ("CST-RAY-INGRESS", M, "spec.hostnames"),
            ("CST-RAY-INGRESS", M, "spec.parentRefs")}
