/* s3-snapshot.h: put-snapshot and get-snapshot, a language's snapshot
 * template (CACHE/snapshots/LANG-KEY/{ram,state,meta.json}, as
 * pool/template.c makes it) to and from snapshots/LANG/ in the bucket. The
 * manifest records the directory's name and copies the inputs of
 * meta.json that say where the template can be used (qemu_version,
 * kernel_sha256, image_sha256, machine), so a listing answers that without
 * downloading anything. */
#pragma once

#include "s3-client.h"
#include "s3-manifest.h"

/* Uploads the one CACHE/snapshots/LANG-KEY directory of LANG (an error if
 * there is none, or several); *ret is the manifest uploaded. */
int s3_put_snapshot(struct s3_client *c, const char *cache, const char *lang, struct s3_manifest *ret,
		    char **ret_error);
/* Downloads into CACHE/snapshots/LANG-KEY.tmp.PID (a name runnerd leaves
 * alone while this process lives, and removes after), checks every file
 * and meta.json against the manifest, then renames the directory into
 * place in one step; a directory of the same name is exchanged with it
 * (renameat2 RENAME_EXCHANGE) and then removed. Other LANG-* directories
 * are left to runnerd. */
int s3_get_snapshot(struct s3_client *c, const char *cache, const char *lang, struct s3_manifest *ret,
		    char **ret_error);
