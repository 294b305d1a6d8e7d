/* sha256.h: SHA-256, for snapshot keys (which kernel, image, QEMU and machine
 * options a snapshot was made from). Not used for anything secret. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[32]);
/* Hex digest of a whole file (-errno on I/O errors). */
int sha256_file_hex(const char *path, char out[65]);
void sha256_hex(const uint8_t digest[32], char out[65]);
