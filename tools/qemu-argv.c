/* qemu-argv.c: prints the QEMU command line runnerd would use for a machine
 * (vmm-client/qemu-argv.c), one argument per line or NUL-terminated, so
 * scripts that start QEMU themselves (tests/integration/agent-driver.py)
 * run the same VMM as runnerd instead of keeping a copy of its flags. The
 * fds named by --qmp-fd, --agent-fd, --ram-fd and --state-fd are the
 * caller's to pass to QEMU at those numbers. Defaults are runnerd's. A
 * development tool: not installed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "qemu-argv.h"
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

static int number(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 1u << 30)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		O_QEMU = 256,
		O_ACCEL,
		O_KERNEL,
		O_IMAGE,
		O_MEM,
		O_VCPUS,
		O_TB,
		O_TSC,
		O_CONSOLE,
		O_CONSOLE_STDOUT,
		O_RESTORE,
		O_RAM_PATH,
		O_RAM_FD,
		O_QMP_FD,
		O_AGENT_FD,
		O_STATE_FD,
		O_HELP
	};
	static const struct option opts[] = {
	    {"qemu", required_argument, NULL, O_QEMU},
	    {"accel", required_argument, NULL, O_ACCEL},
	    {"kernel", required_argument, NULL, O_KERNEL},
	    {"image", required_argument, NULL, O_IMAGE},
	    {"memory-mb", required_argument, NULL, O_MEM},
	    {"vcpus", required_argument, NULL, O_VCPUS},
	    {"tb-size-mb", required_argument, NULL, O_TB},
	    {"tsc-khz", required_argument, NULL, O_TSC},
	    {"console", required_argument, NULL, O_CONSOLE},
	    {"console-stdout", no_argument, NULL, O_CONSOLE_STDOUT},
	    {"restore", no_argument, NULL, O_RESTORE},
	    {"ram-path", required_argument, NULL, O_RAM_PATH},
	    {"ram-fd", required_argument, NULL, O_RAM_FD},
	    {"qmp-fd", required_argument, NULL, O_QMP_FD},
	    {"agent-fd", required_argument, NULL, O_AGENT_FD},
	    {"state-fd", required_argument, NULL, O_STATE_FD},
	    {"null", no_argument, NULL, '0'},
	    {"help", no_argument, NULL, O_HELP},
	    {0},
	};
	struct qemu_machine m = QEMU_MACHINE_INIT;
	const char *tsc = "host";
	char end = '\n', **out;
	unsigned fd;
	int c, bad = 0;

	m.qemu = "/usr/bin/qemu-system-x86_64";
	m.accel = "tcg";
	m.memory_mb = 512;
	m.vcpus = 1;
	m.tb_size_mb = VMM_DEFAULT_TB_SIZE_MB;
	m.start = QEMU_START_BOOT;
	while ((c = getopt_long(argc, argv, "0h", opts, NULL)) != -1) {
		switch (c) {
		case O_QEMU:
			m.qemu = optarg;
			break;
		case O_ACCEL:
			m.accel = optarg;
			break;
		case O_KERNEL:
			m.kernel = optarg;
			break;
		case O_IMAGE:
			m.image = optarg;
			break;
		case O_MEM:
			bad |= number(optarg, &m.memory_mb);
			break;
		case O_VCPUS:
			bad |= number(optarg, &m.vcpus);
			break;
		case O_TB:
			bad |= number(optarg, &m.tb_size_mb);
			break;
		case O_TSC:
			tsc = optarg;
			break;
		case O_CONSOLE:
			m.console = QEMU_CONSOLE_FILE;
			m.console_path = optarg;
			break;
		case O_CONSOLE_STDOUT:
			m.console = QEMU_CONSOLE_STDOUT;
			break;
		case O_RESTORE:
			m.start = QEMU_START_RESTORE;
			break;
		case O_RAM_PATH:
			m.ram_path = optarg;
			break;
		case O_RAM_FD:
			bad |= number(optarg, &fd);
			m.ram_fd = (int)fd;
			break;
		case O_QMP_FD:
			bad |= number(optarg, &fd);
			m.qmp_fd = (int)fd;
			break;
		case O_AGENT_FD:
			bad |= number(optarg, &fd);
			m.agent_fd = (int)fd;
			break;
		case O_STATE_FD:
			bad |= number(optarg, &fd);
			m.state_fd = (int)fd;
			break;
		case '0':
			end = '\0';
			break;
		case 'h':
		case O_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (strcmp(tsc, "host") == 0)
		m.tsc_khz = vmm_host_tsc_khz();
	else
		bad |= number(tsc, &m.tsc_khz);
	if (bad || optind != argc) {
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
