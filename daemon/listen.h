/* listen.h: the listening sockets of runnerd's API. The UNIX socket is the
 * default front door (who may connect is decided by its mode and group;
 * callers are known by SO_PEERCRED). A TCP address is optional, for clients
 * that only speak to http://host:port (Runner Codes' do): it is loopback
 * unless told otherwise, and whoever connects over TCP is known only by the
 * bearer token they present (daemon/auth.h). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Creates and binds a listening UNIX socket at path (a stale socket file
 * there is replaced; anything else, or a socket some process still answers
 * on, is an error: -EEXIST / -EADDRINUSE) with the given mode. Returns the
 * non-blocking, close-on-exec fd. */
int listen_unix(const char *path, mode_t mode);

/* Parses "PORT", "ADDR:PORT" or "[ADDR6]:PORT" (PORT alone means
 * 127.0.0.1), binds and listens. *ret_loopback says whether the address is
 * a loopback one. Returns the fd, or -errno with *ret_error set. */
int listen_tcp(const char *spec, bool *ret_loopback, char **ret_error);
