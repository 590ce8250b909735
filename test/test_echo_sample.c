/*
 * test_echo_sample.c: the echo server and line client samples, end to end
 * over 127.0.0.1.  Each test starts the built sample/echo-server on port 0
 * and reads the port it prints, so no port is ever guessed.  The backend
 * the runner forces through EVENT_NO* is inherited by the samples.
 *
 * The samples are found through $ECHO_SERVER / $LINE_CLIENT, else in
 * sample/ under the current directory (make check runs from the build
 * directory), else next to this program's build directory.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

static pid_t server_pid;
static unsigned short server_port;

/* Read one line from fd into line (blocking, with a timeout). */
static void
read_line(int fd, char *line, size_t size)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t n = 0;

	while (n + 1 < size) {
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		assert_int_equal(read(fd, line + n, 1), 1);
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
}

static int
start_server(void **state)
{
	const char *path = tu_sample_path("ECHO_SERVER", "echo-server");
	char line[256], *colon;
	int out[2];

	assert_non_null(path);
	assert_int_equal(pipe(out), 0);
	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execl(path, "echo-server", "0", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	read_line(out[0], line, sizeof(line));
	close(out[0]);
	assert_non_null(strstr(line, "listening on 127.0.0.1:"));
	colon = strrchr(line, ':');
	server_port = (unsigned short)atoi(colon + 1);
	assert_true(server_port > 0);
	return 0;
}

static int
stop_server(void **state)
{
	int status;

	/* It must stop cleanly on SIGTERM, freeing what it holds. */
	kill(server_pid, SIGTERM);
	assert_int_equal(waitpid(server_pid, &status, 0), server_pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return 0;
}

static int
connect_client(void)
{
	struct timeval tv = { 10, 0 };
	int fd = tu_connect_loopback(server_port);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
send_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Read exactly strlen(want) bytes and compare them. */
static void
expect_reply(int fd, const char *want)
{
	size_t n = strlen(want), got = 0;
	char buf[4096];
	ssize_t r;

	assert_true(n < sizeof(buf));
	while (got < n) {
		r = read(fd, buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_memory_equal(buf, want, n);
}

/* After the replies, the server closes: read returns 0 (or a reset). */
static void
expect_closed(int fd)
{
	char c;
	ssize_t r = read(fd, &c, 1);

	assert_true(r == 0 || (r == -1 && errno == ECONNRESET));
}

static void
test_echo_lines(void **state)
{
	int fd = connect_client();

	send_all(fd, "hello\n", 6);
	expect_reply(fd, "You said hello\n");
	/* CRLF line ends, and an empty line. */
	send_all(fd, "world\r\n\r\n", 9);
	expect_reply(fd, "You said world\nYou said \n");
	close(fd);
}

static void
test_echo_many_clients_split_lines(void **state)
{
	enum { N = 20 };
	int fds[N], i;
	char want[64];

	for (i = 0; i < N; i++)
		fds[i] = connect_client();
	/* Every line arrives in pieces, interleaved with other clients. */
	for (i = 0; i < N; i++)
		send_all(fds[i], "cli", 3);
	for (i = N - 1; i >= 0; i--) {
		snprintf(want, sizeof(want), "ent %d\r", i);
		send_all(fds[i], want, strlen(want));
	}
	for (i = 0; i < N; i++)
		send_all(fds[i], "\n", 1);
	for (i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "You said client %d\n", i);
		expect_reply(fds[i], want);
		close(fds[i]);
	}
}

static void
test_echo_half_close(void **state)
{
	int fd = connect_client();

	/* Everything is answered before the server closes. */
	send_all(fd, "a\nb\nc", 5);
	shutdown(fd, SHUT_WR);
	expect_reply(fd, "You said a\nYou said b\n");
	expect_closed(fd);
	close(fd);
}

static void
test_echo_long_line_dropped(void **state)
{
	int fd = connect_client(), other;
	char *big = malloc(200000);
	ssize_t w;
	size_t sent = 0;

	assert_non_null(big);
	memset(big, 'x', 200000);
	/* More than the server's line limit, with no end of line. */
	while (sent < 200000) {
		w = write(fd, big + sent, 200000 - sent);
		if (w <= 0)
			break; /* the server closed on us */
		sent += (size_t)w;
	}
	expect_closed(fd);
	close(fd);
	free(big);

	/* The server itself is fine. */
	other = connect_client();
	send_all(other, "still here\n", 11);
	expect_reply(other, "You said still here\n");
	close(other);
}

static void
test_line_client(void **state)
{
	const char *path = tu_sample_path("LINE_CLIENT", "line-client");
	char port[16], out[256];
	int in[2], res[2];
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	assert_non_null(path);
	snprintf(port, sizeof(port), "%u", server_port);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(res), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(res[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(res[0]);
		close(res[1]);
		execl(path, "line-client", "127.0.0.1", port, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	send_all(in[1], "one\ntwo\r\n", 9);
	close(in[1]);
	while (got < sizeof(out) - 1 &&
	    (r = read(res[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(res[0]);
	tu_assert_child_ok(pid);
	assert_string_equal(out, "You said one\nYou said two\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, start_server, stop_server)
		T(test_echo_lines),
		T(test_echo_many_clients_split_lines),
		T(test_echo_half_close),
		T(test_echo_long_line_dropped),
		T(test_line_client),
#undef T
	};

	return TU_RUN_PER_BACKEND("echo_sample", tests);
}
