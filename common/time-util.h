/* time-util.h: the clocks runnerd reads and the timeouts it gives libevent.
 * Every duration and deadline on the host (a request's arrival, a lease,
 * a restore, the back-off) is measured on CLOCK_MONOTONIC through
 * now_ns(), so wall-clock steps never shorten or stretch them; the wall
 * clock is read only to hand it to a guest. */
#pragma once

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);
/* CLOCK_REALTIME in nanoseconds: the time a guest sets its clock to. */
uint64_t realtime_ns(void);
/* ms milliseconds as the struct timeval that event_add() and evtimer_add()
 * take. */
struct timeval timeval_from_ms(uint64_t ms);
/* t in UTC as ISO 8601, "2026-11-30T02:56:20Z": how the API and the S3
 * manifests write a moment. */
void time_iso8601(time_t t, char buf[static 32]);
