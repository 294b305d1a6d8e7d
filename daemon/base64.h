/* base64.h: strict RFC 4648 base64 (standard alphabet, '=' padding) for the
 * API's *_b64 fields and base64 output. Decoding is strict on purpose: the
 * length must be a multiple of 4, padding only at the end, no whitespace or
 * line breaks, and the unused bits of the last group must be zero, so every
 * byte string has exactly one accepted encoding. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Length of the encoding of n bytes, without a terminating NUL. */
size_t base64_encoded_len(size_t n);

/* Exact decoded length of a well-formed encoding of `len` characters (looks
 * at the padding), or -EINVAL if len is not a multiple of 4. Lets callers
 * bound a decode before allocating. */
int base64_decoded_len(const char *in, size_t len, size_t *ret);

/* Returns a malloc'd NUL-terminated encoding in *ret (length in *ret_len if
 * not NULL). -ENOMEM. */
int base64_encode(const void *data, size_t n, char **ret, size_t *ret_len);

/* Decodes into a malloc'd buffer (*ret is NULL when the result is empty).
 * -EINVAL on any malformed input, -ENOMEM. */
int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);
