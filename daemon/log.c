/* log.c: the daemon's logger, see log.h. Under systemd (JOURNAL_STREAM set)
 * each message goes to the journal with sd_journal_sendv(): its priority,
 * and every "KEY=value" word of a known key as a field of its own, so
 * `journalctl -u runnerd LANGUAGE=go` finds it. Elsewhere, or if the
 * journal refuses it, one write(2) per line to stderr, so lines from one
 * process never interleave. */
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_max_level(enum log_level level)
{
	max_level = level;
}

enum log_level log_get_max_level(void)
{
	return max_level;
}

/* The fields lifted out of messages: what operators filter on. */
static const char *const journal_keys[] = {"LANGUAGE",	 "VM_ID",  "REQUEST_ID", "CALLER_UID",
					   "CALLER_PID", "CALLER", "PEER",	 "CONN"};

#define JOURNAL_FIELDS_MAX 12

/* Sends text (one message) to the journal with its fields; < 0 if not. */
static int journal_send(enum log_level level, const char *text)
{
	char prio[16], fields[JOURNAL_FIELDS_MAX][160], message[2100];
	struct iovec iov[JOURNAL_FIELDS_MAX + 3];
	size_t n = 0, nf = 0;

	snprintf(message, sizeof(message), "MESSAGE=%s", text);
	snprintf(prio, sizeof(prio), "PRIORITY=%d", (int)level);
	iov[n++] = (struct iovec){message, strlen(message)};
	iov[n++] = (struct iovec){prio, strlen(prio)};
	iov[n++] = (struct iovec){(char *)"SYSLOG_IDENTIFIER=runnerd", strlen("SYSLOG_IDENTIFIER=runnerd")};
	for (const char *p = text; *p && nf < JOURNAL_FIELDS_MAX;) {
		size_t w = strcspn(p, " "), k = strcspn(p, "=");
		if (k < w)
			for (size_t i = 0; i < sizeof(journal_keys) / sizeof(journal_keys[0]); i++)
				if (strlen(journal_keys[i]) == k && strncmp(p, journal_keys[i], k) == 0 &&
				    w - k - 1 < sizeof(fields[0]) - k - 2 && w > k + 1) {
					bool dup = false;
					for (size_t j = 0; j < nf; j++)
						dup |= strncmp(fields[j], p, k + 1) == 0;
					if (dup)
						break;
					memcpy(fields[nf], p, w);
					iov[n++] = (struct iovec){fields[nf], w};
					nf++;
					break;
				}
		p += w;
		while (*p == ' ')
			p++;
	}
	return sd_journal_sendv(iov, (int)n);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	size_t n = 0;
	va_list ap;
	int r;

	if (level > max_level)
		return;
	bool journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal)
		n = (size_t)snprintf(line, sizeof(line), "<%d>", (int)level);
	size_t text = n;
	n += (size_t)snprintf(line + n, sizeof(line) - n, "runnerd: ");
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if (journal && journal_send(level, line + text + strlen("runnerd: ")) >= 0)
		return;
	n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	/* stderr is best effort: a full pipe must not take the daemon down */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
