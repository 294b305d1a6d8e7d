/* test-channel.c: vmm-client/channel.c against a hostile guest. The test
 * holds the "guest" end of a real socketpair and writes what a compromised
 * agent could: a 4 GB length, a bad magic, version or type, garbage, a frame
 * over the byte budget, a flood of small frames, and a valid frame that
 * arrives one byte at a time. Every violation must end in exactly one
 * closed callback with a reason and no frame delivered; the well-formed
 * frames must arrive intact. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "channel.h"
#include "check.h"
#include "proto.h"
#include "test-loop.h"

struct fixture {
	struct event_base *base;
	struct channel *ch;
	int guest; /* our end: the hostile guest */
	unsigned frames;
	unsigned closed;
	char why[128];
	struct rd_frame_hdr last;
	uint8_t last_payload[256];
	uint8_t last_first, last_final; /* first and last payload byte */
	bool free_in_closed;
};

static void on_frame(struct channel *ch, const struct rd_frame_hdr *hdr, const uint8_t *payload, void *arg)
{
	struct fixture *f = arg;

	f->frames++;
	f->last = *hdr;
	if (hdr->len && hdr->len <= sizeof(f->last_payload))
		memcpy(f->last_payload, payload, hdr->len);
	if (hdr->len) {
		f->last_first = payload[0];
		f->last_final = payload[hdr->len - 1];
	}
}

static void on_closed(struct channel *ch, const char *why, void *arg)
{
	struct fixture *f = arg;

	f->closed++;
	snprintf(f->why, sizeof(f->why), "%s", why ? why : "");
	if (f->free_in_closed) {
		channel_free(ch);
		f->ch = NULL;
	}
}

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	int fd = loop_open(&f->base, &f->guest);
	CHECK(channel_new(f->base, fd, on_frame, on_closed, f, &f->ch) == 0);
}

static void teardown(struct fixture *f)
{
	channel_free(f->ch);
	loop_close(f->base, f->guest);
}

/* A closed channel reads no further. */
static bool channel_closed(void *arg)
{
	struct fixture *f = arg;

	return f->closed;
}

static void guest_write(struct fixture *f, const void *data, size_t len)
{
	loop_write(f->base, f->guest, data, len, channel_closed, f);
}

static void hdr_raw(uint8_t out[RD_FRAME_HDR_SIZE], uint32_t magic, uint16_t version, uint16_t type,
		    uint32_t id, uint32_t len)
{
	uint8_t b[RD_FRAME_HDR_SIZE] = {
	    (uint8_t)magic,   (uint8_t)(magic >> 8),   (uint8_t)(magic >> 16), (uint8_t)(magic >> 24),
	    (uint8_t)version, (uint8_t)(version >> 8), (uint8_t)type,	       (uint8_t)(type >> 8),
	    (uint8_t)id,      (uint8_t)(id >> 8),      (uint8_t)(id >> 16),    (uint8_t)(id >> 24),
	    (uint8_t)len,     (uint8_t)(len >> 8),     (uint8_t)(len >> 16),   (uint8_t)(len >> 24),
	};
	memcpy(out, b, sizeof(b));
}

#define MAGIC 0x31444e52u

/* The violation must close the channel with a reason, deliver nothing. */
static void expect_closed(struct fixture *f, const char *what)
{
	loop_pump(f->base);
	if (f->closed != 1 || f->frames != 0 || !f->why[0])
		fprintf(stderr, "%s: closed %u times (\"%s\"), %u frames delivered\n", what, f->closed,
			f->why, f->frames);
	CHECK(f->closed == 1 && f->frames == 0 && f->why[0], what);
}

/* A fresh channel (with a byte budget of `budget`, unless 0; its owner
 * freeing it inside the closed callback if `free_in_closed`) gets `buf`
 * from the guest: it must close with a reason and deliver nothing. */
static void refused(const char *what, const void *buf, size_t len, size_t budget, bool free_in_closed)
{
	struct fixture f;

	setup(&f);
	f.free_in_closed = free_in_closed;
	if (budget)
		channel_set_budget(f.ch, budget);
	guest_write(&f, buf, len);
	expect_closed(&f, what);
	teardown(&f);
}

