/*
 * test_timer.c: timeouts: order, never early, FIFO among equal expiries,
 * rescheduling, event_pending's remaining time, and a large heap.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

struct timer {
	struct event ev;
	int id;
	int64_t added;	/* tu_now_usec() when added */
	int64_t wanted; /* microseconds asked for */
	int64_t fired;
	int calls;
	short what;
};

static int fired_ids[20000];
static int nfired;

static void
timer_cb(int fd, short what, void *arg)
{
	struct timer *t = arg;

	t->fired = tu_now_usec();
	t->calls++;
	t->what = what;
	if (nfired < (int)(sizeof(fired_ids) / sizeof(fired_ids[0])))
		fired_ids[nfired++] = t->id;
}

static void
add_timer(struct timer *t, int id, int64_t usec)
{
	struct timeval tv;

	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	evtimer_set(&t->ev, timer_cb, t);
	event_base_set(tu_base, &t->ev);
	t->id = id;
	t->wanted = usec;
	t->calls = 0;
	t->added = tu_now_usec();
	assert_int_equal(evtimer_add(&t->ev, &tv), 0);
}

static void
test_order(void **state)
{
	struct timer t[3];

	nfired = 0;
	add_timer(&t[0], 0, 30000);
	add_timer(&t[1], 1, 10000);
	add_timer(&t[2], 2, 20000);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(nfired, 3);
	assert_int_equal(fired_ids[0], 1);
	assert_int_equal(fired_ids[1], 2);
	assert_int_equal(fired_ids[2], 0);
	assert_int_equal(t[0].what, EV_TIMEOUT);
}

static void
test_never_early(void **state)
{
	struct timer t[40];
	int i;

	srandom(7);
	nfired = 0;
	for (i = 0; i < 40; i++)
		add_timer(&t[i], i, 1000 + random() % 60000);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(nfired, 40);
	for (i = 0; i < 40; i++) {
		assert_int_equal(t[i].calls, 1);
		assert_true(t[i].fired - t[i].added >= t[i].wanted);
	}
}

static void
test_equal_timeouts_fifo(void **state)
{
	static struct timer t[200];
	struct timeval tv = { 0, 20000 };
	int i;

	nfired = 0;
	for (i = 0; i < 200; i++) {
		evtimer_set(&t[i].ev, timer_cb, &t[i]);
		event_base_set(tu_base, &t[i].ev);
		t[i].id = i;
		assert_int_equal(evtimer_add(&t[i].ev, &tv), 0);
	}
	/*
	 * Many of these share a deadline to the microsecond; those must run
	 * in the order they were added, and the rest in deadline order.
	 */
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(nfired, 200);
	for (i = 0; i < 200; i++)
		assert_int_equal(fired_ids[i], i);
}

static void
test_reschedule(void **state)
{
	struct timer t;
	struct timeval later = { 0, 60000 };

	nfired = 0;
	add_timer(&t, 0, 10000);
	/* Adding a pending timer moves it; it still fires only once. */
	assert_int_equal(evtimer_add(&t.ev, &later), 0);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(t.calls, 1);
	assert_true(t.fired - t.added >= 60000);
}

static void
test_pending_remaining(void **state)
{
	struct timer t;
	struct timeval when, now, left;

	add_timer(&t, 0, 5000000);
	assert_int_equal(evtimer_pending(&t.ev, &when), EV_TIMEOUT);
	assert_int_equal(event_pending(&t.ev, EV_READ, NULL), 0);
	gettimeofday(&now, NULL);
	evutil_timersub(&when, &now, &left);
	/* About five seconds from now, on the wall clock. */
	assert_true(left.tv_sec >= 4 && left.tv_sec <= 5);
	assert_int_equal(evtimer_del(&t.ev), 0);
	assert_int_equal(evtimer_pending(&t.ev, NULL), 0);
}

/* A timer already due reports its expiry as now, not in the past. */
static void
test_pending_due(void **state)
{
	struct timer t;
	struct timeval when, before, after;

	gettimeofday(&before, NULL);
	add_timer(&t, 0, 0);
	assert_int_equal(evtimer_pending(&t.ev, &when), EV_TIMEOUT);
	gettimeofday(&after, NULL);
	assert_true(evutil_timercmp(&when, &before, >=));
	assert_true(evutil_timercmp(&when, &after, <=));
	assert_int_equal(evtimer_del(&t.ev), 0);
}

