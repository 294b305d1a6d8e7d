/* test-sha256.c: unit tests of vmm-client/sha256.c: the FIPS 180-4 example
 * vectors (empty, "abc", the 448-bit message, a million 'a') as buffers and
 * as files (a file larger than one read), and -errno for a missing file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#include "sha256.h"

static const char *file_of(const void *data, size_t n, char path[64])
{
	int fd;

	snprintf(path, 64, "/tmp/test-sha256.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, data, n) != (ssize_t)n) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return path;
}

int main(void)
{
	static const struct {
		const char *name;
		const char *msg;
		const char *hex;
	} vec[] = {
	    {"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"448-bit", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	    {"million a", NULL, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	};
	size_t million = 1000000;
	char *a = malloc(million);
	char hex[65], path[64], name[80];

	if (!a)
		return 1;
	memset(a, 'a', million);
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		const char *msg = vec[i].msg ? vec[i].msg : a;
		size_t n = vec[i].msg ? strlen(msg) : million;

		memset(hex, 'x', sizeof(hex));
		sha256_hex(msg, n, hex);
		snprintf(name, sizeof(name), "buffer: %s", vec[i].name);
		CHECK(strcmp(hex, vec[i].hex) == 0, name);

		memset(hex, 'x', sizeof(hex));
		snprintf(name, sizeof(name), "file: %s", vec[i].name);
		if (!file_of(msg, n, path)) {
			CHECK(0, name);
			continue;
		}
		CHECK(sha256_file_hex(path, hex) == 0 && strcmp(hex, vec[i].hex) == 0, name);
		unlink(path);
	}
	CHECK(sha256_file_hex("/nonexistent/test-sha256", hex) == -ENOENT, "missing file: -ENOENT");
	free(a);
	return check_done();
}
