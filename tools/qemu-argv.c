/* qemu-argv.c: prints the QEMU command line runnerd would use for a machine
 * (vmm-client/qemu-argv.c), one argument per line or NUL-terminated, so
 * scripts that start QEMU themselves (tests/integration/agent-driver.py)
 * run the same VMM as runnerd instead of keeping a copy of its flags. The
 * fds named by --qmp-fd, --agent-fd, --ram-fd and --state-fd are the
 * caller's to pass to QEMU at those numbers. Defaults are runnerd's. A
 * development tool: not installed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "parse-util.h"
#include "qemu-argv.h"
#include "vmm-options.h"
#include "vmm.h"

static const char usage[] =
    "Usage: qemu-argv --kernel VMLINUX [OPTIONS]\n"
    "Prints runnerd's QEMU command line for a machine, one argument per line.\n"
    "\n"
    "  --qemu PATH        argv[0] (default /usr/bin/qemu-system-x86_64)\n"
    "  --accel tcg|kvm    (default tcg)\n"
    "  --kernel PATH      guest kernel (required)\n"
    "  --image PATH       root filesystem (default: none, the kernel panics: the KVM probe)\n"
    "  --memory-mb N      (default 512)\n"
    "  --vcpus N          (default 1)\n"
    "  --tb-size-mb N     TCG translation buffer (default runnerd's)\n"
    "  --tsc-khz N|host   TSC rate given to a TCG guest (default host: this host's rate)\n"
    "  --console PATH     guest console to a file (default: discarded)\n"
    "  --console-stdout   guest console on QEMU's stdout\n"
    "  --restore          start paused, -incoming defer (needs --ram-fd and --state-fd)\n"
    "  --ram-path PATH    guest RAM in this file (default: anonymous RAM)\n"
    "  --ram-fd N         guest RAM in inherited fd N\n"
    "  --qmp-fd N         QMP monitor on inherited socket N\n"
    "  --agent-fd N       agent port on inherited socket N\n"
    "  --state-fd N       restore: migration stream on inherited fd N\n"
    "  -0, --null         end each argument with a NUL instead of a newline\n";

/* Bounds vCPUs, fds and the TSC rate; the machine's sizes have runnerd's
 * own bounds (vmm-options.h). */
#define NUMBER_MAX (1u << 30)

int main(int argc, char **argv)
{
	enum { O_CONSOLE = 256, O_CONSOLE_STDOUT, O_RESTORE };
	struct qemu_machine m = QEMU_MACHINE_INIT;
	const char *tsc = "host";
	const struct opt opts[] = {
	    VMM_MACHINE_OPTIONS(&m.qemu, &m.accel, &m.memory_mb, &m.tb_size_mb),
	    OPTION("kernel", OPT_STRING, &m.kernel),
	    OPTION("image", OPT_STRING, &m.image),
	    OPTION("vcpus", OPT_UINT, &m.vcpus, .max = NUMBER_MAX),
	    OPTION("tsc-khz", OPT_STRING, &tsc),
	    OPTION("console", OPT_STRING, &m.console_path, .key = O_CONSOLE),
	    OPTION("console-stdout", OPT_KEY, NULL, .key = O_CONSOLE_STDOUT),
	    OPTION("restore", OPT_KEY, NULL, .key = O_RESTORE),
	    OPTION("ram-path", OPT_STRING, &m.ram_path),
	    OPTION("ram-fd", OPT_INT, &m.ram_fd, .max = NUMBER_MAX),
	    OPTION("qmp-fd", OPT_INT, &m.qmp_fd, .max = NUMBER_MAX),
	    OPTION("agent-fd", OPT_INT, &m.agent_fd, .max = NUMBER_MAX),
	    OPTION("state-fd", OPT_INT, &m.state_fd, .max = NUMBER_MAX),
	    OPTION("null", OPT_KEY, NULL, .key = '0'),
	    OPTION("help", OPT_KEY, NULL, .key = 'h'),
	    {0},
	};
	char end = '\n', **out;
	int c;

	m.qemu = VMM_DEFAULT_QEMU;
	m.accel = "tcg";
	m.memory_mb = VMM_DEFAULT_MEMORY_MB;
	m.vcpus = 1;
	m.tb_size_mb = VMM_DEFAULT_TB_SIZE_MB;
	m.start = QEMU_START_BOOT;
	while ((c = opt_next(argc, argv, "0h", opts, NULL)) != -1) {
		switch (c) {
		case O_CONSOLE:
			m.console = QEMU_CONSOLE_FILE;
			break;
		case O_CONSOLE_STDOUT:
			m.console = QEMU_CONSOLE_STDOUT;
			break;
		case O_RESTORE:
			m.start = QEMU_START_RESTORE;
			break;
		case '0':
			end = '\0';
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default: /* an unknown option or a bad value */
			fputs(usage, stderr);
			return 2;
		}
	}
	if (strcmp(tsc, "host") == 0)
		m.tsc_khz = vmm_host_tsc_khz();
	else if (parse_uint(tsc, 10, 0, NUMBER_MAX, &m.tsc_khz) < 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	int r = qemu_argv_build(&m, &out);
	if (r < 0) {
		fprintf(stderr, "qemu-argv: %s\n",
			r == -EINVAL ? "inconsistent machine (see --help)" : strerror(-r));
		return 2;
	}
	for (char **p = out; *p; p++) {
		if (end == '\n' && strchr(*p, '\n')) {
			fprintf(stderr, "qemu-argv: an argument contains a newline: use --null\n");
			qemu_argv_free(out);
			return 2;
		}
		fputs(*p, stdout);
		putchar(end);
	}
	qemu_argv_free(out);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
