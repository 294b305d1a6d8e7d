/* images.h: `runnerctl rootfs`: runnerd's root filesystem images, one per
 * language (or group of languages), built from Debian packages or made
 * from a container image, kept in its cache and copied to or from a
 * bucket. For runnerd's administrators. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "ctl.h"
#include "wait.h"

/* The table of GET /api/v1/rootfs (LANGUAGE IMAGE SIZE STATE SOURCE
 * BUILT), or of its ?remote=true form (LANGUAGE IMAGE SIZE UPLOADED after
 * a "bucket: B" line). */
void rootfs_print(FILE *out, json_t *listing, bool remote);

int rootfs_list(const struct ctl *ctl, bool remote);
/* size_mb 0: runnerd's default. */
int rootfs_build(const struct ctl *ctl, const char *language, unsigned size_mb, const struct wait_opts *w);
int rootfs_from_image(const struct ctl *ctl, const char *name, const char *image, unsigned size_mb,
		      const struct wait_opts *w);
/* verb is "upload" or "download"; bucket NULL: runnerd's. */
int rootfs_transfer(const struct ctl *ctl, const char *verb, const char *language, const char *bucket,
		    const struct wait_opts *w);
int rootfs_remove(const struct ctl *ctl, const char *language);
