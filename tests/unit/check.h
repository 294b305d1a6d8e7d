/* check.h: the unit tests' one assertion macro, TAP-flavoured.
 *   CHECK(cond)        counts; prints "not ok" with the condition on failure
 *   CHECK(cond, name)  also prints "ok N - name" on success
 * End main() with `return check_done();`. */
#pragma once

#include <stdio.h>

static int check_count, check_failures;

static inline void check_report(int ok, const char *name, int named, const char *file, int line)
{
	check_count++;
	if (ok) {
		if (named)
			printf("ok %d - %s\n", check_count, name);
		return;
	}
	check_failures++;
	printf("not ok %d - %s (%s:%d)\n", check_count, name, file, line);
}

static inline int check_done(void)
{
	printf("1..%d\n%d check(s) failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}

#define CHECK_1(cond)		       check_report(!!(cond), #cond, 0, __FILE__, __LINE__)
#define CHECK_2(cond, name)	       check_report(!!(cond), name, 1, __FILE__, __LINE__)
#define CHECK_PICK(_1, _2, which, ...) which
#define CHECK(...)		       CHECK_PICK(__VA_ARGS__, CHECK_2, CHECK_1, unused)(__VA_ARGS__)
