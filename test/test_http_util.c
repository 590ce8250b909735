/*
 * test_http_util.c: helpers shared by the HTTP tests (see the header).
 */
#define _GNU_SOURCE /* memmem */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

struct evhttp *
th_server(struct event_base *base, unsigned short *port)
{
	struct evhttp *http = evhttp_new(base);
	int fd;

	assert_non_null(http);
	fd = tu_listen_loopback(port);
	assert_int_equal(evhttp_accept_socket(http, fd), 0);
	return http;
}

static void
tick_cb(int fd, short what, void *arg)
{
}

int
th_run_until(struct event_base *base, const int *flag, int ms)
{
	int64_t deadline = tu_now_usec() + (int64_t)ms * 1000;
	struct timeval tv = { 0, 20000 };
	struct event tick;

	evtimer_set(&tick, tick_cb, NULL);
	event_base_set(base, &tick);
	while ((flag == NULL || !*flag) && tu_now_usec() < deadline) {
		evtimer_add(&tick, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_del(&tick);
	return flag != NULL && *flag;
}

void
th_run_for(struct event_base *base, int ms)
{
	(void)th_run_until(base, NULL, ms);
}

static void
raw_update(struct th_raw *rc)
{
	if (rc->done || rc->outoff == rc->outlen || rc->trickle_ms > 0)
		event_del(&rc->ev_write);
	else
		event_add(&rc->ev_write, NULL);
}

static void
raw_finish(struct th_raw *rc, int err)
{
	rc->done = 1;
	rc->err = err;
	rc->t_done = tu_now_usec();
	event_del(&rc->ev_read);
	event_del(&rc->ev_write);
	event_del(&rc->ev_trickle);
}

static void
raw_sent_all(struct th_raw *rc)
{
	if (rc->outoff == rc->outlen && rc->shut_after)
		shutdown(rc->fd, SHUT_WR);
}

static void
raw_write_cb(int fd, short what, void *arg)
{
	struct th_raw *rc = arg;
	ssize_t n;

	n = send(fd, rc->out + rc->outoff, rc->outlen - rc->outoff,
	    MSG_NOSIGNAL);
	if (n > 0)
		rc->outoff += (size_t)n;
	else if (n == -1 && errno != EAGAIN && errno != EINTR)
		rc->outoff = rc->outlen; /* the server stopped reading */
	raw_sent_all(rc);
	raw_update(rc);
}

static void
raw_trickle_cb(int fd, short what, void *arg)
{
	struct th_raw *rc = arg;
	struct timeval tv = { 0, rc->trickle_ms * 1000 };

	if (rc->done || rc->outoff == rc->outlen)
		return;
	if (send(rc->fd, rc->out + rc->outoff, 1, MSG_NOSIGNAL) == 1)
		rc->outoff++;
	raw_sent_all(rc);
	evtimer_add(&rc->ev_trickle, &tv);
}

static void
raw_read_cb(int fd, short what, void *arg)
{
	struct th_raw *rc = arg;
	int n = evbuffer_read(rc->in, fd, 65536);

	if (n == 0)
		raw_finish(rc, 0);
	else if (n == -1 && errno != EAGAIN && errno != EINTR)
		raw_finish(rc, errno);
}

void
th_raw_start(struct th_raw *rc, struct event_base *base, unsigned short port,
    const void *data, size_t len, int shut_after)
{
	struct sockaddr_in sin;
	int trickle = rc->trickle_ms;

	memset(rc, 0, sizeof(*rc));
	rc->trickle_ms = trickle;
	rc->base = base;
	rc->in = evbuffer_new();
	assert_non_null(rc->in);
	rc->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(rc->fd >= 0);
	assert_int_equal(evutil_make_socket_nonblocking(rc->fd), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	assert_true(
	    connect(rc->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS);
	rc->shut_after = shut_after;
	rc->t_start = tu_now_usec();
	event_set(&rc->ev_read, rc->fd, EV_READ | EV_PERSIST, raw_read_cb, rc);
	event_set(&rc->ev_write, rc->fd, EV_WRITE | EV_PERSIST, raw_write_cb,
	    rc);
	evtimer_set(&rc->ev_trickle, raw_trickle_cb, rc);
	event_base_set(base, &rc->ev_read);
	event_base_set(base, &rc->ev_write);
	event_base_set(base, &rc->ev_trickle);
	event_add(&rc->ev_read, NULL);
	th_raw_send(rc, data, len);
	if (rc->trickle_ms > 0) {
		struct timeval tv = { 0, rc->trickle_ms * 1000 };
		evtimer_add(&rc->ev_trickle, &tv);
	}
}

void
th_raw_send(struct th_raw *rc, const void *data, size_t len)
{
	char *n = realloc(rc->out, rc->outlen + len + 1);

	assert_non_null(n);
	memcpy(n + rc->outlen, data, len);
	rc->out = n;
	rc->outlen += len;
	raw_update(rc);
}

void
th_raw_free(struct th_raw *rc)
{
	event_del(&rc->ev_read);
	event_del(&rc->ev_write);
	event_del(&rc->ev_trickle);
	close(rc->fd);
	evbuffer_free(rc->in);
	free(rc->out);
	rc->out = NULL;
	rc->in = NULL;
}

int
th_raw_exchange(struct th_raw *rc, struct event_base *base, unsigned short port,
    const char *data, size_t len, int ms)
{
	rc->trickle_ms = 0;
	th_raw_start(rc, base, port, data, len, 1);
	return th_run_until(base, &rc->done, ms);
}

/* Whether the response at p (len bytes left) starts a status line. */
static int
is_status_line(const char *p, size_t len)
{
	return len >= 12 && memcmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ';
}

int
th_count_responses(struct evbuffer *in)
{
	const char *d = (const char *)EVBUFFER_DATA(in);
	size_t len = EVBUFFER_LENGTH(in), i;
	int n = 0;

	/* Bodies in these tests never contain a status line. */
	for (i = 0; i + 12 <= len; i++) {
		if (is_status_line(d + i, len - i) &&
		    memcmp(d + i + 9, "100", 3) != 0)
			n++;
	}
	return n;
}

int
th_status(struct evbuffer *in)
{
	const char *d = (const char *)EVBUFFER_DATA(in);
	size_t len = EVBUFFER_LENGTH(in);

	/* Skip interim 100 responses. */
	while (is_status_line(d, len) && memcmp(d + 9, "100", 3) == 0) {
		const char *e = memmem(d, len, "\r\n\r\n", 4);
		if (e == NULL)
			return -1;
		len -= (size_t)(e + 4 - d);
		d = e + 4;
	}
	if (!is_status_line(d, len))
		return -1;
	return atoi(d + 9);
}

int
th_has_header(struct evbuffer *in, const char *line)
{
	const char *d = (const char *)EVBUFFER_DATA(in);
	size_t len = EVBUFFER_LENGTH(in), llen = strlen(line), i;
	const char *end = memmem(d, len, "\r\n\r\n", 4);

	if (end == NULL)
		return 0;
	for (i = 0; d + i < end; i++) {
		if (i >= 2 && d[i - 2] == '\r' && d[i - 1] == '\n' &&
		    strncasecmp(d + i, line, llen) == 0 && d[i + llen] == '\r')
			return 1;
	}
	return 0;
}

char *
th_body(struct evbuffer *in)
{
	const char *d = (const char *)EVBUFFER_DATA(in);
	size_t len = EVBUFFER_LENGTH(in);
	const char *end = memmem(d, len, "\r\n\r\n", 4);
	char *out;

	if (end == NULL)
		return NULL;
	end += 4;
	len -= (size_t)(end - d);
	out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, end, len);
	out[len] = '\0';
	return out;
}

struct program {
	struct evbuffer *out;
	struct event ev;
	int eof;
};

static void
program_read_cb(int fd, short what, void *arg)
{
	struct program *p = arg;
	int n = evbuffer_read(p->out, fd, 65536);

	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		p->eof = 1;
		event_del(&p->ev);
	}
}

int
th_run_program(struct event_base *base, char *const argv[],
    struct evbuffer *out, int ms)
{
	struct program prog;
	struct rlimit rl;
	int pfd[2], status, fd;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		dup2(pfd[1], 1);
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 2);
		/* Inherited sockets would keep connections open. */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
			for (fd = 3; fd < (int)rl.rlim_cur && fd < 65536; fd++)
				close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	memset(&prog, 0, sizeof(prog));
	prog.out = out;
	evutil_make_socket_nonblocking(pfd[0]);
	event_set(&prog.ev, pfd[0], EV_READ | EV_PERSIST, program_read_cb,
	    &prog);
	event_base_set(base, &prog.ev);
	event_add(&prog.ev, NULL);
	if (!th_run_until(base, &prog.eof, ms))
		kill(pid, SIGKILL);
	event_del(&prog.ev);
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static char *
dup_or_null(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	assert_non_null(d);
	return d;
}

void
th_result_cb(struct evhttp_request *req, void *arg)
{
	struct th_result *r = arg;

	r->done = 1;
	r->t_done = tu_now_usec();
	if (req == NULL) {
		r->code = -1;
		return;
	}
	r->code = req->response_code;
	r->bodylen = EVBUFFER_LENGTH(req->input_buffer);
	r->body = malloc(r->bodylen + 1);
	assert_non_null(r->body);
	if (r->bodylen > 0)
		memcpy(r->body, EVBUFFER_DATA(req->input_buffer), r->bodylen);
	r->body[r->bodylen] = '\0';
	r->ctype = dup_or_null(
	    evhttp_find_header(req->input_headers, "Content-Type"));
	r->clen = dup_or_null(
	    evhttp_find_header(req->input_headers, "Content-Length"));
	r->conn = dup_or_null(
	    evhttp_find_header(req->input_headers, "Connection"));
	r->chunked = req->chunked;
}

void
th_result_clear(struct th_result *r)
{
	free(r->body);
	free(r->ctype);
	free(r->clen);
	free(r->conn);
	memset(r, 0, sizeof(*r));
}

void
th_quiet_log(int severity, const char *msg)
{
}

int th_log_hits;
char th_log_last[256];
static const char *log_needle;

static void
count_log(int severity, const char *msg)
{
	if (log_needle != NULL && strstr(msg, log_needle) == NULL)
		return;
	th_log_hits++;
	snprintf(th_log_last, sizeof(th_log_last), "%s", msg);
}

void
th_log_count(const char *needle)
{
	log_needle = needle;
	th_log_hits = 0;
	th_log_last[0] = '\0';
	event_set_log_callback(count_log);
}

unsigned short
th_free_port(void)
{
	unsigned short p;
	int fd = tu_listen_loopback(&p);

	close(fd);
	return p;
}

int
th_highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int max = 2, fd;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		fd = atoi(e->d_name);
		if (fd > max)
			max = fd;
	}
	closedir(d);
	return max;
}

struct stream {
	struct event ev;
	struct evhttp_request *req;
	int n, npieces, ms;
	const char *fmt;
};

static void
stream_step_cb(int fd, short what, void *arg)
{
	struct stream *s = arg;
	struct timeval tv = { 0, s->ms * 1000 };
	struct evbuffer *buf;

	if (s->n == s->npieces) {
		evhttp_send_reply_end(s->req);
		free(s);
		return;
	}
	buf = evbuffer_new();
	assert_non_null(buf);
	evbuffer_add_printf(buf, s->fmt, ++s->n);
	evhttp_send_reply_chunk(s->req, buf);
	evbuffer_free(buf);
	evtimer_add(&s->ev, &tv);
}

void
th_stream_reply(struct event_base *base, struct evhttp_request *req,
    int npieces, int ms, const char *fmt)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct timeval tv = { 0, ms * 1000 };

	assert_non_null(s);
	s->req = req;
	s->npieces = npieces;
	s->ms = ms;
	s->fmt = fmt;
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	evtimer_set(&s->ev, stream_step_cb, s);
	event_base_set(base, &s->ev);
	evtimer_add(&s->ev, &tv);
}
