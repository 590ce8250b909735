/*
 * test_backend_faults.c: the kqueue, /dev/poll and event port backends,
 * through the OS doubles, under bad input and faults: a change list with
 * one closed fd among many, the OS failing a wait or a write, the result
 * buffer growing against the fd limit, signals arriving while bases are
 * freed, fork() with event_reinit(), SIGCHLD; and, once, the order of the
 * backends, their names and the broken-kqueue fallback.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"
#include "doubles.h"

#define NGOOD 6

static char logged[512];

/* Every message since logged[] was last emptied, one per line. */
static void
capture_log(int severity, const char *msg)
{
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "%s%s", n ? "\n" : "", msg);
}

struct fdcount {
	struct event ev;
	int calls;
	short what;
	int read_errno;
};

static void
read_cb(int fd, short what, void *arg)
{
	struct fdcount *c = arg;
	char buf[16];

	c->calls++;
	c->what = what;
	if (read(fd, buf, sizeof(buf)) == -1) {
		/* What a program does with a dead fd: stop watching it. */
		c->read_errno = errno;
		event_del(&c->ev);
	}
}

static void
watch(struct fdcount *c, int fd, short what)
{
	memset(c, 0, sizeof(*c));
	event_set(&c->ev, fd, what, read_cb, c);
	event_base_set(tu_base, &c->ev);
}

/*
 * One closed fd among many: every other registration keeps working, and
 * the failed one is reported, by event_add() (event ports check at once)
 * or to its callback, whose read() sees EBADF (kqueue's per-change error,
 * /dev/poll's POLLNVAL).
 */
