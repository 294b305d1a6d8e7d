/* jail.c: runnerd's side of the jail (jail.h): its own mount namespace for
 * the prepared roots, the uid slots, and each VMM's place (slot, cgroup,
 * root). */
#include "jail-internal.h"

#include "error-util.h"
#include "parse-util.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

int jail_parse_uids(const char *arg, uid_t *ret_first, unsigned *ret_count)
{
	char first[16];
	const char *colon = strchr(arg, ':');
	unsigned f, n;

	if (!colon || (size_t)(colon - arg) >= sizeof(first))
		return -EINVAL;
	memcpy(first, arg, (size_t)(colon - arg));
	first[colon - arg] = 0;
	if (parse_uint(first, 10, 1, 0xfffeffffu, &f) < 0 || parse_uint(colon + 1, 10, 8, 65536, &n) < 0 ||
	    f + (uint64_t)n > 0xffffffffu)
		return -EINVAL;
	*ret_first = f;
	*ret_count = n;
	return 0;
}

int jail_new(const struct jail_config *cfg, struct jail **ret, char **ret_error, const char **ret_warning)
{
	struct jail *j;

	*ret_warning = NULL;
	if (geteuid() != 0)
		return err_setf(ret_error, -EPERM, "the VMM jail needs root (or run with --no-jail)");
	if (cfg->slots == 0 || (uint64_t)cfg->uid_first + cfg->slots > 0xfffffffeull || cfg->uid_first == 0)
		return err_setf(ret_error, -EINVAL, "jail uid range %u+%u is not valid",
				(unsigned)cfg->uid_first, cfg->slots);
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->cfg = *cfg;
	snprintf(j->dir, sizeof(j->dir), "%s", cfg->dir);
	j->cfg.dir = j->dir;
	TAILQ_INIT(&j->roots);
	j->self_pidfd = -1;
	j->lock_fd = -1;
	j->used = calloc(cfg->slots, 1);
	j->procs = calloc(cfg->slots, sizeof(*j->procs));
	j->limits = calloc(cfg->slots, sizeof(*j->limits));
	if (!j->used || !j->procs || !j->limits) {
		jail_free(j);
		return -ENOMEM;
	}
	/* The roots are mounted in a mount namespace of runnerd's own: the
	 * host never sees them, and they vanish with runnerd however it ends.
	 * Host mounts still propagate in (slave). */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		int r = err_setf(ret_error, -errno, "jail: own mount namespace: %s", strerror(errno));
		jail_free(j);
		return r;
	}
	if (mkdir(j->dir, 0700) < 0 && errno != EEXIST) {
		int r = err_setf(ret_error, -errno, "jail directory %s: %s", j->dir, strerror(errno));
		jail_free(j);
		return r;
	}
	/* Two runnerds with one uid range would give two VMMs one uid: the
	 * range is locked for as long as runnerd lives. */
	snprintf(j->lock_path, sizeof(j->lock_path), "/run/lock/runnerd-jail-uids-%u.lock",
		 (unsigned)cfg->uid_first);
	(void)mkdir("/run/lock", 01777); /* missing in some containers */
	j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int r = err_setf(ret_error, -errno,
				 "jail uids from %u: %s (another runnerd uses them? give --jail-uids)",
				 (unsigned)cfg->uid_first, strerror(errno));
		jail_free(j);
		return r;
	}
	j->self_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (j->self_pidfd < 0) {
		int r = err_setf(ret_error, -errno, "jail: pidfd of runnerd: %s", strerror(errno));
		jail_free(j);
		return r;
	}
	int r = jail_seccomp_build(&j->seccomp);
	if (r < 0) {
		r = err_setf(ret_error, r, "jail: seccomp allowlist: %s", strerror(-r));
		jail_free(j);
		return r;
	}
	jail_cgroups_init(&j->cg, cfg->uid_first, ret_warning);
	*ret = j;
	return 0;
}

void jail_free(struct jail *j)
{
	if (!j)
		return;
	jail_roots_free(j);
	jail_cgroups_free(&j->cg);
	if (j->self_pidfd >= 0)
		close(j->self_pidfd);
	if (j->lock_fd >= 0) {
		unlink(j->lock_path); /* still ours: we hold the lock */
		close(j->lock_fd);
	}
	rmdir(j->dir);
	free(j->seccomp.filter);
	free(j->used);
	free(j->procs);
	free(j->limits);
	free(j);
}

int jail_place_take(struct jail *j, const char *kernel, const char *image, bool kvm, unsigned memory_mb,
		    unsigned vcpus, struct jail_place *ret, char **ret_error)
{
	const char *root;
	unsigned slot = j->cfg.slots;
	int r;

	if (j->n_used == j->cfg.slots)
		return err_setf(ret_error, -EAGAIN, "all %u jail uids are in use", j->cfg.slots);
	for (unsigned k = 0; k < j->cfg.slots; k++) {
		unsigned s = (j->next + k) % j->cfg.slots;
		if (!j->used[s]) {
			slot = s;
			break;
		}
	}
	r = jail_root_get(j, kernel, image, kvm, &root, ret_error);
	if (r < 0)
		return r;
	r = jail_cgroups_slot(&j->cg, slot, memory_mb, vcpus, j->cfg.pids_max, &j->limits[slot],
			      j->procs[slot]);
	if (r < 0)
		return err_setf(ret_error, r, "jail cgroup of slot %u: %s", slot, strerror(-r));
	j->used[slot] = 1;
	j->n_used++;
	j->next = (slot + 1) % j->cfg.slots; /* a uid just freed is reused last */
	*ret = (struct jail_place){
	    .slot = slot,
	    .exec =
		{
		    .root = root,
		    .uid = j->cfg.uid_first + slot,
		    .gid = j->cfg.uid_first + slot,
		    /* A template's RAM file is the largest file a VMM writes. */
		    .fsize_bytes = (uint64_t)memory_mb << 20,
		    .nofile = 1024,
		    .runnerd_pidfd = j->self_pidfd,
		    .seccomp = &j->seccomp,
		},
	};
	for (unsigned i = 0; i < j->cg.n; i++)
		ret->exec.cgroup_procs[i] = j->procs[slot][i];
	return 0;
}

void jail_place_put(struct jail *j, const struct jail_place *p)
{
	if (p->slot < j->cfg.slots && j->used[p->slot]) {
		j->used[p->slot] = 0;
		j->n_used--;
	}
}
