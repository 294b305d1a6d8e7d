/* vmm-state.c: the transition table of enum vmm_state (diagram in
 * vmm-state.h). */
#include "vmm-state.h"

bool vmm_state_transition_valid(enum vmm_state from, enum vmm_state to)
{
	if (to == VMM_DYING)
		return from != VMM_DYING;
	if (to == VMM_FAILED)
		return from != VMM_FAILED && from != VMM_DYING;
	switch (from) {
	case VMM_BOOTING:
	case VMM_RESTORING:
		return to == VMM_IDLE;
	case VMM_IDLE:
		return to == VMM_JOB_SENT || to == VMM_SAVING;
	case VMM_JOB_SENT:
		return to == VMM_JOB_RUNNING || to == VMM_IDLE;
	case VMM_JOB_RUNNING:
	case VMM_SAVING:
		return to == VMM_IDLE;
	case VMM_FAILED:
	case VMM_DYING:
		return false;
	}
	return false;
}

const char *vmm_state_to_string(enum vmm_state s)
{
	switch (s) {
	case VMM_BOOTING:
		return "booting";
	case VMM_RESTORING:
		return "restoring";
	case VMM_IDLE:
		return "idle";
	case VMM_JOB_SENT:
		return "job-sent";
	case VMM_JOB_RUNNING:
		return "job-running";
	case VMM_SAVING:
		return "saving";
	case VMM_FAILED:
		return "failed";
	case VMM_DYING:
		return "dying";
	}
	return "invalid";
}
