/* vm-state.c: the transition table of enum vm_state. */
#include "vm-state.h"

#define TO(s) (1u << (s))

/* Where each state may go. */
static const unsigned vm_moves[] = {
    [VM_RESTORING] = TO(VM_WARMING) | TO(VM_READY) | TO(VM_DISCARDED),
    [VM_WARMING] = TO(VM_READY) | TO(VM_DISCARDED),
    [VM_READY] = TO(VM_LEASED) | TO(VM_DISCARDED),
    [VM_LEASED] = TO(VM_RUNNING) | TO(VM_DISCARDED),
    [VM_RUNNING] = TO(VM_DISCARDED),
    [VM_DISCARDED] = 0,
};

static const char *const vm_state_names[] = {
    [VM_RESTORING] = "restoring", [VM_WARMING] = "warming", [VM_READY] = "ready",
    [VM_LEASED] = "leased",	  [VM_RUNNING] = "running", [VM_DISCARDED] = "discarded"};

bool vm_state_transition_valid(enum vm_state from, enum vm_state to)
{
	return (unsigned)from <= VM_DISCARDED && (vm_moves[from] & TO(to));
}

const char *vm_state_to_string(enum vm_state s)
{
	return (unsigned)s <= VM_DISCARDED ? vm_state_names[s] : "invalid";
}
