/* utf8.h: UTF-8 validation and repair for program output. What a guest
 * prints is arbitrary bytes; JSON strings must be valid UTF-8. utf8_sanitize()
 * keeps valid sequences (including NUL, which JSON carries as \u0000) and
 * replaces each maximal invalid subpart (overlong forms, surrogates, code
 * points above U+10FFFF, truncated or stray bytes) with U+FFFD, following the
 * "substitution of maximal subparts" practice of Unicode chapter 3. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes at p do
 * not start one; in that case *ret_bad is how many bytes to replace (>= 1). */
size_t utf8_sequence_len(const uint8_t *p, size_t left, size_t *ret_bad);

bool utf8_valid(const void *data, size_t len);

/* Writes a malloc'd, NUL-terminated copy of data with invalid sequences
 * replaced by U+FFFD to *ret (length without the NUL in *ret_len) and whether
 * anything was replaced to *ret_lossy. At most 3 * len + 1 bytes. -ENOMEM. */
int utf8_sanitize(const void *data, size_t len, char **ret, size_t *ret_len, bool *ret_lossy);
