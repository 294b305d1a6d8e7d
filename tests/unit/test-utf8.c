/* test-utf8.c: unit tests of daemon/utf8.c: valid text (ASCII, NUL, 2-4
 * byte forms, the extremes U+10FFFF and U+FFFF) passes unchanged; overlong
 * forms, surrogates, code points past U+10FFFF, truncated sequences and stray
 * continuation bytes are replaced by U+FFFD, one per maximal subpart, with
 * the lossy flag set. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#include "utf8.h"

#define R "\xef\xbf\xbd"

static bool same(const char *in, size_t in_len, const char *want, size_t want_len, bool want_lossy)
{
	char *out;
	size_t n;
	bool lossy, ok;

	if (utf8_sanitize(in, in_len, &out, &n, &lossy) < 0)
		return false;
	ok = n == want_len && memcmp(out, want, n) == 0 && lossy == want_lossy && out[n] == '\0';
	if (!ok)
		printf("# got %zu bytes, lossy %d\n", n, lossy);
	free(out);
	return ok;
}
#define SAME(in, want, lossy) same(in, sizeof(in) - 1, want, sizeof(want) - 1, lossy)

int main(void)
{
	CHECK(SAME("hello", "hello", false), "ASCII unchanged");
	CHECK(SAME("a\0b", "a\0b", false), "NUL kept");
	CHECK(SAME("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", false),
	      "2, 3 and 4 byte forms unchanged");
	CHECK(SAME("\xf4\x8f\xbf\xbf\xef\xbf\xbf", "\xf4\x8f\xbf\xbf\xef\xbf\xbf", false),
	      "U+10FFFF, U+FFFF");
	CHECK(SAME("\xff", R, true), "0xff");
	CHECK(SAME("a\x80z", "a" R "z", true), "stray continuation byte");
	CHECK(SAME("\xc0\xaf", R R, true), "overlong '/' (2 bytes)");
	CHECK(SAME("\xe0\x80\xaf", R R R, true), "overlong '/' (3 bytes)");
	CHECK(SAME("\xed\xa0\x80", R R R, true), "surrogate U+D800");
	CHECK(SAME("\xf4\x90\x80\x80", R R R R, true), "U+110000");
	CHECK(SAME("\xe2\x82", R, true), "truncated at the end: one replacement");
	CHECK(SAME("\xe2\x82z", R "z", true), "truncated before ASCII");
	CHECK(SAME("\xf0\x9f\x98", R, true), "truncated 4-byte form");
	CHECK(utf8_valid("ok\xc3\xa9", 4) && !utf8_valid("\xc3", 1), "utf8_valid");
	{
		size_t n = 1 << 20, m;
		char *big = malloc(n), *out;
		bool lossy;
		memset(big, 0xff, n);
		CHECK(utf8_sanitize(big, n, &out, &m, &lossy) == 0 && m == 3 * n && lossy,
		      "1 MiB of 0xff: 3 MiB out");
		free(out);
		free(big);
	}
	return check_done();
}
