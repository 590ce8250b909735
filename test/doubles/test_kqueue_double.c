/*
 * test_kqueue_double.c: the kqueue double keeps the promises of FreeBSD's
 * kqueue(2) that kqueue.c relies on, so a wrong double cannot hide a
 * wrong backend.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/event.h>

#include "doubles.h"

static const struct timespec zero = { 0, 0 };

static void
set(struct kevent *kev, int ident, short filter, unsigned flags)
{
	EV_SET(kev, (uintptr_t)ident, filter, flags, 0, 0, NULL);
}

/* A change that fails lands in the list; the others are applied. */
static void
test_per_change_errors(void **state)
{
	struct kevent ch[4], out[8];
	int kq = kqueue(), p[2], closed[2], n;

	assert_true(kq >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(closed), 0);
	close(closed[0]);
	close(closed[1]);
	set(&ch[0], closed[0], EVFILT_READ, EV_ADD);
	set(&ch[1], p[0], EVFILT_READ, EV_ADD);
	set(&ch[2], p[1], EVFILT_WRITE, EV_DELETE);
	set(&ch[3], p[0], 42, EV_ADD);
	n = kevent(kq, ch, 4, out, 8, &zero);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].flags, EV_ERROR);
	assert_int_equal(out[0].data, EBADF);
	assert_int_equal((int)out[0].ident, closed[0]);
	assert_int_equal(out[1].data, ENOENT);
	assert_int_equal(out[2].data, EINVAL);
	/* The good change took effect. */
	assert_int_equal(write(p[1], "ab", 2), 2);
	n = kevent(kq, NULL, 0, out, 8, &zero);
	assert_int_equal(n, 1);
	assert_int_equal((int)out[0].ident, p[0]);
	assert_int_equal(out[0].filter, EVFILT_READ);
	assert_int_equal(out[0].data, 2);
	close(p[0]);
	close(p[1]);
	close(kq);
}

/* Without room for the error, the call fails and stops there. */
static void
test_no_room_for_error(void **state)
{
	struct kevent ch[3], out[2];
	int kq = kqueue(), p[2];

	assert_int_equal(pipe(p), 0);
	set(&ch[0], p[0], EVFILT_READ, EV_ADD);
	set(&ch[1], p[0], EVFILT_WRITE, EV_DELETE);
	set(&ch[2], p[1], EVFILT_WRITE, EV_ADD);
	assert_int_equal(kevent(kq, ch, 3, NULL, 0, &zero), -1);
	assert_int_equal(errno, ENOENT);
	/* ch[0] was applied, ch[2] was not. */
	set(&ch[0], p[0], EVFILT_READ, EV_DELETE);
	set(&ch[1], p[1], EVFILT_WRITE, EV_DELETE);
	assert_int_equal(kevent(kq, ch, 2, out, 2, &zero), 1);
	assert_int_equal((int)out[0].ident, p[1]);
	assert_int_equal(out[0].data, ENOENT);
	close(p[0]);
	close(p[1]);
	close(kq);
}

/* Level-triggered, EV_EOF when the writer goes, EV_ONESHOT once. */
static void
test_level_eof_oneshot(void **state)
{
	struct kevent ch, out[2];
	int kq = kqueue(), p[2];
	char buf[4];

	assert_int_equal(pipe(p), 0);
	set(&ch, p[0], EVFILT_READ, EV_ADD);
	assert_int_equal(kevent(kq, &ch, 1, out, 2, &zero), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(kevent(kq, NULL, 0, out, 2, &zero), 1);
	assert_int_equal(kevent(kq, NULL, 0, out, 2, &zero), 1);
	assert_false(out[0].flags & EV_EOF);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 1);
	assert_int_equal(kevent(kq, NULL, 0, out, 2, &zero), 0);
	close(p[1]);
	assert_int_equal(kevent(kq, NULL, 0, out, 2, &zero), 1);
	assert_true(out[0].flags & EV_EOF);
	/* One-shot: delivered once, then gone. */
	set(&ch, p[0], EVFILT_READ, EV_ADD | EV_ONESHOT);
	assert_int_equal(kevent(kq, &ch, 1, out, 2, &zero), 1);
	assert_int_equal(kevent(kq, NULL, 0, out, 2, &zero), 0);
	set(&ch, p[0], EVFILT_READ, EV_DELETE);
	assert_int_equal(kevent(kq, &ch, 1, out, 2, &zero), 1);
	assert_int_equal(out[0].data, ENOENT);
	close(p[0]);
	close(kq);
}

