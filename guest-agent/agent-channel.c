/* agent-channel.c: opening the virtio-serial port and moving whole frames
 * over it.
 *
 * Protocol fact about virtio-console: while no host end is connected, read()
 * returns 0 and write() blocks. A snapshot clone may resume before its host
 * connects, so EOF here means "wait and retry", never "exit" (PID 1 must not
 * exit: the kernel would panic and the host would see a crash). */
#include "agent-channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent-log.h"

static void pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int find_port(char *dev, size_t dev_size)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	int r = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[300], name[64] = "";
		int fd;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, name, sizeof name - 1);
		close(fd);
		if (n <= 0)
			continue;
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, RD_AGENT_PORT_NAME) == 0) {
			snprintf(dev, dev_size, "/dev/%s", e->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

int channel_open(void)
{
	char dev[300];

	for (int attempt = 0; attempt < 500; attempt++) {
		if (find_port(dev, sizeof dev) == 0) {
			int fd = open(dev, O_RDWR | O_CLOEXEC);
			if (fd >= 0)
				return fd;
		}
		pause_ms(10);
	}
	return -ENODEV;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = read(fd, p + off, n - off);
		if (r > 0) {
			off += (size_t)r;
		} else if (r == 0) {
			pause_ms(5); /* host not connected (yet, or again) */
		} else if (errno != EINTR && errno != EAGAIN) {
			return -errno;
		}
	}
	return 0;
}

int channel_read_frame(int fd, struct rd_frame_hdr *ret_hdr, uint8_t **ret_payload)
{
	uint8_t raw[RD_FRAME_HDR_SIZE];
	struct rd_frame_hdr h;
	uint8_t *payload = NULL;
	int r;

	r = read_full(fd, raw, sizeof raw);
	if (r < 0)
		return r;
	r = rd_frame_hdr_decode(raw, RD_FRAME_MAX, &h);
	if (r < 0)
		return r;
	if (h.len) {
		/* Bounded by RD_FRAME_MAX above; the guest has RAM for one. */
		payload = malloc(h.len);
		if (!payload)
			return -ENOMEM;
		r = read_full(fd, payload, h.len);
		if (r < 0) {
			free(payload);
			return r;
		}
	}
	*ret_hdr = h;
	*ret_payload = payload;
	return 0;
}

int channel_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t r = write(fd, b, n);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int channel_send_message(int fd, uint16_t type, uint32_t id, const char *msg)
{
	struct rd_buf b;
	int r;

	if (type == RD_FRAME_ACK) {
		uint8_t h[RD_FRAME_HDR_SIZE];
		rd_frame_hdr_encode(h, RD_FRAME_ACK, id, 0);
		return channel_write_all(fd, h, sizeof h);
	}
	rd_buf_init(&b, 8192);
	r = rd_message_encode(type, id, msg, &b);
	if (r >= 0)
		r = channel_write_all(fd, b.data, b.len);
	rd_buf_free(&b);
	return r;
}
