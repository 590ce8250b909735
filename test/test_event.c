/*
 * test_event.c: I/O events, the loop's flags and exits, priorities,
 * event_once, several bases, many fds, and misuse of the API.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

/* A timer that ends a test that went wrong instead of letting it hang. */
static struct event watchdog;

static void
watchdog_cb(int fd, short what, void *arg)
{
	fail_msg("watchdog fired: the loop did not finish in time");
}

static void
arm_watchdog(int secs)
{
	struct timeval tv = { secs, 0 };

	evtimer_set(&watchdog, watchdog_cb, NULL);
	event_base_set(tu_base, &watchdog);
	event_add(&watchdog, &tv);
}

struct counter {
	int calls;
	short last;
	int fd;
	struct event *ev;
	struct event *other;
	int drain;
};

static void
count_cb(int fd, short what, void *arg)
{
	struct counter *c = arg;
	char buf[64];

	c->calls++;
	c->last = what;
	c->fd = fd;
	if (c->drain && (what & EV_READ))
		while (read(fd, buf, sizeof(buf)) > 0)
			;
}

static void
set_event(struct event *ev, int fd, short what, struct counter *c)
{
	event_set(ev, fd, what, count_cb, c);
	assert_int_equal(event_base_set(tu_base, ev), 0);
	c->ev = ev;
}

static void
test_read_once(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ, &c);
	assert_int_equal(event_add(&ev, NULL), 0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.last, EV_READ);
	assert_int_equal(c.fd, fds[1]);
	assert_int_equal(event_pending(&ev, EV_READ, NULL), 0);
	close(fds[0]);
	close(fds[1]);
}

static void
stop_after_three(int fd, short what, void *arg)
{
	struct counter *c = arg;
	char ch;

	assert_int_equal(read(fd, &ch, 1), 1);
	if (++c->calls == 3)
		event_del(c->ev);
	else
		assert_int_equal(write(c->fd, "y", 1), 1);
}

static void
test_persist(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };

	tu_socketpair(fds);
	event_set(&ev, fds[1], EV_READ | EV_PERSIST, stop_after_three, &c);
	event_base_set(tu_base, &ev);
	c.ev = &ev;
	c.fd = fds[0];
	assert_int_equal(event_add(&ev, NULL), 0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 3);
	close(fds[0]);
	close(fds[1]);
}

static void
test_del_pending(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ, &c);
	assert_int_equal(event_add(&ev, NULL), 0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_del(&ev), 0);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 1);
	assert_int_equal(c.calls, 0);
	close(fds[0]);
	close(fds[1]);
}

/* Each deletes the other: whichever runs first, the other must not run. */
static void
del_other_cb(int fd, short what, void *arg)
{
	struct counter *c = arg;

	c->calls++;
	event_del(c->other);
}

static void
test_del_other_in_callback(void **state)
{
	int a[2], b[2];
	struct event ea, eb;
	struct counter ca = { 0 }, cb = { 0 };

	tu_socketpair(a);
	tu_socketpair(b);
	event_set(&ea, a[1], EV_READ, del_other_cb, &ca);
	event_set(&eb, b[1], EV_READ, del_other_cb, &cb);
	event_base_set(tu_base, &ea);
	event_base_set(tu_base, &eb);
	ca.other = &eb;
	cb.other = &ea;
	event_add(&ea, NULL);
	event_add(&eb, NULL);
	assert_int_equal(write(a[0], "x", 1), 1);
	assert_int_equal(write(b[0], "x", 1), 1);
	/* Both are ready in the same turn. */
	assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	assert_int_equal(ca.calls + cb.calls, 1);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
del_self_cb(int fd, short what, void *arg)
{
	struct counter *c = arg;

	c->calls++;
	assert_int_equal(event_del(c->ev), 0);
}

static void
test_del_self_persist(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };

	tu_socketpair(fds);
	event_set(&ev, fds[1], EV_READ | EV_PERSIST, del_self_cb, &c);
	event_base_set(tu_base, &ev);
	c.ev = &ev;
	event_add(&ev, NULL);
	assert_int_equal(write(fds[0], "xyz", 3), 3);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	close(fds[0]);
	close(fds[1]);
}

