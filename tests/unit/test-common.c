/* test-common.c: the host's common library: cleanup.h releases what is
 * left and nothing that was taken, the clocks and timevals, err_setf(),
 * parse_uint() and the options table. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "error-util.h"
#include "options.h"
#include "parse-util.h"
#include "time-util.h"

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int freed;

static void counted_free(char *s)
{
	freed++;
	free(s);
}

DEFINE_CLEANUP(char *, counted_free)

/* Returns an fd that was opened under _cleanup_close_ and taken. */
static int open_and_take(int *ret_dropped)
{
	_cleanup_close_ int kept = open("/dev/null", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int dropped = open("/dev/null", O_RDONLY | O_CLOEXEC);

	*ret_dropped = dropped;
	return TAKE_FD(kept);
}

static void test_cleanup(void)
{
	int dropped, kept = open_and_take(&dropped);

	CHECK(kept >= 0 && fd_open(kept), "TAKE_FD: the taken fd stays open");
	CHECK(!fd_open(dropped) || dropped == kept, "_cleanup_close_: the other fd is closed");
	CHECK(safe_close(kept) == -1 && !fd_open(kept), "safe_close() closes and returns -1");
	CHECK(safe_close(-1) == -1, "safe_close(-1) does nothing");

	char *taken;
	{
		_cleanup_(counted_freep) char *a = strdup("a");
		_cleanup_(counted_freep) char *b = strdup("b");
		_cleanup_(counted_freep) char *none = NULL;
		taken = TAKE_PTR(b);
		CHECK(b == NULL && taken && strcmp(taken, "b") == 0,
		      "TAKE_PTR moves the pointer, leaves NULL");
		(void)a;
		(void)none;
	}
	CHECK(freed == 1, "DEFINE_CLEANUP: the one pointer left is freed, NULL skipped");
	free(taken);

	int fds[2];
	{
		_cleanup_close_pair_ int pair[2] = {-1, -1};
		CHECK(pipe2(pair, O_CLOEXEC) == 0, "pipe2");
		memcpy(fds, pair, sizeof(fds));
	}
	CHECK(!fd_open(fds[0]) && !fd_open(fds[1]), "_cleanup_close_pair_ closes both ends");
}

static void test_time(void)
{
	uint64_t a = now_ns(), b = now_ns();
	struct timeval tv = timeval_from_ms(61234);

	CHECK(a > 0 && b >= a, "now_ns() is monotonic");
	CHECK(realtime_ns() > 1600000000ull * 1000000000ull, "realtime_ns() is the wall clock");
	CHECK(tv.tv_sec == 61 && tv.tv_usec == 234000, "timeval_from_ms(61234)");
	tv = timeval_from_ms(0);
	CHECK(tv.tv_sec == 0 && tv.tv_usec == 0, "timeval_from_ms(0)");
}

static void test_err_setf(void)
{
	_cleanup_free_ char *error = NULL;

	CHECK(err_setf(&error, -EINVAL, "'%s' has %d entries", "files", 17) == -EINVAL,
	      "err_setf() returns its r");
	CHECK(error && strcmp(error, "'files' has 17 entries") == 0, "err_setf() formats the message");
	CHECK(err_setf(NULL, -ENOENT, "%s", "nobody asked") == -ENOENT, "err_setf(NULL, ...) only returns r");
}

static void test_parse_uint(void)
{
	unsigned v = 7;

	CHECK(parse_uint("42", 10, 1, 100, &v) == 0 && v == 42, "parse_uint(\"42\")");
	CHECK(parse_uint("0660", 8, 0, 0777, &v) == 0 && v == 0660, "parse_uint() in base 8");
	v = 7;
	CHECK(parse_uint("", 10, 0, 100, &v) < 0 && v == 7, "empty text is refused, *ret untouched");
	CHECK(parse_uint("12x", 10, 0, 100, &v) < 0, "trailing characters are refused");
	CHECK(parse_uint("101", 10, 0, 100, &v) < 0 && parse_uint("0", 10, 1, 100, &v) < 0,
	      "out of range is refused");
	CHECK(parse_uint("99999999999999999999999", 10, 0, ~0u, &v) < 0, "overflow is refused");
}

static void test_options(void)
{
	enum { O_BOTH = 256 };
	const char *name = "default";
	unsigned n = 1, both = 0;
	int fd = -1;
	double f = 0;
	bool on = true;
	const struct opt opts[] = {
	    OPTION("name", OPT_STRING, &name),
	    OPTION("n", OPT_UINT, &n, .min = 1, .max = 9),
	    OPTION("both", OPT_UINT, &both, .max = 9, .key = O_BOTH),
	    OPTION("fd", OPT_INT, &fd, .max = 10),
	    OPTION("f", OPT_DOUBLE, &f),
	    OPTION("off", OPT_FALSE, &on),
	    OPTION("help", OPT_KEY, NULL, .key = 'h'),
	    {0},
	};
	char *argv[] = {"prog",	 "--name=x", "--n", "3",      "--fd", "4", "--f",  "2.5",
			"--off", "--both=5", "-h",  "--help", "--n",  "0", "rest", NULL};
	int argc = sizeof(argv) / sizeof(argv[0]) - 1;
	const struct opt *o;

	optind = 1;
	CHECK(opt_next(argc, argv, "h", opts, &o) == O_BOTH && o == &opts[2],
	      "stored options pass silently up to a keyed one");
	CHECK(strcmp(name, "x") == 0 && n == 3 && fd == 4 && f == 2.5 && !on && both == 5,
	      "every value stored where its entry says");
	CHECK(opt_next(argc, argv, "h", opts, &o) == 'h', "a short option is its own key");
	CHECK(opt_next(argc, argv, "h", opts, &o) == 'h' && o == &opts[6], "--help has key 'h'");
	CHECK(opt_next(argc, argv, "h", opts, &o) == OPT_BAD_VALUE && o == &opts[1] && n == 3,
	      "a value out of range: OPT_BAD_VALUE, its entry, nothing stored");
	CHECK(opt_next(argc, argv, "h", opts, &o) == -1 && optind == argc - 1, "-1 at the first argument");

	char *bad[] = {"prog", "--nope", NULL};
	optind = 1;
	opterr = 0;
	CHECK(opt_next(2, bad, "h", opts, &o) == '?' && !o, "an unknown option is '?'");
	opterr = 1;
}

int main(void)
{
	test_cleanup();
	test_time();
	test_err_setf();
	test_parse_uint();
	test_options();
	return check_done();
}
