/* vm-state.c: the transition table of enum vm_state. */
#include "vm-state.h"

bool vm_state_transition_valid(enum vm_state from, enum vm_state to)
{
	switch (from) {
	case VM_RESTORING:
		return to == VM_WARMING || to == VM_READY || to == VM_DISCARDED;
	case VM_WARMING:
		return to == VM_READY || to == VM_DISCARDED;
	case VM_READY:
		return to == VM_LEASED || to == VM_DISCARDED;
	case VM_LEASED:
		return to == VM_RUNNING || to == VM_DISCARDED;
	case VM_RUNNING:
		return to == VM_DISCARDED;
	case VM_DISCARDED:
		return false;
	}
	return false;
}

const char *vm_state_to_string(enum vm_state s)
{
	switch (s) {
	case VM_RESTORING:
		return "restoring";
	case VM_WARMING:
		return "warming";
	case VM_READY:
		return "ready";
	case VM_LEASED:
		return "leased";
	case VM_RUNNING:
		return "running";
	case VM_DISCARDED:
		return "discarded";
	}
	return "invalid";
}
