/*
 * test_alloc.c: every public call of the core and the buffers that
 * allocates, re-run with its 1st, 2nd, ... allocation failing until it
 * succeeds (test_alloc_util.h).  Each failure must return the documented
 * error with a log line and leave the objects involved working; under
 * AddressSanitizer (CI) a leak fails the program.  test_alloc_extra.c
 * does the same for HTTP, DNS and tagging.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"
#include "test_alloc_util.h"

static void
flag_cb(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(*(int *)arg)++;
}

/* A zero-delay timer on base fires: the base still works. */
static void
assert_base_works(struct event_base *base)
{
	struct timeval tv = { 0, 0 };
	int fired = 0;

	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, flag_cb, &fired,
			     &tv),
	    0);
	assert_true(ta_run_until(base, &fired, 2000));
}

static void
test_base_new(void **state)
{
	struct event_base *base;
	int n;

	(void)state;
	for (n = 1;; n++) {
		ta_arm(n);
		base = event_base_new();
		if (!ta_injected("event_base_new", n))
			break;
		assert_null(base);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(base);
	assert_base_works(base);
	event_base_free(base);

	/* event_init() also makes the base the global one. */
	for (n = 1;; n++) {
		ta_arm(n);
		base = event_init();
		if (!ta_injected("event_init", n))
			break;
		assert_null(base);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(base);
	assert_base_works(base);
	event_base_free(base);
}

static void
test_priority_init(void **state)
{
	struct event ev;
	int n, r, fired = 0;

	(void)state;
	for (n = 1;; n++) {
		ta_arm(n);
		r = event_base_priority_init(tu_base, 8);
		if (!ta_injected("event_base_priority_init", n))
			break;
		assert_int_equal(r, -1);
		assert_int_equal(ta_delta(), 0);
		assert_base_works(tu_base);
	}
	assert_int_equal(r, 0);
	/* The eight levels are there. */
	evtimer_set(&ev, flag_cb, &fired);
	event_base_set(tu_base, &ev);
	assert_int_equal(event_priority_set(&ev, 7), 0);
	event_active(&ev, EV_TIMEOUT, 1);
	assert_true(ta_run_until(tu_base, &fired, 2000));
}

/*
 * Registering many fds and timers grows the backend's tables and the
 * timer heap.  An event_add() that fails leaves that event unregistered
 * and the ones before it working.
 */
#define NPAIRS 40
static void
test_event_add(void **state)
{
	int fds[NPAIRS][2], fired[NPAIRS];
	struct event evs[NPAIRS], tmo[NPAIRS];
	struct timeval tv = { 60, 0 };
	struct event_base *base = NULL;
	int i, n, added, failed, total;

	(void)state;
	for (i = 0; i < NPAIRS; i++)
		tu_socketpair(fds[i]);
	for (n = 1;; n++) {
		/* A fresh base each time: every table starts small. */
		event_base_free(base);
		assert_non_null(base = event_base_new());
		memset(fired, 0, sizeof(fired));
		ta_arm(n);
		added = failed = 0;
		for (i = 0; i < NPAIRS; i++) {
			event_set(&evs[i], fds[i][0], EV_READ, flag_cb,
			    &fired[i]);
			event_base_set(base, &evs[i]);
			evtimer_set(&tmo[i], flag_cb, &fired[i]);
			event_base_set(base, &tmo[i]);
			if (event_add(&evs[i], NULL) == -1) {
				assert_false(
				    event_pending(&evs[i], EV_READ, NULL));
				failed++;
			} else
				added++;
			if (evtimer_add(&tmo[i], &tv) == -1) {
				assert_false(
				    event_pending(&tmo[i], EV_TIMEOUT, NULL));
				failed++;
			}
		}
		ta_pause();
		/* Every registered fd is reported once it is readable. */
		for (i = 0; i < NPAIRS; i++)
			assert_int_equal(write(fds[i][1], "x", 1), 1);
		ta_resume();
		total = 0;
		while (total < added) {
			assert_int_not_equal(event_base_loop(base,
						 EVLOOP_NONBLOCK),
			    -1);
			for (total = 0, i = 0; i < NPAIRS; i++)
				total += fired[i];
			if (ta_allocs() > 100000)
				break;
		}
		if (!ta_injected("event_add", n)) {
			assert_int_equal(failed, 0);
			break;
		}
		assert_int_equal(total, added);
		for (i = 0; i < NPAIRS; i++) {
			char c;
			assert_int_equal(read(fds[i][0], &c, 1), 1);
			event_del(&tmo[i]);
			event_del(&evs[i]);
		}
		assert_base_works(base);
	}
	for (i = 0; i < NPAIRS; i++) {
		event_del(&tmo[i]);
		event_del(&evs[i]);
		close(fds[i][0]);
		close(fds[i][1]);
	}
	event_base_free(base);
}

static void
test_event_once(void **state)
{
	struct timeval tv = { 0, 0 };
	int n, r, fired;

	(void)state;
	for (n = 1;; n++) {
		fired = 0;
		ta_arm(n);
		r = event_base_once(tu_base, -1, EV_TIMEOUT, flag_cb, &fired,
		    &tv);
		if (!ta_injected("event_base_once", n))
			break;
		assert_int_equal(r, -1);
		assert_int_equal(ta_delta(), 0);
		assert_base_works(tu_base);
		assert_int_equal(fired, 0);
	}
	assert_int_equal(r, 0);
	assert_true(ta_run_until(tu_base, &fired, 2000));
}

static void
test_signal_add(void **state)
{
	struct event ev;
	int n, r, fired = 0;

	(void)state;
	for (n = 1;; n++) {
		signal_set(&ev, SIGUSR1, flag_cb, &fired);
		event_base_set(tu_base, &ev);
		ta_arm(n);
		r = signal_add(&ev, NULL);
		if (!ta_injected("signal_add", n))
			break;
		assert_int_equal(r, -1);
		assert_false(signal_pending(&ev, NULL));
		assert_base_works(tu_base);
	}
	assert_int_equal(r, 0);
	raise(SIGUSR1);
	assert_true(ta_run_until(tu_base, &fired, 2000));
	signal_del(&ev);
}

static void
test_reinit(void **state)
{
	int fds[2], n, r, fired = 0;
	struct event ev;

	(void)state;
	tu_socketpair(fds);
	event_set(&ev, fds[0], EV_READ | EV_PERSIST, flag_cb, &fired);
	event_base_set(tu_base, &ev);
	assert_int_equal(event_add(&ev, NULL), 0);
	for (n = 1;; n++) {
		ta_arm(n);
		r = event_reinit(tu_base);
		if (!ta_injected("event_reinit", n))
			break;
		/* 0 too: epoll settles a change at once if it cannot queue. */
		assert_true(r == -1 || r == 0);
		assert_base_works(tu_base);
	}
	assert_int_equal(r, 0);
	/* The registered event survived every attempt. */
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_true(ta_run_until(tu_base, &fired, 2000));
	event_del(&ev);
	close(fds[0]);
	close(fds[1]);
}

/* Buffers: what was there stays there when growing fails. */
static void
test_evbuffer(void **state)
{
	static char big[70000];
	struct evbuffer *buf, *other;
	char *line;
	int n, r;

	(void)state;
	memset(big, 'b', sizeof(big));
	for (n = 1;; n++) {
		ta_arm(n);
		buf = evbuffer_new();
		if (!ta_injected("evbuffer_new", n))
			break;
		assert_null(buf);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(buf);
	assert_non_null(other = evbuffer_new());
	assert_int_equal(evbuffer_add(buf, "keep", 4), 0);

	/*
	 * A fresh buf holding "keep" each time, so that every growth step
	 * is tried; on success it holds added more bytes.
	 */
#define SWEEP(what, call, added) \
	do { \
		for (n = 1;; n++) { \
			evbuffer_free(buf); \
			assert_non_null(buf = evbuffer_new()); \
			assert_int_equal(evbuffer_add(buf, "keep", 4), 0); \
			ta_arm(n); \
			r = (call); \
			if (!ta_injected(what, n)) \
				break; \
			assert_int_equal(r, -1); \
			assert_int_equal(ta_delta(), 0); \
			assert_int_equal(EVBUFFER_LENGTH(buf), 4); \
			assert_memory_equal(EVBUFFER_DATA(buf), "keep", 4); \
		} \
		assert_int_not_equal(r, -1); \
		assert_int_equal(EVBUFFER_LENGTH(buf), 4 + (added)); \
		assert_memory_equal(EVBUFFER_DATA(buf), "keep", 4); \
		evbuffer_drain(buf, EVBUFFER_LENGTH(buf)); \
		assert_int_equal(evbuffer_add(buf, "keep", 4), 0); \
	} while (0)
	SWEEP("evbuffer_add", evbuffer_add(buf, big, sizeof(big)), sizeof(big));
	SWEEP("evbuffer_add_printf",
	    evbuffer_add_printf(buf, "%s%.*s", "x", 5000, big), 5001);
	SWEEP("evbuffer_expand", evbuffer_expand(buf, 1 << 20), 0);
	assert_int_equal(evbuffer_add(other, big, sizeof(big)), 0);
	SWEEP("evbuffer_add_buffer", evbuffer_add_buffer(buf, other),
	    sizeof(big));
	assert_int_equal(EVBUFFER_LENGTH(other), 0);
	{
		int fds[2];
		tu_socketpair(fds);
		assert_int_equal(write(fds[1], big, 60000), 60000);
		/* However much one call takes (r), all of it arrives. */
		SWEEP("evbuffer_read", evbuffer_read(buf, fds[0], 60000), r);
		assert_true(r > 0);
		close(fds[0]);
		close(fds[1]);
	}
#undef SWEEP
	/* A line is taken only if its copy could be made. */
	evbuffer_drain(buf, 4);
	assert_int_equal(evbuffer_add(buf, "one\r\ntwo\n", 9), 0);
	for (n = 1;; n++) {
		ta_arm(n);
		line = evbuffer_readline(buf);
		if (!ta_injected("evbuffer_readline", n))
			break;
		assert_null(line);
		assert_int_equal(ta_delta(), 0);
		assert_int_equal(EVBUFFER_LENGTH(buf), 9);
	}
	assert_string_equal(line, "one");
	free(line);
	for (n = 1;; n++) {
		size_t len = 0;
		ta_arm(n);
		line = evbuffer_readln(buf, &len, EVBUFFER_EOL_LF);
		if (!ta_injected("evbuffer_readln", n))
			break;
		assert_null(line);
		assert_int_equal(ta_delta(), 0);
		assert_int_equal(EVBUFFER_LENGTH(buf), 4);
	}
	assert_string_equal(line, "two");
	free(line);
	evbuffer_free(buf);
	evbuffer_free(other);
}

struct bev_seen {
	int got;    /* bytes read */
	short what; /* the last error callback's flags */
};

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct bev_seen *seen = arg;

	seen->got += (int)EVBUFFER_LENGTH(bev->input);
	evbuffer_drain(bev->input, EVBUFFER_LENGTH(bev->input));
}

static void
error_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bev_seen *seen = arg;

	(void)bev;
	seen->what = what;
}

static void
test_bufferevent(void **state)
{
	static char big[100000];
	struct bufferevent *bev, *peer;
	struct bev_seen seen = { 0, 0 };
	struct evbuffer *more;
	int fds[2], n, r, total = (int)sizeof(big) + 40000;

	(void)state;
	memset(big, 'q', sizeof(big));
	tu_socketpair(fds);
	for (n = 1;; n++) {
		ta_arm(n);
		bev = bufferevent_new(fds[0], NULL, NULL, error_cb, &seen);
		if (!ta_injected("bufferevent_new", n))
			break;
		assert_null(bev);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(bev);
	assert_int_equal(bufferevent_base_set(tu_base, bev), 0);
	assert_non_null(
	    peer = bufferevent_new(fds[1], read_cb, NULL, error_cb, &seen));
	assert_int_equal(bufferevent_base_set(tu_base, peer), 0);
	for (n = 1;; n++) {
		ta_arm(n);
		r = bufferevent_enable(peer, EV_READ);
		if (!ta_injected("bufferevent_enable", n))
			break;
		assert_int_equal(r, -1);
	}
	assert_int_equal(r, 0);
	for (n = 1;; n++) {
		ta_arm(n);
		r = bufferevent_write(bev, big, sizeof(big));
		if (!ta_injected("bufferevent_write", n))
			break;
		assert_int_equal(r, -1);
		assert_int_equal(EVBUFFER_LENGTH(bev->output), 0);
	}
	assert_int_equal(r, 0);
	/* Appending a buffer: all of it or none, the source kept on failure. */
	assert_non_null(more = evbuffer_new());
	assert_int_equal(evbuffer_add(more, big, 40000), 0);
	for (n = 1;; n++) {
		ta_arm(n);
		r = bufferevent_write_buffer(bev, more);
		if (!ta_injected("bufferevent_write_buffer", n))
			break;
		assert_int_equal(r, -1);
		assert_int_equal(EVBUFFER_LENGTH(more), 40000);
		assert_true(EVBUFFER_LENGTH(bev->output) <= sizeof(big));
	}
	assert_int_equal(r, 0);
	assert_int_equal(EVBUFFER_LENGTH(more), 0);
	evbuffer_free(more);
	/*
	 * Everything written arrives, while the reading side's growth may
	 * fail: a failed read reaches the error callback, and the data stays
	 * in the socket for the next one.
	 */
	for (n = 1;; n++) {
		int done = 0;
		seen.what = 0;
		ta_arm(n);
		while (seen.got < total && seen.what == 0 && !done)
			if (event_base_loop(tu_base, EVLOOP_ONCE) != 0)
				done = 1;
		if (!ta_injected("bufferevent read", n))
			break;
		if (seen.what != 0)
			assert_int_equal(seen.what,
			    EVBUFFER_READ | EVBUFFER_ERROR);
		assert_int_equal(bufferevent_enable(peer, EV_READ), 0);
		if (seen.got == total)
			break;
	}
	assert_int_equal(seen.got, total);
	bufferevent_free(bev);
	bufferevent_free(peer);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_new),
		TU_TEST(test_priority_init),
		cmocka_unit_test(test_event_add),
		TU_TEST(test_event_once),
		TU_TEST(test_signal_add),
		TU_TEST(test_reinit),
		TU_TEST(test_bufferevent),
	};
	const struct CMUnitTest once[] = {
		cmocka_unit_test(test_evbuffer),
	};

	ta_install();
	return TU_RUN_ONCE("alloc", once) + TU_RUN_PER_BACKEND("alloc", tests);
}
