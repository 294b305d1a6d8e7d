/* auth.c: bearer tokens and administrators (see auth.h). */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error-util.h"

#define TOKEN_MIN 16
#define TOKEN_MAX 4096

int auth_token_load(const char *path, char **ret_token, char **ret_error)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	char buf[TOKEN_MAX + 2];
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return err_setf(ret_error, -errno, "token file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return err_setf(ret_error, -errno, "token file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_setf(ret_error, -EINVAL, "token file %s is not a regular file", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return err_setf(ret_error, -EPERM, "token file %s must be owned by root", path);
	if (st.st_mode & 077)
		return err_setf(ret_error, -EPERM,
				"token file %s is accessible to group or others (mode %04o): chmod 0600 it",
				path, (unsigned)(st.st_mode & 07777));
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return err_setf(ret_error, -errno, "token file %s: %s", path, strerror(errno));
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	size_t len = strlen(buf);
	if (len < TOKEN_MIN || len > TOKEN_MAX)
		return err_setf(ret_error, -EINVAL,
				"token file %s: the token must be %d to %d bytes on its first line", path,
				TOKEN_MIN, TOKEN_MAX);
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= ' ' || buf[i] > '~')
			return err_setf(ret_error, -EINVAL,
					"token file %s: the token must be printable ASCII without blanks",
					path);
	char *t = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (!t)
		return -ENOMEM;
	*ret_token = t;
	return 0;
}

bool auth_bearer_ok(const char *header, const char *token)
{
	static const char prefix[] = "Bearer ";
	size_t tlen = strlen(token), hlen;
	unsigned char diff = 0;

	if (!header || strncasecmp(header, prefix, sizeof(prefix) - 1) != 0)
		return false;
	header += sizeof(prefix) - 1;
	hlen = strlen(header);
	/* Every byte of the token is looked at whatever the header holds, so
	 * the time taken says nothing about how much of it matched. */
	for (size_t i = 0; i < tlen; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < hlen ? header[i] : 0);
	return diff == 0 && hlen == tlen;
}

bool auth_is_admin(uid_t uid, gid_t gid, gid_t admin_gid)
{
	if (uid == 0)
		return true;
	if (admin_gid == (gid_t)-1 || uid == (uid_t)-1)
		return false;
	if (gid == admin_gid)
		return true;

	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = (int)(sizeof(groups) / sizeof(groups[0]));

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	if (getgrouplist(res->pw_name, res->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == admin_gid)
			return true;
	return false;
}
