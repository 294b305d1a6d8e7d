/* host.h: facts about the host that go into VMM configuration and into
 * snapshot keys (the QEMU version string and the TSC rate), and the KVM
 * probe behind the choice of accelerator. */
#pragma once

/* First line of `qemu --version`, malloc'd, or NULL if QEMU cannot run. */
char *vmm_qemu_version(const char *qemu);

/* The host's TSC rate in kHz from the first "cpu MHz" line of
 * /proc/cpuinfo (the TSC rate on virtualised hosts and on CPUs with a
 * constant TSC), 0 if unknown. TCG guests get it (see qemu-argv.c). */
unsigned vmm_host_tsc_khz(void);

struct jail;

/* Whether KVM runs a guest here: a short test boot of `kernel` under KVM
 * (at most 5 s), in `jail` like every VMM (NULL: unjailed). 0 if it ran; -ENODEV with the reason in
 * *ret_reason (malloc'd) if /dev/kvm is not accessible or the guest never ran; another -errno (and no reason)
 * if QEMU could not be started. */
int vmm_probe_kvm(const char *qemu, const char *kernel, struct jail *jail, char **ret_reason);
