/* s3-xml.c: see s3-xml.h. Element names are matched exactly, with their
 * angle brackets, so <Key> never matches <KeyCount>. */
#include "s3-xml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static const char *find(const char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle));
}

/* One entity at s[0..n) (s[0] == '&'): its byte in *ret, its length in
 * *ret_len; -EINVAL if it is not one. */
static int entity(const char *s, size_t n, char *ret, size_t *ret_len)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	const char *semi = memchr(s, ';', n < 12 ? n : 12);

	if (!semi)
		return -EINVAL;
	size_t len = (size_t)(semi - s) + 1;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (len == strlen(named[i].name) && memcmp(s, named[i].name, len) == 0) {
			*ret = named[i].c;
			*ret_len = len;
			return 0;
		}
	if (len < 4 || s[1] != '#')
		return -EINVAL;
	bool hex = s[2] == 'x';
	unsigned long v = 0;
	for (size_t i = hex ? 3 : 2; i < len - 1; i++) {
		const char *digits = hex ? "0123456789abcdefABCDEF" : "0123456789";
		const char *d = strchr(digits, s[i]);
		if (!d || !s[i])
			return -EINVAL;
		unsigned dv = (unsigned)(d - digits);
		v = v * (hex ? 16 : 10) + (dv >= 16 ? dv - 6 : dv);
	}
	if (len == (hex ? 4u : 3u))
		return -EINVAL;
	*ret = v >= 0x20 && v < 0x7f ? (char)v : '?';
	*ret_len = len;
	return 0;
}

int s3_xml_next(const char *xml, size_t n, const char *name, size_t *pos, size_t max, char **ret)
{
	char open[72], close[72];

	if (snprintf(open, sizeof(open), "<%s>", name) >= (int)sizeof(open))
		return -EINVAL;
	snprintf(close, sizeof(close), "</%s>", name);
	if (*pos > n)
		return -ENOENT;
	const char *start = find(xml + *pos, n - *pos, open);
	if (!start)
		return -ENOENT;
	const char *text = start + strlen(open), *end = xml + n;
	const char *lt = memchr(text, '<', (size_t)(end - text));
	if (!lt || (size_t)(lt - text) > max || (size_t)(end - lt) < strlen(close) ||
	    memcmp(lt, close, strlen(close)) != 0)
		return -EINVAL;

	_cleanup_free_ char *out = malloc((size_t)(lt - text) + 1);
	size_t o = 0;
	if (!out)
		return -ENOMEM;
	for (const char *p = text; p < lt;) {
		if (*p == '&') {
			size_t len;
			if (entity(p, (size_t)(lt - p), &out[o], &len) < 0)
				return -EINVAL;
			o++;
			p += len;
		} else if (*p == '\0') {
			return -EINVAL;
		} else
			out[o++] = *p++;
	}
	out[o] = '\0';
	*pos = (size_t)(lt - xml) + strlen(close);
	*ret = TAKE_PTR(out);
	return 0;
}

int s3_xml_text(const char *xml, size_t n, const char *name, size_t max, char **ret)
{
	size_t pos = 0;

	return s3_xml_next(xml, n, name, &pos, max, ret);
}
