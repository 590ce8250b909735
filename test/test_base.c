/*
 * test_base.c: creating and freeing bases: out of file descriptors, the
 * 1.4 global-base forms (event_init, event_priority_init, event_loopbreak,
 * event_base_free(NULL)), events without a base, and priority levels.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

static int log_calls;

static void
count_log(int severity, const char *msg)
{
	log_calls++;
}

static void
fired_cb(int fd, short what, void *arg)
{
	(*(int *)arg)++;
}

/* A base that works: a zero timer fires once. */
static void
assert_base_works(struct event_base *base)
{
	struct event ev;
	struct timeval zero = { 0, 0 };
	int calls = 0;

	evtimer_set(&ev, fired_cb, &calls);
	assert_int_equal(event_base_set(base, &ev), 0);
	assert_int_equal(event_add(&ev, &zero), 0);
	assert_int_equal(event_base_dispatch(base), 1);
	assert_int_equal(calls, 1);
}

/*
 * With only a few descriptors left, event_base_new() either works or
 * returns NULL and says why: never a half-made base.  The limits tried
 * run out during the backend's set-up and during the wake-up socketpair.
 */
static void
test_out_of_descriptors(void **state)
{
	struct rlimit saved, lim;
	struct event_base *base;
	int lowest, extra, failed = 0, worked = 0;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	lowest = open("/dev/null", O_RDONLY);
	assert_true(lowest >= 0);
	close(lowest);
	event_set_log_callback(count_log);
	for (extra = 0; extra <= 8; extra++) {
		lim = saved;
		lim.rlim_cur = (rlim_t)(lowest + extra);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
		log_calls = 0;
		base = event_base_new();
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
		if (base == NULL) {
			failed++;
			assert_true(log_calls > 0);
			continue;
		}
		worked++;
		assert_base_works(base);
		event_base_free(base);
	}
	event_set_log_callback(NULL);
	assert_true(failed >= 1); /* no descriptor at all: NULL */
	assert_true(worked >= 1); /* eight are plenty for any backend */
}

/* The forms of 1.4 that act on the global base event_init() made. */
static void
test_global_base(void **state)
{
	struct event_base *saved = current_base, *base;
	struct event ev;
	struct timeval zero = { 0, 0 };
	int calls = 0;

	base = event_init();
	assert_non_null(base);
	assert_ptr_equal(current_base, base);
	assert_int_equal(event_priority_init(3), 0);

	/* New events get the middle level; event_loopbreak() ends the loop. */
	event_set(&ev, -1, 0, fired_cb, &calls);
	assert_int_equal(ev.ev_pri, 1);
	assert_int_equal(event_add(&ev, &zero), 0);
	assert_int_equal(event_loopbreak(), 0);
	assert_int_equal(event_loop(0), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(event_dispatch(), 1);
	assert_int_equal(calls, 1);

	/* NULL frees the global base, which then is gone. */
	event_base_free(NULL);
	assert_null(current_base);

	event_set_log_callback(count_log);
	log_calls = 0;
	event_base_free(NULL);
	assert_int_equal(log_calls, 1);
	assert_int_equal(event_loop(0), -1);
	assert_int_equal(log_calls, 2);
	event_set_log_callback(NULL);
	assert_int_equal(event_loopbreak(), -1);
	assert_int_equal(event_loopexit(NULL), -1);
	assert_int_equal(event_priority_init(2), -1);
	assert_int_equal(event_base_loopexit(NULL, NULL), -1);
	current_base = saved;
}

/* An event set while there is no global base cannot be added. */
static void
test_event_without_base(void **state)
{
	struct event_base *saved = current_base;
	struct event ev;
	struct timeval tv = { 0, 0 };
	int calls = 0;

	current_base = NULL;
	event_set(&ev, -1, 0, fired_cb, &calls);
	event_set_log_callback(count_log);
	log_calls = 0;
	assert_int_equal(event_add(&ev, &tv), -1);
	assert_int_equal(log_calls, 1);
	event_set_log_callback(NULL);
	current_base = saved;

	/* event_base_set() gives it one. */
	assert_int_equal(event_base_set(tu_base, &ev), 0);
	assert_int_equal(event_add(&ev, &tv), 0);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(calls, 1);
}

/*
 * Priority levels: asking again for the same count changes nothing; they
 * cannot change while events are active, nor can an active event's level.
 */
static void
test_priority_levels(void **state)
{
	struct event ev;
	int calls = 0;

	assert_int_equal(event_base_priority_init(tu_base, 4), 0);
	assert_int_equal(event_base_priority_init(tu_base, 4), 0);
	evtimer_set(&ev, fired_cb, &calls);
	event_base_set(tu_base, &ev);
	assert_int_equal(ev.ev_pri, 2);
	assert_int_equal(event_priority_set(&ev, 3), 0);
	assert_int_equal(event_priority_set(&ev, 4), -1);

	event_active(&ev, EV_TIMEOUT, 1);
	assert_int_equal(event_priority_set(&ev, 0), -1);
	assert_int_equal(event_base_priority_init(tu_base, 2), -1);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 1);
	assert_int_equal(calls, 1);
	assert_int_equal(event_base_priority_init(tu_base, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_descriptors),
		TU_TEST(test_global_base),
		TU_TEST(test_event_without_base),
		TU_TEST(test_priority_levels),
	};

	return TU_RUN_PER_BACKEND("base", tests);
}
