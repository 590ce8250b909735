/*
 * test_signal.c: signal events: delivery from the loop, several events and
 * several bases on one signal, the old handler restored, and fork() with
 * event_reinit().
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

struct sigcount {
	struct event ev;
	int calls;
	int sig;
	short what;
	int del_after; /* event_del after this many calls (0: never) */
};

static void
sig_cb(int sig, short what, void *arg)
{
	struct sigcount *s = arg;

	s->calls++;
	s->sig = sig;
	s->what = what;
	if (s->del_after && s->calls >= s->del_after)
		event_del(&s->ev);
}

static void
set_sig(struct sigcount *s, struct event_base *b, int sig, int del_after)
{
	memset(s, 0, sizeof(*s));
	signal_set(&s->ev, sig, sig_cb, s);
	assert_int_equal(event_base_set(b, &s->ev), 0);
	s->del_after = del_after;
	assert_int_equal(signal_add(&s->ev, NULL), 0);
}

static void
raise_cb(int fd, short what, void *arg)
{
	raise(*(int *)arg);
}

/* A signal raised from inside a callback is delivered by the loop. */
static void
test_raise_in_callback(void **state)
{
	struct sigcount s;
	struct event t;
	int sig = SIGUSR1;

	set_sig(&s, tu_base, SIGUSR1, 1);
	evtimer_set(&t, raise_cb, &sig);
	event_base_set(tu_base, &t);
	event_active(&t, EV_TIMEOUT, 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.sig, SIGUSR1);
	assert_int_equal(s.what, EV_SIGNAL);
	assert_int_equal(signal_pending(&s.ev, NULL), 0);
}

static void
test_two_events_one_signal(void **state)
{
	struct sigcount a, b;

	set_sig(&a, tu_base, SIGUSR2, 1);
	set_sig(&b, tu_base, SIGUSR2, 1);
	raise(SIGUSR2);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
}

/* Two arrivals before the loop runs give two calls. */
static void
test_counted(void **state)
{
	struct sigcount s;

	set_sig(&s, tu_base, SIGUSR1, 0);
	raise(SIGUSR1);
	raise(SIGUSR1);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(s.calls, 2);
	event_del(&s.ev);
}

