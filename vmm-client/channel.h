/* channel.h: the host end of the agent channel (a stream socket that QEMU
 * bridges to the guest's virtio-serial port; AF_VSOCK carries the same
 * frames). Every frame from the guest is hostile: the header is validated,
 * the payload is bounded by the frame limit and by a byte budget the owner
 * sets per job, and any violation closes the channel (the owner then
 * discards the VM). */
#pragma once

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct channel;

/* payload is borrowed for the duration of the call. */
typedef void (*channel_frame_cb)(struct channel *ch, const struct rd_frame_hdr *hdr, const uint8_t *payload,
				 void *userdata);
typedef void (*channel_closed_cb)(struct channel *ch, const char *why, void *userdata);

/* Takes ownership of fd. The initial budget is 64 KiB (enough for HELLO). */
int channel_new(struct event_base *base, int fd, channel_frame_cb frame_cb, channel_closed_cb closed_cb,
		void *userdata, struct channel **ret);
/* How many more bytes (headers included) the guest may send. */
void channel_set_budget(struct channel *ch, size_t bytes);
/* Queues a complete frame (header + payload) for the guest. */
int channel_send(struct channel *ch, const void *frame, size_t len);
/* Safe inside a callback; no callback runs afterwards. */
void channel_free(struct channel *ch);
