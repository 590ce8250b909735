/*
 * test_port_double.c: the event ports double keeps the promises of
 * port_associate(3C) and port_get(3C) that evport.c relies on.
 */
#include <sys/types.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <port.h>

#include "doubles.h"

static struct timespec zero = { 0, 0 };

/* One event per association; it ends the association. */
static void
test_one_shot(void **state)
{
	port_event_t pe[2];
	uint_t nget = 1;
	int port = port_create(), p[2], cookie;

	assert_true(port >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(port_associate(port, PORT_SOURCE_FD, (uintptr_t)p[0],
			     POLLIN, NULL),
	    0);
	/* Associating again updates the cookie. */
	assert_int_equal(port_associate(port, PORT_SOURCE_FD, (uintptr_t)p[0],
			     POLLIN, &cookie),
	    0);
	assert_int_equal(port_getn(port, pe, 2, &nget, NULL), 0);
	assert_int_equal(nget, 1);
	assert_int_equal(pe[0].portev_source, PORT_SOURCE_FD);
	assert_int_equal((int)pe[0].portev_object, p[0]);
	assert_ptr_equal(pe[0].portev_user, &cookie);
	assert_true(pe[0].portev_events & POLLIN);
	/* Still readable, but no longer associated. */
	nget = 1;
	assert_int_equal(port_getn(port, pe, 2, &nget, &zero), -1);
	assert_int_equal(errno, ETIME);
	assert_int_equal(nget, 0);
	assert_int_equal(port_dissociate(port, PORT_SOURCE_FD, (uintptr_t)p[0]),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(port_associate(port, PORT_SOURCE_FD, (uintptr_t)p[0],
			     POLLIN, NULL),
	    0);
	assert_int_equal(port_get(port, pe, &zero), 0);
	close(p[0]);
	close(p[1]);
	close(port);
}

/* ETIME with fewer than *nget events still returns them in nget. */
static void
test_etime_keeps_events(void **state)
{
	port_event_t pe[3];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint_t nget = 2;
	int port = port_create(), a[2], b[2];

	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	port_associate(port, PORT_SOURCE_FD, (uintptr_t)a[0], POLLIN, NULL);
	port_associate(port, PORT_SOURCE_FD, (uintptr_t)b[0], POLLIN, NULL);
	/* max 0 only counts. */
	nget = 0;
	assert_int_equal(port_getn(port, NULL, 0, &nget, NULL), 0);
	assert_int_equal(nget, 1);
	nget = 2;
	assert_int_equal(port_getn(port, pe, 3, &nget, &ts), -1);
	assert_int_equal(errno, ETIME);
	assert_int_equal(nget, 1);
	assert_int_equal((int)pe[0].portev_object, a[0]);
	/* Dissociated: b gets no event when it becomes ready. */
	assert_int_equal(port_dissociate(port, PORT_SOURCE_FD, (uintptr_t)b[0]),
	    0);
	assert_int_equal(write(b[1], "x", 1), 1);
	nget = 1;
	assert_int_equal(port_getn(port, pe, 3, &nget, &zero), -1);
	assert_int_equal(errno, ETIME);
	assert_int_equal(nget, 0);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(port);
}

/* Closing an fd ends its association. */
static void
test_close_ends_association(void **state)
{
	port_event_t pe[1];
	uint_t nget = 1;
	int port = port_create(), p[2], q[2];

	assert_int_equal(pipe(p), 0);
	port_associate(port, PORT_SOURCE_FD, (uintptr_t)p[0], POLLIN, NULL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(q[0], p[0]);
	assert_int_equal(write(q[1], "x", 1), 1);
	assert_int_equal(port_getn(port, pe, 1, &nget, &zero), -1);
	assert_int_equal(errno, ETIME);
	close(q[0]);
	close(q[1]);
	close(port);
}

static void
test_errors(void **state)
{
	port_event_t pe[1];
	struct timespec bad = { -1, 0 };
	uint_t nget = 2;
	int port = port_create(), p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(port_associate(p[0], PORT_SOURCE_FD, (uintptr_t)p[0],
			     POLLIN, NULL),
	    -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(port_associate(port, PORT_SOURCE_USER, (uintptr_t)p[0],
			     POLLIN, NULL),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(port_associate(port, PORT_SOURCE_FD, 999999, POLLIN,
			     NULL),
	    -1);
	assert_int_equal(errno, EBADFD);
	assert_int_equal(port_getn(port, pe, 1, &nget, NULL), -1);
	assert_int_equal(errno, EINVAL);
	nget = 1;
	assert_int_equal(port_getn(port, pe, 1, &nget, &bad), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(port_getn(port, NULL, 1, &nget, NULL), -1);
	assert_int_equal(errno, EINVAL);
	dbl_fail(DBL_PORT_GETN, EFAULT, 1);
	assert_int_equal(port_getn(port, pe, 1, &nget, &zero), -1);
	assert_int_equal(errno, EFAULT);
	close(p[0]);
	close(p[1]);
	close(port);
}

/* User events and alert mode. */
static void
test_send_and_alert(void **state)
{
	port_event_t pe[2];
	int port = port_create(), cookie;

	assert_int_equal(port_send(port, 7, &cookie), 0);
	assert_int_equal(port_get(port, pe, NULL), 0);
	assert_int_equal(pe[0].portev_source, PORT_SOURCE_USER);
	assert_int_equal(pe[0].portev_events, 7);
	assert_ptr_equal(pe[0].portev_user, &cookie);
	assert_int_equal(port_alert(port, PORT_ALERT_SET, 3, NULL), 0);
	assert_int_equal(port_alert(port, PORT_ALERT_SET, 4, NULL), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(port_get(port, pe, NULL), 0);
	assert_int_equal(pe[0].portev_source, PORT_SOURCE_ALERT);
	assert_int_equal(port_get(port, pe, NULL), 0);
	assert_int_equal(pe[0].portev_events, 3);
	assert_int_equal(port_alert(port, PORT_ALERT_UPDATE, 0, NULL), 0);
	assert_int_equal(port_get(port, pe, &zero), -1);
	assert_int_equal(errno, ETIME);
	close(port);
}

static void
on_signal(int sig)
{
}

/* A handler running during the wait: EINTR. */
static void
test_eintr(void **state)
{
	port_event_t pe[1];
	struct timespec ts = { 5, 0 };
	struct sigevent sev;
	struct itimerspec its;
	timer_t timer;
	uint_t nget = 1;
	int port = port_create();

	signal(SIGUSR2, on_signal);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = 50 * 1000 * 1000;
	assert_int_equal(timer_settime(timer, 0, &its, NULL), 0);
	assert_int_equal(port_getn(port, pe, 1, &nget, &ts), -1);
	assert_int_equal(errno, EINTR);
	assert_int_equal(nget, 0);
	timer_delete(timer);
	signal(SIGUSR2, SIG_DFL);
	close(port);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_shot),
		cmocka_unit_test(test_etime_keeps_events),
		cmocka_unit_test(test_close_ends_association),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_send_and_alert),
		cmocka_unit_test(test_eintr),
	};

	return cmocka_run_group_tests_name("event port double", tests, NULL,
	    NULL);
}
