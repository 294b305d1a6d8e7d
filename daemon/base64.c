/* base64.c: strict base64 encoder and decoder, see base64.h. */
#include "base64.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int decode_char(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

int base64_decoded_len(const char *in, size_t len, size_t *ret)
{
	size_t pad = 0;

	if (len % 4 != 0)
		return -EINVAL;
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	*ret = len / 4 * 3 - pad;
	return 0;
}

int base64_encode(const void *data, size_t n, char **ret, size_t *ret_len)
{
	const uint8_t *p = data;
	size_t out_len = base64_encoded_len(n), i, o = 0;
	char *out;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 2)
		return -ENOMEM;
	out = malloc(out_len + 1);
	if (!out)
		return -ENOMEM;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = o;
	return 0;
}

int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t out_len, i, o = 0;
	uint8_t *out = NULL;
	int r;

	r = base64_decoded_len(in, len, &out_len);
	if (r < 0)
		return r;
	if (out_len > 0) {
		out = malloc(out_len);
		if (!out)
			return -ENOMEM;
	}
	for (i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int a = decode_char((unsigned char)in[i]), b = decode_char((unsigned char)in[i + 1]);
		int c = decode_char((unsigned char)in[i + 2]), d = decode_char((unsigned char)in[i + 3]);

		if (a < 0 || b < 0)
			goto bad;
		if (last && in[i + 2] == '=' && in[i + 3] == '=') {
			if (b & 15) /* non-canonical: unused bits set */
				goto bad;
			out[o++] = (uint8_t)(a << 2 | b >> 4);
			break;
		}
		if (c < 0)
			goto bad;
		if (last && in[i + 3] == '=') {
			if (c & 3)
				goto bad;
			out[o++] = (uint8_t)(a << 2 | b >> 4);
			out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
			break;
		}
		if (d < 0)
			goto bad;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
		out[o++] = (uint8_t)((c & 3) << 6 | d);
	}
	if (o != out_len) /* cannot happen with the checks above; be sure */
		goto bad;
	*ret = out;
	*ret_len = out_len;
	return 0;
bad:
	free(out);
	return -EINVAL;
}
