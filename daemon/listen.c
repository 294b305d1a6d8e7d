/* listen.c: binding the API's UNIX and TCP sockets (see listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "error-util.h"
#include "parse-util.h"

static int socket_prepare_path(const char *path, struct sockaddr_un *sa, socklen_t *ret_len)
{
	struct stat st;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST; /* never remove something that is not ours */
	{
		/* A socket somebody still answers on is another daemon's. */
		_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)sa, *ret_len) == 0)
			return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int listen_unix(const char *path, mode_t mode)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t sl;
	mode_t old_umask;
	int r;

	r = socket_prepare_path(path, &sa, &sl);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Nobody but us between bind() and chmod(). */
	old_umask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sl) < 0 ? -errno : 0;
	umask(old_umask);
	if (r == 0 && chmod(path, mode) < 0)
		r = -errno;
	if (r == 0 && listen(fd, 128) < 0)
		r = -errno;
	if (r < 0) {
		if (r != -EADDRINUSE)
			unlink(path);
		return r;
	}
	return TAKE_FD(fd);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

int listen_tcp(const char *spec, bool *ret_loopback, char **ret_error)
{
	struct sockaddr_storage ss = {0};
	int len = sizeof(ss), one = 1;
	_cleanup_close_ int fd = -1;
	char buf[300];
	unsigned port;

	/* A bare port is the loopback address. */
	if (parse_uint(spec, 10, 1, 65535, &port) == 0)
		snprintf(buf, sizeof(buf), "127.0.0.1:%u", port);
	else if (strlen(spec) < sizeof(buf))
		snprintf(buf, sizeof(buf), "%s", spec);
	else
		return err_setf(ret_error, -EINVAL, "TCP address too long");
	if (evutil_parse_sockaddr_port(buf, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_port == 0) ||
	    (ss.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&ss)->sin6_port == 0))
		return err_setf(ret_error, -EINVAL,
				"TCP address '%s' is not PORT, ADDRESS:PORT or [IPV6]:PORT", spec);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_setf(ret_error, -errno, "socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0 || listen(fd, 128) < 0)
		return err_setf(ret_error, -errno, "TCP %s: %s", buf, strerror(errno));
	*ret_loopback = is_loopback(&ss);
	return TAKE_FD(fd);
}
