/*
 * test_http_client_safety.c: what our client must never do, against a
 * scripted raw server (th_fake) or a raw streaming one: send a request
 * twice when that could repeat its effect (RFC 9110 9.2.2), hold more of
 * a response than its limits (headers, body, interim responses, a long
 * stream), accept a malformed Content-Length, keep an HTTP/1.0
 * connection whose response lists "close", or free a request the
 * program wrongly frees as well.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

#define OK_A "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
#define OK_B "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"

/* Queue a request of type with a small body on evcon, into r. */
static void
queue_type(struct evhttp_connection *evcon, enum evhttp_cmd_type type,
    struct th_result *r)
{
	struct evhttp_request *req = evhttp_request_new(th_result_cb, r);

	if (type == EVHTTP_REQ_POST)
		evbuffer_add_printf(req->output_buffer, "pay=1");
	assert_int_equal(evhttp_make_request(evcon, req, type, "/"), 0);
}

/* Make a request of type on evcon and return its status (-1: NULL). */
static int
request_type(struct evhttp_connection *evcon, enum evhttp_cmd_type type)
{
	struct th_result r = { 0 };
	int code;

	queue_type(evcon, type, &r);
	assert_true(th_run_until(th_base, &r.done, 5000));
	code = r.code;
	th_result_clear(&r);
	return code;
}

/*
 * A POST the server read and then closed on is never sent again, on a
 * fresh connection or a reused one: the server may have acted on it.
 */
static void
test_post_never_resent(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* the POST, fresh */
	TH_FAKE_STEP(&f, OK_A, TH_KEEP); /* a GET */
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* the POST, reused */
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* (a duplicate would be here) */
	evcon = th_fake_start(&f);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_POST), -1);
	assert_int_equal(f.nseen, 1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_POST), -1);
	assert_int_equal(f.nseen, 3);
	assert_int_equal(f.nconns, 2);
	th_fake_stop(&f, evcon);
}

/*
 * An idempotent request on a reused connection that closed before any
 * response byte is sent once more, and only once; on a fresh connection
 * it is not sent again.
 */
static void
test_get_resent_once(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* reused: closed */
	TH_FAKE_STEP(&f, OK_B, TH_KEEP); /* resent: answered */
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* HEAD, reused: closed */
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* resent: closed again */
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* fresh: closed */
	TH_FAKE_STEP(&f, OK_A, TH_KEEP); /* fresh */
	TH_FAKE_STEP(&f, "", TH_CLOSE);	 /* reused: closed */
	TH_FAKE_STEP(&f, OK_B, TH_KEEP); /* resent: a failure before */
					 /* does not use up the resend */
	evcon = th_fake_start(&f);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(f.nseen, 3);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_HEAD), -1);
	assert_int_equal(f.nseen, 5);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(f.nseen, 6);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(f.nseen, 9);
	th_fake_stop(&f, evcon);
}

/* Retries of a refused connect are evhttp_connection_set_retries()'s. */
static void
test_connect_retries(void **state)
{
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };
	int64_t t0;

	evcon = evhttp_connection_new("127.0.0.1", th_free_port());
	evhttp_connection_set_base(evcon, th_base);
	t0 = tu_now_usec();
	queue_type(evcon, EVHTTP_REQ_POST, &r);
	assert_true(th_run_until(th_base, &r.done, 5000));
	assert_int_equal(r.code, -1);
	assert_true(tu_now_usec() - t0 < 200000); /* no retry by default */
	evhttp_connection_set_retries(evcon, 2);  /* 250 + 500 ms */
	memset(&r, 0, sizeof(r));
	t0 = tu_now_usec();
	queue_type(evcon, EVHTTP_REQ_POST, &r);
	assert_true(th_run_until(th_base, &r.done, 5000));
	assert_int_equal(r.code, -1);
	assert_true(tu_now_usec() - t0 >= 700000);
	evhttp_connection_free(evcon);
}

