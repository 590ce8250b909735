/*
 * test_devpoll_double.c: the /dev/poll double keeps the promises of
 * poll(7D) that devpoll.c relies on.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/devpoll.h>

#include "doubles.h"

static void
put(int dp, int fd, short events)
{
	struct pollfd pfd = { fd, events, 0 };

	assert_int_equal(write(dp, &pfd, sizeof(pfd)), sizeof(pfd));
}

static int
dp_poll(int dp, struct pollfd *out, int n, int timeout)
{
	struct dvpoll dvp = { out, n, timeout };

	return ioctl(dp, DP_POLL, &dvp);
}

static short
polled(int dp, int fd)
{
	struct pollfd pfd = { fd, 0, 0 };

	if (ioctl(dp, DP_ISPOLLED, &pfd) != 1)
		return 0;
	return pfd.revents;
}

/* Entries for one fd OR together; POLLREMOVE takes the fd out. */
static void
test_or_and_remove(void **state)
{
	int dp = open("/dev/poll", O_RDWR), p[2];

	assert_true(dp >= 0);
	assert_int_equal(pipe(p), 0);
	put(dp, p[0], POLLIN);
	put(dp, p[0], POLLOUT);
	assert_int_equal(polled(dp, p[0]), POLLIN | POLLOUT);
	put(dp, p[0], POLLREMOVE);
	assert_int_equal(polled(dp, p[0]), 0);
	put(dp, p[0], POLLIN);
	assert_int_equal(polled(dp, p[0]), POLLIN);
	close(p[0]);
	close(p[1]);
	close(dp);
}

/* DP_POLL returns ready fds, level-triggered, within dp_nfds. */
static void
test_poll_ready(void **state)
{
	struct pollfd out[4];
	int dp = open("/dev/poll", O_RDWR), a[2], b[2];
	char ch;

	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	put(dp, a[0], POLLIN);
	put(dp, b[0], POLLIN);
	assert_int_equal(dp_poll(dp, out, 4, 0), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_int_equal(dp_poll(dp, out, 4, -1), 2);
	assert_int_equal(out[0].events, POLLIN);
	assert_true(out[0].revents & POLLIN);
	assert_int_equal(dp_poll(dp, out, 1, 0), 1);
	assert_int_equal(read(a[0], &ch, 1), 1);
	assert_int_equal(dp_poll(dp, out, 4, 0), 1);
	assert_int_equal(out[0].fd, b[0]);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(dp);
}

/* The set is keyed by number: a closed fd shows POLLNVAL. */
static void
test_closed_fd_nval(void **state)
{
	struct pollfd out[2];
	int dp = open("/dev/poll", O_RDWR), p[2];

	assert_int_equal(pipe(p), 0);
	put(dp, p[0], POLLIN);
	close(p[0]);
	close(p[1]);
	assert_int_equal(dp_poll(dp, out, 2, 0), 1);
	assert_int_equal(out[0].revents, POLLNVAL);
	close(dp);
}

/* Bad lengths and requests, dp_nfds at the fd limit, a child: errors. */
static void
test_errors(void **state)
{
	struct pollfd pfd = { 0, POLLIN, 0 }, out[1];
	struct rlimit rl;
	int dp = open("/dev/poll", O_RDWR), status, p[2];
	pid_t pid;

	assert_int_equal(write(dp, &pfd, sizeof(pfd) - 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(dp, FIONREAD, &status), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	{
		struct dvpoll dvp = { out, (int)rl.rlim_cur, 0 };

		assert_int_equal(ioctl(dp, DP_POLL, &dvp), -1);
		assert_int_equal(errno, EINVAL);
	}
	/* Writes to other fds are untouched. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(dp_poll(dp, out, 1, 0) == -1 && errno == EACCES &&
			    write(dp, &pfd, sizeof(pfd)) == -1 &&
			    errno == EACCES ?
			0 :
			1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dbl_fail(DBL_DP_WRITE, ENOMEM, 1);
	assert_int_equal(write(dp, &pfd, sizeof(pfd)), -1);
	assert_int_equal(errno, ENOMEM);
	close(p[0]);
	close(p[1]);
	close(dp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_or_and_remove),
		cmocka_unit_test(test_poll_ready),
		cmocka_unit_test(test_closed_fd_nval),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("devpoll double", tests, NULL, NULL);
}
