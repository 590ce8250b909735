/*
 * test_http_curl.c: the server driven by a real client, curl (forked and
 * run while the loop serves it): GET, POST, chunked replies, chunked
 * uploads, keep-alive across several URLs, HEAD, and 100-continue; and
 * the two HTTP samples, started as programs and asked with curl.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

static char url[128];

static void
hello_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	th_reply_text(req, "Thanks for the request!\n");
}

static void
stream_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evhttp_add_header(req->output_headers, "Content-Type", "text/plain");
	th_stream_reply(th_base, req, 4, 10, "part%d;");
}

static int
setup(void **state)
{
	th_setup(state);
	evhttp_set_gencb(th_http, hello_cb, NULL);
	evhttp_set_cb(th_http, "/stream", stream_cb, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)th_port);
	return 0;
}

/* Run curl with args (NULL-terminated) and return its stdout. */
static struct evbuffer *
curl(const char *first, ...)
{
	char *argv[32];
	struct evbuffer *out = evbuffer_new();
	va_list ap;
	int argc = 0;
	const char *a;

	argv[argc++] = "curl";
	argv[argc++] = "-s";
	argv[argc++] = "-S";
	argv[argc++] = "--http1.1";
	argv[argc++] = "--max-time";
	argv[argc++] = "10";
	va_start(ap, first);
	for (a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(th_run_program(th_base, argv, out, 15000), 0);
	evbuffer_add(out, "", 1); /* a C string from here on */
	return out;
}

static const char *
text(struct evbuffer *b)
{
	return (const char *)EVBUFFER_DATA(b);
}

static void
test_curl_get(void **state)
{
	char u[160];
	struct evbuffer *out;

	snprintf(u, sizeof(u), "%s/greeting?x=1", url);
	out = curl("-D", "-", u, NULL);
	assert_non_null(strstr(text(out), "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(text(out), "Content-Length: 24\r\n"));
	assert_non_null(strstr(text(out),
	    "Content-Type: text/html; charset=ISO-8859-1\r\n"));
	assert_non_null(strstr(text(out), "Date: "));
	assert_non_null(strstr(text(out), "\r\n\r\nThanks for the request!\n"));
	assert_int_equal(th_seen.nrequests, 1);
	evbuffer_free(out);

	/* HEAD: the headers of the GET, no body. */
	out = curl("-I", u, NULL);
	assert_non_null(strstr(text(out), "Content-Length: 24\r\n"));
	assert_null(strstr(text(out), "Thanks"));
	evbuffer_free(out);
}

static void
test_curl_post(void **state)
{
	char u[160];
	struct evbuffer *out;

	snprintf(u, sizeof(u), "%s/echo", url);
	out = curl("--data-binary", "field=value&other=1", u, NULL);
	assert_string_equal(text(out), "field=value&other=1");
	assert_string_equal(th_seen.body, "field=value&other=1");
	evbuffer_free(out);
}

static void
test_curl_chunked(void **state)
{
	char u[160];
	struct evbuffer *out;

	/* A chunked reply, decoded by curl. */
	snprintf(u, sizeof(u), "%s/stream", url);
	out = curl("-D", "-", u, NULL);
	assert_non_null(strstr(text(out), "Transfer-Encoding: chunked\r\n"));
	assert_null(strstr(text(out), "Content-Length"));
	assert_non_null(strstr(text(out), "\r\n\r\npart1;part2;part3;part4;"));
	evbuffer_free(out);

	/* An HTTP/1.0 client gets it streamed until the close. */
	out = curl("--http1.0", "-D", "-", u, NULL);
	assert_non_null(strstr(text(out), "HTTP/1.0 200 OK\r\n"));
	assert_null(strstr(text(out), "Transfer-Encoding"));
	assert_non_null(strstr(text(out), "\r\n\r\npart1;part2;part3;part4;"));
	evbuffer_free(out);

	/* A chunked upload. */
	snprintf(u, sizeof(u), "%s/echo", url);
	out = curl("-H", "Transfer-Encoding: chunked", "--data-binary",
	    "uploaded in chunks", u, NULL);
	assert_string_equal(text(out), "uploaded in chunks");
	assert_string_equal(th_seen.te, "chunked");
	assert_string_equal(th_seen.body, "uploaded in chunks");
	evbuffer_free(out);
}

static void
test_curl_keepalive(void **state)
{
	char u1[160], u2[160], u3[160];
	struct evbuffer *out;

	snprintf(u1, sizeof(u1), "%s/a", url);
	snprintf(u2, sizeof(u2), "%s/b", url);
	snprintf(u3, sizeof(u3), "%s/echo", url);
	out = curl("-w", "[%{num_connects}]", u1, u2, "--data-binary", "x", u3,
	    NULL);
	/* One connection made for the first URL, reused by the others. */
	assert_string_equal(text(out),
	    "Thanks for the request!\n[1]"
	    "Thanks for the request!\n[0]x[0]");
	assert_int_equal(th_seen.nrequests, 3);
	assert_int_equal(th_seen.ports[0], th_seen.ports[1]);
	assert_int_equal(th_seen.ports[1], th_seen.ports[2]);
	evbuffer_free(out);
}

static void
test_curl_expect_continue(void **state)
{
	char u[160];
	struct evbuffer *out;
	int64_t t0 = tu_now_usec();

	snprintf(u, sizeof(u), "%s/echo", url);
	/* curl waits a second for "100 Continue" unless it comes. */
	out = curl("-H", "Expect: 100-continue", "--data-binary", "body", u,
	    NULL);
	assert_string_equal(text(out), "body");
	assert_true(tu_now_usec() - t0 < 900000);
	evbuffer_free(out);
}

/* ---- the samples ------------------------------------------------------ */

/* Start argv; return once something accepts on port p. */
static pid_t
start_sample(char *const argv[], unsigned short p)
{
	struct sockaddr_in sin;
	int64_t deadline = tu_now_usec() + 5000000;
	pid_t pid = fork();
	int fd, ok = 0;

	assert_true(pid != -1);
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(p);
	while (!ok && tu_now_usec() < deadline) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (!ok)
			usleep(20000);
	}
	assert_true(ok);
	return pid;
}

static void
stop_sample(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void
test_sample_hello(void **state)
{
	const char *path = tu_sample_path(NULL, "http-hello");
	unsigned short p = th_free_port();
	char portstr[16], u[64];
	struct evbuffer *out;
	pid_t pid;

	assert_non_null(path);
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)p);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/any/path", (unsigned)p);
	{
		char *argv[] = { (char *)path, portstr, NULL };
		pid = start_sample(argv, p);
	}
	out = curl(u, NULL);
	assert_string_equal(text(out), "Thanks for the request!\n");
	evbuffer_free(out);
	stop_sample(pid);
}

/* The reload timer is the sample's, not the backend's: check it once. */
static int reload_checked;

static void
test_sample_file_reload(void **state)
{
	const char *path = tu_sample_path(NULL, "http-file-reload");
	char file[] = "/tmp/test_http_reloadXXXXXX";
	struct timespec times[2];
	unsigned short p = th_free_port();
	char portstr[16], u[64];
	struct evbuffer *out;
	int fd, i, changed = 0;
	pid_t pid;

	tu_deadline(15, "the sample rereads its file on a 5-second timer");
	assert_non_null(path);
	fd = mkstemp(file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "first version\n", 14), 14);
	close(fd);
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)p);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/", (unsigned)p);
	{
		char *argv[] = { (char *)path, file, portstr, NULL };
		pid = start_sample(argv, p);
	}
	out = curl(u, NULL);
	assert_string_equal(text(out), "first version\n");
	evbuffer_free(out);
	if (!reload_checked) {
		reload_checked = 1;
		fd = open(file, O_WRONLY | O_TRUNC);
		assert_int_equal(write(fd, "second\n", 7), 7);
		close(fd);
		/* Another mtime for sure, even within one clock tick. */
		times[0].tv_sec = times[1].tv_sec = 1000000000;
		times[0].tv_nsec = times[1].tv_nsec = 0;
		assert_int_equal(utimensat(AT_FDCWD, file, times, 0), 0);
		for (i = 0; i < 70 && !changed; i++) {
			th_run_for(th_base, 100);
			out = curl(u, NULL);
			changed = strcmp(text(out), "second\n") == 0;
			evbuffer_free(out);
		}
		assert_true(changed);
	}
	stop_sample(pid);
	unlink(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_curl_get, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_curl_post, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_curl_chunked, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_curl_keepalive, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_curl_expect_continue,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_sample_hello, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_sample_file_reload, setup,
		    th_teardown),
	};

	return TU_RUN_PER_BACKEND("http_curl", tests);
}