/* close() removes the fd's knotes: a reused number is not watched. */
static void
test_close_removes(void **state)
{
	struct kevent ch, out[2];
	int kq = kqueue(), p[2], q[2];

	assert_int_equal(pipe(p), 0);
	set(&ch, p[0], EVFILT_READ, EV_ADD);
	assert_int_equal(kevent(kq, &ch, 1, out, 2, &zero), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(q[0], p[0]);
	assert_int_equal(write(q[1], "x", 1), 1);
	assert_int_equal(kevent(kq, NULL, 0, out, 2, &zero), 0);
	set(&ch, q[0], EVFILT_READ, EV_DELETE);
	assert_int_equal(kevent(kq, &ch, 1, out, 2, &zero), 1);
	assert_int_equal(out[0].data, ENOENT);
	close(q[0]);
	close(q[1]);
	close(kq);
}

static volatile sig_atomic_t handled;

static void
count_handler(int sig)
{
	handled++;
}

/* Every kqueue counts every arrival; the program's handler still runs. */
static void
test_signal_counts(void **state)
{
	struct kevent ch, out[2];
	int kq1 = kqueue(), kq2 = kqueue();

	handled = 0;
	signal(SIGUSR1, count_handler);
	set(&ch, SIGUSR1, EVFILT_SIGNAL, EV_ADD);
	assert_int_equal(kevent(kq1, &ch, 1, NULL, 0, &zero), 0);
	assert_int_equal(kevent(kq2, &ch, 1, NULL, 0, &zero), 0);
	raise(SIGUSR1);
	raise(SIGUSR1);
	assert_int_equal(handled, 2);
	assert_int_equal(kevent(kq1, NULL, 0, out, 2, &zero), 1);
	assert_int_equal((int)out[0].ident, SIGUSR1);
	assert_int_equal(out[0].data, 2);
	assert_int_equal(kevent(kq1, NULL, 0, out, 2, &zero), 0);
	assert_int_equal(kevent(kq2, NULL, 0, out, 2, &zero), 1);
	assert_int_equal(out[0].data, 2);
	close(kq1);
	close(kq2);
	/* The program's handler is back in place. */
	assert_ptr_equal(signal(SIGUSR1, SIG_DFL), count_handler);
}

/* Watching a signal does not stop its default action. */
static void
test_signal_default_action_kills(void **state)
{
	struct kevent ch;
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int kq = kqueue();

		signal(SIGUSR2, SIG_DFL);
		set(&ch, SIGUSR2, EVFILT_SIGNAL, EV_ADD);
		if (kevent(kq, &ch, 1, NULL, 0, &zero) != 0)
			_exit(2);
		raise(SIGUSR2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGUSR2);
}

static void
alarm_handler(int sig)
{
}

/* A handler running during the wait: EINTR, the changes applied. */
static void
test_eintr(void **state)
{
	struct kevent ch, out[2];
	struct timespec ts = { 5, 0 };
	struct sigaction sa;
	timer_t timer;
	struct sigevent sev;
	struct itimerspec its;
	int kq = kqueue(), p[2];

	assert_int_equal(pipe(p), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	sigaction(SIGUSR2, &sa, NULL);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = 50 * 1000 * 1000;
	assert_int_equal(timer_settime(timer, 0, &its, NULL), 0);
	set(&ch, p[0], EVFILT_READ, EV_ADD);
	assert_int_equal(kevent(kq, &ch, 1, out, 2, &ts), -1);
	assert_int_equal(errno, EINTR);
	timer_delete(timer);
	signal(SIGUSR2, SIG_DFL);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(kevent(kq, NULL, 0, out, 2, &zero), 1);
	close(p[0]);
	close(p[1]);
	close(kq);
}

/* Call-level errors, a child after fork, and the injected faults. */
static void
test_call_errors(void **state)
{
	struct kevent out[1];
	struct timespec bad = { 0, 1000000000 };
	int kq = kqueue(), p[2], status;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(kevent(p[0], NULL, 0, out, 1, &zero), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(kevent(kq, NULL, -1, out, 1, &zero), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(kevent(kq, NULL, 0, out, 1, &bad), -1);
	assert_int_equal(errno, EINVAL);
	dbl_fail(DBL_KEVENT, ENOMEM, 1);
	assert_int_equal(kevent(kq, NULL, 0, out, 1, &zero), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(kevent(kq, NULL, 0, out, 1, &zero), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(
		    kevent(kq, NULL, 0, out, 1, &zero) == -1 && errno == EBADF ?
			0 :
			1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p[0]);
	close(p[1]);
	close(kq);
}

/* EV_RECEIPT answers every change; the broken mode fails the call. */
static void
test_receipt_and_broken(void **state)
{
	struct kevent ch[2], out[2];
	int kq = kqueue(), p[2];

	assert_int_equal(pipe(p), 0);
	set(&ch[0], p[0], EVFILT_READ, EV_ADD | EV_RECEIPT);
	assert_int_equal(kevent(kq, ch, 1, out, 2, &zero), 1);
	assert_int_equal(out[0].flags, EV_ERROR);
	assert_int_equal(out[0].data, 0);
	dbl_kqueue_set_broken(1);
	set(&ch[0], -1, EVFILT_READ, EV_ADD);
	assert_int_equal(kevent(kq, ch, 1, out, 2, &zero), -1);
	assert_int_equal(errno, EBADF);
	dbl_kqueue_set_broken(0);
	assert_int_equal(kevent(kq, ch, 1, out, 2, &zero), 1);
	close(p[0]);
	close(p[1]);
	close(kq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_change_errors),
		cmocka_unit_test(test_no_room_for_error),
		cmocka_unit_test(test_level_eof_oneshot),
		cmocka_unit_test(test_close_removes),
		cmocka_unit_test(test_signal_counts),
		cmocka_unit_test(test_signal_default_action_kills),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_call_errors),
		cmocka_unit_test(test_receipt_and_broken),
	};

	return cmocka_run_group_tests_name("kqueue double", tests, NULL, NULL);
}