static void test_valid_frames(void)
{
	struct fixture f;
	uint8_t frame[RD_FRAME_HDR_SIZE + 5];

	setup(&f);
	rd_frame_hdr_encode(frame, RD_FRAME_ACK, 9, 0);
	guest_write(&f, frame, RD_FRAME_HDR_SIZE);
	rd_frame_hdr_encode(frame, RD_FRAME_ERROR, 9, 5);
	memcpy(frame + RD_FRAME_HDR_SIZE, "hello", 5);
	guest_write(&f, frame, sizeof(frame));
	loop_pump(f.base);
	CHECK(f.frames == 2 && f.closed == 0);
	CHECK(f.last.type == RD_FRAME_ERROR && f.last.id == 9 && f.last.len == 5);
	CHECK(memcmp(f.last_payload, "hello", 5) == 0);
	/* EOF is reported as a close with a reason too. */
	close(f.guest);
	f.guest = -1;
	loop_pump(f.base);
	CHECK(f.closed == 1 && f.why[0]);
	teardown(&f);
	printf("ok - valid frames delivered, EOF reported\n");
}

static void test_bad_header(const char *what, uint32_t magic, uint16_t version, uint16_t type, uint32_t len)
{
	uint8_t buf[RD_FRAME_HDR_SIZE + 64];

	hdr_raw(buf, magic, version, type, 1, len);
	memset(buf + RD_FRAME_HDR_SIZE, 'A', 64);
	refused(what, buf, sizeof(buf), 0, false);
}

/* A 4 GB length: refused from the header alone; nothing else is read even
 * though the guest keeps writing. */
static void test_huge_length(void)
{
	struct fixture f;
	uint8_t buf[RD_FRAME_HDR_SIZE];
	static uint8_t junk[256 << 10];

	setup(&f);
	hdr_raw(buf, MAGIC, 1, RD_FRAME_RESULT, 1, 0xffffffffu);
	guest_write(&f, buf, sizeof(buf));
	loop_pump(f.base);
	/* More bytes keep coming: must not be delivered or revive anything. */
	memset(junk, 0, sizeof(junk));
	(void)!write(f.guest, junk, sizeof(junk));
	expect_closed(&f, "4 GB length header");
	teardown(&f);
}

static void test_garbage(void)
{
	uint8_t buf[4096];

	srand(42);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	refused("random garbage", buf, sizeof(buf), 0, false);
}

/* A well-formed frame that is larger than the remaining byte budget. */
static void test_over_budget(void)
{
	size_t len = 8192;
	uint8_t *buf = calloc(1, RD_FRAME_HDR_SIZE + len);

	rd_frame_hdr_encode(buf, RD_FRAME_RESULT, 1, (uint32_t)len);
	refused("frame over the byte budget", buf, RD_FRAME_HDR_SIZE + len, 4096, false);
	free(buf);
}

/* Over RD_FRAME_MAX even with an unlimited budget. */
static void test_over_frame_max(void)
{
	uint8_t buf[RD_FRAME_HDR_SIZE];

	rd_frame_hdr_encode(buf, RD_FRAME_RESULT, 1, RD_FRAME_MAX + 1);
	refused("frame over RD_FRAME_MAX with a huge budget", buf, sizeof(buf), (size_t)1 << 40, false);
}

/* A flood of tiny valid frames: the budget (64 KiB initially) runs out after
 * 4096 headers; the rest is never delivered. */
static void test_flood(void)
{
	struct fixture f;
	size_t n = 100000;
	uint8_t *buf = malloc(n * RD_FRAME_HDR_SIZE);

	setup(&f);
	for (size_t i = 0; i < n; i++)
		rd_frame_hdr_encode(buf + i * RD_FRAME_HDR_SIZE, RD_FRAME_ACK, 1, 0);
	guest_write(&f, buf, n * RD_FRAME_HDR_SIZE);
	loop_pump(f.base);
	printf("# flood of %zu frames: %u delivered, then \"%s\"\n", n, f.frames, f.why);
	CHECK(f.closed == 1 && f.why[0] && f.frames <= (64u << 10) / RD_FRAME_HDR_SIZE,
	      "flood cut off by the budget");
	teardown(&f);
	free(buf);
}

/* A valid frame trickling in one byte per loop iteration arrives once and
 * intact; a malformed header trickled the same way is refused once. */
