/* vmm-state.h: the life of one VMM, as one enum and one transition table.
 * vmm_set_state() (vmm.c) is the only function that changes a VMM's state;
 * it asserts every move against vmm_state_transition_valid(). Every input
 * that comes from the guest or QEMU is checked against the state before a
 * move is made, so no guest can trigger the assertion.
 *
 *   vmm_boot()                      vmm_restore()
 *       |                               |
 *    BOOTING --HELLO--+        +--MIGRATION completed-- RESTORING
 *                     v        v
 *                     +-> IDLE <-----------------------------+
 *                          |  \--vmm_save()--> SAVING --------+ (saved, or the save failed)
 *                          |
 *                   vmm_send_job()
 *                          v
 *                      JOB_SENT --ACK--> JOB_RUNNING --RESULT--> IDLE
 *                          \-----------RESULT---------------------^
 *
 *   any other state --vmm_fail()--> FAILED  (the owner's failed
 *                                                callback, exactly once)
 *   any state but DYING --vmm_free()--> DYING   (final: SIGKILLed, reaped
 *                                                later; no more callbacks)
 *
 * Running versus paused (cont and stop) is not a VMM state: the owner
 * knows it from its own (a pooled VM's enum vm_state). */
#pragma once

#include <stdbool.h>

enum vmm_state {
	VMM_BOOTING,	 /* vmm_boot(): QEMU started, waiting for the agent's HELLO */
	VMM_RESTORING,	 /* vmm_restore(): incoming migration in progress (guest paused) */
	VMM_IDLE,	 /* ready, no job and no migration in flight */
	VMM_JOB_SENT,	 /* vmm_send_job(): the job frame is queued or sent */
	VMM_JOB_RUNNING, /* the agent acknowledged the job; its RESULT comes next */
	VMM_SAVING,	 /* vmm_save(): stop, then the outgoing migration */
	VMM_FAILED,	 /* the owner was told why; only vmm_free() follows */
	VMM_DYING,	 /* vmm_free(): killed, waiting to be reaped */
};

bool vmm_state_transition_valid(enum vmm_state from, enum vmm_state to);
const char *vmm_state_to_string(enum vmm_state s);
