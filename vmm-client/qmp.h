/* qmp.h: an asynchronous QMP client on the daemon's libevent loop. Commands
 * are pipelined (qmp_capabilities is sent without waiting for the greeting),
 * replies are matched to commands by id, every line from QEMU is bounded
 * before it is parsed, and when the peer goes away every pending command
 * fails with an error before the closed callback runs. */
#pragma once

#include <event2/event.h>
#include <jansson.h>

struct qmp;

/* `ret` is the "return" member (borrowed) on success; on failure ret is NULL
 * and `error` says why (QMP error description, or a transport error). */
typedef void (*qmp_reply_cb)(struct qmp *qmp, json_t *ret, const char *error, void *userdata);
typedef void (*qmp_event_cb)(struct qmp *qmp, const char *event, json_t *data, void *userdata);
typedef void (*qmp_closed_cb)(struct qmp *qmp, const char *why, void *userdata);

#define QMP_LINE_MAX (256u << 10)

/* Takes ownership of fd (a connected stream socket to the QMP monitor). */
int qmp_new(struct event_base *base, int fd, qmp_event_cb event_cb, qmp_closed_cb closed_cb, void *userdata,
	    struct qmp **ret);
/* Queues a command. args is stolen (may be NULL). If pass_fd >= 0 it is sent
 * with the command as SCM_RIGHTS (for getfd); it stays owned by the caller. */
int qmp_execute(struct qmp *qmp, const char *command, json_t *args, int pass_fd, qmp_reply_cb cb,
		void *userdata);
/* Closes the connection. Before it returns, every pending command's
 * callback runs once with error QMP_ERROR_FREED (to release its userdata;
 * qmp_execute fails meanwhile); no other callback runs afterwards. Safe
 * inside a callback. */
void qmp_free(struct qmp *qmp);

#define QMP_ERROR_FREED "QMP: connection closed by its owner"
