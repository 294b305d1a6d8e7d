/* test-base64.c: unit tests of daemon/base64.c: RFC 4648 vectors, round
 * trips of every length and byte value, and the strict decoder refusing
 * whitespace, bad padding, non-canonical trailing bits and stray characters. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#include "base64.h"

static int dec(const char *s, uint8_t **out, size_t *n)
{
	return base64_decode(s, strlen(s), out, n);
}

int main(void)
{
	static const char *vec[][2] = {{"", ""},
				       {"f", "Zg=="},
				       {"fo", "Zm8="},
				       {"foo", "Zm9v"},
				       {"foob", "Zm9vYg=="},
				       {"fooba", "Zm9vYmE="},
				       {"foobar", "Zm9vYmFy"}};
	static const char *bad[] = {"Zg",    "Zg=",	  "Zg===", "Z===", "Zm9v\n",
				    " Zm9v", "Zm9v YmFy", "Zh==",  "Zm9=", "Zm=v",
				    "=Zm9",  "Zm9v====",  "Zm9-",  "Zm9_", "Zg==Zg=="};
	uint8_t all[256], *out = NULL;
	size_t n;
	char *enc;
	bool ok = true;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "RFC 4648 vector '%s'", vec[i][0]);
		CHECK(base64_encode(vec[i][0], strlen(vec[i][0]), &enc, &n) == 0 &&
			  strcmp(enc, vec[i][1]) == 0 && n == strlen(vec[i][1]),
		      name);
		free(enc);
		CHECK(dec(vec[i][1], &out, &n) == 0 && n == strlen(vec[i][0]) &&
			  (n == 0 || memcmp(out, vec[i][0], n) == 0),
		      "decodes back");
		free(out);
		out = NULL;
	}
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)(255 - i);
	for (size_t len = 0; len <= 256 && ok; len++) {
		size_t m;
		if (base64_encode(all, len, &enc, &n) < 0 || n != base64_encoded_len(len))
			ok = false;
		else if (base64_decoded_len(enc, n, &m) < 0 || m != len)
			ok = false;
		else if (base64_decode(enc, n, &out, &m) < 0 || m != len || (len && memcmp(out, all, len)))
			ok = false;
		free(enc);
		free(out);
		out = NULL;
	}
	CHECK(ok, "round trip of every length 0..256, all byte values");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "rejects malformed input #%zu", i);
		CHECK(dec(bad[i], &out, &n) == -EINVAL, name);
	}
	CHECK(base64_decode("Zm\0v", 4, &out, &n) == -EINVAL, "rejects NUL inside");
	return check_done();
}
