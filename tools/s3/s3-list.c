/* s3-list.c: see s3-list.h. The listing is of PREFIX/ and only keys of the
 * form PREFIX/NAME/manifest.json with a valid NAME count; S3 lists keys in
 * byte order, so the answer comes out sorted by name. */
#include "s3-list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error-util.h"
#include "s3-log.h"
#include "s3-transfer.h"

#define KEYS_MAX 100000 /* objects under the prefix: ~5 per set */

int s3_list_manifests(struct s3_client *c, enum s3_kind kind, json_t **ret, char **ret_error)
{
	const char *prefix = s3_kind_prefix(kind);
	char **keys = NULL, want[32], name[S3_NAME_MAX + 1];
	size_t n_keys, n = 0;
	int r;

	snprintf(want, sizeof(want), "%s/", prefix);
	r = s3_list(c, want, KEYS_MAX, &keys, &n_keys, ret_error);
	if (r < 0)
		return r;
	json_auto_t *list = json_array();
	if (!list) {
		s3_keys_free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_keys && r >= 0; i++) {
		const char *k = keys[i] + strlen(want), *slash;
		struct s3_manifest m;
		_cleanup_free_ char *why = NULL;

		if (strncmp(keys[i], want, strlen(want)) != 0 || !(slash = strchr(k, '/')) ||
		    strcmp(slash, "/manifest.json") != 0 || (size_t)(slash - k) > S3_NAME_MAX)
			continue;
		memcpy(name, k, (size_t)(slash - k));
		name[slash - k] = '\0';
		if (!s3_name_valid(name))
			continue;
		if (n == S3_LIST_MAX) {
			r = err_setf(ret_error, -E2BIG, "more than %d %ss in bucket %s", S3_LIST_MAX,
				     s3_kind_word(kind), s3_client_config(c)->bucket);
			break;
		}
		r = s3_fetch_manifest(c, kind, name, &m, &why);
		if (r == S3_NO_SUCH_KEY) { /* deleted since the listing: an upload began */
			r = 0;
			continue;
		}
		if (r == -EINVAL || r == -EFBIG) {
			s3_log("skipping it: %s", why ? why : strerror(-r));
			r = 0;
			continue;
		}
		if (r < 0) {
			if (ret_error)
				*ret_error = TAKE_PTR(why);
			break;
		}
		r = json_array_append(list, m.json) < 0 ? -ENOMEM : 0;
		s3_manifest_clear(&m);
		n++;
	}
	s3_keys_free(keys);
	if (r < 0)
		return r;
	*ret = json_pack("{s:O}", prefix, list);
	return *ret ? 0 : -ENOMEM;
}
