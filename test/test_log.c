/*
 * test_log.c: the library's messages (log.c): the format written to
 * stderr without a log callback, what the callback receives, errno kept
 * across a message, bounded message length, and event_err()/event_errx()
 * ending the program with the status asked for.
 *
 * Links the static copy of the library: _event_debugx() (what
 * event_debug() calls in a -DUSE_DEBUG build) is not exported.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "log.h"
#include "test_util.h"

/* What a test's log callback saw last. */
static int seen_severity = -1;
static char seen_msg[2048];
static int seen_calls;

static void
record_cb(int severity, const char *msg)
{
	seen_severity = severity;
	seen_calls++;
	snprintf(seen_msg, sizeof(seen_msg), "%s", msg);
}

static int
log_setup(void **state)
{
	seen_severity = -1;
	seen_msg[0] = '\0';
	seen_calls = 0;
	event_set_log_callback(NULL);
	return 0;
}

static int
log_teardown(void **state)
{
	event_set_log_callback(NULL);
	return 0;
}

#define LOG_TEST(f) cmocka_unit_test_setup_teardown(f, log_setup, log_teardown)

/* stderr goes to a temporary file between capture_start and capture_end. */
static int saved_stderr = -1;
static FILE *capture;

static void
capture_start(void)
{
	fflush(stderr);
	capture = tmpfile();
	assert_non_null(capture);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
}

/* Restore stderr; return what was written to it (a static buffer). */
static const char *
capture_end(void)
{
	static char text[4096];
	size_t n;

	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	rewind(capture);
	n = fread(text, 1, sizeof(text) - 1, capture);
	text[n] = '\0';
	fclose(capture);
	return text;
}

/* Without a callback each message is one stderr line tagged by severity. */
static void
test_stderr_format(void **state)
{
	char want[512];
	const char *got;

	capture_start();
	event_warnx("plain %d", 7);
	event_msgx("note %s", "here");
	_event_debugx("debug %c", 'x');
	errno = ENOENT;
	event_warn("open %s", "/nonexistent");
	got = capture_end();

	snprintf(want, sizeof(want),
	    "[warn] plain 7\n[msg] note here\n"
	    "[debug] debug x\n[warn] open /nonexistent: %s\n",
	    strerror(ENOENT));
	assert_string_equal(got, want);
}

/* A callback gets every message, without newline; NULL restores stderr. */
static void
test_callback(void **state)
{
	const char *got;

	event_set_log_callback(record_cb);
	capture_start();
	event_warnx("to the callback %d", 1);
	got = capture_end();
	assert_string_equal(got, "");
	assert_int_equal(seen_severity, _EVENT_LOG_WARN);
	assert_string_equal(seen_msg, "to the callback 1");

	event_msgx("m");
	assert_int_equal(seen_severity, _EVENT_LOG_MSG);
	_event_debugx("d");
	assert_int_equal(seen_severity, _EVENT_LOG_DEBUG);
	errno = EPIPE;
	event_warn("w");
	assert_int_equal(seen_severity, _EVENT_LOG_WARN);
	assert_string_equal(seen_msg, "w: Broken pipe");
	assert_int_equal(seen_calls, 4);

	event_set_log_callback(NULL);
	capture_start();
	event_warnx("back");
	got = capture_end();
	assert_string_equal(got, "[warn] back\n");
	assert_int_equal(seen_calls, 4);
}

/* A caller may log between a failing call and its own check of errno. */
static void
test_errno_kept(void **state)
{
	event_set_log_callback(record_cb);
	errno = EAGAIN;
	event_warn("a");
	assert_int_equal(errno, EAGAIN);
	errno = EINTR;
	event_warnx("b");
	assert_int_equal(errno, EINTR);
	errno = ENOMEM;
	event_msgx("c");
	assert_int_equal(errno, ENOMEM);
	errno = EBADF;
	_event_debugx("d");
	assert_int_equal(errno, EBADF);
}

/* 1.4 allowed a NULL format: the message is then just the error text. */
static void
test_null_format(void **state)
{
	/* Through a pointer: the format checker would reject NULL. */
	void (*warn)(const char *, ...) = event_warn;

	event_set_log_callback(record_cb);
	errno = ENOENT;
	warn(NULL);
	assert_int_equal(seen_calls, 1);
	assert_memory_equal(seen_msg, ": ", 2);
	assert_string_equal(seen_msg + 2, strerror(ENOENT));
}

/* Messages are cut to the library's 1 KiB buffer, never overrun it. */
static void
test_long_message(void **state)
{
	static char big[3000];
	size_t len;

	memset(big, 'a', sizeof(big) - 1);
	event_set_log_callback(record_cb);
	event_warnx("%s", big);
	len = strlen(seen_msg);
	assert_int_equal(len, 1023);
	assert_int_equal(strspn(seen_msg, "a"), 1023);

	/* No room left for the error text: the message stays as it was. */
	errno = ENOENT;
	event_warn("%s", big);
	assert_int_equal(strlen(seen_msg), 1023);
	assert_null(strchr(seen_msg, ':'));

	/* Some room: as much of ": error" as fits. */
	big[1015] = '\0';
	errno = ENOENT;
	event_warn("%s", big);
	assert_int_equal(strlen(seen_msg), 1023);
	assert_memory_equal(seen_msg + 1015, ": ", 2);
	assert_memory_equal(seen_msg + 1017, strerror(ENOENT), 6);
}

/*
 * Run f in a child whose stderr is a pipe; return its exit status and
 * put what it wrote in out.
 */
static int
run_child(void (*f)(void), char *out, size_t outlen)
{
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		f();
		_exit(99); /* f returned: the test fails on status 99 */
	}
	close(p[1]);
	while (got < outlen - 1 &&
	    (n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
call_err(void)
{
	errno = EACCES;
	event_err(3, "fatal %s", "x");
}

static void
call_errx(void)
{
	event_errx(4, "fatal %d", 2);
}

/* event_err()/event_errx() log at _EVENT_LOG_ERR and exit with eval. */
static void
test_err_exits(void **state)
{
	char out[512], want[512];

	/* The message comes first; a coverage build's runtime may complain
	 * about stale data files on stderr after it, at exit. */
	assert_int_equal(run_child(call_err, out, sizeof(out)), 3);
	snprintf(want, sizeof(want), "[err] fatal x: %s\n", strerror(EACCES));
	assert_true(strncmp(out, want, strlen(want)) == 0);

	assert_int_equal(run_child(call_errx, out, sizeof(out)), 4);
	snprintf(want, sizeof(want), "[err] fatal 2\n");
	assert_true(strncmp(out, want, strlen(want)) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LOG_TEST(test_stderr_format),
		LOG_TEST(test_callback),
		LOG_TEST(test_errno_kept),
		LOG_TEST(test_null_format),
		LOG_TEST(test_long_message),
		LOG_TEST(test_err_exits),
	};

	return TU_RUN_ONCE("log", tests);
}