/* Headers over the connection's limit fail the request and close. */
static void
test_max_headers(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f,
	    "HTTP/1.1 200 OK\r\nX-Pad: 0123456789012345678901"
	    "23456789\r\nContent-Length: 1\r\n\r\na",
	    TH_KEEP);
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	evcon = th_fake_start(&f);
	event_set_log_callback(th_quiet_log);
	evhttp_connection_set_max_headers_size(evcon, 60);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(f.nconns, 2); /* the first one closed */
	th_fake_stop(&f, evcon);
}

/* Chunk callback that counts the bytes and pieces it is handed. */
static size_t piece_bytes;
static int npieces;

static void
count_pieces_cb(struct evhttp_request *req, void *arg)
{
	piece_bytes += EVBUFFER_LENGTH(req->input_buffer);
	npieces++;
}

/* GET / on evcon with count_pieces_cb as chunk callback; its status. */
static int
request_streamed(struct evhttp_connection *evcon)
{
	struct evhttp_request *req;
	struct th_result r = { 0 };
	int code;

	req = evhttp_request_new(th_result_cb, &r);
	evhttp_request_set_chunked_cb(req, count_pieces_cb);
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET, "/"),
	    0);
	assert_true(th_run_until(th_base, &r.done, 5000));
	code = r.code;
	th_result_clear(&r);
	return code;
}

#define CHUNK600 "258\r\n" PAD600 "\r\n"
#define PAD100 \
	"0123456789012345678901234567890123456789" \
	"0123456789012345678901234567890123456789" \
	"01234567890123456789"
#define PAD600	PAD100 PAD100 PAD100 PAD100 PAD100 PAD100
#define CHUNKED "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

/*
 * A body over the limit fails the request as soon as it is known to be
 * over: a Content-Length before any body byte, a close-delimited or
 * chunked body once held bytes pass it.  Pieces handed to a chunk
 * callback are no longer held, so a chunked stream longer than the limit
 * passes, but not one chunk larger than it.
 */
static void
test_max_body(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n",
	    TH_KEEP);
	TH_FAKE_STEP(&f, "HTTP/1.1 200 OK\r\n\r\n" PAD600 PAD600, TH_KEEP);
	TH_FAKE_STEP(&f, CHUNKED CHUNK600 CHUNK600 "0\r\n\r\n", TH_KEEP);
	TH_FAKE_STEP(&f, CHUNKED CHUNK600 CHUNK600 CHUNK600 "0\r\n\r\n",
	    TH_KEEP);
	TH_FAKE_STEP(&f, CHUNKED "3e9\r\n", TH_KEEP); /* 1001 */
	TH_FAKE_STEP(&f,
	    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" PAD600 PAD100
		PAD100 PAD100 PAD100,
	    TH_KEEP);
	evcon = th_fake_start(&f);
	event_set_log_callback(th_quiet_log);
	evhttp_connection_set_max_body_size(evcon, 1000);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	piece_bytes = 0;
	npieces = 0;
	assert_int_equal(request_streamed(evcon), 200);
	assert_int_equal(piece_bytes, 1800);
	assert_int_equal(npieces, 3);
	assert_int_equal(request_streamed(evcon), -1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(f.nconns, 5);
	th_fake_stop(&f, evcon);
}

#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

/* At most 8 interim responses per request: a server cannot stall us. */
static void
test_interim_bound(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f,
	    CONTINUE CONTINUE CONTINUE CONTINUE CONTINUE CONTINUE CONTINUE
		CONTINUE OK_A,
	    TH_KEEP);
	TH_FAKE_STEP(&f,
	    CONTINUE CONTINUE CONTINUE CONTINUE CONTINUE CONTINUE CONTINUE
		CONTINUE CONTINUE OK_A,
	    TH_KEEP);
	evcon = th_fake_start(&f);
	th_log_count("interim");
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(th_log_hits, 0);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(th_log_hits, 1);
	th_fake_stop(&f, evcon);
}

/* A negative or non-numeric Content-Length fails the request, as in 1.4. */
static void
test_bad_content_length(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    TH_KEEP);
	TH_FAKE_STEP(&f,
	    "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n"
	    "0123456789",
	    TH_KEEP);
	TH_FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\na",
	    TH_KEEP);
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	evcon = th_fake_start(&f);
	event_set_log_callback(th_quiet_log);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), -1);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	th_fake_stop(&f, evcon);
}

