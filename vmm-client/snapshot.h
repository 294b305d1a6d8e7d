/* snapshot.h: the files of a snapshot template and how clones get at them.
 * A template directory holds `ram` (guest RAM, written by the template VM
 * through a share=on mapping), `state` (QEMU device state, ~50 KB) and
 * `meta.json` (what it was made from; written last, atomically, so a
 * directory without a valid meta.json is never loaded). */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Loads the RAM file into a sealed memfd (F_SEAL_WRITE|SHRINK|GROW|SEAL),
 * copying only non-zero pages. Clones map it private; nobody, including a
 * compromised VMM, can write to it. Sets *ret_fd (O_CLOEXEC) and, if not
 * NULL, *ret_copied (bytes copied) and ret_sha256: the SHA-256 (hex) of the
 * file size and every non-zero page with its offset, recorded in meta.json
 * when the template is made and checked on every later load. It catches a
 * damaged or altered cache; the cache itself is root's and no jail sees it,
 * and meta.json lives next to the data, so it is no defence against root. */
int snapshot_load_ram(const char *ram_path, int *ret_fd, size_t *ret_copied, char ret_sha256[65]);

/* Copies a (small) device state file into a sealed memfd, so clones can
 * be restored even if the cache directory changes under a running daemon.
 * Each clone opens it through /proc/self/fd for its own file offset. */
int snapshot_load_state(const char *state_path, int *ret_fd);

/* Writes `meta` to dir/meta.json via a temp file and rename. */
int snapshot_meta_write(const char *dir, json_t *meta);
/* Reads dir/meta.json; -ENOENT if absent, -EINVAL if unreadable. */
int snapshot_meta_read(const char *dir, json_t **ret);
