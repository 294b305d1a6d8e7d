/* host.c: reading host facts. `qemu --version` runs through
 * vmm_run_capture(), like every other QEMU process. */
#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"

char *vmm_qemu_version(const char *qemu)
{
	char *argv[] = {(char *)qemu, "--version", NULL};
	char line[256];

	if (vmm_run_capture(qemu, argv, 10000, NULL, line, sizeof(line)) < 0)
		return NULL;
	line[strcspn(line, "\n")] = 0;
	return line[0] ? strdup(line) : NULL;
}

unsigned vmm_host_tsc_khz(void)
{
	char line[256];
	double mhz = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
			break;
	fclose(f);
	return mhz > 0 && mhz < 100000 ? (unsigned)(mhz * 1000) : 0;
}
