/* services.h: servers a language needs running before any job, such as the
 * database behind the SQL languages. The image may carry /etc/runnerd/boot,
 * a shell script the agent runs as root once at boot, before it says HELLO:
 * the host snapshots the template after that, so every clone resumes with
 * the servers up and no request waits for one to start. The script and
 * what it leaves running live in the cgroup /services, which the per-job
 * cleanup spares; a job cannot join it (the cgroup is root's). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#define SERVICES_BOOT_SCRIPT "/etc/runnerd/boot"
#define SERVICES_CGROUP	     "/sys/fs/cgroup/services"

/* Runs the boot script if the image has one, waiting up to timeout_s for it
 * to exit. Returns 0 when there is none or it exited 0, else -errno or
 * -ECHILD (it failed: the console says why). */
int services_boot(unsigned timeout_s);
/* Whether pid belongs to the services (read from /proc/PID/cgroup). */
bool services_owns(pid_t pid);
