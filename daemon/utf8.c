/* utf8.c: strict UTF-8 validation and U+FFFD repair, see utf8.h. */
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_sequence_len(const uint8_t *p, size_t left, size_t *ret_bad)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		*ret_bad = 1; /* 0x80..0xc1, 0xf5..0xff */
		return 0;
	}
	/* Only the second byte has the narrowed range; the rest are 80..bf. */
	for (i = 1; i < need; i++) {
		if (i >= left || p[i] < lo || p[i] > hi) {
			*ret_bad = i; /* the maximal subpart seen so far */
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

bool utf8_valid(const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i = 0, bad;

	while (i < len) {
		size_t n = utf8_sequence_len(p + i, len - i, &bad);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

int utf8_sanitize(const void *data, size_t len, char **ret, size_t *ret_len, bool *ret_lossy)
{
	const uint8_t *p = data;
	size_t i = 0, o = 0, bad;
	bool lossy = false;
	char *out;

	if (len > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	out = malloc(len * 3 + 1);
	if (!out)
		return -ENOMEM;
	while (i < len) {
		size_t n = utf8_sequence_len(p + i, len - i, &bad);
		if (n > 0) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			/* bad <= bytes consumed, and each replacement is 3 bytes:
			 * output stays within 3 * len */
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += bad;
			lossy = true;
		}
	}
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	*ret_lossy = lossy;
	return 0;
}
