/* auth.h: who a caller is and what it may do. On the UNIX socket a caller
 * is its uid (SO_PEERCRED); it is an administrator (may build, import,
 * move and delete images and snapshots) if that uid is 0 or a member of the
 * configured admin group. On TCP the caller is whoever holds the bearer
 * token: with a token configured, every TCP request must carry it, and its
 * holder is an administrator; a loopback listener without a token serves
 * runs and listings only. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The token: the first line of `path`, which must be a regular file owned
 * by root (or by us) and not readable or writable by group or others, and
 * hold 16 to 4096 bytes of printable text. Returns 0 and a malloc'd token,
 * or -errno with *ret_error naming the problem. */
int auth_token_load(const char *path, char **ret_token, char **ret_error);

/* Whether an Authorization header value is "Bearer <token>", compared in
 * constant time (in the length of the token). header may be NULL. */
bool auth_bearer_ok(const char *header, const char *token);

/* Whether uid (with primary gid) is an administrator: uid 0, or admin_gid
 * is not (gid_t)-1 and uid is in that group. */
bool auth_is_admin(uid_t uid, gid_t gid, gid_t admin_gid);
