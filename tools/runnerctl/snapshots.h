/* snapshots.h: `runnerctl snapshot`: runnerd's snapshot templates, one per
 * language: a VM booted to the point of running a job, saved (device
 * state and guest memory) so that every run restores a copy instead of
 * booting. Created from the language's image, kept in runnerd's cache and
 * copied to or from a bucket. For runnerd's administrators. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "ctl.h"
#include "wait.h"

/* The table of GET /api/v1/snapshots (LANGUAGE MEM VCPUS STATE SIZE
 * REASON; SIZE is the device state plus the guest memory the snapshot
 * holds), or of its ?remote=true form (LANGUAGE MEM VCPUS UPLOADED after a
 * "bucket: B" line). */
void snapshot_print(FILE *out, json_t *listing, bool remote);

int snapshot_list(const struct ctl *ctl, bool remote);
/* mem_mb, vcpus 0: runnerd's defaults. */
int snapshot_create(const struct ctl *ctl, const char *language, unsigned mem_mb, unsigned vcpus,
		    const struct wait_opts *w);
/* verb is "upload" or "download"; bucket NULL: runnerd's. */
int snapshot_transfer(const struct ctl *ctl, const char *verb, const char *language, const char *bucket,
		      const struct wait_opts *w);
int snapshot_remove(const struct ctl *ctl, const char *language);
