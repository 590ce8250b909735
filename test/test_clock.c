/*
 * test_clock.c: the loop's time source where CLOCK_MONOTONIC is missing
 * (timers run on the wall clock, and a wall clock set backwards does not
 * delay them) and where the clock fails for a while.
 *
 * Links the static copy of the library: the machine's clocks are replaced
 * through ev__clock_monotonic and ev__clock_wall, the library's own seam.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>

#include "event-internal.h"
#include "test_util.h"

static int (*real_monotonic)(struct timeval *);
static int (*real_wall)(struct timeval *);
static int wall_calls, monotonic_failures;
static time_t wall_offset; /* seconds added to the wall clock */

static int log_calls;

static void
count_log(int severity, const char *msg)
{
	log_calls++;
}

static int
no_monotonic(struct timeval *tv)
{
	errno = EINVAL; /* what clock_gettime says for a bad clock */
	return -1;
}

static int
shifted_wall(struct timeval *tv)
{
	int r = real_wall(tv);

	wall_calls++;
	tv->tv_sec += wall_offset;
	return r;
}

/* Fails monotonic_failures times, then reads the real clock. */
static int
flaky_monotonic(struct timeval *tv)
{
	if (monotonic_failures > 0) {
		monotonic_failures--;
		errno = EINVAL;
		return -1;
	}
	return real_monotonic(tv);
}

static int
clock_setup(void **state)
{
	real_monotonic = ev__clock_monotonic;
	real_wall = ev__clock_wall;
	wall_calls = 0;
	wall_offset = 0;
	monotonic_failures = 0;
	log_calls = 0;
	return 0;
}

static int
clock_teardown(void **state)
{
	ev__clock_monotonic = real_monotonic;
	ev__clock_wall = real_wall;
	return 0;
}

#define CLOCK_TEST(f) \
	cmocka_unit_test_setup_teardown(f, clock_setup, clock_teardown)

struct fired {
	int calls;
	int64_t at;
};

static void
fired_cb(int fd, short what, void *arg)
{
	struct fired *f = arg;

	f->calls++;
	f->at = tu_now_usec();
}

/* A base made without a monotonic clock; its timers still fire on time. */
static void
test_no_monotonic_timer(void **state)
{
	struct event_base *base;
	struct event ev;
	struct timeval tv = { 0, 100000 };
	struct fired f = { 0, 0 };
	int64_t start;

	ev__clock_monotonic = no_monotonic;
	ev__clock_wall = shifted_wall;
	base = event_base_new();
	assert_non_null(base);

	evtimer_set(&ev, fired_cb, &f);
	event_base_set(base, &ev);
	start = tu_now_usec();
	assert_int_equal(event_add(&ev, &tv), 0);
	assert_int_equal(event_base_dispatch(base), 1);
	assert_int_equal(f.calls, 1);
	assert_true(f.at - start >= 90000);
	assert_true(f.at - start < 2000000);
	/* The wall clock served instead. */
	assert_true(wall_calls > 0);
	event_base_free(base);
}

/*
 * The wall clock set back an hour while a 100 ms timer waits: the timer
 * fires after about 100 ms, not an hour later (the harness's deadline
 * would end a test that waited).
 */
static void
test_wall_clock_set_back(void **state)
{
	struct event_base *base;
	struct event ev, early;
	struct timeval tv = { 0, 100000 }, tv_early = { 0, 20000 };
	struct fired f = { 0, 0 }, fe = { 0, 0 };
	int64_t start;

	ev__clock_monotonic = no_monotonic;
	ev__clock_wall = shifted_wall;
	base = event_base_new();
	assert_non_null(base);

	evtimer_set(&ev, fired_cb, &f);
	event_base_set(base, &ev);
	evtimer_set(&early, fired_cb, &fe);
	event_base_set(base, &early);
	start = tu_now_usec();
	assert_int_equal(event_add(&ev, &tv), 0);
	assert_int_equal(event_add(&early, &tv_early), 0);

	wall_offset = -3600;
	assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	assert_int_equal(fe.calls, 1);
	assert_int_equal(f.calls, 0);
	/* Still an hour behind, the clock no longer moves backwards. */
	assert_int_equal(event_base_dispatch(base), 1);
	assert_int_equal(f.calls, 1);
	assert_true(fe.at - start >= 15000);
	assert_true(f.at - start >= 90000);
	assert_true(f.at - start < 2000000);
	event_base_free(base);
}

/*
 * The monotonic clock fails for a few reads after a base was made with
 * it: the loop neither blocks forever nor fires the timer early.
 */
static void
test_monotonic_fails_for_a_while(void **state)
{
	struct event_base *base;
	struct event ev;
	struct timeval tv = { 0, 50000 }, when, before;
	struct fired f = { 0, 0 };
	int64_t start;

	base = event_base_new();
	assert_non_null(base);
	ev__clock_monotonic = flaky_monotonic;
	evtimer_set(&ev, fired_cb, &f);
	event_base_set(base, &ev);
	/* No clock, no deadline: the timer is refused with a log line. */
	monotonic_failures = 1;
	event_set_log_callback(count_log);
	assert_int_equal(event_add(&ev, &tv), -1);
	event_set_log_callback(NULL);
	assert_int_equal(log_calls, 1);
	assert_int_equal(evtimer_pending(&ev, NULL), 0);

	start = tu_now_usec();
	assert_int_equal(event_add(&ev, &tv), 0);
	/* Asked while the clock fails, the expiry is reported as now. */
	monotonic_failures = 1;
	gettimeofday(&before, NULL);
	assert_int_equal(evtimer_pending(&ev, &when), EV_TIMEOUT);
	assert_true(evutil_timercmp(&when, &before, >=));
	assert_true(when.tv_sec - before.tv_sec <= 1);
	monotonic_failures = 3;
	assert_int_equal(event_base_dispatch(base), 1);
	assert_int_equal(monotonic_failures, 0);
	assert_int_equal(f.calls, 1);
	assert_true(f.at - start >= 45000);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CLOCK_TEST(test_no_monotonic_timer),
		CLOCK_TEST(test_wall_clock_set_back),
		CLOCK_TEST(test_monotonic_fails_for_a_while),
	};

	return TU_RUN_PER_BACKEND("clock", tests);
}
