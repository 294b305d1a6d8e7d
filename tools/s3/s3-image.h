/* s3-image.h: put-image and get-image, an image of the cache
 * (CACHE/images/IMAGE.erofs with IMAGE.erofs.id, IMAGE.versions and
 * IMAGE.inputs, as tools/runner-image writes them) to and from
 * images/IMAGE/ in the bucket. Both hold CACHE/images/.IMAGE.lock, the
 * lock runner-image builds under, so neither meets a build half done. */
#pragma once

#include "s3-client.h"
#include "s3-manifest.h"

/* Uploads the image; *ret is the manifest uploaded. */
int s3_put_image(struct s3_client *c, const char *cache, const char *image, struct s3_manifest *ret,
		 char **ret_error);
/* Downloads the image into CACHE/images/.IMAGE.dl.PID/, checks every file
 * against the manifest and the id against the image, then renames the
 * files into place: the old IMAGE.erofs.id is removed first and the new
 * one renamed last, so no id ever stands next to an image it does not
 * describe (without an id runnerd hashes the image itself). */
int s3_get_image(struct s3_client *c, const char *cache, const char *image, struct s3_manifest *ret,
		 char **ret_error);
