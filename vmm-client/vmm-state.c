/* vmm-state.c: the transition table of enum vmm_state (drawn in
 * vmm-state.h). */
#include "vmm-state.h"

#define TO(s) (1u << (s))
/* Any live state may fail, and any state at all may be freed. */
#define ENDS (TO(VMM_FAILED) | TO(VMM_DYING))

static const unsigned vmm_moves[] = {
    [VMM_BOOTING] = TO(VMM_IDLE) | ENDS,
    [VMM_RESTORING] = TO(VMM_IDLE) | ENDS,
    [VMM_IDLE] = TO(VMM_JOB_SENT) | TO(VMM_SAVING) | ENDS,
    [VMM_JOB_SENT] = TO(VMM_JOB_RUNNING) | TO(VMM_IDLE) | ENDS,
    [VMM_JOB_RUNNING] = TO(VMM_IDLE) | ENDS,
    [VMM_SAVING] = TO(VMM_IDLE) | ENDS,
    [VMM_FAILED] = TO(VMM_DYING),
    [VMM_DYING] = 0,
};

static const char *const vmm_state_names[] = {"booting",     "restoring", "idle",   "job-sent",
					      "job-running", "saving",	  "failed", "dying"};
_Static_assert(sizeof(vmm_state_names) / sizeof(vmm_state_names[0]) == VMM_DYING + 1,
	       "a name for each state, in the enum's order");

bool vmm_state_transition_valid(enum vmm_state from, enum vmm_state to)
{
	return (unsigned)from <= VMM_DYING && (vmm_moves[from] & TO(to));
}

const char *vmm_state_to_string(enum vmm_state s)
{
	return (unsigned)s <= VMM_DYING ? vmm_state_names[s] : "invalid";
}
