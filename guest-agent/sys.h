/* sys.h: machine-level setup done by the agent as PID 1: boot mounts, the
 * per-job writable filesystems, entropy, clock, and process cleanup. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest.h"

#define WORK_DIR "/work"

/* The PATH of jobs, which is also the one the agent's execvpe() searches
 * for their commands. An image made from a container image names its
 * runtime's directories in SYS_PATH_FILE (one line, written by
 * tools/runner-image from the image's own PATH); other images get
 * SYS_DEFAULT_PATH. */
#define SYS_PATH_FILE	 "/etc/runnerd/path"
#define SYS_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define SYS_PATH_MAX	 1000

/* Boot: /proc, /sys, /dev, /dev/pts, /dev/shm, /tmp, /work, cgroup2 with
 * +memory +pids delegated to children, loopback up. Errors are logged; the
 * agent carries on and lets the job fail visibly instead of hanging. */
void sys_boot(void);

/* Reads SYS_PATH_FILE, if the image has one, and sets the agent's own PATH
 * to what jobs get. The file must hold absolute directories separated by
 * ':', printable ASCII without blanks, at most SYS_PATH_MAX bytes; any other
 * content is logged and SYS_DEFAULT_PATH used. */
void sys_load_path(void);
/* "PATH=..." for a job's environment. */
const char *sys_path_env(void);
/* Whether the PATH came from SYS_PATH_FILE (the boot script then gets it). */
bool sys_path_from_image(void);

/* Replaces the tmpfs at `dir` with an empty one of `size_kb`. */
int sys_fresh_tmpfs(const char *dir, uint32_t size_kb, int mode, uid_t uid, gid_t gid);

/* Mixes host bytes into the CRNG, credits them, and forces a reseed so
 * every clone of one snapshot diverges before the job's first read. */
int sys_reseed(const uint8_t *entropy, uint32_t len);
int sys_set_clock(uint64_t realtime_ns);

/* SIGKILLs every process but PID 1 and the services (services.h) and reaps
 * them all. */
void sys_kill_all(void);

/* Reaps any zombie without blocking; if `pid` exits, stores its status in
 * *ret_status and returns 1, otherwise 0. */
int sys_reap(pid_t pid, int *ret_status);

/* Reads a small file into buf, NUL-terminated: its length, or -errno. */
int sys_read_file(const char *path, char *buf, size_t size);
/* Writes a short string to a file (cgroup and sysctl knobs). */
int sys_write_file(int dirfd, const char *path, const char *s);