/* Without EV_PERSIST a signal event is removed when it fires. */
static void
test_not_persistent(void **state)
{
	struct sigcount s;

	memset(&s, 0, sizeof(s));
	event_set(&s.ev, SIGUSR1, EV_SIGNAL, sig_cb, &s);
	event_base_set(tu_base, &s.ev);
	assert_int_equal(signal_add(&s.ev, NULL), 0);
	raise(SIGUSR1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(s.calls, 1);
	assert_int_equal(signal_pending(&s.ev, NULL), 0);
}

/* Deleted by its first call, an event gets none of the arrivals left. */
static void
test_del_stops_repeats(void **state)
{
	struct sigcount s;

	set_sig(&s, tu_base, SIGUSR1, 1);
	raise(SIGUSR1);
	raise(SIGUSR1);
	raise(SIGUSR1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(s.calls, 1);
}

static void
break_cb(int sig, short what, void *arg)
{
	struct sigcount *s = arg;

	s->calls++;
	event_base_loopbreak(tu_base);
}

/*
 * event_base_loopbreak() from the first of three calls due ends the loop
 * at once; the event stays added and the next arrival reaches it.
 */
static void
test_loopbreak_stops_repeats(void **state)
{
	struct sigcount s;

	memset(&s, 0, sizeof(s));
	signal_set(&s.ev, SIGUSR2, break_cb, &s);
	event_base_set(tu_base, &s.ev);
	assert_int_equal(signal_add(&s.ev, NULL), 0);
	raise(SIGUSR2);
	raise(SIGUSR2);
	raise(SIGUSR2);
	assert_int_equal(event_base_dispatch(tu_base), 0);
	assert_int_equal(s.calls, 1);
	assert_int_not_equal(signal_pending(&s.ev, NULL), 0);
	raise(SIGUSR2);
	assert_int_equal(event_base_dispatch(tu_base), 0);
	assert_int_equal(s.calls, 2);
	event_del(&s.ev);
}

/*
 * More arrivals before the loop runs than a short can count: the calls
 * are capped at SHRT_MAX instead of wrapping to a negative count.
 */
static void
test_arrivals_capped(void **state)
{
	struct sigcount s;
	int i;

	set_sig(&s, tu_base, SIGUSR1, 0);
	for (i = 0; i < SHRT_MAX + 1000; i++)
		raise(SIGUSR1);
	assert_int_equal(event_base_loop(tu_base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(s.calls, SHRT_MAX);
	event_del(&s.ev);
}

static volatile sig_atomic_t own_handler_calls;

static void
own_handler(int sig)
{
	own_handler_calls++;
}

static void
test_old_handler_restored(void **state)
{
	struct sigaction sa, now;
	struct sigcount a, b;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = own_handler;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);

	set_sig(&a, tu_base, SIGUSR1, 0);
	set_sig(&b, tu_base, SIGUSR1, 0);
	assert_int_equal(sigaction(SIGUSR1, NULL, &now), 0);
	assert_true(now.sa_handler != own_handler);
	event_del(&a.ev);
	/* One event still watches: ours stays installed. */
	assert_int_equal(sigaction(SIGUSR1, NULL, &now), 0);
	assert_true(now.sa_handler != own_handler);
	event_del(&b.ev);
	assert_int_equal(sigaction(SIGUSR1, NULL, &now), 0);
	assert_true(now.sa_handler == own_handler);
	own_handler_calls = 0;
	raise(SIGUSR1);
	assert_int_equal(own_handler_calls, 1);
	signal(SIGUSR1, SIG_DFL);
}

/* Both bases watching a signal run their callbacks (1.4 ran only one). */
static void
test_two_bases_one_signal(void **state)
{
	struct event_base *other = event_base_new();
	struct sigcount a, b;

	assert_non_null(other);
	set_sig(&a, tu_base, SIGUSR2, 1);
	set_sig(&b, other, SIGUSR2, 1);
	raise(SIGUSR2);
	assert_int_equal(event_base_dispatch(other), 1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	event_base_free(other);
}

/* Freeing a base while it watches a signal unhooks it from the handler. */
static void
test_free_base_watching(void **state)
{
	struct event_base *other = event_base_new();
	struct sigcount a, b;

	assert_non_null(other);
	set_sig(&a, other, SIGUSR1, 0);
	set_sig(&b, tu_base, SIGUSR1, 1);
	event_base_free(other);
	raise(SIGUSR1);
	assert_int_equal(event_base_dispatch(tu_base), 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(a.calls, 0);
}

/* The pre-signal-event hooks: a program's own handler sets event_gotsig,
 * the loop calls event_sigcb, and -1 from it ends the loop with EINTR. */
static int sigcb_calls;

static int legacy_sigcb_result = -1;

static int
legacy_sigcb(void)
{
	sigcb_calls++;
	return legacy_sigcb_result;
}

static void
legacy_handler(int sig)
{
	event_gotsig = 1;
}

static void
test_legacy_sigcb(void **state)
{
	struct event t, never;
	int sig = SIGUSR2, fds[2];

	tu_socketpair(fds);
	signal(SIGUSR2, legacy_handler);
	event_sigcb = legacy_sigcb;
	sigcb_calls = 0;
	evtimer_set(&t, raise_cb, &sig);
	event_base_set(tu_base, &t);
	event_active(&t, EV_TIMEOUT, 1);
	event_set(&never, fds[1], EV_READ, sig_cb, NULL);
	event_base_set(tu_base, &never);
	event_add(&never, NULL);
	errno = 0;
	assert_int_equal(event_base_dispatch(tu_base), -1);
	assert_int_equal(errno, EINTR);
	assert_int_equal(sigcb_calls, 1);
	event_sigcb = NULL;
	signal(SIGUSR2, SIG_DFL);
	event_del(&never);
	close(fds[0]);
	close(fds[1]);
}

static void
stop_cb(int fd, short what, void *arg)
{
	event_base_loopbreak(tu_base);
}

/* An event_sigcb that returns 0 lets the loop go on. */
static void
test_legacy_sigcb_continues(void **state)
{
	struct event t, stop;
	int sig = SIGUSR2;
	struct timeval later = { 0, 20000 };

	signal(SIGUSR2, legacy_handler);
	event_sigcb = legacy_sigcb;
	legacy_sigcb_result = 0;
	sigcb_calls = 0;
	evtimer_set(&t, raise_cb, &sig);
	event_base_set(tu_base, &t);
	event_active(&t, EV_TIMEOUT, 1);
	evtimer_set(&stop, stop_cb, NULL);
	event_base_set(tu_base, &stop);
	evtimer_add(&stop, &later);
	assert_int_equal(event_base_dispatch(tu_base), 0);
	assert_int_equal(sigcb_calls, 1);
	event_sigcb = NULL;
	legacy_sigcb_result = -1;
	signal(SIGUSR2, SIG_DFL);
}

static void
test_bad_signal(void **state)
{
	struct event ev;
	struct sigcount s;

	signal_set(&ev, 0, sig_cb, &s);
	event_base_set(tu_base, &ev);
	assert_int_equal(signal_add(&ev, NULL), -1);
	signal_set(&ev, 100000, sig_cb, &s);
	event_base_set(tu_base, &ev);
	assert_int_equal(signal_add(&ev, NULL), -1);
	signal_set(&ev, SIGKILL, sig_cb, &s);
	event_base_set(tu_base, &ev);
	assert_int_equal(signal_add(&ev, NULL), -1);
}

/* The child of fork() gets its own I/O and signal events after reinit. */
static int
child_main(int fd, int peer)
{
	struct sigcount s, r;
	char ch;
	int ok;

	/* No cmocka assertions here: a failure must not unwind the child
	 * into the test runner. */
	if (event_reinit(tu_base) != 0)
		return 2;
	memset(&s, 0, sizeof(s));
	signal_set(&s.ev, SIGUSR1, sig_cb, &s);
	event_base_set(tu_base, &s.ev);
	s.del_after = 1;
	if (signal_add(&s.ev, NULL) != 0)
		return 7;
	memset(&r, 0, sizeof(r));
	event_set(&r.ev, fd, EV_READ, sig_cb, &r);
	event_base_set(tu_base, &r.ev);
	if (event_add(&r.ev, NULL) != 0)
		return 3;
	if (write(peer, "c", 1) != 1)
		return 4;
	raise(SIGUSR1);
	if (event_base_dispatch(tu_base) != 1)
		return 5;
	ok = s.calls == 1 && r.calls == 1 && r.what == EV_READ &&
	    read(fd, &ch, 1) == 1 && ch == 'c';
	return ok ? 0 : 6;
}

static void
test_fork_reinit(void **state)
{
	int fds[2], status;
	struct event pending;
	struct sigcount s;
	pid_t pid;

	tu_socketpair(fds);
	/* Registered before the fork: must be re-registered in the child. */
	memset(&s, 0, sizeof(s));
	event_set(&pending, fds[0], EV_READ | EV_PERSIST, sig_cb, &s);
	event_base_set(tu_base, &pending);
	event_add(&pending, NULL);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		event_del(&pending);
		/* exit(), not _exit(): stdio holds nothing of the parent's,
		 * and a coverage build writes the child's counts at exit. */
		exit(child_main(fds[1], fds[0]));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	event_del(&pending);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fds[0]);
	close(fds[1]);
}

static void
quiet_log(int severity, const char *msg)
{
}

/* Out of descriptors, event_reinit() in the child fails and says so. */
static void
test_fork_reinit_no_fds(void **state)
{
	struct rlimit lim, saved;
	int r;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Only 0, 1 and 2 may exist: every new descriptor fails. */
		getrlimit(RLIMIT_NOFILE, &saved);
		lim = saved;
		lim.rlim_cur = 3;
		setrlimit(RLIMIT_NOFILE, &lim);
		event_set_log_callback(quiet_log);
		r = event_reinit(tu_base);
		/* Room again for exit() (a coverage build writes files). */
		setrlimit(RLIMIT_NOFILE, &saved);
		exit(r == -1 ? 0 : 1);
	}
	tu_assert_child_ok(pid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) TU_TEST(f)
		T(test_raise_in_callback),
		T(test_two_events_one_signal),
		T(test_counted),
		T(test_not_persistent),
		T(test_del_stops_repeats),
		T(test_loopbreak_stops_repeats),
		T(test_arrivals_capped),
		T(test_old_handler_restored),
		T(test_two_bases_one_signal),
		T(test_free_base_watching),
		T(test_legacy_sigcb),
		T(test_legacy_sigcb_continues),
		T(test_bad_signal),
		T(test_fork_reinit),
		T(test_fork_reinit_no_fds),
#undef T
	};
	return TU_RUN_PER_BACKEND("signal", tests);
}
