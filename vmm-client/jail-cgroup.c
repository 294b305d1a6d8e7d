/* jail-cgroup.c: a cgroup per VMM slot, with memory, pids and cpu limits.
 *
 * Under cgroup v2 (the unified hierarchy, where its controllers are
 * available to runnerd's cgroup) the slots are RUNNERD/runnerd-vms-FIRST/slot-N
 * (FIRST: the first uid of runnerd's range, so runnerds never share one);
 * runnerd first moves itself into RUNNERD/runnerd-daemon, because v2 lets
 * a cgroup with processes have no controller-enabled children. On a hybrid
 * or legacy host (v1 memory, pids and cpu hierarchies, as on these test
 * machines) each hierarchy gets RUNNERD/runnerd-vms-FIRST/slot-N. Where neither
 * works, VMMs run without a cgroup and runnerd logs a warning. A slot's
 * cgroup is made on its first use and reused: only its limits are
 * rewritten for each VMM. */
#include "jail-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const v1_controllers[JAIL_CGROUPS_MAX] = {"memory", "pids", "cpu"};

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[JAIL_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	int r = n == (ssize_t)strlen(value) ? 0 : (n < 0 ? -errno : -EIO);
	close(fd);
	return r;
}

/* runnerd's own path in the hierarchy named `controller` ("" for v2's
 * "0::" line), from /proc/self/cgroup. */
static int own_path(const char *controller, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		char *list = strchr(line, ':'), *path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		path[strcspn(path, "\n")] = 0;
		list++;
		bool match = !*controller ? !*list : false;
		for (char *save = NULL, *c = strtok_r(list, ",", &save); *controller && c;
		     c = strtok_r(NULL, ",", &save))
			match = match || strcmp(c, controller) == 0;
		if (match && strlen(path) < size) {
			snprintf(out, size, "%s", strcmp(path, "/") == 0 ? "" : path);
			r = 0;
		}
	}
	fclose(f);
	return r;
}

static bool try_v2(struct jail_cgroups *cg, const char *mount, const char *name)
{
	char own[JAIL_PATH_MAX - 64], dir[JAIL_PATH_MAX], buf[256] = "";
	char path[JAIL_PATH_MAX + 32];

	if (own_path("", own, sizeof(own)) < 0)
		return false;
	snprintf(dir, sizeof(dir), "%s%s", mount, own);
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) && strstr(buf, "memory") && strstr(buf, "pids");
	fclose(f);
	if (!ok)
		return false;
	/* Leave runnerd's cgroup to its children: runnerd itself moves into
	 * runnerd-daemon, the VMMs under runnerd-vms. */
	snprintf(path, sizeof(path), "%s/runnerd-daemon", dir);
	if ((mkdir(path, 0755) < 0 && errno != EEXIST) || write_file(path, "cgroup.procs", "0") < 0 ||
	    write_file(dir, "cgroup.subtree_control",
		       strstr(buf, "cpu") ? "+memory +pids +cpu" : "+memory +pids") < 0)
		return false;
	snprintf(cg->base[0], sizeof(cg->base[0]), "%s/%s", dir, name);
	if ((mkdir(cg->base[0], 0755) < 0 && errno != EEXIST) ||
	    write_file(cg->base[0], "cgroup.subtree_control",
		       strstr(buf, "cpu") ? "+memory +pids +cpu" : "+memory +pids") < 0)
		return false;
	cg->controller[0][0] = 0;
	cg->n = 1;
	cg->mode = JAIL_CGROUP_V2;
	return true;
}

static bool try_v1(struct jail_cgroups *cg, const char *name)
{
	char own[JAIL_PATH_MAX - 64];

	cg->n = 0;
	for (int i = 0; i < JAIL_CGROUPS_MAX; i++) {
		const char *c = v1_controllers[i];
		if (own_path(c, own, sizeof(own)) < 0)
			return false;
		snprintf(cg->base[i], sizeof(cg->base[i]), "/sys/fs/cgroup/%s%s/%s", c, own, name);
		if (mkdir(cg->base[i], 0755) < 0 && errno != EEXIST)
			return false;
		snprintf(cg->controller[i], sizeof(cg->controller[i]), "%s", c);
		cg->n++;
	}
	cg->mode = JAIL_CGROUP_V1;
	return true;
}