/* An HTTP/1.0 response whose Connection lists close closes. */
static void
test_http10_close_listed(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f,
	    "HTTP/1.0 200 OK\r\nConnection: close, keep-alive\r\n"
	    "Content-Length: 1\r\n\r\na",
	    TH_KEEP);
	TH_FAKE_STEP(&f,
	    "HTTP/1.0 200 OK\r\nConnection: keep-alive, Close\r\n"
	    "Content-Length: 1\r\n\r\na",
	    TH_KEEP);
	TH_FAKE_STEP(&f, OK_B, TH_KEEP);
	evcon = th_fake_start(&f);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(request_type(evcon, EVHTTP_REQ_GET), 200);
	assert_int_equal(f.nconns, 3);
	th_fake_stop(&f, evcon);
}

/* A callback that (wrongly) frees the request it is handed. */
static void
free_in_callback_cb(struct evhttp_request *req, void *arg)
{
	th_result_cb(req, arg);
	evhttp_request_free(req);
}

/*
 * evhttp_request_free() on a request its connection holds (queued, in
 * progress, or in its callback) was a double free in 1.4: it is refused
 * with a log line, and the connection goes on and frees it itself.
 */
static void
test_request_free_misuse(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct evhttp_request *req[2];
	struct th_result r[2];

	memset(&f, 0, sizeof(f));
	memset(r, 0, sizeof(r));
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	TH_FAKE_STEP(&f, OK_B, TH_KEEP);
	evcon = th_fake_start(&f);
	th_log_count("belongs to its connection");
	req[0] = evhttp_request_new(free_in_callback_cb, &r[0]);
	req[1] = evhttp_request_new(th_result_cb, &r[1]);
	assert_int_equal(evhttp_make_request(evcon, req[0], EVHTTP_REQ_GET,
			     "/"),
	    0);
	assert_int_equal(evhttp_make_request(evcon, req[1], EVHTTP_REQ_GET,
			     "/"),
	    0);
	evhttp_request_free(req[0]); /* in progress */
	evhttp_request_free(req[1]); /* queued */
	assert_int_equal(th_log_hits, 2);
	assert_true(th_run_until(th_base, &r[1].done, 5000));
	assert_string_equal(r[0].body, "a");
	assert_string_equal(r[1].body, "b");
	assert_int_equal(th_log_hits, 3); /* and in its callback */
	th_result_clear(&r[0]);
	th_result_clear(&r[1]);
	th_fake_stop(&f, evcon);
}

/*
 * A raw server streaming a response of total body bytes: close-delimited,
 * or chunked in 32 KiB chunks.  The resident size of the process is
 * sampled as it goes.
 */
struct streamer {
	int lfd, fd;
	struct event ev_accept, ev_write;
	int chunked;
	ev_uint64_t total, sent;
	int head_sent, done;
	long rss_base, rss_max; /* KiB */
};

/* Resident set size of this process in KiB (Linux), or 0. */
static long
rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
streamer_write_cb(int fd, short what, void *arg)
{
	static char block[32768 + 16];
	struct streamer *st = arg;
	size_t n = sizeof(block) - 16, off = 0;
	ssize_t w;
	long rss = rss_kib();

	if (rss > st->rss_max)
		st->rss_max = rss;
	/* Consume the request, so that closing sends a FIN, not a reset. */
	while (read(fd, block, sizeof(block)) > 0)
		continue;
	if (!st->head_sent) {
		const char *h = st->chunked ? CHUNKED :
					      "HTTP/1.1 200 OK\r\n\r\n";
		assert_int_equal(send(fd, h, strlen(h), MSG_NOSIGNAL),
		    (ssize_t)strlen(h));
		st->head_sent = 1;
	}
	if (st->sent == st->total) {
		if (st->chunked)
			(void)send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
		event_del(&st->ev_write);
		close(fd);
		st->done = 1;
		return;
	}
	if (st->total - st->sent < n)
		n = (size_t)(st->total - st->sent);
	if (st->chunked)
		off = (size_t)snprintf(block, 16, "%zx\r\n", n);
	memset(block + off, 'x', n);
	if (st->chunked)
		memcpy(block + off + n, "\r\n", 2);
	w = send(fd, block, off + n + (st->chunked ? 2 : 0), MSG_NOSIGNAL);
	if (w == -1 && errno == EAGAIN)
		return; /* (nothing of it went out) */
	if (w != (ssize_t)(off + n + (st->chunked ? 2 : 0))) {
		/* The client gave up (or took part of a block): stop. */
		event_del(&st->ev_write);
		close(fd);
		st->done = 1;
		return;
	}
	st->sent += n;
}

