/* timeouts.c: the numbers behind struct pool_timeouts, and the one place
 * they are multiplied by the slowdown. */
#include "timeouts.h"

#include "guest.h"

static uint32_t scale_ms(double slowdown, unsigned ms)
{
	return (uint32_t)(ms * slowdown);
}

void pool_timeouts_init(struct pool_timeouts *t, double slowdown)
{
	*t = (struct pool_timeouts){
	    .slowdown = slowdown,
	    .restore_ms = scale_ms(slowdown, 10000),
	    .warm_up_wall_ms = scale_ms(slowdown, 5000),
	    .deadline_slack_ms = scale_ms(slowdown, 2000),
	    .template_boot_ms = scale_ms(slowdown, 60000),
	    .hello_min_ms = scale_ms(slowdown, 30000),
	    .compile_default_ms = scale_ms(slowdown, RD_DEFAULT_COMPILE_WALL_MS),
	    .queue_wait_ms = scale_ms(slowdown, 60000),
	    .restore_failures_max = 3,
	};
}

uint32_t pool_timeouts_compile_ms(const struct pool_timeouts *t, const struct language *lang)
{
	if (!lang->compile_timeout_s)
		return t->compile_default_ms;
	return scale_ms(t->slowdown, lang->compile_timeout_s * 1000);
}

uint32_t pool_timeouts_hello_ms(const struct pool_timeouts *t, const struct language *lang)
{
	uint32_t ms = scale_ms(t->slowdown, lang->run_timeout_s * 1000);

	return ms > t->hello_min_ms ? ms : t->hello_min_ms;
}
