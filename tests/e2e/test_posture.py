"""Black-box tests of `castellan posture` on the real KubeRay samples and operator RBAC
(../shared/data/k8s/kuberay), the Pod Security Admission fixtures, Ray launcher files and
malformed input: findings, exit codes, JSON and SARIF output (checked against the SARIF 2.1.0
object model)."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import sarifcheck  # noqa: E402

CASTELLAN = os.environ.get("CASTELLAN_BIN", "build/castellan")
SRC = os.environ.get("CST_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
KR = os.path.join(SRC, "..", "shared", "data", "k8s", "kuberay")
SAMPLES = os.path.join(KR, "samples")
PSA = os.path.join(SRC, "..", "shared", "data", "k8s", "psa")


def posture(*args):
    p = subprocess.run([CASTELLAN, "posture", *args], capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def findings(*paths, extra=(), creds=False):
    # The credential check compiles the inspection engine's rules (slow under the
    # sanitizers): only the tests about credentials ask for it.
    extra = tuple(extra) + (() if creds or "--no-credentials" in extra else ("--no-credentials",))
    code, out, err = posture("--format", "json", *extra, *paths)
    assert code in (0, 1, 2), err
    return code, json.loads(out)


def ids(doc, kind=None):
    return {f["id"] for f in doc["findings"] if kind is None or f["resource"]["kind"] == kind}


def sample(name):
    return os.path.join(SAMPLES, name)


def test_sample_no_auth_and_restricted():
    code, d = findings(sample("ray-cluster.sample.yaml"))
    got = ids(d)
    assert code == 1
    assert {"CST-RAY-NO-AUTH", "CST-RAY-DASHBOARD-ALL-INTERFACES", "CST-RAY-NO-NETWORK-POLICY",
            "CST-RAY-VULNERABLE-VERSION", "CST-K8S-PSS-RUN-AS-NON-ROOT",
            "CST-K8S-PSS-SECCOMP-RESTRICTED"} <= got
    assert "CST-RAY-EXPOSED-NO-AUTH" not in got  # not exposed: ClusterIP head service
    dash = [f for f in d["findings"] if f["id"] == "CST-RAY-DASHBOARD-ALL-INTERFACES"][0]
    assert "default" in dash["evidence"] and "0.0.0.0" in dash["evidence"]
    pss = [f for f in d["findings"] if f["id"] == "CST-K8S-PSS-RUN-AS-NON-ROOT"]
    assert {f["path"] for f in pss} == {
        "spec.headGroupSpec.template.spec.containers[0].securityContext.runAsNonRoot",
        "spec.workerGroupSpecs[0].template.spec.containers[0].securityContext.runAsNonRoot"}
    ver = [f for f in d["findings"] if f["id"] == "CST-RAY-VULNERABLE-VERSION"][0]
    assert "CVE-2026-27482" in ver["evidence"] and "CVE-2026-32981" in ver["evidence"]
    assert "CVE-2023-6019" not in ver["evidence"]


@pytest.mark.parametrize("name", ["ray-cluster.complete.yaml", "ray-cluster.autoscaler.yaml"])
def test_other_unauthenticated_samples(name):
    _, d = findings(sample(name))
    assert {"CST-RAY-NO-AUTH", "CST-RAY-DASHBOARD-ALL-INTERFACES",
            "CST-RAY-NO-NETWORK-POLICY"} <= ids(d)


@pytest.mark.parametrize("name", ["ray-cluster.auth.yaml", "ray-cluster.auth-manual.yaml",
                                  "ray-cluster.auth.secret-ref.yaml"])
def test_auth_samples_pass_auth(name):
    _, d = findings(sample(name))
    assert "CST-RAY-NO-AUTH" not in ids(d)


def test_secret_ref_flags_manifest_secret_without_printing_it():
    code, out, _ = posture("--format", "json", sample("ray-cluster.auth.secret-ref.yaml"))
    d = json.loads(out)
    sec = [f for f in d["findings"] if f["id"] == "CST-CRED-SECRET-MANIFEST"]
    assert len(sec) == 1 and sec[0]["resource"]["name"] == "ray-cluster-token"
    assert "stringData.auth_token" in sec[0]["evidence"]
    assert "super-secret-example-token" not in out


def test_separate_ingress_nodeport_and_ingress_critical():
    code, d = findings(sample("ray-cluster.separate-ingress.yaml"))
    crit = [f for f in d["findings"] if f["id"] == "CST-RAY-EXPOSED-NO-AUTH"]
    assert code == 1
    assert {(f["resource"]["kind"], f["path"]) for f in crit} == {
        ("RayCluster", "spec.headGroupSpec.serviceType"),
        ("Ingress", "spec.rules[0].http.paths[0].backend")}
    assert all(f["severity"] == "critical" and "CVE-2023-48022" in f["evidence"] for f in crit)
    ing = {f["path"] for f in d["findings"] if f["id"] == "CST-RAY-INGRESS"}
    assert ing == {"spec.tls", "metadata.annotations", "spec.rules[0].host"}


def test_alb_ingress_internal_is_a_warning(tmp_path):
    _, d = findings(sample("ray-cluster-alb-ingress.yaml"))
    exp = [f for f in d["findings"] if f["id"].startswith("CST-RAY-EXPOSED")]
    assert [(f["id"], f["severity"]) for f in exp] == [("CST-RAY-EXPOSED", "medium")]
    public = tmp_path / "alb.yaml"
    public.write_text(open(sample("ray-cluster-alb-ingress.yaml")).read().replace(
        "scheme: internal", "scheme: internet-facing"))
    _, d = findings(str(public))
    exp = [f for f in d["findings"] if f["id"].startswith("CST-RAY-EXPOSED")]
    assert [(f["id"], f["severity"]) for f in exp] == [("CST-RAY-EXPOSED", "high")]


def test_rayclient_ingress():
    _, d = findings(sample("ingress-rayclient-tls.yaml"))
    exp = [f for f in d["findings"] if f["id"] == "CST-RAY-EXPOSED"]
    assert len(exp) == 1 and "Ray Client" in exp[0]["evidence"]


def test_network_policy_deny_all_passes_isolation():
    _, d = findings(sample("ray-cluster.network-policy-deny-all.yaml"))
    assert "CST-RAY-NO-NETWORK-POLICY" not in ids(d)
    assert "CST-RAY-NO-AUTH" in ids(d)


def test_env_credential_literal(tmp_path):
    f = tmp_path / "job.yaml"
    token = "ghp_" + "A" * 36
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                 "  - name: c\n    image: x\n    env:\n    - {name: RAY_AUTH_TOKEN, value: "
                 "abcdefghijklmnopqrstuvwxyz}\n    args: [\"--token=%s\"]\n" % token)
    code, out, _ = posture("--format", "json", str(f))
    d = json.loads(out)
    env = [x for x in d["findings"] if x["id"] == "CST-CRED-ENV-LITERAL"]
    assert [x["path"] for x in env] == ["spec.containers[0].env[0].value"]
    assert "abcdefghijklmnopqrstuvwxyz" not in out and token not in out


def test_tls_sample_ca_from_secret():
    _, d = findings(sample("ray-cluster.tls.yaml"))
    tls = [f for f in d["findings"] if f["id"] == "CST-RAY-TLS"]
    assert len(tls) == 1 and "ca-tls" in tls[0]["evidence"]


def test_operator_rbac():
    code, d = findings(os.path.join(KR, "rbac"))
    role = {f["id"] for f in d["findings"]
            if f["resource"]["kind"] == "ClusterRole" and f["resource"]["name"] == "kuberay-operator"}
    assert role == {"CST-K8S-RBAC-SECRETS-READ", "CST-K8S-RBAC-POD-CREATE",
                    "CST-K8S-RBAC-RBAC-WRITE", "CST-K8S-RBAC-WORKLOAD-WRITE"}
    sec = [f for f in d["findings"] if f["id"] == "CST-K8S-RBAC-SECRETS-READ"][0]
    assert "ServiceAccount default/kuberay-operator via ClusterRoleBinding kuberay-operator" \
        in sec["evidence"]
    assert "Kubescape C-0015, C-0186" in sec["equivalent"]


def test_who_can():
    code, out, _ = posture("--who-can", "create:rolebindings:rbac.authorization.k8s.io",
                           os.path.join(KR, "rbac"))
    assert code == 0
    assert out.splitlines() == [
        "ServiceAccount default/kuberay-operator: create rolebindings in all namespaces via "
        "ClusterRoleBinding kuberay-operator -> ClusterRole kuberay-operator (rule 21)"]
    code, out, _ = posture("--who-can", "impersonate:users", os.path.join(KR, "rbac"))
    assert code == 0 and out.startswith("no subject")


def test_whole_kuberay_tree_and_sarif():
    code, out, err = posture("--format", "sarif", "--no-credentials", KR)
    assert code == 1, err
    s = json.loads(out)
    assert s["version"] == "2.1.0" and sarifcheck.check(s) == []
    res = s["runs"][0]["results"]
    assert len(res) > 100
    assert any(r["ruleId"] == "CST-RAY-EXPOSED-NO-AUTH" and r["level"] == "error" for r in res)


def test_psa_fixtures_exact_via_cli():
    # Each fail fixture is reported with the finding of the check its name gives, at the
    # baseline level only baseline checks matter: a pass fixture has no baseline finding.
    pss = {"hostnamespaces": "HOST-NAMESPACES", "privileged": "PRIVILEGED",
           "capabilities_baseline": "CAPABILITIES-BASELINE", "hostpathvolumes": "HOST-PATH-VOLUMES",
           "hostports": "HOST-PORTS", "apparmorprofile": "APPARMOR", "selinuxoptions": "SELINUX",
           "procmount": "PROC-MOUNT", "seccompprofile_baseline": "SECCOMP-BASELINE",
           "sysctls": "SYSCTLS", "windowshostprocess": "WINDOWS-HOST-PROCESS",
           "hostprobesandhostlifecycle": "HOST-PROBES"}
    baseline_rules = {"CST-K8S-PSS-" + v for v in pss.values()}
    for outcome in ("pass", "fail"):
        d = os.path.join(PSA, "baseline", "v1.37", outcome)
        _, doc = findings(d, extra=("--pss-version", "1.37", "--no-credentials"))
        by_file = {}
        for f in doc["findings"]:
            by_file.setdefault(os.path.basename(f["file"]), set()).add(f["id"])
        names = sorted(os.listdir(d))
        assert len(names) == (15 if outcome == "pass" else 34)
        for n in names:
            got = by_file.get(n, set()) & baseline_rules
            if outcome == "pass":
                assert got == set(), n
            else:
                prefix = n.rstrip(".yaml").rstrip("0123456789")
                assert "CST-K8S-PSS-" + pss[prefix] in got, n


def test_launcher(tmp_path):
    f = tmp_path / "cluster.yaml"
    f.write_text("cluster_name: demo\nprovider:\n  type: aws\n  region: us-west-2\n"
                 "  security_group:\n    GroupName: ray\n    IpPermissions:\n"
                 "    - {IpProtocol: tcp, FromPort: 8265, ToPort: 8265,"
                 " IpRanges: [{CidrIp: 0.0.0.0/0}]}\n"
                 "docker:\n  image: rayproject/ray:2.52.0\n  run_options: [--privileged]\n"
                 "head_start_ray_commands:\n- ray start --head --port=6379 --dashboard-host=0.0.0.0\n")
    code, d = findings(str(f))
    assert code == 1
    assert ids(d) >= {"CST-RAY-VM-SG-OPEN", "CST-RAY-VM-DASHBOARD-PUBLIC",
                      "CST-RAY-VM-DOCKER-PRIVILEGED", "CST-RAY-VM-NO-AUTH"}
    assert [f["severity"] for f in d["findings"] if f["id"] == "CST-RAY-VM-SG-OPEN"] == ["critical"]


def test_kubectl_list_and_anchors(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("apiVersion: v1\nkind: List\nitems:\n"
                 "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n"
                 "  spec: &s\n    hostNetwork: true\n    containers: [{name: c, image: x}]\n"
                 "- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n  spec: *s\n")
    _, d = findings(str(f))
    hn = [(f["resource"]["name"], f["item"]) for f in d["findings"]
          if f["id"] == "CST-K8S-PSS-HOST-NAMESPACES"]
    assert hn == [("a", 0), ("b", 1)]


@pytest.mark.parametrize("text,needle", [
    ("a: [1, 2\n", "document 0"),
    ("a: &a [x]\nb: &a2 [*a, *a]\nc: *zz\n", "names no anchor"),
    ("---\nkind: Pod\n---\n{\"a\": 1, \"a\": 2}\n", "duplicate key"),
])
def test_malformed_input_exit_2(tmp_path, text, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    code, out, err = posture("--no-credentials", str(f))
    assert code == 2
    assert str(f) in err and needle in err


def test_alias_bomb_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(lines) + "\n")
    code, out, err = posture("--no-credentials", str(f))
    assert code == 2 and "expands past" in err


def test_usage():
    assert posture()[0] == 64
    assert posture("--format", "xml", "x")[0] == 64
    assert posture("--fail-on", "severe", "x")[0] == 64
    assert posture("--pss-version", "2.0", "x")[0] == 64


def test_fail_on_threshold():
    code, _, _ = posture("--fail-on", "critical", "--no-credentials",
                         sample("ray-cluster.sample.yaml"))
    assert code == 0
    code, _, _ = posture("--fail-on", "info", "--no-credentials", sample("ray-cluster.auth.yaml"))
    assert code == 1


# RBAC model: small manifests written per test.

RB = "apiVersion: rbac.authorization.k8s.io/v1\n"
SECRETS_GET = "rules:\n- {apiGroups: [\"\"], resources: [secrets], verbs: [get]}\n"


def manifest(tmp_path, *docs):
    f = tmp_path / "m.yaml"
    f.write_text("---\n".join(docs))
    return str(f)


def crole(name, labels="{}", selectors=None, rules="rules: []\n"):
    agg = "" if selectors is None else "aggregationRule:\n  clusterRoleSelectors:\n" + "".join(
        "  - %s\n" % s for s in selectors)
    return RB + "kind: ClusterRole\nmetadata: {name: %s, labels: %s}\n%s%s" % (
        name, labels, agg, rules)


def crb(role, subject, kind="ClusterRoleBinding", ns=None, ref="ClusterRole"):
    meta = "{name: b-%s}" % role if ns is None else "{name: b-%s, namespace: %s}" % (role, ns)
    return RB + "kind: %s\nmetadata: %s\nroleRef: {apiGroup: rbac.authorization.k8s.io, " \
        "kind: %s, name: \"%s\"}\nsubjects:\n- %s\n" % (kind, meta, ref, role, subject)


SA_APP = "{kind: ServiceAccount, name: app, namespace: prod}"


def deployment(sa_field="serviceAccountName"):
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: prod}\nspec:\n" \
        "  %s: app\n  containers: [{name: c, image: nginx}]\n" % sa_field


def takeover(d):
    return [f for f in d["findings"] if f["id"] == "CST-K8S-WORKLOAD-TAKEOVER-SA"]


def test_rbac_aggregation_is_a_fast_fixed_point(tmp_path):
    # 200 ClusterRoles that all aggregate each other (the pairwise rounds took minutes at 100).
    docs = [crole("r%d" % i, "{agg: \"y\"}", ["matchLabels: {agg: \"y\"}"],
                  "rules:\n- {apiGroups: [g%d], resources: [a, b], verbs: [get]}\n"
                  "- {apiGroups: [h%d], resources: [a, b], verbs: [get]}\n" % (i, i))
            for i in range(200)]
    docs.append(crb("r0", "{kind: User, name: alice}"))
    code, out, err = posture("--who-can", "get:a:h199", manifest(tmp_path, *docs))
    assert code == 0, err
    assert out.splitlines() == ["User alice: get a in all namespaces via ClusterRoleBinding "
                                "b-r0 -> ClusterRole r0 (rule 399)"]
    # A chain of 21 (past the old 16 rounds) resolves to its end.
    docs = [crole("c%d" % i, "{l%d: \"y\"}" % i, ["matchLabels: {l%d: \"y\"}" % (i + 1)])
            for i in range(20)]
    docs += [crole("c20", "{l20: \"y\"}", rules=SECRETS_GET), crb("c0", "{kind: User, name: a}")]
    _, d = findings(manifest(tmp_path, *docs))
    sec = {f["resource"]["name"] for f in d["findings"] if f["id"] == "CST-K8S-RBAC-SECRETS-READ"}
    assert sec == {"c%d" % i for i in range(21)}


@pytest.mark.parametrize("selector", [
    "matchExpressions: [{key: rbac.example.com/agg, operator: Exists}]",
    "matchExpressions: [{key: rbac.example.com/agg, operator: In, values: [\"yes\"]}]",
    "{}",
])
def test_rbac_aggregation_selectors(tmp_path, selector):
    m = manifest(tmp_path, crole("agg", selectors=[selector]),
                 crole("piece", "{rbac.example.com/agg: \"yes\"}", rules=SECRETS_GET),
                 crb("agg", "{kind: User, name: bob}"))
    code, out, _ = posture("--who-can", "get:secrets", m)
    assert code == 0
    assert "User bob: get secrets in all namespaces via ClusterRoleBinding b-agg -> " \
        "ClusterRole agg" in out


def test_rbac_resource_names_escalation(tmp_path):
    rules = "rules:\n" \
        "- {apiGroups: [\"\"], resources: [groups], verbs: [impersonate], " \
        "resourceNames: [\"system:masters\"]}\n" \
        "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], " \
        "resourceNames: [cluster-admin]}\n" \
        "- {apiGroups: [\"\"], resources: [serviceaccounts/token], verbs: [create], " \
        "resourceNames: [kube-controller-manager]}\n" \
        "- {apiGroups: [\"\"], resources: [secrets], verbs: [get], resourceNames: [one]}\n"
    m = manifest(tmp_path, crole("imp", rules=rules), crb("imp", SA_APP), deployment())
    _, d = findings(m)
    role = {f["id"]: f["evidence"] for f in d["findings"] if f["resource"]["name"] == "imp"}
    assert set(role) == {"CST-K8S-RBAC-IMPERSONATE", "CST-K8S-RBAC-BIND-ESCALATE",
                         "CST-K8S-RBAC-SA-TOKEN-CREATE"}
    assert "named [cluster-admin]" in role["CST-K8S-RBAC-BIND-ESCALATE"]
    assert len(takeover(d)) == 1
    code, out, _ = posture("--who-can", "bind:clusterroles:rbac.authorization.k8s.io", m)
    assert out.strip().endswith("(rule 1) (only resourceNames cluster-admin)")
    code, out, _ = posture("--who-can", "get:secrets", m)
    assert out.startswith("no subject")


def test_rbac_user_named_as_service_account(tmp_path):
    m = manifest(tmp_path, crb("cluster-admin", "{kind: User, apiGroup: rbac.authorization."
                                                "k8s.io, name: \"system:serviceaccount:prod:app\"}"),
                 deployment())
    _, d = findings(m)
    assert len(takeover(d)) == 1 and "every verb on every resource" in takeover(d)[0]["evidence"]


def test_rbac_bootstrap_roles(tmp_path):
    # cluster-admin, admin, edit and view exist in every cluster even when not in the input.
    m = manifest(tmp_path, crb("cluster-admin", "{kind: User, name: root}"))
    code, out, _ = posture("--who-can", "get:secrets", m)
    assert out == "User root: get secrets in all namespaces via ClusterRoleBinding " \
        "b-cluster-admin -> ClusterRole cluster-admin (rule 0)\n"
    for role, danger in (("edit", True), ("admin", True), ("view", False)):
        m = manifest(tmp_path, crb(role, SA_APP, "RoleBinding", "prod"), deployment())
        _, d = findings(m)
        assert bool(takeover(d)) == danger, role
        if danger:
            ev = takeover(d)[0]["evidence"]
            assert "read secrets" in ev and "create pods" in ev
            code, out, _ = posture("--who-can", "create:pods/exec", m)
            assert out.startswith("ServiceAccount prod/app: create pods/exec in prod via "
                                  "RoleBinding prod/b-%s -> ClusterRole %s" % (role, role))
    # An input ClusterRole labelled aggregate-to-view is part of view.
    m = manifest(tmp_path, crb("view", "{kind: User, name: v}"),
                 crole("extra", "{rbac.authorization.k8s.io/aggregate-to-view: \"true\"}",
                       rules=SECRETS_GET))
    code, out, _ = posture("--who-can", "get:secrets", m)
    assert out.startswith("User v: get secrets")


def test_rbac_subresource_wildcards(tmp_path):
    # "pods/*" is not a wildcard in Kubernetes; "*/exec" is.
    m = manifest(tmp_path, crole("podsub", rules="rules:\n- {apiGroups: [\"\"], resources: "
                                 "[\"pods/*\"], verbs: [create]}\n"), crb("podsub", SA_APP))
    _, d = findings(m)
    assert "CST-K8S-RBAC-POD-EXEC" not in ids(d)
    code, out, _ = posture("--who-can", "create:pods/exec", m)
    assert out.startswith("no subject")
    m = manifest(tmp_path, crole("execall", rules="rules:\n- {apiGroups: [\"\"], resources: "
                                 "[\"*/exec\"], verbs: [create]}\n"),
                 crb("execall", "{kind: User, name: bob}"))
    code, out, _ = posture("--who-can", "create:pods/exec", m)
    assert out.startswith("User bob: create pods/exec in all namespaces")


def test_rbac_discovery_exemption_needs_the_bootstrap_clusterrole(tmp_path):
    anon = "{kind: Group, apiGroup: rbac.authorization.k8s.io, name: \"system:unauthenticated\"}"
    role = RB + "kind: Role\nmetadata: {name: \"system:discovery\", namespace: prod}\n" + \
        SECRETS_GET
    _, d = findings(manifest(tmp_path, role, crb("system:discovery", anon, "RoleBinding",
                                                 "prod", "Role")))
    assert "CST-K8S-RBAC-ANONYMOUS" in ids(d)
    _, d = findings(manifest(tmp_path, crole("system:discovery", rules=SECRETS_GET),
                             crb("system:discovery", anon)))
    assert "CST-K8S-RBAC-ANONYMOUS" in ids(d)
    _, d = findings(manifest(tmp_path, crb("system:discovery", anon)))
    assert "CST-K8S-RBAC-ANONYMOUS" not in ids(d)


def test_rbac_deprecated_service_account_field(tmp_path):
    _, d = findings(manifest(tmp_path, crb("cluster-admin", SA_APP), deployment("serviceAccount")))
    assert [f["path"] for f in takeover(d)] == ["spec.serviceAccount"]


def test_kuberay_autoscaler_service_account(tmp_path):
    # With in-tree autoscaling and no serviceAccountName the head runs as the SA named after
    # the cluster.
    rc = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: rc, namespace: ml}\n" \
        "spec:\n  enableInTreeAutoscaling: true\n  headGroupSpec:\n    template:\n      spec:\n" \
        "        containers: [{name: ray-head, image: \"rayproject/ray:2.52.0\"}]\n"
    _, d = findings(manifest(tmp_path, rc, crb("cluster-admin", "{kind: ServiceAccount, "
                                                                "name: rc, namespace: ml}")))
    assert [f["path"] for f in takeover(d)] == \
        ["spec.headGroupSpec.template.spec.serviceAccountName"]


# Network policy types, Ray isolation, TLS switch, launcher dashboard flag.

DEPLOY_PROD = "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: prod}\nspec:\n" \
    "  containers: [{name: c, image: nginx}]\n"


@pytest.mark.parametrize("spec,missing", [
    ("ingress: []\n  egress: []\n", "egress"),             # empty egress adds no Egress type
    ("policyTypes: []\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n", None),
    ("egress: [{}]\n", None),
])
def test_netpol_policy_types_default(tmp_path, spec, missing):
    np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, " \
        "namespace: prod}\nspec:\n  podSelector: {}\n  " + spec
    _, d = findings(manifest(tmp_path, np, DEPLOY_PROD))
    ev = [f["evidence"] for f in d["findings"] if f["id"] == "CST-K8S-NETPOL-MISSING"]
    assert ev == ([] if missing is None else [
        "no NetworkPolicy in namespace prod isolates these pods for egress"])


RC_HEAD = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: rc, namespace: ml}\nspec:\n" \
    "%s  headGroupSpec:\n    rayStartParams: {dashboard-host: \"127.0.0.1\"}\n    template:\n" \
    "      spec:\n        containers:\n        - name: ray-head\n" \
    "          image: rayproject/ray:2.52.0\n%s"


def test_ray_network_policy_needs_ingress(tmp_path):
    egress_only = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: " \
        "{name: e, namespace: ml}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n"
    _, d = findings(manifest(tmp_path, RC_HEAD % ("", ""), egress_only))
    assert "CST-RAY-NO-NETWORK-POLICY" in ids(d)
    for mode, flagged in (("DenyAllEgress", True), ("DenyAllIngress", False), ("DenyAll", False)):
        _, d = findings(manifest(tmp_path, RC_HEAD % ("  networkPolicy: {mode: %s}\n" % mode, "")))
        assert ("CST-RAY-NO-NETWORK-POLICY" in ids(d)) == flagged, mode


def test_ray_use_tls_zero_is_off(tmp_path):
    env = "          env: [{name: RAY_USE_TLS, value: \"%s\"}]\n"
    _, d = findings(manifest(tmp_path, RC_HEAD % ("", env % "0")))
    assert "CST-RAY-TLS" not in ids(d)
    _, d = findings(manifest(tmp_path, RC_HEAD % ("", env % "1")))
    assert "CST-RAY-TLS" in ids(d)


@pytest.mark.parametrize("flag", ["--dashboard-host 0.0.0.0", "--dashboard-host=0.0.0.0",
                                  "--dashboard-host='0.0.0.0'"])
def test_launcher_dashboard_host_forms(tmp_path, flag):
    f = tmp_path / "cluster.yaml"
    f.write_text("cluster_name: c\nprovider: {type: aws, region: us-west-2, security_group: "
                 "{GroupName: sg}}\nhead_start_ray_commands:\n- ray start --head %s --port=6379\n"
                 % flag)
    _, d = findings(str(f))
    assert "CST-RAY-VM-DASHBOARD-PUBLIC" in ids(d)
    f.write_text("cluster_name: c\nprovider: {type: aws, region: us-west-2, security_group: "
                 "{GroupName: sg}}\nhead_start_ray_commands:\n- ray start --head "
                 "--dashboard-host 0.0.0.01\n")
    _, d = findings(str(f))
    assert "CST-RAY-VM-DASHBOARD-PUBLIC" not in ids(d)


# Old Ingress default backend.

@pytest.mark.parametrize("api,port", [("extensions/v1beta1", "8265"),
                                      ("networking.k8s.io/v1beta1", "dashboard")])
def test_ray_ingress_v1beta1_default_backend(tmp_path, api, port):
    ing = "apiVersion: %s\nkind: Ingress\nmetadata: {name: dash, namespace: ml}\nspec:\n" \
        "  backend: {serviceName: rc-head-svc, servicePort: %s}\n" % (api, port)
    _, d = findings(manifest(tmp_path, RC_HEAD % ("", ""), ing))
    exp = [(f["id"], f["path"]) for f in d["findings"] if f["resource"]["kind"] == "Ingress" and
           f["id"].startswith("CST-RAY-EXPOSED")]
    assert exp == [("CST-RAY-EXPOSED-NO-AUTH", "spec.backend")]
    assert "spec.backend" in {f["path"] for f in d["findings"] if f["id"] == "CST-RAY-INGRESS"}


# The takeover check needs the token in the pod.

SA_DOC = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: prod}\n%s"
PROJECTED = "  volumes:\n  - name: tok\n    projected:\n      sources:\n" \
    "      - serviceAccountToken: {path: token}\n"


@pytest.mark.parametrize("pod_am,sa_am,extra,reported", [
    (None, None, "", True),
    ("false", None, "", False),           # the pod does not mount it
    (None, "false", "", False),           # the ServiceAccount does not
    ("true", "false", "", True),          # the pod's setting wins
    ("false", "true", "", False),
    ("false", None, PROJECTED, True),     # a projected token is mounted whatever the setting
])
def test_rbac_takeover_needs_the_token(tmp_path, pod_am, sa_am, extra, reported):
    pod = deployment() + ("" if pod_am is None else
                          "  automountServiceAccountToken: %s\n" % pod_am) + extra
    docs = [crb("cluster-admin", SA_APP), pod]
    if sa_am is not None:
        docs.append(SA_DOC % ("automountServiceAccountToken: %s\n" % sa_am))
    _, d = findings(manifest(tmp_path, *docs))
    assert bool(takeover(d)) == reported


def test_rbac_bootstrap_roles_match_kubernetes(tmp_path):
    # edit (and so admin) writes leases since Kubernetes 1.25.
    for role in ("edit", "admin"):
        m = manifest(tmp_path, crb(role, "{kind: User, name: u}"))
        code, out, _ = posture("--who-can", "update:leases:coordination.k8s.io", m)
        assert out.startswith("User u: update leases in all namespaces"), role
    m = manifest(tmp_path, crb("view", "{kind: User, name: u}"))
    code, out, _ = posture("--who-can", "update:leases:coordination.k8s.io", m)
    assert out.startswith("no subject")
    # view is labelled aggregate-to-edit and edit aggregate-to-admin: a ClusterRole labelled
    # aggregate-to-view is part of edit and admin too, one labelled aggregate-to-edit of admin.
    widgets = "rules:\n- {apiGroups: [example.com], resources: [widgets], verbs: [get]}\n"
    for label, roles in (("view", ("view", "edit", "admin")), ("edit", ("edit", "admin")),
                         ("admin", ("admin",))):
        for role in ("view", "edit", "admin"):
            m = manifest(tmp_path, crb(role, "{kind: User, name: u}"),
                         crole("w", "{rbac.authorization.k8s.io/aggregate-to-%s: \"true\"}" % label,
                               rules=widgets))
            code, out, _ = posture("--who-can", "get:widgets:example.com", m)
            assert out.startswith("User u: get widgets") == (role in roles), (label, role)


# The version run, TLS on every Ray process.

def test_ray_version_is_the_images(tmp_path):
    def ver(rv, image):
        doc = (RC_HEAD % ("  rayVersion: \"%s\"\n" % rv, "")).replace(
            "rayproject/ray:2.52.0", image)
        _, d = findings(manifest(tmp_path, doc))
        return {f["id"]: (f["path"], f["evidence"]) for f in d["findings"]
                if f["id"] in ("CST-RAY-VULNERABLE-VERSION", "CST-RAY-VERSION-MISMATCH")}
    image = "spec.headGroupSpec.template.spec.containers[0].image"
    got = ver("2.55.0", "rayproject/ray:2.52.0-py311")
    assert got["CST-RAY-VULNERABLE-VERSION"][0] == image
    assert got["CST-RAY-VULNERABLE-VERSION"][1].startswith("Ray 2.52.0: ")
    assert got["CST-RAY-VERSION-MISMATCH"][0] == "spec.rayVersion"
    assert "2.55.0" in got["CST-RAY-VERSION-MISMATCH"][1]
    # An image 2.55 declared as 2.52: not vulnerable, still a mismatch.
    assert set(ver("2.52.0", "rayproject/ray:2.55.0")) == {"CST-RAY-VERSION-MISMATCH"}
    # Equal versions: no mismatch; an image tag naming no version leaves rayVersion.
    assert set(ver("2.52", "rayproject/ray:2.52.0")) == {"CST-RAY-VULNERABLE-VERSION"}
    got = ver("2.52.0", "registry.example/ray:latest")
    assert set(got) == {"CST-RAY-VULNERABLE-VERSION"}
    assert got["CST-RAY-VULNERABLE-VERSION"][0] == "spec.rayVersion"


TLS_ENV = "          env:\n          - {name: RAY_USE_TLS, value: \"1\"}\n" \
    "          - {name: RAY_TLS_SERVER_CERT, value: /tls/tls.crt}\n" \
    "          - {name: RAY_TLS_SERVER_KEY, value: /tls/tls.key}\n" \
    "          - {name: RAY_TLS_CA_CERT, value: /tls/ca.crt}\n"


def test_ray_tls_on_the_head_needs_it_everywhere(tmp_path):
    workers = "  workerGroupSpecs:\n  - groupName: g\n    template:\n      spec:\n" \
        "        containers:\n        - {name: ray-worker, image: \"rayproject/ray:2.52.0\"%s}\n" \
        "        - {name: logs, image: fluent/fluent-bit}\n"
    rc = (RC_HEAD % ("  enableInTreeAutoscaling: true\n", TLS_ENV)) + workers % ""
    _, d = findings(manifest(tmp_path, rc))
    tls = {f["path"]: f["evidence"] for f in d["findings"] if f["id"] == "CST-RAY-TLS"}
    assert set(tls) == {"spec.workerGroupSpecs[0].template.spec.containers[0].env",
                        "spec.autoscalerOptions.env"}
    assert "worker container ray-worker does not set RAY_USE_TLS" in \
        tls["spec.workerGroupSpecs[0].template.spec.containers[0].env"]
    assert "the autoscaler container autoscaler" in tls["spec.autoscalerOptions.env"]
    # Every Ray process with the variables: nothing to report; RAY_USE_TLS=0 on a worker is.
    flow = ", env: [{name: RAY_USE_TLS, value: \"1\"}, {name: RAY_TLS_SERVER_CERT, value: a}, " \
        "{name: RAY_TLS_SERVER_KEY, value: b}, {name: RAY_TLS_CA_CERT, value: c}]"
    auto = "  autoscalerOptions:\n    env: [{name: RAY_USE_TLS, value: \"1\"}, " \
        "{name: RAY_TLS_SERVER_CERT, value: a}, {name: RAY_TLS_SERVER_KEY, value: b}, " \
        "{name: RAY_TLS_CA_CERT, value: c}]\n"
    rc = (RC_HEAD % ("  enableInTreeAutoscaling: true\n" + auto, TLS_ENV)) + workers % flow
    _, d = findings(manifest(tmp_path, rc))
    assert "CST-RAY-TLS" not in ids(d)
    rc = (RC_HEAD % ("", TLS_ENV)) + workers % ", env: [{name: RAY_USE_TLS, value: \"0\"}]"
    _, d = findings(manifest(tmp_path, rc))
    ev = [f["evidence"] for f in d["findings"] if f["id"] == "CST-RAY-TLS"]
    assert len(ev) == 1 and "sets RAY_USE_TLS=0" in ev[0]


def test_ray_tls_sample_with_autoscaling(tmp_path):
    # The KubeRay TLS sample with its autoscaling lines switched on but not their env.
    f = tmp_path / "tls.yaml"
    f.write_text(open(sample("ray-cluster.tls.yaml")).read().replace(
        "# enableInTreeAutoscaling: true", "enableInTreeAutoscaling: true"))
    _, d = findings(str(f))
    assert sorted(f["path"] for f in d["findings"] if f["id"] == "CST-RAY-TLS") == [
        "spec.autoscalerOptions.env", "spec.headGroupSpec.template.spec.volumes[1].secret"]


# Target ports by name.

DASH_PORT = "          ports: [{name: dash, containerPort: 8265}, " \
    "{name: web, containerPort: 8080}]\n"


@pytest.mark.parametrize("target,reported", [("dash", True), ("web", False)])
def test_ray_service_named_target_port(tmp_path, target, reported):
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: ui, namespace: ml}\nspec:\n" \
        "  type: LoadBalancer\n  selector: {ray.io/cluster: rc, ray.io/node-type: head}\n" \
        "  ports: [{name: http, port: 80, targetPort: %s}]\n" % target
    _, d = findings(manifest(tmp_path, RC_HEAD % ("", DASH_PORT), svc))
    exp = [(f["id"], f["path"]) for f in d["findings"] if f["resource"]["kind"] == "Service"]
    assert exp == ([("CST-RAY-EXPOSED-NO-AUTH", "spec.ports[0]")] if reported else [])
    # A Deployment's pods name the port too; an Ingress reaches it through a ClusterIP Service.
    dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ml}\nspec:\n" \
        "  template:\n    metadata: {labels: {app: raydash}}\n    spec:\n      containers:\n" \
        "      - name: c\n        image: example/proxy\n" + DASH_PORT.replace("    ", "  ", 1)
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: p, namespace: ml}\nspec:\n" \
        "  selector: {app: raydash}\n  ports: [{port: 80, targetPort: %s}]\n" % target
    ing = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: ml}\n" \
        "spec:\n  rules:\n  - host: ray.example\n    http:\n      paths:\n      - path: /\n" \
        "        pathType: Prefix\n        backend: {service: {name: p, port: {number: 80}}}\n"
    _, d = findings(manifest(tmp_path, dep, svc, ing))
    exp = [(f["id"], f["path"]) for f in d["findings"] if f["resource"]["kind"] == "Ingress" and
           f["id"].startswith("CST-RAY-EXPOSED")]
    assert exp == ([("CST-RAY-EXPOSED", "spec.rules[0].http.paths[0].backend")] if reported
                   else [])
