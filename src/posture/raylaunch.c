/*
 * Ray cluster-launcher files (`ray up` YAML, R-RAY-10): security groups that open Ray's ports
 * to the internet, the launcher's default security group (SSH from 0.0.0.0/0), the dashboard
 * bound to 0.0.0.0 on nodes with public addresses, privileged Docker run options, and the
 * absence of RAY_AUTH_MODE=token from the commands that set up the nodes.
 */
#include "posture/posture_int.h"

#include <stdio.h>
#include <string.h>

static bool
is_launcher(const json_t *o)
{
	return json_object_get(o, "kind") == NULL && json_is_object(json_object_get(o, "provider")) &&
	    (json_object_get(o, "cluster_name") != NULL ||
	    json_object_get(o, "available_node_types") != NULL ||
	    json_object_get(o, "head_start_ray_commands") != NULL);
}

/* Whether a command list (or string) contains needle. */
static bool
commands_have(const json_t *cmds, const char *needle)
{
	const json_t *v;
	size_t i;

	if (json_is_string(cmds))
		return strstr(json_string_value(cmds), needle) != NULL;
	json_array_foreach(cmds, i, v)
		if (json_is_string(v) && strstr(json_string_value(v), needle) != NULL)
			return true;
	return false;
}

/* Whether command s passes --dashboard-host 0.0.0.0 (with "=" or blanks, optionally quoted). */
static bool
dashboard_all(const char *s)
{
	static const char opt[] = "--dashboard-host";

	while ((s = strstr(s, opt)) != NULL) {
		s += sizeof(opt) - 1;
		if (*s != '=' && *s != ' ' && *s != '\t')
			continue;
		s += strspn(s, "= \t\"'");
		if (strncmp(s, "0.0.0.0", 7) == 0 && strchr(" \t\"';", s[7]) != NULL)
			return true;	/* strchr finds the terminating NUL too */
	}
	return false;
}

static bool
commands_dashboard_all(const json_t *cmds)
{
	const json_t *v;
	size_t i;

	if (json_is_string(cmds))
		return dashboard_all(json_string_value(cmds));
	json_array_foreach(cmds, i, v)
		if (json_is_string(v) && dashboard_all(json_string_value(v)))
			return true;
	return false;
}

static bool
open_range(const json_t *perm)
{
	const json_t *x;
	size_t i;

	json_array_foreach(json_object_get(perm, "IpRanges"), i, x)
		if (cst__pst_str(x, "CidrIp") && strcmp(cst__pst_str(x, "CidrIp"), "0.0.0.0/0") == 0)
			return true;
	json_array_foreach(json_object_get(perm, "Ipv6Ranges"), i, x)
		if (cst__pst_str(x, "CidrIpv6") && strcmp(cst__pst_str(x, "CidrIpv6"), "::/0") == 0)
			return true;
	return false;
}

static int
security_group(struct cst__pst_ctx *c, const struct cst__pst_res *res)
{
	static const long ports[] = { 8265, 10001, 6379 };
	const json_t *perm;
	char path[96];
	size_t i;
	int r = 0;

	json_array_foreach(cst__pst_get(res->obj, "provider.security_group.IpPermissions"), i,
	    perm) {
		const char *proto = cst__pst_str(perm, "IpProtocol");
		const json_t *from = json_object_get(perm, "FromPort");
		const json_t *to = json_object_get(perm, "ToPort");
		bool all = proto != NULL && strcmp(proto, "-1") == 0;

		if (!open_range(perm) || r != 0)
			continue;
		for (size_t p = 0; p < 3 && !all; p++)
			all = json_is_integer(from) && json_is_integer(to) &&
			    json_integer_value(from) <= ports[p] && json_integer_value(to) >= ports[p];
		if (!all)
			continue;
		snprintf(path, sizeof(path), "provider.security_group.IpPermissions[%zu]", i);
		r = cst__pst_emit(c, res, "CST-RAY-VM-SG-OPEN", -1, path, "%s from the internet "
		    "covers Ray's dashboard/Jobs API (8265), client (10001) or GCS (6379)",
		    proto && strcmp(proto, "-1") == 0 ? "all traffic" : "a port range");
	}
	return r;
}

static bool
has_node_security_groups(const json_t *o)
{
	const json_t *t;
	const char *k;

	if (cst__pst_get(o, "head_node.SecurityGroupIds") != NULL)
		return true;
	json_object_foreach((json_t *)json_object_get(o, "available_node_types"), k, t)
		if (cst__pst_get(t, "node_config.SecurityGroupIds") != NULL)
			return true;
	return false;
}

static int
check(struct cst__pst_ctx *c, const struct cst__pst_res *res)
{
	static const char *const privileged[] = { "--privileged", "--cap-add=SYS_ADMIN",
		"--cap-add SYS_ADMIN", "seccomp=unconfined", NULL };
	static const char *const setup[] = { "initialization_commands", "setup_commands",
		"head_setup_commands", "worker_setup_commands", "head_start_ray_commands",
		"worker_start_ray_commands", NULL };
	const json_t *o = res->obj;
	const char *type = cst__pst_str(o, "provider.type");
	bool token = commands_have(cst__pst_get(o, "docker.run_options"), "RAY_AUTH_MODE=token");
	int r = security_group(c, res);

	if (r == 0 && type != NULL && strcmp(type, "aws") == 0 && !has_node_security_groups(o) &&
	    cst__pst_get(o, "provider.security_group.GroupName") == NULL)
		r = cst__pst_emit(c, res, "CST-RAY-VM-SSH-OPEN", -1, "provider", "no security group "
		    "given: the launcher's default group allows TCP 22 from 0.0.0.0/0");
	if (r == 0 && commands_dashboard_all(json_object_get(o, "head_start_ray_commands")) &&
	    !json_is_true(cst__pst_get(o, "provider.use_internal_ips")))
		r = cst__pst_emit(c, res, "CST-RAY-VM-DASHBOARD-PUBLIC", -1, "head_start_ray_commands",
		    "--dashboard-host 0.0.0.0 and provider.use_internal_ips is not true");
	for (size_t i = 0; privileged[i] != NULL && r == 0; i++)
		if (commands_have(cst__pst_get(o, "docker.run_options"), privileged[i]))
			r = cst__pst_emit(c, res, "CST-RAY-VM-DOCKER-PRIVILEGED", -1,
			    "docker.run_options", "run_options contain %s", privileged[i]);
	for (size_t i = 0; setup[i] != NULL; i++)
		token = token || commands_have(json_object_get(o, setup[i]), "RAY_AUTH_MODE=token");
	if (r == 0 && !token)
		r = cst__pst_emit(c, res, "CST-RAY-VM-NO-AUTH", -1, "initialization_commands",
		    "RAY_AUTH_MODE=token is set in no setup command or docker run option");
	return r;
}

int
cst__pst_check_ray_launcher(struct cst__pst_ctx *c)
{
	int r = 0;

	for (size_t i = 0; i < c->n_res && r == 0; i++) {
		if (!is_launcher(c->res[i].obj))
			continue;
		c->res[i].read = true;
		c->res[i].kind = "RayClusterLauncher";
		c->res[i].name = cst__pst_str(c->res[i].obj, "cluster_name") ?
		    cst__pst_str(c->res[i].obj, "cluster_name") : "";
		c->res[i].ns = "";
		r = check(c, &c->res[i]);
	}
	return r;
}