static void
test_one_closed_among_many(void **state)
{
	struct fdcount good[NGOOD], bad;
	int pairs[NGOOD][2], dead[2], i, res, turn;

	for (i = 0; i < NGOOD; i++)
		tu_socketpair(pairs[i]);
	/* Closed last, so no later socket takes its number. */
	tu_socketpair(dead);
	close(dead[0]);
	close(dead[1]);
	for (i = 0; i < NGOOD; i++) {
		watch(&good[i], pairs[i][1], EV_READ | EV_PERSIST);
		assert_int_equal(event_add(&good[i].ev, NULL), 0);
		if (i == NGOOD / 2) {
			watch(&bad, dead[1], EV_READ | EV_PERSIST);
			logged[0] = '\0';
			event_set_log_callback(capture_log);
			res = event_add(&bad.ev, NULL);
			event_set_log_callback(NULL);
		}
		assert_int_equal(write(pairs[i][0], "x", 1), 1);
	}
	/*
	 * kqueue returns failed changes alone, without waiting, so the
	 * failed add (and then the failed delete of the dead fd) each take
	 * a turn before the others are collected.
	 */
	assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	for (turn = 0; turn < 3; turn++)
		assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	if (strcmp(tu_backend(), "evport") == 0) {
		assert_int_equal(res, -1);
		assert_non_null(strstr(logged, "port_associate"));
	} else {
		assert_int_equal(res, 0);
		assert_int_equal(bad.calls, 1);
		assert_true(bad.what & EV_READ);
		assert_int_equal(bad.read_errno, EBADF);
	}
	for (i = 0; i < NGOOD; i++) {
		assert_int_equal(good[i].calls, 1);
		event_del(&good[i].ev);
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
}

/* The call a backend waits in, and what its failure is logged as. */
static void
wait_call(enum dbl_call *call, int *err, const char **name)
{
	if (strcmp(tu_backend(), "kqueue") == 0) {
		*call = DBL_KEVENT;
		*err = ENOMEM;
		*name = "kevent";
	} else if (strcmp(tu_backend(), "devpoll") == 0) {
		*call = DBL_DP_POLL;
		*err = EINVAL;
		*name = "DP_POLL";
	} else {
		*call = DBL_PORT_GETN;
		*err = EFAULT;
		*name = "port_getn";
	}
}

/* The OS failing the wait: the loop returns -1 with a log line. */
static void
test_wait_fails(void **state)
{
	struct fdcount c;
	enum dbl_call call;
	const char *name;
	unsigned long before;
	int fds[2], err;

	wait_call(&call, &err, &name);
	tu_socketpair(fds);
	watch(&c, fds[1], EV_READ);
	assert_int_equal(event_add(&c.ev, NULL), 0);
	logged[0] = '\0';
	before = dbl_calls(call);
	dbl_fail(call, err, -1);
	event_set_log_callback(capture_log);
	assert_int_equal(event_base_dispatch(tu_base), -1);
	event_set_log_callback(NULL);
	dbl_reset();
	/* Once, not a spin. */
	assert_int_equal(dbl_calls(call) - before, 1);
	assert_non_null(strstr(logged, name));
	assert_non_null(strstr(logged, strerror(err)));
	/* The fault gone, the loop works again. */
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	close(fds[0]);
	close(fds[1]);
}

/* /dev/poll refusing the change array: -1 and a log line, no spin. */
static void
test_devpoll_write_fails(void **state)
{
	struct fdcount c;
	int fds[2];

	if (strcmp(tu_backend(), "devpoll") != 0)
		skip();
	tu_socketpair(fds);
	watch(&c, fds[1], EV_READ);
	assert_int_equal(event_add(&c.ev, NULL), 0);
	dbl_fail(DBL_DP_WRITE, ENOMEM, -1);
	logged[0] = '\0';
	event_set_log_callback(capture_log);
	assert_int_equal(event_base_dispatch(tu_base), -1);
	event_set_log_callback(NULL);
	dbl_reset();
	assert_non_null(strstr(logged, "write(/dev/poll)"));
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(c.calls, 1);
	close(fds[0]);
	close(fds[1]);
}

/*
 * More watched fds than the result buffer holds, with the fd limit
 * close: the buffer grows but stays below the limit (/dev/poll refuses
 * dp_nfds at or above it), and every fd is reported.
 */
static void
test_growth_within_fd_limit(void **state)
{
	struct rlimit old, low;
	struct fdcount c[40];
	int p[20][2], i, total = 0, turns;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (i = 0; i < 20; i++) {
		assert_int_equal(pipe(p[i]), 0);
		assert_int_equal(write(p[i][1], "x", 1), 1);
		watch(&c[i], p[i][0], EV_READ);
		watch(&c[20 + i], p[i][1], EV_WRITE);
		assert_int_equal(event_add(&c[i].ev, NULL), 0);
		assert_int_equal(event_add(&c[20 + i].ev, NULL), 0);
	}
	/* Event ports take at most one buffer (32) per turn at first. */
	for (turns = 0; turns < 3 && total < 40; turns++) {
		assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
		for (i = 0, total = 0; i < 40; i++)
			total += c[i].calls;
	}
	assert_int_equal(total, 40);
	for (i = 0; i < 20; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

static volatile sig_atomic_t handled;
static volatile int stop_spam;
static int bases_done; /* bases the test has created and freed */

static void
count_handler(int sig)
{
	handled++;
}

static void *
spammer(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	long sent = 0;

	/*
	 * A storm, but one that lets the target make progress: at most 32
	 * signals per base it gets through.  Unpaced, the target spent
	 * nearly all its time in the handler (and in callbacks for what
	 * it caught), and how many bases it got through in the deadline
	 * depended on the load of the machine.
	 */
	while (!__atomic_load_n(&stop_spam, __ATOMIC_SEQ_CST)) {
		if (sent < 32L *
			(__atomic_load_n(&bases_done, __ATOMIC_ACQUIRE) + 1)) {
			pthread_kill(target, SIGUSR1);
			sent++;
		}
		sched_yield();
	}
	return NULL;
}

static void
sig_cb(int sig, short what, void *arg)
{
	(*(int *)arg)++;
}

/* Signals arriving while bases watching them are created and freed. */
static void
test_signal_while_freeing(void **state)
{
	struct sigaction sa, now;
	pthread_t self = pthread_self(), t;
	struct event ev;
	int i, calls = 0;

	tu_deadline(20, "300 bases created and freed under a signal storm");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_handler;
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
	stop_spam = 0;
	bases_done = 0;
	assert_int_equal(pthread_create(&t, NULL, spammer, &self), 0);
	/* The spammer is running once its first signal is seen. */
	while (handled == 0)
		sched_yield();
	/* At least 300 bases, and at least 100 signals among them. */
	for (i = 0; i < 300 || handled + calls < 100; i++) {
		struct event_base *b = event_base_new();

		assert_non_null(b);
		signal_set(&ev, SIGUSR1, sig_cb, &calls);
		event_base_set(b, &ev);
		assert_int_equal(signal_add(&ev, NULL), 0);
		/*
		 * One pass: EVLOOP_NONBLOCK alone goes round again while
		 * each pass finds events (as in 1.4), which a storm of
		 * signals keeps true for seconds at a time.
		 */
		event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		event_base_free(b);
		__atomic_add_fetch(&bases_done, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&stop_spam, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	/* Our handler is back; the signals did arrive. */
	sigaction(SIGUSR1, NULL, &now);
	assert_ptr_equal(now.sa_handler, count_handler);
	signal(SIGUSR1, SIG_DFL);
}

/* After fork(), event_reinit() gives the child working I/O and signals. */
static void
test_reinit_in_child(void **state)
{
	struct fdcount c;
	struct event sig;
	int fds[2], sigcalls = 0;
	pid_t pid;

	tu_socketpair(fds);
	watch(&c, fds[1], EV_READ);
	assert_int_equal(event_add(&c.ev, NULL), 0);
	signal_set(&sig, SIGUSR2, sig_cb, &sigcalls);
	event_base_set(tu_base, &sig);
	assert_int_equal(signal_add(&sig, NULL), 0);
	/* One turn so the registrations reach the (doubled) kernel. */
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (event_reinit(tu_base) != 0)
			_exit(1);
		if (write(fds[0], "x", 1) != 1 || raise(SIGUSR2) != 0)
			_exit(2);
		while (c.calls == 0 || sigcalls == 0)
			if (event_base_loop(tu_base, EVLOOP_ONCE) != 0)
				_exit(3);
		_exit(c.read_errno == 0 && sigcalls == 1 ? 0 : 4);
	}
	tu_assert_child_ok(pid);
	event_del(&sig);
	event_del(&c.ev);
	close(fds[0]);
	close(fds[1]);
}

/* SIGCHLD is delivered like any other signal. */
static void
test_sigchld(void **state)
{
	struct event ev;
	int calls = 0, status;
	pid_t pid;

	signal_set(&ev, SIGCHLD, sig_cb, &calls);
	event_base_set(tu_base, &ev);
	assert_int_equal(signal_add(&ev, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	while (calls == 0)
		assert_int_equal(event_base_loop(tu_base, EVLOOP_ONCE), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	event_del(&ev);
}

/* ---- Once: the order, the names, the broken-kqueue fallback ---- */

static const char *const novars[] = { "EVENT_NOEVPORT", "EVENT_NOKQUEUE",
	"EVENT_NODEVPOLL" };

static void
clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(novars) / sizeof(novars[0]); i++)
		unsetenv(novars[i]);
}

static void
test_order_and_names(void **state)
{
	static const char *const order[] = { "evport", "kqueue", "devpoll" };
	struct event_base *b;
	char want[64];
	size_t i;

	clear_env();
	setenv("EVENT_SHOW_METHOD", "1", 1);
	for (i = 0; i < 3; i++) {
		logged[0] = '\0';
		event_set_log_callback(capture_log);
		b = event_base_new();
		event_set_log_callback(NULL);
		assert_non_null(b);
		assert_string_equal(event_base_get_method(b), order[i]);
		snprintf(want, sizeof(want), "libevent using: %s", order[i]);
		assert_string_equal(logged, want);
		event_base_free(b);
		setenv(novars[i], "1", 1);
	}
	unsetenv("EVENT_SHOW_METHOD");
	logged[0] = '\0';
	event_set_log_callback(capture_log);
	b = event_base_new();
	event_set_log_callback(NULL);
	assert_null(b);
	assert_non_null(strstr(logged, "no event mechanism"));
	clear_env();
}

/* The OS refusing to create the queue: the next backend, or NULL. */
static void
test_create_fails(void **state)
{
	static const struct {
		const char *name, *call;
		enum dbl_call kind;
		int err;
	} c[] = {
		{ "evport", "port_create", DBL_PORT_CREATE, EAGAIN },
		{ "kqueue", "kqueue", DBL_KQUEUE, EMFILE },
		{ "devpoll", "open(/dev/poll)", DBL_DP_OPEN, EMFILE },
	};
	struct event_base *b;
	size_t i, j;

	for (i = 0; i < 3; i++) {
		/* Only backend i allowed. */
		for (j = 0; j < 3; j++) {
			if (j == i)
				unsetenv(novars[j]);
			else
				setenv(novars[j], "1", 1);
		}
		dbl_fail(c[i].kind, c[i].err, 1);
		logged[0] = '\0';
		event_set_log_callback(capture_log);
		b = event_base_new();
		event_set_log_callback(NULL);
		assert_null(b);
		assert_non_null(strstr(logged, c[i].call));
		assert_non_null(strstr(logged, strerror(c[i].err)));
		assert_non_null(strstr(logged, "no event mechanism"));
		b = event_base_new();
		assert_non_null(b);
		assert_string_equal(event_base_get_method(b), c[i].name);
		event_base_free(b);
		/* With the next one allowed, it is used instead. */
		if (i < 2) {
			unsetenv(novars[i + 1]);
			dbl_fail(c[i].kind, c[i].err, 1);
			b = event_base_new();
			assert_non_null(b);
			assert_string_equal(event_base_get_method(b),
			    c[i + 1].name);
			event_base_free(b);
		}
	}
	dbl_reset();
	clear_env();
}

/*
 * A kqueue that fails whole calls is probed once and passed over.  The
 * probe's result is kept for the process, so this runs in a child of a
 * process that has made no kqueue base yet.
 */
static void
test_broken_kqueue_fallback(void **state)
{
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct event_base *b1, *b2;
		unsigned long kqs;

		clear_env();
		setenv("EVENT_NOEVPORT", "1", 1);
		dbl_kqueue_set_broken(1);
		logged[0] = '\0';
		event_set_log_callback(capture_log);
		b1 = event_base_new();
		if (b1 == NULL ||
		    strcmp(event_base_get_method(b1), "devpoll") != 0 ||
		    strstr(logged, "kqueue") == NULL)
			_exit(1);
		kqs = dbl_calls(DBL_KQUEUE);
		b2 = event_base_new();
		if (b2 == NULL ||
		    strcmp(event_base_get_method(b2), "devpoll") != 0 ||
		    dbl_calls(DBL_KQUEUE) != kqs)
			_exit(2);
		_exit(0);
	}
	tu_assert_child_ok(pid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TEST(test_one_closed_among_many),
		TU_TEST(test_wait_fails),
		TU_TEST(test_devpoll_write_fails),
		TU_TEST(test_growth_within_fd_limit),
		TU_TEST(test_signal_while_freeing),
		TU_TEST(test_reinit_in_child),
		TU_TEST(test_sigchld),
	};
	/* First: the kqueue probe runs once per process, before any base. */
	const struct CMUnitTest once[] = {
		cmocka_unit_test(test_broken_kqueue_fallback),
		cmocka_unit_test(test_order_and_names),
		cmocka_unit_test(test_create_fails),
	};
	int failures = TU_RUN_ONCE("backend choice", once);

	return failures + TU_RUN_PER_BACKEND("backend faults", tests);
}
