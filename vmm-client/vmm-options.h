/* vmm-options.h: the command-line options of a VM's machine, spelled and
 * bounded alike by every program that starts VMs (runnerd, bench/vmbench,
 * tools/qemu-argv), so a benchmark or a test's QEMU cannot be given a
 * machine runnerd would refuse. Each program keeps its own usage text and
 * its own default accelerator (runnerd probes, the others take tcg). */
#pragma once

#include "options.h"

/* Entries of an options.h table: --qemu PATH, --accel NAME (checked by
 * whoever resolves it), --memory-mb N (64..65536) and --tb-size-mb N
 * (0..4096; 0 leaves QEMU's default), stored where the four pointers say. */
#define VMM_MACHINE_OPTIONS(qemu, accel, memory_mb, tb_size_mb)                                              \
	OPTION("qemu", OPT_STRING, (qemu)), OPTION("accel", OPT_STRING, (accel)),                            \
	    OPTION("memory-mb", OPT_UINT, (memory_mb), .min = 64, .max = 65536),                             \
	    OPTION("tb-size-mb", OPT_UINT, (tb_size_mb), .max = 4096)
