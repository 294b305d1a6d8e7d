/* jail-internal.h: struct jail and what jail.c, jail-root.c and
 * jail-cgroup.c share. Nothing outside vmm-client includes this. */
#pragma once

#include <sys/queue.h>
#include <sys/stat.h>

#include "jail.h"

#define JAIL_PATH_MAX 512

struct jail_root {
	TAILQ_ENTRY(jail_root) link;
	char dir[JAIL_PATH_MAX];
	struct stat kernel, image; /* the files bound into it, by inode (image zeroed: none) */
	bool kvm;		   /* /dev/kvm in it */
};

enum jail_cgroup_mode {
	JAIL_CGROUP_NONE, /* no usable controllers: VMMs run unconfined (warned) */
	JAIL_CGROUP_V1,	  /* one hierarchy per controller: memory, pids, cpu */
	JAIL_CGROUP_V2,	  /* the unified hierarchy with its controllers delegated */
};

struct jail_cgroups {
	enum jail_cgroup_mode mode;
	unsigned n;				    /* hierarchies in use */
	char base[JAIL_CGROUPS_MAX][JAIL_PATH_MAX]; /* runnerd's parent of the slots, per hierarchy */
	char controller[JAIL_CGROUPS_MAX][8];	    /* v1: memory, pids, cpu; v2: "" */
};

/* What a slot's cgroup was last set to (all zero: not made yet, or a write
 * failed and everything is written again). */
struct jail_slot_limits {
	bool made;
	unsigned memory_mb, vcpus;
};

struct jail {
	struct jail_config cfg;
	char dir[JAIL_PATH_MAX];
	TAILQ_HEAD(, jail_root) roots;
	unsigned roots_made;
	struct jail_cgroups cg;
	uint8_t *used; /* one byte per slot */
	unsigned n_used;
	unsigned next; /* where the search for a free slot starts */
	int self_pidfd;
	int lock_fd; /* flock on the uid range */
	char lock_path[64];
	struct sock_fprog seccomp;
	/* Per slot: the cgroup.procs paths the child joins, and the limits
	 * its cgroups have. */
	char (*procs)[JAIL_CGROUPS_MAX][JAIL_PATH_MAX];
	struct jail_slot_limits *limits;
};

/* jail-seccomp.c: the allowlist as a BPF program (filter malloc'ed). */
int jail_seccomp_build(struct sock_fprog *ret);

/* jail-root.c */
int jail_root_get(struct jail *j, const char *kernel, const char *image, bool kvm, const char **ret,
		  char **ret_error);
void jail_roots_free(struct jail *j);

/* jail-cgroup.c: finds runnerd's hierarchies and makes its parent cgroup,
 * named after the uid range (runnerd-vms-FIRST: runnerds with their own
 * ranges never share one), mode NONE and a warning when nothing is usable. */
void jail_cgroups_init(struct jail_cgroups *cg, uid_t uid_first, const char **ret_warning);
/* Creates slot's cgroups if needed, sets their limits, and writes the
 * cgroup.procs paths for the child. */
int jail_cgroups_slot(struct jail_cgroups *cg, unsigned slot, unsigned memory_mb, unsigned vcpus,
		      unsigned pids_max, struct jail_slot_limits *set,
		      char procs[JAIL_CGROUPS_MAX][JAIL_PATH_MAX]);
/* Removes the slots' cgroups and runnerd's parent (those that are empty). */
void jail_cgroups_free(struct jail_cgroups *cg);
