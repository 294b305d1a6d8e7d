/* sha256.h: SHA-256 hex digests (nettle underneath), for snapshot keys
 * (which kernel, image, QEMU and machine options a snapshot was made from)
 * and the digests of cached files. Not used for anything secret. */
#pragma once

#include <nettle/sha2.h>
#include <stddef.h>

/* Hex digest (64 lowercase digits and a NUL) of n bytes at data. */
void sha256_hex(const void *data, size_t n, char out[65]);
/* Hex digest of a whole file (-errno on I/O errors). */
int sha256_file_hex(const char *path, char out[65]);
/* A digest made in pieces: sha256_init() and sha256_update() are nettle's;
 * this ends it as hex. */
void sha256_end_hex(struct sha256_ctx *ctx, char out[65]);
