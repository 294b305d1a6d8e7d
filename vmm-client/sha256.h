/* sha256.h: SHA-256 hex digests (nettle underneath), for snapshot keys
 * (which kernel, image, QEMU and machine options a snapshot was made from)
 * and the digests of cached files. Not used for anything secret. */
#pragma once

#include <stddef.h>

/* Hex digest (64 lowercase digits and a NUL) of n bytes at data. */
void sha256_hex(const void *data, size_t n, char out[65]);
/* Hex digest of a whole file (-errno on I/O errors). */
int sha256_file_hex(const char *path, char out[65]);