static void
streamer_accept_cb(int fd, short what, void *arg)
{
	struct streamer *st = arg;

	if ((st->fd = accept(fd, NULL, NULL)) == -1)
		return;
	event_del(&st->ev_accept);
	evutil_make_socket_nonblocking(st->fd);
	event_set(&st->ev_write, st->fd, EV_WRITE | EV_PERSIST,
	    streamer_write_cb, st);
	event_base_set(th_base, &st->ev_write);
	event_add(&st->ev_write, NULL);
}

/*
 * Stream mib MiB (TH_STREAM_MB if set) to a client whose body limit is
 * 1 MiB; returns its status and leaves the RSS growth in *grew_kib.
 */
static int
stream_to_client(int chunked, long *grew_kib)
{
	struct streamer st;
	struct evhttp_connection *evcon;
	unsigned short port;
	const char *env = getenv("TH_STREAM_MB");
	int code;

	memset(&st, 0, sizeof(st));
	st.chunked = chunked;
	st.total = (ev_uint64_t)(env != NULL ? atoi(env) : 64) << 20;
	st.lfd = tu_listen_loopback(&port);
	event_set(&st.ev_accept, st.lfd, EV_READ | EV_PERSIST,
	    streamer_accept_cb, &st);
	event_base_set(th_base, &st.ev_accept);
	event_add(&st.ev_accept, NULL);
	evcon = evhttp_connection_new("127.0.0.1", port);
	evhttp_connection_set_base(evcon, th_base);
	evhttp_connection_set_max_body_size(evcon, 1 << 20);
	piece_bytes = 0;
	st.rss_base = st.rss_max = rss_kib();
	code = request_streamed(evcon);
	assert_true(th_run_until(th_base, &st.done, 5000));
	*grew_kib = st.rss_max - st.rss_base;
	if (env != NULL) /* figures for the README */
		fprintf(stderr,
		    "stream of %s MiB (%s): status %d, %llu MiB "
		    "sent, RSS %ld KiB before, at most %ld KiB during\n",
		    env,
		    chunked ? "chunked, chunk callback" : "close-delimited",
		    code, (unsigned long long)(st.sent >> 20), st.rss_base,
		    st.rss_max);
	if (chunked)
		assert_int_equal(piece_bytes, st.total);
	evhttp_connection_free(evcon);
	event_del(&st.ev_accept);
	close(st.lfd);
	return code;
}

/*
 * A long response stream (64 MiB here; 2 GiB in the README's figures)
 * never grows the process past the body limit: without a chunk callback
 * the request fails once the body passes the limit; a chunked stream
 * delivered to a chunk callback passes whole in flat memory.
 */
static void
test_stream_memory_flat(void **state)
{
	long grew;

	tu_deadline(60, "streams 64 MiB twice (more with TH_STREAM_MB)");
	event_set_log_callback(th_quiet_log);
	assert_int_equal(stream_to_client(0, &grew), -1);
	if (grew > 0)
		assert_true(grew < 8 * 1024);
	assert_int_equal(stream_to_client(1, &grew), 200);
	if (grew > 0)
		assert_true(grew < 8 * 1024);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_post_never_resent),
		TH_TEST(test_get_resent_once),
		TH_TEST(test_connect_retries),
		TH_TEST(test_max_headers),
		TH_TEST(test_max_body),
		TH_TEST(test_interim_bound),
		TH_TEST(test_bad_content_length),
		TH_TEST(test_http10_close_listed),
		TH_TEST(test_request_free_misuse),
		TH_TEST(test_stream_memory_flat),
	};

	return TU_RUN_PER_BACKEND("http_client_safety", tests);
}
