/* vm-state.h: the lifecycle of a pooled VM, as one enum and one transition
 * table. pool.c changes a VM's state only through vm_set_state(), which
 * checks the transition against this table.
 *
 *   RESTORING --restored--> WARMING --paused--> READY --lease--> LEASED --resumed--> RUNNING
 *       |      \________________________________/^  |                 |                    |
 *       |            (restored, warming off)          |                 |                    |
 *       +---------------------+-----------------------+-----------------+--------------------+--> DISCARDED
 *
 * WARMING: the clone runs one no-op job of ours (never user code) and is
 * paused again, so the first user job does not pay for QEMU's empty
 * translation cache under TCG.
 *
 * DISCARDED is final: the VMM is killed and the VM is never reused. */
#pragma once

#include <stdbool.h>

enum vm_state {
	VM_RESTORING, /* VMM started, incoming migration in progress */
	VM_WARMING,   /* resumed for a no-op warm-up job, then paused again */
	VM_READY,     /* restored and paused, waiting for a lease */
	VM_LEASED,    /* handed to a job, `cont` in flight */
	VM_RUNNING,   /* job sent to the agent */
	VM_DISCARDED,
};

bool vm_state_transition_valid(enum vm_state from, enum vm_state to);
const char *vm_state_to_string(enum vm_state s);