/* One read and one write event, two structs, one fd. */
static void
test_read_and_write_same_fd(void **state)
{
	int fds[2];
	struct event er, ew;
	struct counter cr = { 0 }, cw = { 0 };

	tu_socketpair(fds);
	cr.drain = 1;
	set_event(&er, fds[1], EV_READ, &cr);
	set_event(&ew, fds[1], EV_WRITE, &cw);
	event_add(&er, NULL);
	event_add(&ew, NULL);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	assert_int_equal(cw.calls, 1);
	assert_int_equal(cr.calls, 0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(cr.calls, 1);
	assert_int_equal(cw.calls, 1);

	/* Deleting one leaves the other working. */
	event_add(&er, NULL);
	event_add(&ew, NULL);
	event_del(&ew);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(cr.calls, 2);
	assert_int_equal(cw.calls, 1);
	close(fds[0]);
	close(fds[1]);
}

/* ---- Priorities ---- */

static char order[64];
static int norder;

struct prio_ev {
	struct event ev;
	char tag;
	int again; /* re-activate itself this many times */
};

static void
prio_cb(int fd, short what, void *arg)
{
	struct prio_ev *p = arg;

	if (norder < (int)sizeof(order) - 1)
		order[norder++] = p->tag;
	if (p->again-- > 0)
		event_active(&p->ev, EV_TIMEOUT, 1);
}

static void
test_priorities(void **state)
{
	struct prio_ev hi = { .tag = 'H', .again = 4 };
	struct prio_ev mid = { .tag = 'M' }, lo = { .tag = 'L' };

	assert_int_equal(event_base_priority_init(tu_base, 3), 0);
	evtimer_set(&lo.ev, prio_cb, &lo);
	evtimer_set(&mid.ev, prio_cb, &mid);
	evtimer_set(&hi.ev, prio_cb, &hi);
	event_base_set(tu_base, &lo.ev);
	event_base_set(tu_base, &mid.ev);
	event_base_set(tu_base, &hi.ev);
	assert_int_equal(event_priority_set(&lo.ev, 2), 0);
	assert_int_equal(event_priority_set(&mid.ev, 1), 0);
	assert_int_equal(event_priority_set(&hi.ev, 0), 0);
	assert_int_equal(event_priority_set(&hi.ev, 3), -1);
	norder = 0;
	memset(order, 0, sizeof(order));
	/* Activated lowest first; the most urgent must still run first. */
	event_active(&lo.ev, EV_TIMEOUT, 1);
	event_active(&mid.ev, EV_TIMEOUT, 1);
	event_active(&hi.ev, EV_TIMEOUT, 1);
	/* An active event's priority cannot change. */
	assert_int_equal(event_priority_set(&lo.ev, 0), -1);
	/* Priorities cannot be changed while events are active. */
	assert_int_equal(event_base_priority_init(tu_base, 2), -1);
	event_base_loop(tu_base, EVLOOP_NONBLOCK);
	/* H re-activates itself and starves M and L until it stops. */
	assert_string_equal(order, "HHHHHML");
}

/* An event set while there were more priorities than there are now. */
static void
test_priorities_shrunk(void **state)
{
	struct event ev;
	struct counter c = { 0 };

	assert_int_equal(event_base_priority_init(tu_base, 8), 0);
	set_event(&ev, -1, 0, &c);
	assert_int_equal(event_priority_set(&ev, 7), 0);
	assert_int_equal(event_base_priority_init(tu_base, 2), 0);
	event_active(&ev, EV_TIMEOUT, 1);
	/* 1: nothing is left once the event has run. */
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 1);
	assert_int_equal(c.calls, 1);
}

/* ---- Loop control ---- */

static void
test_event_active(void **state)
{
	struct event ev;
	struct counter c = { 0 };

	set_event(&ev, -1, EV_READ, &c);
	event_active(&ev, EV_WRITE, 1);
	assert_int_equal(event_pending(&ev, EV_WRITE, NULL), EV_WRITE);
	event_base_loop(tu_base, EVLOOP_NONBLOCK);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.last, EV_WRITE);

	/* Activated again before it ran: one call with both reasons. */
	event_active(&ev, EV_READ, 1);
	event_active(&ev, EV_WRITE, 1);
	event_base_loop(tu_base, EVLOOP_NONBLOCK);
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.last, EV_READ | EV_WRITE);
	assert_int_equal(event_pending(NULL, EV_READ, NULL), 0);
}

