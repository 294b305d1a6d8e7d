/* cleanup.h: scope-bound cleanup, in the style of systemd, on the cleanup
 * attribute of GCC and clang. A variable declared _cleanup_free_ is freed,
 * _cleanup_close_ closed, when it goes out of scope, on every path out of
 * the function; TAKE_PTR() and TAKE_FD() hand a value on and leave NULL or
 * -1 behind, so what was handed on is not released too. A constructor
 * with several error exits then reads as a list of checks and returns, and
 * the one object it hands out is taken at the end. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Closes fd if it is one and returns -1, for `x->fd = safe_close(x->fd)`;
 * errno survives, so it can follow the call that failed. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}

/* For socketpair() and pipe2() results: int fds[2]. */
static inline void close_pairp(int (*fds)[2])
{
	safe_close((*fds)[0]);
	safe_close((*fds)[1]);
}

#define _cleanup_free_	     _cleanup_(freep)
#define _cleanup_close_	     _cleanup_(closep)
#define _cleanup_close_pair_ _cleanup_(close_pairp)

/* Defines funcp(), a cleanup function for a variable of pointer type
 * `type` whose destructor is func; NULL is skipped, so func need not
 * accept it. Headers declare theirs next to the destructor:
 * DEFINE_CLEANUP(struct pool *, pool_free) gives _cleanup_(pool_freep). */
#define DEFINE_CLEANUP(type, func)                                                                           \
	static inline void func##p(type *p)                                                                  \
	{                                                                                                    \
		if (*p)                                                                                      \
			func(*p);                                                                            \
	}

/* The value of pointer variable p, which is left NULL: ownership moves to
 * whoever takes it. */
#define TAKE_PTR(p)                                                                                          \
	({                                                                                                   \
		__typeof__(p) *take_ptr_p_ = &(p), take_ptr_v_ = *take_ptr_p_;                               \
		*take_ptr_p_ = NULL;                                                                         \
		take_ptr_v_;                                                                                 \
	})

/* The same for a file descriptor variable, which is left -1. */
#define TAKE_FD(fd)                                                                                          \
	({                                                                                                   \
		int *take_fd_p_ = &(fd), take_fd_v_ = *take_fd_p_;                                           \
		*take_fd_p_ = -1;                                                                            \
		take_fd_v_;                                                                                  \
	})
