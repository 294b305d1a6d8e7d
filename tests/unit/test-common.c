/* test-common.c: the host's common library: cleanup.h releases what is
 * left and nothing that was taken, the clocks and timevals, err_setf(). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "error-util.h"
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

int main(void)
{
	test_cleanup();
	test_time();
	test_err_setf();
	return check_done();
}