void jail_cgroups_init(struct jail_cgroups *cg, uid_t uid_first, const char **ret_warning)
{
	char name[32];

	*cg = (struct jail_cgroups){.mode = JAIL_CGROUP_NONE};
	*ret_warning = NULL;
	snprintf(name, sizeof(name), "runnerd-vms-%u", (unsigned)uid_first);
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
		? try_v2(cg, "/sys/fs/cgroup", name)
		: try_v2(cg, "/sys/fs/cgroup/unified", name) || try_v1(cg, name))
		return;
	*cg = (struct jail_cgroups){.mode = JAIL_CGROUP_NONE};
	*ret_warning =
	    "no usable cgroup controllers (neither v2 with memory and pids delegated nor v1 memory, "
	    "pids and cpu): VMMs run without memory, pids and cpu limits";
}

int jail_cgroups_slot(struct jail_cgroups *cg, unsigned slot, unsigned memory_mb, unsigned vcpus,
		      unsigned pids_max, struct jail_slot_limits *set,
		      char procs[JAIL_CGROUPS_MAX][JAIL_PATH_MAX])
{
	char dir[JAIL_PATH_MAX], value[64];
	bool v2 = cg->mode == JAIL_CGROUP_V2;
	int r = 0;

	for (unsigned i = 0; i < cg->n && r >= 0; i++) {
		const char *c = cg->controller[i];
		if ((size_t)snprintf(dir, sizeof(dir), "%s/slot-%u", cg->base[i], slot) >= sizeof(dir) - 16)
			return -ENAMETOOLONG;
		snprintf(procs[i], JAIL_PATH_MAX, "%s/cgroup.procs", dir);
		/* A slot's cgroup is made once and keeps its limits between
		 * VMMs: only what differs from the last VMM's is written. */
		if (!set->made) {
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				return -errno;
			if (v2 || strcmp(c, "pids") == 0) {
				snprintf(value, sizeof(value), "%u", pids_max);
				r = write_file(dir, "pids.max", value);
			}
			if (r >= 0 && !v2 && strcmp(c, "cpu") == 0)
				r = write_file(dir, "cpu.cfs_period_us", "100000");
		}
		if (r >= 0 && memory_mb != set->memory_mb && (v2 || strcmp(c, "memory") == 0)) {
			snprintf(value, sizeof(value), "%llu", (unsigned long long)memory_mb << 20);
			r = write_file(dir, v2 ? "memory.max" : "memory.limit_in_bytes", value);
		}
		/* CPU: the guest's vCPUs plus one for QEMU's own threads. */
		if (r >= 0 && vcpus != set->vcpus && v2) {
			snprintf(value, sizeof(value), "%u 100000", (vcpus + 1) * 100000);
			(void)write_file(dir, "cpu.max", value); /* cpu may not be delegated */
		} else if (r >= 0 && vcpus != set->vcpus && strcmp(c, "cpu") == 0) {
			snprintf(value, sizeof(value), "%u", (vcpus + 1) * 100000);
			r = write_file(dir, "cpu.cfs_quota_us", value);
		}
	}
	*set = r >= 0 ? (struct jail_slot_limits){.made = true, .memory_mb = memory_mb, .vcpus = vcpus}
		      : (struct jail_slot_limits){0};
	return r;
}

void jail_cgroups_free(struct jail_cgroups *cg)
{
	char dir[JAIL_PATH_MAX + 300];

	/* Every slot-N below, also those a runnerd killed before us left. */
	for (unsigned i = 0; i < cg->n; i++) {
		DIR *d = opendir(cg->base[i]);
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strncmp(de->d_name, "slot-", 5) == 0) {
				snprintf(dir, sizeof(dir), "%s/%s", cg->base[i], de->d_name);
				rmdir(dir);
			}
		if (d)
			closedir(d);
		rmdir(cg->base[i]);
	}
}
