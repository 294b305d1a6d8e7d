/* guest.h: what host and guest agree on besides the frames of proto.h: the
 * port the agent listens on, the user that runs jobs, and the limits a job
 * gets when the JOB frame leaves one out. The host's own defaults for the
 * limits it sends (daemon/api.c, daemon/runner.c, pool/jobspec.c, and
 * pool/timeouts.c for the compile limit, which --slowdown scales) are these
 * same numbers, so a job means the same whether the host spells a limit out
 * or not. Everything here is compiled into the agent, so changing a value
 * changes the agent binary and with it every image and template; the page
 * that documents them is docs/agent-protocol.md.
 *
 * RD_RUNNER_UID, RD_RUNNER_GID and RD_DEFAULT_TMPFS_KB stay plain decimal
 * literals: the agent pastes them into its boot mount options with RD_STR()
 * (tests/unit/test-proto.c checks that the text is the number), and
 * tools/runner-image reads the uid and gid from this file for the image's
 * "runner" user. */
#pragma once

/* The virtio-serial port of the agent channel: QEMU's virtserialport name
 * (vmm-client/qemu-argv.c) and what the agent looks for under
 * /sys/class/virtio-ports. */
#define RD_AGENT_PORT_NAME "runnerd.agent"

/* The unprivileged user every step runs as; it owns /work and the job's
 * files. */
#define RD_RUNNER_UID 1000
#define RD_RUNNER_GID 1000

/* Limits of a JOB that leaves them out (0). A step's cpu limit defaults to
 * its own wall limit. The output cap is per stream and step. tmpfs is the
 * size of /work and of /tmp each, also at boot. */
#define RD_DEFAULT_WALL_MS	   10000
#define RD_DEFAULT_COMPILE_WALL_MS 30000
#define RD_DEFAULT_MEMORY_KB	   (256u << 10)
#define RD_DEFAULT_PIDS		   64
#define RD_DEFAULT_FSIZE_KB	   (64u << 10)
#define RD_DEFAULT_OUTPUT_BYTES	   (64u << 10)
#define RD_DEFAULT_TMPFS_KB	   65536 /* 64 MiB */

/* The text of a macro's value, for building string constants from the
 * numbers above at compile time. */
#define RD_STR_(x) #x
#define RD_STR(x)  RD_STR_(x)