/*
 * A callback due several times (event_active() with ncalls > 1) that
 * deletes its event runs once, and the event keeps nothing pointing into
 * the loop that ran it: a later event_del() wrote through that pointer.
 */
static void
test_repeats_deleted(void **state)
{
	struct event ev;
	struct counter c = { 0 };

	event_set(&ev, -1, EV_READ, del_self_cb, &c);
	assert_int_equal(event_base_set(tu_base, &ev), 0);
	c.ev = &ev;
	event_active(&ev, EV_READ, 3);
	event_base_loop(tu_base, EVLOOP_NONBLOCK);
	assert_int_equal(c.calls, 1);
	assert_null(ev.ev_pncalls);
	assert_int_equal(ev.ev_ncalls, 0);
	assert_int_equal(event_del(&ev), 0);
}

static void
test_loopexit_delay(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };
	struct timeval tv = { 0, 100000 };
	int64_t t0;

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	event_add(&ev, NULL);
	arm_watchdog(10);
	t0 = tu_now_usec();
	assert_int_equal(event_base_loopexit(tu_base, &tv), 0);
	assert_int_equal(event_base_dispatch(tu_base), 0);
	assert_true(tu_now_usec() - t0 >= 100000);
	assert_int_equal(c.calls, 0);
	event_del(&watchdog);
	event_del(&ev);
	close(fds[0]);
	close(fds[1]);
}

static void
test_loopexit_before_dispatch(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	c.drain = 1;
	event_add(&ev, NULL);
	assert_int_equal(write(fds[0], "x", 1), 1);
	arm_watchdog(10);
	assert_int_equal(event_base_loopexit(tu_base, NULL), 0);
	/* The turn in progress completes: the ready event still runs. */
	assert_int_equal(event_base_dispatch(tu_base), 0);
	assert_int_equal(c.calls, 1);
	event_del(&watchdog);
	event_del(&ev);
	close(fds[0]);
	close(fds[1]);
}

static void
break_cb(int fd, short what, void *arg)
{
	struct counter *c = arg;

	c->calls++;
	event_base_loopbreak(tu_base);
}

static void
test_loopbreak_from_callback(void **state)
{
	struct event e1, e2;
	struct counter c1 = { 0 }, c2 = { 0 };

	evtimer_set(&e1, break_cb, &c1);
	evtimer_set(&e2, break_cb, &c2);
	event_base_set(tu_base, &e1);
	event_base_set(tu_base, &e2);
	event_active(&e1, EV_TIMEOUT, 1);
	event_active(&e2, EV_TIMEOUT, 1);
	assert_int_equal(event_base_dispatch(tu_base), 0);
	/* The second active callback did not run in that call. */
	assert_int_equal(c1.calls + c2.calls, 1);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(c1.calls + c2.calls, 2);
}

static void *
breaker_thread(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	/* Let the loop block first; breaking earlier must work as well. */
	nanosleep(&ts, NULL);
	event_base_loopbreak(arg);
	return NULL;
}

static void
test_loopbreak_from_thread(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };
	pthread_t t;

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	event_add(&ev, NULL);
	arm_watchdog(10);
	assert_int_equal(pthread_create(&t, NULL, breaker_thread, tu_base), 0);
	/* Nothing else would ever wake this loop. */
	assert_int_equal(event_base_dispatch(tu_base), 0);
	pthread_join(t, NULL);
	assert_int_equal(c.calls, 0);
	event_del(&watchdog);
	event_del(&ev);
	close(fds[0]);
	close(fds[1]);
}

static void
test_loop_once(void **state)
{
	struct event e1, e2;
	struct counter c1 = { 0 }, c2 = { 0 };
	struct timeval t1 = { 0, 10000 }, t2 = { 5, 0 };

	set_event(&e1, -1, 0, &c1);
	set_event(&e2, -1, 0, &c2);
	event_add(&e1, &t1);
	event_add(&e2, &t2);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	assert_int_equal(c1.calls, 1);
	assert_int_equal(c1.last, EV_TIMEOUT);
	assert_int_equal(c2.calls, 0);
	assert_int_equal(event_pending(&e2, EV_TIMEOUT, NULL), EV_TIMEOUT);
	event_del(&e2);
}

