/* agent-channel.h: the agent's end of the host channel (a virtio-serial port
 * named RD_AGENT_PORT_NAME) and whole-frame I/O on it. The host's end is
 * vmm-client/channel.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "proto.h"

/* Finds the port by name under /sys/class/virtio-ports and opens it.
 * Retries for a few seconds while devices are still probing. */
int channel_open(void);

/* Reads one frame: validates the header against RD_FRAME_MAX and returns
 * the payload in a malloc'd buffer (*ret_payload, owned by the caller, NULL
 * when empty). -EPROTO/-EMSGSIZE for a bad header: the stream cannot be
 * resynchronised after that. */
int channel_read_frame(int fd, struct rd_frame_hdr *ret_hdr, uint8_t **ret_payload);

int channel_write_all(int fd, const void *p, size_t n);
/* Sends a frame with an empty payload (ACK) or a message (HELLO, ERROR). */
int channel_send_message(int fd, uint16_t type, uint32_t id, const char *msg);
