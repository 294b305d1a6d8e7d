/* sha256.c: sha256.h on nettle's SHA-256 and base16 (lowercase) encoder. */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/base16.h>
#include <nettle/sha2.h>
#include <unistd.h>

void sha256_end_hex(struct sha256_ctx *ctx, char out[65])
{
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_digest(ctx, sizeof(d), d);
	base16_encode_update(out, sizeof(d), d);
	out[BASE16_ENCODE_LENGTH(SHA256_DIGEST_SIZE)] = '\0';
}

void sha256_hex(const void *data, size_t n, char out[65])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, n, data);
	sha256_end_hex(&ctx, out);
}

int sha256_file_hex(const char *path, char out[65])
{
	struct sha256_ctx ctx;
	uint8_t buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	sha256_init(&ctx);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&ctx, (size_t)n, buf);
	int r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	sha256_end_hex(&ctx, out);
	return 0;
}