static void
test_loop_nonblock(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };
	int64_t t0;

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	c.drain = 1;
	event_add(&ev, NULL);
	t0 = tu_now_usec();
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_true(tu_now_usec() - t0 < 1000000);
	assert_int_equal(c.calls, 0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(c.calls, 1);
	event_del(&ev);
	close(fds[0]);
	close(fds[1]);
}

/* ---- event_once ---- */

static int once_calls;
static short once_what;

static void
once_cb(int fd, short what, void *arg)
{
	once_calls++;
	once_what = what;
	assert_ptr_equal(arg, &once_calls);
}

static void
test_event_once(void **state)
{
	int fds[2], r;
	struct timeval tv = { 0, 5000 };
	char buf[8];

	tu_socketpair(fds);
	once_calls = 0;
	assert_int_equal(event_base_once(tu_base, fds[1], EV_READ, once_cb,
			     &once_calls, NULL),
	    0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(once_calls, 1);
	assert_int_equal(once_what, EV_READ);
	assert_int_equal(read(fds[1], buf, sizeof(buf)), 1);

	assert_int_equal(event_base_once(tu_base, -1, EV_TIMEOUT, once_cb,
			     &once_calls, &tv),
	    0);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(once_calls, 2);
	assert_int_equal(once_what, EV_TIMEOUT);

	/* A read with a timeout that expires first. */
	assert_int_equal(event_base_once(tu_base, fds[1], EV_READ, once_cb,
			     &once_calls, &tv),
	    0);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(once_calls, 3);
	assert_int_equal(once_what, EV_TIMEOUT);

	assert_int_equal(event_base_once(tu_base, SIGUSR1, EV_SIGNAL, once_cb,
			     &once_calls, NULL),
	    -1);
	/* Nor persistence, an fd to wait on that is none, no callback,
	 * no base, or nothing to wait for. */
	r = event_base_once(tu_base, fds[1], EV_READ | EV_PERSIST, once_cb,
	    &once_calls, NULL);
	assert_int_equal(r, -1);
	r = event_base_once(tu_base, -1, EV_READ, once_cb, &once_calls, NULL);
	assert_int_equal(r, -1);
	r = event_base_once(tu_base, -1, EV_TIMEOUT, NULL, NULL, &tv);
	assert_int_equal(r, -1);
	r = event_base_once(NULL, -1, EV_TIMEOUT, once_cb, &once_calls, &tv);
	assert_int_equal(r, -1);
	r = event_base_once(tu_base, fds[1], 0x80, once_cb, &once_calls, NULL);
	assert_int_equal(r, -1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(once_calls, 3);
	close(fds[0]);
	close(fds[1]);
}

static void
test_event_once_global(void **state)
{
	struct event_base *g = event_init();
	struct timeval tv = { 0, 1000 };

	assert_non_null(g);
	once_calls = 0;
	assert_int_equal(event_once(-1, EV_TIMEOUT, once_cb, &once_calls, &tv),
	    0);
	assert_int_equal(event_dispatch(), 1);
	assert_int_equal(once_calls, 1);
	assert_string_equal(event_get_method(), tu_backend());
	event_base_free(g);
}

/* ---- Several bases, many fds ---- */

static void
test_two_bases(void **state)
{
	struct event_base *other = event_base_new();
	int a[2], b[2];
	struct event ea, eb;
	struct counter ca = { 0 }, cb = { 0 };

	assert_non_null(other);
	tu_socketpair(a);
	tu_socketpair(b);
	set_event(&ea, a[1], EV_READ, &ca);
	event_set(&eb, b[1], EV_READ, count_cb, &cb);
	assert_int_equal(event_base_set(other, &eb), 0);
	event_add(&ea, NULL);
	event_add(&eb, NULL);
	assert_int_equal(write(a[0], "x", 1), 1);
	assert_int_equal(write(b[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(ca.calls, 1);
	assert_int_equal(cb.calls, 0);
	assert_int_equal(event_base_dispatch(other), 1);
	assert_int_equal(cb.calls, 1);
	event_base_free(other);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < want)
		skip();
}

#define NPAIRS 5000 /* 10,000 fds */

static void
test_many_fds(void **state)
{
	static int fds[NPAIRS][2];
	static struct event evs[NPAIRS];
	struct counter c = { 0 };
	int i;

	raise_nofile(2 * NPAIRS + 64);
	c.drain = 1;
	for (i = 0; i < NPAIRS; i++) {
		tu_socketpair(fds[i]);
		set_event(&evs[i], fds[i][1], EV_READ, &c);
		assert_int_equal(event_add(&evs[i], NULL), 0);
	}
	for (i = 0; i < NPAIRS; i++)
		assert_int_equal(write(fds[i][0], "x", 1), 1);
	arm_watchdog(60);
	while (c.calls < NPAIRS)
		assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	assert_int_equal(c.calls, NPAIRS);
	event_del(&watchdog);
	for (i = 0; i < NPAIRS; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

static void
test_high_fd(void **state)
{
	int fds[2], high = 1500;
	struct event ev;
	struct counter c = { 0 };

	raise_nofile((rlim_t)high + 1);
	tu_socketpair(fds);
	assert_int_equal(dup2(fds[1], high), high);
	set_event(&ev, high, EV_READ, &c);
	c.drain = 1;
	assert_int_equal(event_add(&ev, NULL), 0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.fd, high);
	close(high);
	close(fds[0]);
	close(fds[1]);
}

/* ---- Sockets that end ---- */

static void
test_eof(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };
	char ch;

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ, &c);
	event_add(&ev, NULL);
	close(fds[0]);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(read(fds[1], &ch, 1), 0);
	close(fds[1]);
}

static void
test_write_to_closed_peer(void **state)
{
	int fds[2];
	struct event ev;
	struct counter c = { 0 };

	signal(SIGPIPE, SIG_IGN);
	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_WRITE, &c);
	event_add(&ev, NULL);
	close(fds[0]);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(write(fds[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(fds[1]);
}

/*
 * Deleted, its fd closed, then added again: epoll cannot watch a closed fd
 * and event_add() says so, as 1.4's did, leaving nothing half added; the
 * base goes on working.  (poll and select only find out when they wait.)
 */
static void
test_readd_closed_fd(void **state)
{
	int fds[2], again[2];
	struct event ev, ev2;
	struct counter c = { 0 }, c2 = { 0 };

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	assert_int_equal(event_add(&ev, NULL), 0);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(event_del(&ev), 0);
	close(fds[1]);
	if (strcmp(tu_backend(), "epoll") == 0) {
		assert_int_equal(event_add(&ev, NULL), -1);
		assert_int_equal(event_pending(&ev, EV_READ, NULL), 0);
		/* 1: nothing is added any more. */
		assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 1);
	} else {
		event_del(&ev);
	}
	close(fds[0]);
	tu_socketpair(again);
	set_event(&ev2, again[1], EV_READ, &c2);
	assert_int_equal(event_add(&ev2, NULL), 0);
	assert_int_equal(write(again[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c2.calls, 1);
	assert_int_equal(c.calls, 0);
	close(again[0]);
	close(again[1]);
}

/* An fd closed while registered, its number then reused. */
static void
test_closed_while_registered(void **state)
{
	int fds[2], again[2];
	struct event ev, ev2;
	struct counter c = { 0 }, c2 = { 0 };

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	event_add(&ev, NULL);
	close(fds[1]);
	close(fds[0]);
	/* The kernel already forgot the fd; deleting must still succeed. */
	assert_int_equal(event_del(&ev), 0);
	tu_socketpair(again);
	set_event(&ev2, again[1], EV_READ, &c2);
	assert_int_equal(event_add(&ev2, NULL), 0);
	assert_int_equal(write(again[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c2.calls, 1);
	assert_int_equal(c.calls, 0);
	close(again[0]);
	close(again[1]);
}

/*
 * Deleted, fd closed, the same number reused for a new socket and added
 * again, all before the loop runs: the new socket must be watched even
 * though the backend saw "delete, add the same fd for reading".
 */
static void
test_close_reuse_between_del_and_add(void **state)
{
	int fds[2], again[2], i;
	struct event ev;
	struct counter c = { 0 };

	tu_socketpair(fds);
	c.drain = 1;
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	event_add(&ev, NULL);
	/* One turn so the registration reaches the kernel. */
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	for (i = 0; i < 3; i++) {
		event_del(&ev);
		close(fds[1]);
		close(fds[0]);
		tu_socketpair(again);
		/* The lowest free numbers come back, swapped or not. */
		assert_true(again[0] == fds[1] || again[1] == fds[1]);
		if (again[0] == fds[1]) {
			fds[0] = again[1];
			fds[1] = again[0];
		} else {
			fds[0] = again[0];
			fds[1] = again[1];
		}
		set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
		assert_int_equal(event_add(&ev, NULL), 0);
		assert_int_equal(write(fds[0], "x", 1), 1);
		arm_watchdog(10);
		assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
		event_del(&watchdog);
		assert_int_equal(c.calls, i + 1);
	}
	event_del(&ev);
	close(fds[0]);
	close(fds[1]);
}

/*
 * The same with a reader and a writer: both deleted, the fd closed, its
 * number reused, and the two added back one at a time (as a DNS client
 * reconnecting does).  Together they want what the old registration
 * had, but the kernel forgot it on close: the new socket must be watched.
 */
static void
test_close_reuse_reader_and_writer(void **state)
{
	int fds[2], again[2];
	struct event rd, wr;
	struct counter cr = { 0 }, cw = { 0 };

	tu_socketpair(fds);
	set_event(&rd, fds[1], EV_READ | EV_PERSIST, &cr);
	set_event(&wr, fds[1], EV_WRITE, &cw);
	event_add(&rd, NULL);
	event_add(&wr, NULL);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(cw.calls, 1);
	event_add(&wr, NULL);
	event_del(&rd);
	event_del(&wr);
	close(fds[1]);
	close(fds[0]);
	tu_socketpair(again);
	assert_true(again[0] == fds[1] || again[1] == fds[1]);
	fds[1] = again[0] == fds[1] ? again[0] : again[1];
	fds[0] = again[0] == fds[1] ? again[1] : again[0];
	set_event(&rd, fds[1], EV_READ | EV_PERSIST, &cr);
	set_event(&wr, fds[1], EV_WRITE, &cw);
	assert_int_equal(event_add(&rd, NULL), 0);
	assert_int_equal(event_add(&wr, NULL), 0);
	arm_watchdog(2);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	event_del(&watchdog);
	assert_int_equal(cw.calls, 2);
	event_del(&rd);
	close(fds[0]);
	close(fds[1]);
}

static void
stop_loop_cb(int fd, short what, void *arg)
{
	event_base_loopbreak(tu_base);
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * Deleted, then closed while another descriptor (a dup, or a child after
 * fork) keeps the socket open, all before the loop runs; then the socket
 * becomes readable.  The loop must not spin on the old registration.
 */
static void
test_closed_while_shared_after_del(void **state)
{
	int fds[2], keep;
	struct event ev, stop;
	struct counter c = { 0 };
	struct timeval tv = { 0, 300000 };
	double t0;

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	event_add(&ev, NULL);
	/* One turn so the registration reaches the kernel. */
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	event_del(&ev);
	keep = dup(fds[1]);
	assert_true(keep >= 0);
	close(fds[1]);
	assert_int_equal(write(fds[0], "x", 1), 1);

	evtimer_set(&stop, stop_loop_cb, NULL);
	event_base_set(tu_base, &stop);
	event_add(&stop, &tv);
	t0 = cpu_seconds();
	event_base_dispatch(tu_base);
	/* Spinning would burn most of the 0.3 s; a quiet wait burns none. */
	assert_true(cpu_seconds() - t0 < 0.1);
	assert_int_equal(c.calls, 0);
	close(keep);
	close(fds[0]);
}

/* Re-arming every turn (del + set + add) keeps delivering. */
static void
test_rearm_every_turn(void **state)
{
	int fds[2], i;
	struct event ev;
	struct counter c = { 0 };

	tu_socketpair(fds);
	c.drain = 1;
	set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
	event_add(&ev, NULL);
	for (i = 0; i < 50; i++) {
		event_del(&ev);
		set_event(&ev, fds[1], EV_READ | EV_PERSIST, &c);
		assert_int_equal(event_add(&ev, NULL), 0);
		if (i % 2 == 0)
			assert_int_equal(write(fds[0], "x", 1), 1);
		assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
		assert_int_equal(c.calls, i / 2 + 1);
	}
	event_del(&ev);
	close(fds[0]);
	close(fds[1]);
}

/* ---- Misuse ---- */

static void
test_bad_input(void **state)
{
	struct event ev, never;
	struct counter c = { 0 };
	struct timeval neg = { -5, -3 }, huge = { INT_MAX, 999999 };
	struct timeval when, now;

	memset(&never, 0, sizeof(never));
	assert_int_equal(event_add(&never, NULL), -1);
	event_active(&never, EV_READ, 1); /* logged, ignored */

	/* A negative fd cannot be watched for I/O. */
	set_event(&ev, -1, EV_READ, &c);
	assert_int_equal(event_add(&ev, NULL), -1);

	/* Deleting twice, or an event never added, is harmless. */
	set_event(&ev, -1, 0, &c);
	assert_int_equal(event_del(&ev), 0);
	event_add(&ev, &neg);
	assert_int_equal(event_del(&ev), 0);
	assert_int_equal(event_del(&ev), 0);

	/* A negative timeout expires at once. */
	assert_int_equal(event_add(&ev, &neg), 0);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.last, EV_TIMEOUT);

	/* INT_MAX seconds lies far in the future, not in the past. */
	assert_int_equal(event_add(&ev, &huge), 0);
	assert_int_equal(event_pending(&ev, EV_TIMEOUT, &when), EV_TIMEOUT);
	gettimeofday(&now, NULL);
	assert_true(when.tv_sec > now.tv_sec + 86400L * 365 * 10);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(c.calls, 1);
	event_del(&ev);

	/* A signal event may not also ask for I/O. */
	event_set(&ev, SIGUSR1, EV_SIGNAL | EV_READ, count_cb, &c);
	event_base_set(tu_base, &ev);
	assert_int_equal(event_add(&ev, NULL), -1);
	assert_int_equal(event_base_priority_init(tu_base, 0), -1);
}

static int log_lines;

static void
count_log(int severity, const char *msg)
{
	log_lines++;
}

/*
 * A regular file: epoll cannot watch one, so event_add() fails and says
 * so; poll and select report it ready at once.
 */
static void
test_regular_file(void **state)
{
	struct event ev;
	struct counter c = { 0 };
	FILE *f = tmpfile();
	int r;

	assert_non_null(f);
	set_event(&ev, fileno(f), EV_READ, &c);
	log_lines = 0;
	event_set_log_callback(count_log);
	r = event_add(&ev, NULL);
	event_set_log_callback(NULL);
	if (strcmp(tu_backend(), "epoll") == 0) {
		assert_int_equal(r, -1);
		assert_int_equal(log_lines, 1);
		assert_int_equal(event_pending(&ev, EV_READ, NULL), 0);
	} else {
		assert_int_equal(r, 0);
		assert_int_equal(event_base_dispatch(tu_base), 1);
		assert_int_equal(c.calls, 1);
		assert_int_equal(c.last, EV_READ);
	}
	fclose(f);
}

/*
 * A program closes a registered fd without event_del(): select() fails
 * with EBADF, so the loop returns -1 and says why (as 1.4's did); poll
 * reports the fd (POLLNVAL) and epoll forgets it.  No backend hangs.
 */
static void
test_closed_without_del(void **state)
{
	struct event ev, t;
	struct counter c = { 0 }, ct = { 0 };
	struct timeval tv = { 0, 50000 };
	int fds[2], r;

	tu_socketpair(fds);
	set_event(&ev, fds[1], EV_READ, &c);
	assert_int_equal(event_add(&ev, NULL), 0);
	set_event(&t, -1, 0, &ct);
	assert_int_equal(event_add(&t, &tv), 0);
	close(fds[1]);
	close(fds[0]);
	log_lines = 0;
	event_set_log_callback(count_log);
	r = event_base_loop(tu_base, EVLOOP_ONCE);
	event_set_log_callback(NULL);
	if (strcmp(tu_backend(), "select") == 0) {
		assert_int_equal(r, -1);
		assert_int_equal(log_lines, 1);
	} else {
		assert_int_equal(r, 0);
		assert_int_equal(c.calls + ct.calls, 1);
	}
	event_del(&ev);
	event_del(&t);
}

/*
 * event_reinit() (after fork(), or at any time) keeps every added event:
 * here a reader and a writer on one fd.
 */
static void
test_reinit_keeps_events(void **state)
{
	int fds[2];
	struct event er, ew;
	struct counter cr = { 0 }, cw = { 0 };

	tu_socketpair(fds);
	set_event(&er, fds[1], EV_READ, &cr);
	set_event(&ew, fds[1], EV_WRITE, &cw);
	assert_int_equal(event_add(&er, NULL), 0);
	assert_int_equal(event_add(&ew, NULL), 0);
	assert_int_equal(event_reinit(tu_base), 0);
	assert_int_equal(write(fds[0], "x", 1), 1);
	/* 1: both ran once, and nothing is left. */
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(cr.calls, 1);
	assert_int_equal(cw.calls, 1);
	close(fds[0]);
	close(fds[1]);
}

static void
test_base_free_with_pending(void **state)
{
	struct event_base *b = event_base_new();
	int fds[2];
	struct event er, ew, erw, et, es;
	struct counter c = { 0 };
	struct timeval tv = { 100, 0 };
	const short all = EV_READ | EV_WRITE | EV_SIGNAL | EV_TIMEOUT;

	assert_non_null(b);
	tu_socketpair(fds);
	event_set(&er, fds[1], EV_READ | EV_PERSIST, count_cb, &c);
	/* A reader and a writer on one fd, one event for both on another. */
	event_set(&ew, fds[1], EV_WRITE, count_cb, &c);
	event_set(&erw, fds[0], EV_READ | EV_WRITE, count_cb, &c);
	evtimer_set(&et, count_cb, &c);
	signal_set(&es, SIGUSR2, count_cb, &c);
	event_base_set(b, &er);
	event_base_set(b, &ew);
	event_base_set(b, &erw);
	event_base_set(b, &et);
	event_base_set(b, &es);
	event_add(&er, NULL);
	event_add(&ew, NULL);
	event_add(&erw, &tv);
	event_add(&et, &tv);
	event_add(&es, NULL);
	event_active(&et, EV_TIMEOUT, 1);
	event_base_free(b);
	/* The program still owns them; they are simply no longer pending. */
	assert_int_equal(event_pending(&er, all, NULL), 0);
	assert_int_equal(event_pending(&ew, all, NULL), 0);
	assert_int_equal(event_pending(&erw, all, NULL), 0);
	assert_int_equal(event_pending(&et, all, NULL), 0);
	assert_int_equal(event_pending(&es, all, NULL), 0);
	assert_int_equal(c.calls, 0);
	close(fds[0]);
	close(fds[1]);
}

static char logged[256];

static void
capture_log(int severity, const char *msg)
{
	if (severity == _EVENT_LOG_MSG)
		snprintf(logged, sizeof(logged), "%s", msg);
}

/* EVENT_SHOW_METHOD reports the backend through the log callback. */
static void
test_show_method(void **state)
{
	struct event_base *b;

	logged[0] = '\0';
	event_set_log_callback(capture_log);
	setenv("EVENT_SHOW_METHOD", "1", 1);
	b = event_base_new();
	unsetenv("EVENT_SHOW_METHOD");
	event_set_log_callback(NULL);
	assert_non_null(b);
	assert_non_null(strstr(logged, tu_backend()));
	event_base_free(b);
}

static void
test_version(void **state)
{
	assert_string_equal(event_get_version(), "1.4.15");
	assert_string_equal(event_base_get_method(tu_base), tu_backend());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) TU_TEST(f)
		T(test_version),
		T(test_show_method),
		T(test_read_once),
		T(test_persist),
		T(test_del_pending),
		T(test_del_other_in_callback),
		T(test_del_self_persist),
		T(test_read_and_write_same_fd),
		T(test_priorities),
		T(test_priorities_shrunk),
		T(test_event_active),
		T(test_repeats_deleted),
		T(test_loopexit_delay),
		T(test_loopexit_before_dispatch),
		T(test_loopbreak_from_callback),
		T(test_loopbreak_from_thread),
		T(test_loop_once),
		T(test_loop_nonblock),
		T(test_event_once),
		T(test_event_once_global),
		T(test_two_bases),
		T(test_many_fds),
		T(test_high_fd),
		T(test_eof),
		T(test_write_to_closed_peer),
		T(test_readd_closed_fd),
		T(test_closed_while_registered),
		T(test_close_reuse_between_del_and_add),
		T(test_close_reuse_reader_and_writer),
		T(test_closed_while_shared_after_del),
		T(test_rearm_every_turn),
		T(test_bad_input),
		T(test_regular_file),
		T(test_closed_without_del),
		T(test_base_free_with_pending),
		T(test_reinit_keeps_events),
#undef T
	};
	return TU_RUN_PER_BACKEND("event", tests);
}