/* Seconds beyond any clock: the timer waits "forever", never wraps. */
static void
test_huge_timeout(void **state)
{
	struct timer t, soon;
	struct timeval huge = { 0, 0 }, when, now;
	int fds[2];

	huge.tv_sec = (time_t)1 << 50;
	evtimer_set(&t.ev, timer_cb, &t);
	event_base_set(tu_base, &t.ev);
	t.calls = 0;
	assert_int_equal(evtimer_add(&t.ev, &huge), 0);
	assert_int_equal(evtimer_pending(&t.ev, &when), EV_TIMEOUT);
	gettimeofday(&now, NULL);
	assert_true(when.tv_sec > now.tv_sec + 86400L * 365 * 1000);
	/* The backend is asked to wait that long; a ready fd still wakes it. */
	tu_socketpair(fds);
	event_set(&soon.ev, fds[0], EV_WRITE, timer_cb, &soon);
	event_base_set(tu_base, &soon.ev);
	soon.calls = 0;
	assert_int_equal(event_add(&soon.ev, NULL), 0);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	assert_int_equal(soon.calls, 1);
	assert_int_equal(soon.what, EV_WRITE);
	assert_int_equal(t.calls, 0);
	assert_int_equal(evtimer_del(&t.ev), 0);
	close(fds[0]);
	close(fds[1]);
}

static struct timer *readd_target;

static void
readd_cb(int fd, short what, void *arg)
{
	struct timeval later = { 0, 50000 };

	timer_cb(fd, what, arg);
	readd_target->added = tu_now_usec();
	assert_int_equal(evtimer_add(&readd_target->ev, &later), 0);
}

/*
 * Two timers due in the same turn; the first one's callback re-adds the
 * second for later: the second does not also run now, only once later.
 */
static void
test_readd_due_timer(void **state)
{
	struct timer a, b;
	struct timeval zero = { 0, 0 };

	memset(&a, 0, sizeof(a));
	evtimer_set(&a.ev, readd_cb, &a);
	event_base_set(tu_base, &a.ev);
	assert_int_equal(evtimer_add(&a.ev, &zero), 0);
	add_timer(&b, 1, 0);
	readd_target = &b;
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_true(b.fired - b.added >= 50000);
}

static void
test_read_with_timeout(void **state)
{
	struct timer t;
	int fds[2];
	struct timeval tv = { 0, 20000 };

	tu_socketpair(fds);
	event_set(&t.ev, fds[1], EV_READ, timer_cb, &t);
	event_base_set(tu_base, &t.ev);
	t.calls = 0;
	t.added = tu_now_usec();
	assert_int_equal(event_add(&t.ev, &tv), 0);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.what, EV_TIMEOUT);
	assert_true(t.fired - t.added >= 20000);
	/* Deleted once it fired: nothing left pending. */
	assert_int_equal(event_pending(&t.ev, EV_READ | EV_TIMEOUT, NULL), 0);
	close(fds[0]);
	close(fds[1]);
}

/* Many timers, half deleted, some rescheduled: exactly the rest fire,
 * in deadline order. */
static void
test_big_heap(void **state)
{
	enum { N = 10000 };
	static struct timer t[N];
	int i;

	srandom(11);
	nfired = 0;
	for (i = 0; i < N; i++)
		add_timer(&t[i], i, 1000 + random() % 100000);
	for (i = 0; i < N; i += 2)
		assert_int_equal(evtimer_del(&t[i].ev), 0);
	for (i = 1; i < N; i += 4) {
		struct timeval tv = { 0, 1000 + random() % 100000 };
		t[i].added = tu_now_usec();
		t[i].wanted = tv.tv_usec;
		assert_int_equal(evtimer_add(&t[i].ev, &tv), 0);
	}
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(nfired, N / 2);
	for (i = 0; i < N; i++)
		assert_int_equal(t[i].calls, i % 2);
	for (i = 1; i < nfired; i++) {
		struct timeval *a = &t[fired_ids[i - 1]].ev.ev_timeout;
		struct timeval *b = &t[fired_ids[i]].ev.ev_timeout;
		assert_true(evutil_timercmp(a, b, <=));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) TU_TEST(f)
		T(test_order),
		T(test_never_early),
		T(test_equal_timeouts_fifo),
		T(test_reschedule),
		T(test_pending_remaining),
		T(test_pending_due),
		T(test_huge_timeout),
		T(test_readd_due_timer),
		T(test_read_with_timeout),
		T(test_big_heap),
#undef T
	};
	return TU_RUN_PER_BACKEND("timer", tests);
}
