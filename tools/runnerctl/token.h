/* token.h: the bearer token of --token-file: the file's first line, which
 * becomes an "Authorization: Bearer" header. It is checked here so that no
 * token can add a header line of its own or be sent empty. */
#pragma once

#include <stddef.h>

#define TOKEN_FILE_MAX (64u << 10)
#define TOKEN_MAX      4096

/* The first line of data (its '\n', and a '\r' before it, stripped): 0 and
 * a malloc'd *ret; -ENODATA if it is empty, -EINVAL if it holds anything
 * but visible ASCII (a space, a control character, a NUL, a byte above
 * 0x7e), -E2BIG above TOKEN_MAX bytes, -ENOMEM. */
int token_parse(const char *data, size_t len, char **ret);

/* token_parse() of the file at path (at most TOKEN_FILE_MAX bytes read,
 * else -EFBIG), or the -errno of reading it. */
int token_read_file(const char *path, char **ret);

/* What a token_parse() or token_read_file() error means, for the message. */
const char *token_strerror(int r);
