/* token.c: see token.h. The token is a secret: no message repeats it. */
#include "token.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "input.h"

int token_parse(const char *data, size_t len, char **ret)
{
	const char *nl = memchr(data, '\n', len);
	size_t n = nl ? (size_t)(nl - data) : len;
	char *token;

	if (n > 0 && data[n - 1] == '\r')
		n--;
	if (n == 0)
		return -ENODATA;
	if (n > TOKEN_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)data[i] <= 0x20 || (unsigned char)data[i] >= 0x7f)
			return -EINVAL;
	token = strndup(data, n);
	if (!token)
		return -ENOMEM;
	*ret = token;
	return 0;
}

int token_read_file(const char *path, char **ret)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	/* A file named "-", not our stdin, which exec may need. */
	int r = input_read(strcmp(path, "-") == 0 ? "./-" : path, TOKEN_FILE_MAX, &data, &len);

	if (r < 0)
		return r;
	return token_parse((const char *)data, len, ret);
}

const char *token_strerror(int r)
{
	switch (r) {
	case -ENODATA:
		return "empty token (its first line is empty)";
	case -EINVAL:
		return "the token (its first line) holds a character other than visible ASCII";
	case -E2BIG:
		return "the token (its first line) is longer than 4096 bytes";
	case -EFBIG:
		return "too large for a token file";
	default:
		return strerror(-r);
	}
}
