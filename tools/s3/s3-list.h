/* s3-list.h: `list`, the catalogue of a bucket: the manifest of every
 * complete image or snapshot template in it, for runnerd's
 * `?remote=true` listings. A set without a manifest (an upload under way
 * or cut short) is not listed; a manifest that fails its checks is skipped
 * with a line on stderr, so one bad object does not hide the rest. */
#pragma once

#include <jansson.h>

#include "s3-client.h"
#include "s3-manifest.h"

#define S3_LIST_MAX 1000 /* manifests in one answer */

/* {"images": [manifest, ...]} or {"snapshots": [...]}, sorted by name. */
int s3_list_manifests(struct s3_client *c, enum s3_kind kind, json_t **ret, char **ret_error);
