/* vmm.h: one running VMM (QEMU microvm today) with its QMP connection and
 * agent channel, driven asynchronously on the daemon's event loop. A VMM is
 * either booted (snapshot templates) or restored from a snapshot (pool
 * clones, paused until vmm_resume()). Owners learn about progress and
 * failure only through struct vmm_callbacks; a VMM never decides its own
 * fate: the owner calls vmm_free(), which SIGKILLs and reaps it. */
#pragma once

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cleanup.h"
#include "proto.h"
#include "qemu-argv.h"

/* TCG translation buffer per VM. Only translated code is resident, so a
 * paused clone costs the same with any size; but a buffer too small for a
 * compiler's code (gcc's cc1) is flushed mid-job and everything, the
 * agent's own path included, is translated again: 64 MB added ~25 ms to C
 * start-up here, 512 MB removed it. */
#define VMM_DEFAULT_TB_SIZE_MB 512
/* The rest of the machine a language gets unless it or the command line
 * (vmm-options.h) says otherwise. */
#define VMM_DEFAULT_QEMU      "/usr/bin/qemu-system-x86_64"
#define VMM_DEFAULT_MEMORY_MB 512

struct vmm_config {
	const char *qemu;   /* borrowed: path of qemu-system-x86_64 */
	const char *kernel; /* borrowed: vmlinux with a PVH entry */
	const char *image;  /* borrowed: read-only root filesystem */
	const char *accel;  /* "kvm" or "tcg" (resolved, never "auto") */
	unsigned memory_mb;
	unsigned vcpus;
	unsigned tb_size_mb;	  /* TCG translation buffer; 0 = QEMU default */
	unsigned tsc_khz;	  /* TCG: the host TSC rate, given to the guest kernel so it
				   * can use the TSC clocksource (0 = let it calibrate) */
	const char *console_path; /* borrowed: file for the guest console, NULL = discard */
	struct jail *jail;	  /* borrowed: the jail every VMM enters; NULL = none (--no-jail) */
};

struct vmm;

struct vmm_callbacks {
	/* Booted: the agent said HELLO (the guest runs). Restored: the
	 * incoming migration completed (the guest is paused). */
	void (*ready)(struct vmm *vmm, void *userdata);
	void (*ack)(struct vmm *vmm, void *userdata);
	/* res borrows from a buffer that lives until the callback returns. */
	void (*result)(struct vmm *vmm, const struct rd_result *res, void *userdata);
	/* The VMM exited, QMP or the channel broke, the agent broke protocol or
	 * reported an error. Called at most once; the VMM is unusable after. */
	void (*failed)(struct vmm *vmm, const char *why, void *userdata);
};

typedef void (*vmm_done_cb)(struct vmm *vmm, const char *error, void *userdata);

/* A canonical description of the machine options, for snapshot keys. */
char *vmm_machine_description(const struct vmm_config *cfg);

/* Boots a fresh VM with its RAM in the file `ram_path` (share=on), so a
 * later vmm_save() can leave RAM in that file. */
int vmm_boot(struct event_base *base, const struct vmm_config *cfg, const char *ram_path,
	     const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret);
/* Restores a clone from a template: ram_fd is the sealed memfd holding the
 * template's RAM (mapped private: copy-on-write), state_fd a sealed memfd
 * with the saved device state (see snapshot.h); both stay the caller's. */
int vmm_restore(struct event_base *base, const struct vmm_config *cfg, int ram_fd, int state_fd,
		const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret);

/* Pauses the guest and writes its device state to state_fd (RAM stays in
 * the shared file). cb runs once, with error NULL on success. */
int vmm_save(struct vmm *vmm, int state_fd, vmm_done_cb cb, void *userdata);
/* QMP cont and stop. */
int vmm_resume(struct vmm *vmm, vmm_done_cb cb, void *userdata);
int vmm_pause(struct vmm *vmm, vmm_done_cb cb, void *userdata);
/* Sends a job; `budget` bounds the bytes the guest may send until the next
 * job. ack and result callbacks follow. */
int vmm_send_job(struct vmm *vmm, const struct rd_job *job, size_t budget);

const char *vmm_id(const struct vmm *vmm);
pid_t vmm_pid(const struct vmm *vmm);

/* SIGKILL, close everything, reap (the VMM is already dead when this
 * returns). Accepts NULL and VMMs in any state; safe inside callbacks. */
void vmm_free(struct vmm *vmm);
DEFINE_CLEANUP(struct vmm *, vmm_free)

/* VMMs killed by vmm_free() are reaped asynchronously; this kills and reaps
 * every VMM still alive or dying, blocking. For shutdown. */
void vmm_reap_all(void);
/* How many VMM processes exist (alive or not yet reaped). */
unsigned vmm_count(void);