static void test_fragments(void)
{
	struct fixture f;
	uint8_t frame[RD_FRAME_HDR_SIZE + 100];

	setup(&f);
	rd_frame_hdr_encode(frame, RD_FRAME_ERROR, 3, 100);
	for (int i = 0; i < 100; i++)
		frame[RD_FRAME_HDR_SIZE + i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(frame); i++) {
		guest_write(&f, frame + i, 1);
		event_base_loop(f.base, EVLOOP_NONBLOCK);
		if (i + 1 < sizeof(frame))
			CHECK(f.frames == 0);
	}
	loop_pump(f.base);
	CHECK(f.frames == 1 && f.closed == 0 && f.last.len == 100 && f.last.id == 3);
	for (int i = 0; i < 100; i++)
		CHECK(f.last_payload[i] == (uint8_t)i);
	teardown(&f);
	printf("ok - valid frame byte by byte\n");

	setup(&f);
	hdr_raw(frame, MAGIC, 1, 77, 1, 0);
	for (size_t i = 0; i < RD_FRAME_HDR_SIZE; i++) {
		guest_write(&f, frame + i, 1);
		event_base_loop(f.base, EVLOOP_NONBLOCK);
	}
	expect_closed(&f, "bad type byte by byte");
	teardown(&f);
}

/* The owner frees the channel inside the closed callback (what vmm.c's
 * owners do when they discard the VM): no use after free, no second call. */
static void test_free_in_callback(void)
{
	uint8_t buf[RD_FRAME_HDR_SIZE * 2];

	hdr_raw(buf, 0xdeadbeef, 1, RD_FRAME_ACK, 1, 0);
	hdr_raw(buf + RD_FRAME_HDR_SIZE, 0xdeadbeef, 1, RD_FRAME_ACK, 1, 0);
	refused("freed inside the closed callback", buf, sizeof(buf), 0, true);
}

/* The guest stays silent but the payload it announced never completes,
 * then it hangs up: a close with a reason, no partial frame. */
static void test_truncated_then_eof(void)
{
	struct fixture f;
	uint8_t buf[RD_FRAME_HDR_SIZE + 10];

	setup(&f);
	rd_frame_hdr_encode(buf, RD_FRAME_RESULT, 1, 1000);
	guest_write(&f, buf, sizeof(buf));
	loop_pump(f.base);
	CHECK(f.frames == 0 && f.closed == 0);
	close(f.guest);
	f.guest = -1;
	expect_closed(&f, "EOF inside a frame");
	teardown(&f);
}

/* A valid frame far over the 64 KiB read watermark, then a second one in
 * the same write: both delivered whole (the watermark dance must not stall). */
static void test_large_valid(void)
{
	struct fixture f;
	size_t len = 3u << 20;
	uint8_t *buf = malloc(2 * (RD_FRAME_HDR_SIZE + len));

	setup(&f);
	channel_set_budget(f.ch, 2 * (RD_FRAME_HDR_SIZE + len));
	for (int k = 0; k < 2; k++) {
		uint8_t *p = buf + k * (RD_FRAME_HDR_SIZE + len);
		rd_frame_hdr_encode(p, RD_FRAME_ERROR, 5 + k, (uint32_t)len);
		memset(p + RD_FRAME_HDR_SIZE, 'a' + k, len);
	}
	guest_write(&f, buf, 2 * (RD_FRAME_HDR_SIZE + len));
	loop_pump(f.base);
	CHECK(f.frames == 2 && f.closed == 0 && f.last.id == 6 && f.last.len == len);
	CHECK(f.last_first == 'b' && f.last_final == 'b');
	/* The budget is now spent exactly: one more header is too much. */
	rd_frame_hdr_encode(buf, RD_FRAME_ACK, 6, 0);
	guest_write(&f, buf, RD_FRAME_HDR_SIZE);
	loop_pump(f.base);
	CHECK(f.closed == 1 && f.frames == 2);
	teardown(&f);
	free(buf);
	printf("ok - two 3 MiB frames delivered, budget then enforced\n");
}

int main(void)
{
	test_valid_frames();
	test_huge_length();
	test_bad_header("bad magic", 0x31444e53u, 1, RD_FRAME_RESULT, 0);
	test_bad_header("bad version", MAGIC, 2, RD_FRAME_RESULT, 0);
	test_bad_header("version 0", MAGIC, 0, RD_FRAME_ACK, 0);
	test_bad_header("type 0", MAGIC, 1, 0, 0);
	test_bad_header("type 6", MAGIC, 1, 6, 0);
	test_bad_header("type 0xffff", MAGIC, 1, 0xffff, 0);
	test_garbage();
	test_over_budget();
	test_over_frame_max();
	test_flood();
	test_fragments();
	test_free_in_callback();
	test_truncated_then_eof();
	test_large_valid();
	return check_done();
}
