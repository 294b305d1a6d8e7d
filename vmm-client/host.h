/* host.h: facts about the host that go into VMM configuration and into
 * snapshot keys: the QEMU version string and the TSC rate. */
#pragma once

/* First line of `qemu --version`, malloc'd, or NULL if QEMU cannot run. */
char *vmm_qemu_version(const char *qemu);

/* The host's TSC rate in kHz from the first "cpu MHz" line of
 * /proc/cpuinfo (the TSC rate on virtualised hosts and on CPUs with a
 * constant TSC), 0 if unknown. TCG guests get it (see vmm.c). */
unsigned vmm_host_tsc_khz(void);
