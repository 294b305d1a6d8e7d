/* s3-transfer.h: moving one set (an image's files or a template's, and
 * their manifest) between the bucket and a directory, in the order that
 * keeps either side from ever showing half a set as whole:
 *
 *   upload    the old manifest is deleted, the files are uploaded, the new
 *             manifest goes last: a set is listed only once it is complete,
 *             and a failed upload leaves it unlisted, never half-old.
 *   download  the manifest is read and checked, then every file goes into
 *             a fresh directory and is checked against it (size and
 *             SHA-256, on the bytes as they arrive) and synced; making the
 *             result visible is the caller's, by renames.
 *
 * Keys are PREFIX/NAME/FILE: images/IMAGE/IMAGE.erofs, snapshots/LANG/ram,
 * and PREFIX/NAME/manifest.json. */
#pragma once

#include <sys/types.h>

#include "s3-client.h"
#include "s3-manifest.h"

/* Uploads the present files of m (fds[i] for m->files[i], sizes and
 * digests as m says), then m->json. */
int s3_upload_set(struct s3_client *c, const struct s3_manifest *m, const int fds[], char **ret_error);
/* Fetches and checks the manifest of kind `name`; a missing one is
 * S3_NO_SUCH_KEY with "no image NAME in bucket B". */
int s3_fetch_manifest(struct s3_client *c, enum s3_kind kind, const char *name, struct s3_manifest *ret,
		      char **ret_error);
/* Downloads the present files of m into dir (existing, empty), created
 * with mode, each checked against m and fsync()ed. On failure the files
 * are left for the caller's cleanup of dir. */
int s3_download_set(struct s3_client *c, const struct s3_manifest *m, const char *dir, mode_t mode,
		    char **ret_error);
