/* jail.h: the sandbox every VMM runs in (docs/security.md, "The jail").
 *
 * runnerd's side (jail.c) keeps what can be prepared once: a uid/gid per
 * VMM slot from a configured range, read-only roots per kernel and image
 * (in a mount namespace of runnerd's own, so the host never sees them and
 * they vanish with runnerd), and a cgroup per slot. For each VMM it fills a
 * struct jail_exec, which the child applies between clone3() and execve()
 * (jail_enter() in jail-enter.c), in this order:
 *
 *   1. join the slot's cgroups (memory, pids and cpu limits)
 *   2. mount namespace private; a fresh /proc of the new pid namespace;
 *      pivot_root into the prepared root; the old root detached
 *   3. rlimits: file size, open files, core size 0
 *   4. no supplementary groups; the slot's gid and uid
 *   5. PR_SET_PDEATHSIG again (a uid change clears it), then a check that
 *      runnerd is still alive
 *   6. NO_NEW_PRIVS
 *   7. the seccomp allowlist (jail-seccomp.c)
 *
 * then spawn.c closes every fd but the inherited ones and execs QEMU.
 * The new pid, net, ipc and uts namespaces come with the clone3() itself
 * (spawn.c). QEMU's own -sandbox filter comes on top. */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_CGROUPS_MAX 3

/* What one VMM's child applies (async-signal-safe data: plain strings and
 * numbers, no allocation in the child). */
struct jail_exec {
	const char *root; /* the prepared root, a mount point */
	uid_t uid;	  /* the slot's uid and gid */
	gid_t gid;
	const char *cgroup_procs[JAIL_CGROUPS_MAX + 1]; /* cgroup.procs files to join, NULL-ended */
	uint64_t fsize_bytes;				/* RLIMIT_FSIZE */
	unsigned nofile;				/* RLIMIT_NOFILE */
	int runnerd_pidfd;				/* readable once runnerd has exited */
	const struct sock_fprog *seccomp;		/* the allowlist (jail-seccomp.c) */
};

/* Exit statuses of a child that could not enter its jail (before exec). */
enum {
	JAIL_EXIT_CGROUP = 120,
	JAIL_EXIT_MOUNT = 121,
	JAIL_EXIT_LIMITS = 122,
	JAIL_EXIT_IDS = 123,
	JAIL_EXIT_PRIVS = 124,
	JAIL_EXIT_SECCOMP = 125,
};

/* In the child, after clone3() with the new namespaces. Returns only on
 * success; on failure it _exit()s with one of the statuses above. */
void jail_enter(const struct jail_exec *j);

struct jail_config {
	const char *dir;   /* runnerd's directory for prepared roots (created) */
	uid_t uid_first;   /* slot N runs as uid_first + N, gid likewise */
	unsigned slots;	   /* uids in the range: VMMs that may exist at once */
	unsigned pids_max; /* per VMM */
};

struct jail;

/* The default uid range (--jail-uids) of runnerd and vmbench, in the
 * spelling their help texts show. */
#define JAIL_DEFAULT_UID_FIRST 1879048192u
#define JAIL_DEFAULT_UIDS      4096u
#define JAIL_DEFAULT_UIDS_ARG  "1879048192:4096"

/* "FIRST:COUNT" (runnerd's and vmbench's --jail-uids): -EINVAL unless
 * FIRST > 0, 8 <= COUNT <= 65536 and the range fits below uid 2^32-1. */
int jail_parse_uids(const char *arg, uid_t *ret_first, unsigned *ret_count);

/* Enters runnerd's own mount namespace, checks the uid range and finds
 * the cgroup hierarchy. Fails with a message if the jail cannot work (not
 * root, a uid of the range in use by a process). Without usable cgroups it
 * works, and says so in *ret_warning (static text, or NULL). */
int jail_new(const struct jail_config *cfg, struct jail **ret, char **ret_error, const char **ret_warning);
void jail_free(struct jail *j);

/* Paths a VMM sees inside every root. */
#define JAIL_KERNEL_PATH "/vm/kernel"
#define JAIL_IMAGE_PATH	 "/vm/image"

/* One VMM's place: a slot (uid, cgroup) and the root for its kernel and
 * image, prepared on first use and shared by every VMM of those files. */
struct jail_place {
	struct jail_exec exec;
	unsigned slot;
};

/* Takes a free slot, sets its cgroup limits (memory_mb: the cgroup's
 * memory cap; vcpus: its CPU quota) and finds or prepares the root: with
 * the image when not NULL (the KVM probe has none), with /dev/kvm when kvm
 * (so a TCG VMM cannot even open it). */
int jail_place_take(struct jail *j, const char *kernel, const char *image, bool kvm, unsigned memory_mb,
		    unsigned vcpus, struct jail_place *ret, char **ret_error);
/* The VMM was reaped: its uid may serve another. */
void jail_place_put(struct jail *j, const struct jail_place *p);
