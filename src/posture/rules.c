/*
 * The posture rules: stable ids, default severities, titles, fixes and the equivalent ids of
 * other tools (Pod Security Standards check, Kubescape C-xxxx, Checkov CKV_K8S_xx / CKV_AWS_xx,
 * KubeLinter check, CIS Kubernetes Benchmark, Ray advisories, AWS Config rule, Security Hub
 * control, Prowler check). Ids never change meaning; new checks get
 * new ids. The table is sorted by id (cst_pst_rule_find searches it).
 */
#include "posture/posture.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define H CST_PST_HIGH
#define M CST_PST_MEDIUM
#define L CST_PST_LOW
#define C CST_PST_CRITICAL
#define I CST_PST_INFO

static const struct cst_pst_rule rules[] = {
	{ "CST-BEDROCK-AGENT-NO-CMK", M, "Bedrock agent without a customer managed KMS key",
	    "Set customerEncryptionKeyArn to a customer managed KMS key", "Checkov CKV_AWS_373" },
	{ "CST-BEDROCK-AGENT-NO-GUARDRAIL", H, "Bedrock agent without a guardrail",
	    "Attach a guardrail: guardrailConfiguration.guardrailIdentifier and guardrailVersion",
	    "Prowler bedrock_agent_guardrail_enabled; Checkov CKV_AWS_383" },
	{ "CST-BEDROCK-GUARDRAIL-CONTENT-FILTERS", M, "Guardrail content filters missing or "
	    "below MEDIUM", "Add SEXUAL, VIOLENCE, HATE, INSULTS and MISCONDUCT filters at MEDIUM "
	    "or HIGH on input and output, with a blocking action", "" },
	{ "CST-BEDROCK-GUARDRAIL-GROUNDING", M, "Guardrail without a contextual grounding check",
	    "Add a GROUNDING filter (contextualGroundingPolicy) for answers built from retrieved "
	    "sources", "Prowler bedrock_guardrail_contextual_grounding_filter_enabled" },
	{ "CST-BEDROCK-GUARDRAIL-PROMPT-ATTACK", H, "Guardrail prompt-attack filter missing or "
	    "below HIGH", "Add a PROMPT_ATTACK content filter with inputStrength HIGH and a "
	    "blocking input action", "Prowler bedrock_guardrail_prompt_attack_filter_enabled" },
	{ "CST-BEDROCK-GUARDRAIL-SENSITIVE-INFO", H, "Guardrail without sensitive-information "
	    "filters", "Add piiEntities (and regexes for your own secrets) to "
	    "sensitiveInformationPolicy with BLOCK or ANONYMIZE",
	    "Prowler bedrock_guardrail_sensitive_information_filter_enabled" },
	{ "CST-BEDROCK-LOGGING-DISABLED", M, "Bedrock model invocation logging disabled or "
	    "without a destination", "put-model-invocation-logging-configuration with an S3 "
	    "bucket or a CloudWatch log group and role",
	    "Prowler bedrock_model_invocation_logging_enabled" },
	{ "CST-BEDROCK-LOGGING-NO-TEXT", M, "Bedrock invocation logs without text data",
	    "Set textDataDeliveryEnabled: true so prompts and answers are logged", "" },
	{ "CST-CRED-ENV-LITERAL", H, "Credential-named environment variable with a literal value",
	    "Take the value from a Secret (valueFrom.secretKeyRef) or a mounted file",
	    "Kubescape C-0012; KubeLinter env-var-secret; Checkov CKV_K8S_35; R-RAY-11" },
	{ "CST-CRED-HARDCODED", H, "Hard-coded credential in the document",
	    "Remove it, rotate it, and reference a Secret managed outside the manifest",
	    "Kubescape C-0012; gitleaks; Prowler sagemaker_notebook_instance_no_secrets; "
	    "R-RAY-11; R-SM-01; R-SM-02; R-SM-04" },
	{ "CST-CRED-SECRET-MANIFEST", M, "Secret object with literal data in a manifest",
	    "Keep Secret values out of source: use an external secret store or sealed secrets",
	    "R-RAY-11" },
	{ "CST-K8S-EXTERNAL-EXPOSURE", L, "Workload reachable from outside the cluster",
	    "Use a ClusterIP Service and expose only what must be public, behind authentication",
	    "Kubescape C-0256, C-0266; KubeLinter exposed-services" },
	{ "CST-K8S-HOSTPATH-SENSITIVE", C, "hostPath volume of a sensitive host directory",
	    "Do not mount host system directories or container runtime sockets",
	    "KubeLinter sensitive-host-mounts, docker-sock; Kubescape C-0074; Checkov CKV_K8S_27" },
	{ "CST-K8S-HOSTPATH-WRITABLE", H, "hostPath volume mounted writable",
	    "Mount it readOnly: true, or use another volume type",
	    "Kubescape C-0045; KubeLinter writable-host-mount" },
	{ "CST-K8S-INGRESS-NO-TLS", M, "Ingress without TLS", "Add spec.tls with a certificate",
	    "Kubescape C-0263" },
	{ "CST-K8S-INSECURE-CAPABILITIES", H, "Container adds an insecure Linux capability",
	    "Drop ALL and add back only what is needed (NET_BIND_SERVICE)",
	    "Kubescape C-0046; Checkov CKV_K8S_25, CKV_K8S_39" },
	{ "CST-K8S-NETPOL-MISSING", M, "Pods not selected by any NetworkPolicy",
	    "Add a NetworkPolicy in the namespace that selects the pods (default deny first)",
	    "Kubescape C-0260; Checkov CKV2_K8S_6; KubeLinter non-isolated-pod; CIS 5.3.2" },
	{ "CST-K8S-PSS-ALLOW-PRIVILEGE-ESCALATION", M, "allowPrivilegeEscalation is not false",
	    "Set securityContext.allowPrivilegeEscalation: false on every container",
	    "PSS restricted allowPrivilegeEscalation; Kubescape C-0016; Checkov CKV_K8S_20; "
	    "KubeLinter privilege-escalation-container" },
	{ "CST-K8S-PSS-APPARMOR", H, "AppArmor profile overridden or disabled",
	    "Use RuntimeDefault or a Localhost profile", "PSS baseline appArmorProfile; "
	    "Kubescape C-0055" },
	{ "CST-K8S-PSS-CAPABILITIES-BASELINE", H, "Capability added outside the default set",
	    "Add only capabilities of the default set", "PSS baseline capabilities_baseline; "
	    "Checkov CKV_K8S_25" },
	{ "CST-K8S-PSS-CAPABILITIES-RESTRICTED", M, "Capabilities not dropped to the minimum",
	    "capabilities.drop: [ALL]; add only NET_BIND_SERVICE",
	    "PSS restricted capabilities_restricted; Checkov CKV_K8S_28, CKV_K8S_37; "
	    "KubeLinter drop-net-raw-capability" },
	{ "CST-K8S-PSS-HOST-NAMESPACES", H, "Pod shares the host network, PID or IPC namespace",
	    "Remove hostNetwork, hostPID and hostIPC", "PSS baseline hostNamespaces; Kubescape "
	    "C-0038, C-0041; Checkov CKV_K8S_17, CKV_K8S_18, CKV_K8S_19; KubeLinter host-network, "
	    "host-pid, host-ipc" },
	{ "CST-K8S-PSS-HOST-PATH-VOLUMES", H, "hostPath volume",
	    "Use an emptyDir, configMap, secret or PVC volume instead",
	    "PSS baseline hostPathVolumes; Kubescape C-0048" },
	{ "CST-K8S-PSS-HOST-PORTS", M, "Container binds a host port",
	    "Remove hostPort; expose through a Service", "PSS baseline hostPorts; Kubescape "
	    "C-0044; Checkov CKV_K8S_26" },
	{ "CST-K8S-PSS-HOST-PROBES", M, "Probe or lifecycle handler targets another host",
	    "Leave host unset in probes and lifecycle handlers",
	    "PSS baseline hostProbesAndHostLifecycle" },
	{ "CST-K8S-PSS-PRIVILEGED", C, "Privileged container",
	    "Remove securityContext.privileged: true", "PSS baseline privileged; Kubescape C-0057; "
	    "Checkov CKV_K8S_16; KubeLinter privileged-container" },
	{ "CST-K8S-PSS-PROC-MOUNT", H, "procMount unmasked", "Leave procMount unset or Default",
	    "PSS baseline procMount; KubeLinter unsafe-proc-mount" },
	{ "CST-K8S-PSS-PROC-MOUNT-RESTRICTED", M, "procMount unmasked in a user namespace",
	    "Leave procMount unset or Default", "PSS restricted procMount_restricted" },
	{ "CST-K8S-PSS-RESTRICTED-VOLUMES", M, "Volume type outside the restricted set",
	    "Use configMap, csi, downwardAPI, emptyDir, ephemeral, image, PVC, projected or secret",
	    "PSS restricted restrictedVolumes" },
	{ "CST-K8S-PSS-RUN-AS-NON-ROOT", M, "Containers may run as root",
	    "Set securityContext.runAsNonRoot: true on the pod (and never false on a container)",
	    "PSS restricted runAsNonRoot; Kubescape C-0013; Checkov CKV_K8S_23; KubeLinter "
	    "run-as-non-root" },
	{ "CST-K8S-PSS-RUN-AS-USER", M, "Runs as UID 0", "Set runAsUser to a non-zero UID",
	    "PSS restricted runAsUser; Kubescape C-0013; Checkov CKV_K8S_40" },
	{ "CST-K8S-PSS-SECCOMP-BASELINE", H, "seccomp Unconfined",
	    "Use seccompProfile.type RuntimeDefault", "PSS baseline seccompProfile_baseline; "
	    "Kubescape C-0055; Checkov CKV_K8S_31" },
	{ "CST-K8S-PSS-SECCOMP-RESTRICTED", M, "No seccomp profile",
	    "Set securityContext.seccompProfile.type: RuntimeDefault on the pod",
	    "PSS restricted seccompProfile_restricted; Checkov CKV_K8S_31, CKV_K8S_32" },
	{ "CST-K8S-PSS-SELINUX", H, "SELinux options outside the allowed set",
	    "Leave seLinuxOptions user and role unset and type a container type",
	    "PSS baseline seLinuxOptions; Kubescape C-0055" },
	{ "CST-K8S-PSS-SYSCTLS", H, "Unsafe sysctl", "Set only the safe, namespaced sysctls",
	    "PSS baseline sysctls; KubeLinter unsafe-sysctls" },
	{ "CST-K8S-PSS-WINDOWS-HOST-PROCESS", C, "Windows HostProcess container",
	    "Remove windowsOptions.hostProcess", "PSS baseline windowsHostProcess" },
	{ "CST-K8S-RBAC-ANONYMOUS", H, "Anonymous or all-authenticated subjects bound",
	    "Bind roles to named users, groups or service accounts only",
	    "Kubescape C-0262, C-0265; R-K8S-10" },
	{ "CST-K8S-RBAC-BIND-ESCALATE", H, "May bind or escalate roles",
	    "Remove bind and escalate on roles and clusterroles",
	    "Kubescape C-0191; Checkov CKV_K8S_157, CKV_K8S_158; CIS 5.1.8" },
	{ "CST-K8S-RBAC-CLUSTER-ADMIN", C, "Cluster-admin-equivalent permissions",
	    "Grant only the verbs and resources needed; never * on * in *",
	    "Kubescape C-0035, C-0185; KubeLinter cluster-admin-role-binding; CIS 5.1.1" },
	{ "CST-K8S-RBAC-CSR-APPROVE", H, "May approve certificate signing requests",
	    "Remove update/approve on certificatesigningrequests/approval",
	    "Kubescape C-0280; Checkov CKV_K8S_156" },
	{ "CST-K8S-RBAC-IMPERSONATE", H, "May impersonate users, groups or service accounts",
	    "Remove the impersonate verb", "Kubescape C-0065; Checkov CKV2_K8S_3; CIS 5.1.8" },
	{ "CST-K8S-RBAC-NODES-PROXY", H, "May use nodes/proxy (kubelet API: exec in any pod)",
	    "Remove access to nodes/proxy", "Kubescape C-0279; Checkov CKV2_K8S_2" },
	{ "CST-K8S-RBAC-POD-CREATE", M, "May create pods (and so run as any service account "
	    "of the namespace and read its secrets)", "Let controllers create pods; grant "
	    "create on pods only to them", "Kubescape C-0188; KubeLinter access-to-create-pods; "
	    "CIS 5.1.4" },
	{ "CST-K8S-RBAC-POD-EXEC", H, "May exec into, attach to or port-forward pods",
	    "Remove create/get on pods/exec, pods/attach and pods/portforward",
	    "Kubescape C-0002, C-0063; Checkov CKV2_K8S_2" },
	{ "CST-K8S-RBAC-PV-CREATE", M, "May create persistent volumes (host paths)",
	    "Remove create on persistentvolumes", "Kubescape C-0278; CIS 5.1.9" },
	{ "CST-K8S-RBAC-RBAC-WRITE", H, "May create or change roles and role bindings",
	    "Let only cluster administrators write RBAC objects",
	    "Kubescape C-0191; Checkov CKV2_K8S_1" },
	{ "CST-K8S-RBAC-SA-TOKEN-CREATE", H, "May create service account tokens",
	    "Remove create on serviceaccounts/token", "Kubescape C-0282; CIS 5.1.13" },
	{ "CST-K8S-RBAC-SECRETS-READ", H, "May read secrets",
	    "Remove get, list and watch on secrets, or narrow them with resourceNames",
	    "Kubescape C-0015, C-0186; KubeLinter access-to-secrets; Checkov CKV2_K8S_5; "
	    "CIS 5.1.2" },
	{ "CST-K8S-RBAC-SYSTEM-MASTERS", H, "system:masters named (bypasses RBAC)",
	    "Never put identities in system:masters", "CIS 5.1.7; R-K8S-10" },
	{ "CST-K8S-RBAC-WEBHOOK-WRITE", H, "May change admission webhook configurations",
	    "Remove write access to *webhookconfigurations", "Kubescape C-0281; Checkov CKV_K8S_155" },
	{ "CST-K8S-RBAC-WILDCARD", M, "Wildcard in a role rule",
	    "List the verbs, resources and API groups needed",
	    "Kubescape C-0187; Checkov CKV_K8S_49 (every rule, not only rules[0]); KubeLinter "
	    "wildcard-in-rules; CIS 5.1.3" },
	{ "CST-K8S-RBAC-WORKLOAD-WRITE", M, "May create or change workloads",
	    "Grant workload writes only to deployment tooling", "Kubescape C-0267" },
	{ "CST-K8S-SA-TOKEN-AUTOMOUNT", L, "Service account token mounted automatically",
	    "Set automountServiceAccountToken: false on the pod or its service account",
	    "Kubescape C-0034; Checkov CKV_K8S_38 (which ignores the service account's setting)" },
	{ "CST-K8S-SENSITIVE-INTERFACE-EXPOSED", H, "Sensitive interface exposed outside the "
	    "cluster", "Keep it on a ClusterIP Service and reach it through an authenticated "
	    "proxy", "Kubescape C-0021 (matches by name only)" },
	{ "CST-K8S-WORKLOAD-TAKEOVER-SA", H, "Workload runs with a service account that can take "
	    "over the cluster", "Give the workload its own service account with least privilege",
	    "Kubescape C-0267, C-0272; R-K8S-11" },
	{ "CST-RAY-AUTH-UNSUPPORTED", H, "Ray token authentication requested where it does "
	    "not work", "Use Ray >= 2.52.0 with authOptions; enableK8sTokenAuth only on a "
	    "RayCluster", "R-RAY-02" },
	{ "CST-RAY-DASHBOARD-ALL-INTERFACES", I, "Ray dashboard listens on all interfaces",
	    "Rely on Services and NetworkPolicies to keep port 8265 internal",
	    "R-RAY-05" },
	{ "CST-RAY-EXPOSED", H, "Ray dashboard, Jobs API, client or GCS port exposed",
	    "Use a ClusterIP head Service; reach the dashboard through an authenticating proxy",
	    "R-RAY-03; Kubescape C-0021, C-0256, C-0266; CVE-2023-48022" },
	{ "CST-RAY-EXPOSED-NO-AUTH", C, "Ray exposed without authentication (remote code "
	    "execution: ShadowRay)", "Enable token authentication (authOptions.mode: token) "
	    "and remove the external exposure", "R-RAY-04; CVE-2023-48022" },
	{ "CST-RAY-INGRESS", M, "Ingress to a Ray interface without TLS or authentication",
	    "Add spec.tls and an authentication annotation (auth-url / auth-type), and a host",
	    "R-RAY-06; Kubescape C-0263" },
	{ "CST-RAY-NO-AUTH", H, "Ray cluster without token authentication",
	    "Set spec.authOptions.mode: token (KubeRay >= 1.5.1, Ray >= 2.52.0)",
	    "R-RAY-01; CVE-2023-48022" },
	{ "CST-RAY-NO-NETWORK-POLICY", M, "Ray cluster without network isolation",
	    "Set spec.networkPolicy or add a NetworkPolicy selecting ray.io/cluster=<name>",
	    "R-RAY-07; Kubescape C-0260" },
	{ "CST-RAY-TLS", M, "Ray TLS incomplete or its CA key exposed",
	    "Set RAY_USE_TLS, RAY_TLS_SERVER_CERT, RAY_TLS_SERVER_KEY and RAY_TLS_CA_CERT on every "
	    "Ray container; keep the CA private key out of the cluster", "R-RAY-08" },
	{ "CST-RAY-VERSION-MISMATCH", L, "RayCluster rayVersion differs from the Ray image's "
	    "version", "Set rayVersion to the version of the Ray image the pods run", "R-RAY-09" },
	{ "CST-RAY-VM-DASHBOARD-PUBLIC", H, "Ray launcher starts the dashboard on 0.0.0.0 with "
	    "public IPs", "Set provider.use_internal_ips: true or bind the dashboard to localhost",
	    "R-RAY-10" },
	{ "CST-RAY-VM-DOCKER-PRIVILEGED", H, "Ray launcher runs containers privileged",
	    "Remove --privileged, --cap-add=SYS_ADMIN and seccomp=unconfined from run_options",
	    "R-RAY-10" },
	{ "CST-RAY-VM-NO-AUTH", H, "Ray launcher cluster without token authentication",
	    "export RAY_AUTH_MODE=token in initialization_commands and mount the token file",
	    "R-RAY-10; R-RAY-01" },
	{ "CST-RAY-VM-SG-OPEN", C, "Security group opens Ray ports to the internet",
	    "Restrict 8265, 10001 and 6379 to the cluster's own security group or a VPN range",
	    "R-RAY-10; CVE-2023-48022" },
	{ "CST-RAY-VM-SSH-OPEN", L, "Launcher default security group opens SSH to 0.0.0.0/0",
	    "Provide a security group that limits port 22 to known ranges", "R-RAY-10" },
	{ "CST-RAY-VULNERABLE-VERSION", H, "Ray version with known vulnerabilities",
	    "Upgrade Ray (image tag and rayVersion) past the fixed version", "R-RAY-09" },
	{ "CST-SM-DOMAIN-NO-KMS", M, "SageMaker domain without a customer managed KMS key",
	    "Create the domain with KmsKeyId (the key cannot be changed later)",
	    "Checkov CKV_AWS_187" },
	{ "CST-SM-DOMAIN-NO-SSO", M, "SageMaker domain not using IAM Identity Center",
	    "Create the domain with AuthMode SSO", "Prowler sagemaker_domain_sso_configured" },
	{ "CST-SM-DOMAIN-PUBLIC-INTERNET", H, "SageMaker domain apps reach the internet directly",
	    "Create the domain with AppNetworkAccessType VpcOnly and VPC endpoints", "" },
	{ "CST-SM-ENDPOINT-CAPTURE-NO-KMS", M, "Endpoint data capture without a KMS key",
	    "Set DataCaptureConfig.KmsKeyId", "R-SM-03" },
	{ "CST-SM-ENDPOINT-NO-KMS", M, "Endpoint configuration without a KMS key",
	    "Set KmsKeyId on the endpoint configuration",
	    "AWS Config sagemaker-endpoint-configuration-kms-key-configured; Prowler "
	    "sagemaker_endpoint_config_kms_encryption_enabled; Checkov CKV_AWS_98; R-SM-03" },
	{ "CST-SM-ENDPOINT-SINGLE-INSTANCE", M, "Endpoint production variant with one instance",
	    "Set InitialInstanceCount to 2 or more so the variant spans Availability Zones",
	    "Security Hub SageMaker.4; AWS Config sagemaker-endpoint-config-prod-instance-count; "
	    "Prowler sagemaker_endpoint_config_prod_variant_instances; R-SM-03" },
	{ "CST-SM-MODEL-CONTAINERS-REGISTRY", M, "Model container not pulled from a private "
	    "registry", "Set ImageConfig.RepositoryAccessMode: Vpc on every container",
	    "Security Hub SageMaker.19; AWS Config sagemaker-model-multicontainer-private-registry; "
	    "R-SM-04" },
	{ "CST-SM-MODEL-NO-NETWORK-ISOLATION", M, "Model without network isolation",
	    "Create the model with EnableNetworkIsolation: true",
	    "Security Hub SageMaker.5; AWS Config sagemaker-model-isolation-enabled; Prowler "
	    "sagemaker_models_network_isolation_enabled; Checkov CKV_AWS_370; R-SM-04" },
	{ "CST-SM-MODEL-NO-VPC", M, "Model outside a VPC", "Create the model with VpcConfig "
	    "(Subnets and SecurityGroupIds)", "AWS Config sagemaker-model-in-vpc; Prowler "
	    "sagemaker_models_vpc_settings_configured; R-SM-04" },
	{ "CST-SM-MODEL-PRIMARY-REGISTRY", M, "Model primary container not pulled from a private "
	    "registry", "Set PrimaryContainer.ImageConfig.RepositoryAccessMode: Vpc",
	    "Security Hub SageMaker.16; AWS Config sagemaker-model-private-registry-required; "
	    "R-SM-04" },
	{ "CST-SM-NOTEBOOK-DIRECT-INTERNET", H, "Notebook instance with direct internet access",
	    "Create the notebook in a VPC subnet with DirectInternetAccess: Disabled (it cannot be "
	    "changed later)", "Security Hub SageMaker.1; AWS Config "
	    "sagemaker-notebook-no-direct-internet-access; Prowler "
	    "sagemaker_notebook_instance_without_direct_internet_access_configured (which reads "
	    "RootAccess: not reproduced); Checkov CKV_AWS_122; R-SM-01" },
	{ "CST-SM-NOTEBOOK-IMDSV1", M, "Notebook instance allows IMDSv1",
	    "Set InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion: 2",
	    "Checkov CKV_AWS_371; R-SM-01" },
	{ "CST-SM-NOTEBOOK-NO-KMS", M, "Notebook instance storage without a KMS key",
	    "Create the notebook with KmsKeyId", "Security Hub SageMaker.21; AWS Config "
	    "sagemaker-notebook-instance-storage-vol-kms-encrypted, "
	    "sagemaker-notebook-instance-kms-key-configured; Prowler "
	    "sagemaker_notebook_instance_encryption_enabled; Checkov CKV_AWS_22; R-SM-01" },
	{ "CST-SM-NOTEBOOK-NO-VPC", H, "Notebook instance outside a VPC",
	    "Create the notebook with SubnetId and SecurityGroupIds", "Security Hub SageMaker.2; "
	    "AWS Config sagemaker-notebook-instance-inside-vpc; Prowler "
	    "sagemaker_notebook_instance_vpc_settings_configured; Checkov CKV_AWS_306; R-SM-01" },
	{ "CST-SM-NOTEBOOK-PLATFORM", M, "Notebook instance on an unsupported platform",
	    "Move the notebook to PlatformIdentifier notebook-al2023-v1",
	    "Security Hub SageMaker.8; AWS Config sagemaker-notebook-instance-platform-version; "
	    "R-SM-01" },
	{ "CST-SM-NOTEBOOK-ROOT-ACCESS", H, "Notebook instance with root access",
	    "Set RootAccess: Disabled", "Security Hub SageMaker.3; AWS Config "
	    "sagemaker-notebook-instance-root-access-check; Prowler "
	    "sagemaker_notebook_instance_root_access_disabled; Checkov CKV_AWS_307; R-SM-01" },
	{ "CST-SM-TRAINING-NO-ENCRYPTION-IN-TRANSIT", M, "Training job without inter-container "
	    "traffic encryption", "Set EnableInterContainerTrafficEncryption: true",
	    "Prowler sagemaker_training_jobs_intercontainer_encryption_enabled; R-SM-02" },
	{ "CST-SM-TRAINING-NO-NETWORK-ISOLATION", H, "Training job without network isolation",
	    "Set EnableNetworkIsolation: true", "Prowler "
	    "sagemaker_training_jobs_network_isolation_enabled; R-SM-02" },
	{ "CST-SM-TRAINING-NO-OUTPUT-KMS", H, "Training job output without a KMS key",
	    "Set OutputDataConfig.KmsKeyId", "Prowler "
	    "sagemaker_training_jobs_volume_and_output_encryption_enabled (which reads the volume "
	    "key only); R-SM-02" },
	{ "CST-SM-TRAINING-NO-VOLUME-KMS", H, "Training job volumes without a KMS key",
	    "Set ResourceConfig.VolumeKmsKeyId", "Prowler "
	    "sagemaker_training_jobs_volume_and_output_encryption_enabled; R-SM-02" },
	{ "CST-SM-TRAINING-NO-VPC", H, "Training job outside a VPC",
	    "Set VpcConfig with Subnets and SecurityGroupIds", "Prowler "
	    "sagemaker_training_jobs_vpc_settings_configured; R-SM-02" },
};

#undef H
#undef M
#undef L
#undef C
#undef I

static int
cmp_rule(const void *key, const void *elt)
{
	return strcmp(key, ((const struct cst_pst_rule *)elt)->id);
}

const struct cst_pst_rule *
cst_pst_rule_find(const char *id)
{
	return bsearch(id, rules, sizeof(rules) / sizeof(rules[0]), sizeof(rules[0]), cmp_rule);
}

const struct cst_pst_rule *
cst_pst_rules(size_t *n)
{
	*n = sizeof(rules) / sizeof(rules[0]);
	return rules;
}

static const char *const sev_names[] = { "info", "low", "medium", "high", "critical" };

const char *
cst_pst_sev_name(enum cst_pst_sev s)
{
	return (unsigned)s <= CST_PST_CRITICAL ? sev_names[s] : "unknown";
}

int
cst_pst_sev_parse(const char *s, enum cst_pst_sev *out)
{
	for (int i = 0; i <= CST_PST_CRITICAL; i++)
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (enum cst_pst_sev)i;
			return 0;
		}
	return CST_EINVAL;
}
