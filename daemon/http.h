/* http.h: runnerd's HTTP/1.1 front door on a UNIX socket (libevent evhttp).
 * It owns the listening socket and every client connection, enforces the
 * transport bounds (body size, header size, an absolute deadline for a
 * request to arrive, a connection cap), logs who connects (SO_PEERCRED; the
 * peer address on the optional TCP listener, where a bearer token is checked),
 * routes /health, /api/v1/languages and /api/v1/execute to a struct
 * service_ops, and turns results and errors into JSON responses. Parsing and
 * rendering are in api.c. */
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include "api.h"
#include "cleanup.h"
#include "service.h"

struct http_server;

/* Creates socket_path (a stale socket file there is replaced; anything else,
 * or a socket some process still answers on, is an error: -EEXIST /
 * -EADDRINUSE), chmods it to `mode` (0 means 0660) and starts serving on
 * `base`. `lim` and `ops` are copied. The server must be freed before the
 * service behind `ops`: freeing cancels runs still in flight through
 * ops->cancel. */
int http_server_new(struct event_base *base, const char *socket_path, mode_t mode,
		    const struct api_limits *lim, const struct service_ops *ops, struct http_server **ret);

/* The same on a socket already bound and listening (systemd's socket
 * activation): fd is taken, also on error; nobody unlinks its path. */
int http_server_new_listening(struct event_base *base, int fd, const struct api_limits *lim,
			      const struct service_ops *ops, struct http_server **ret);

/* A reload's new limits: those that can change while serving
 * (caller_runs_max). */
void http_server_set_limits(struct http_server *s, const struct api_limits *lim);

/* Closes every connection (cancelling their runs), the listener, and removes
 * the socket file. Accepts NULL. */
void http_server_free(struct http_server *s);
DEFINE_CLEANUP(struct http_server *, http_server_free)

/* The uid that counts the runs of TCP callers (one principal: the
 * token's holder) for --caller-runs-max. */
#define HTTP_TCP_CALLER ((uid_t)-2)

/* Also serves on a listening TCP socket (listen_tcp()); fd is taken, also
 * on error. With a token, every TCP request must carry "Authorization:
 * Bearer TOKEN" (401 otherwise) and its holder is an administrator; without
 * one (a loopback address only: main.c refuses any other), TCP clients may
 * run code and read listings. */
int http_server_listen_tcp(struct http_server *s, int fd, const char *token);

/* Members of gid may call the mutating endpoints (as uid 0 may). */
void http_server_set_admin_gid(struct http_server *s, gid_t gid);

/* Connections currently open (for /health and tests). */
unsigned http_server_connections(const struct http_server *s);
