/*
 * test_bufferevent.c: struct bufferevent: reading and writing through the
 * loop, watermarks and read pressure (a flooding peer cannot grow memory),
 * timeouts, EOF and resets, 1 MB each way byte-exact, and freeing a
 * bufferevent from inside each of its callbacks.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

/* ---- driving the loop ------------------------------------------------ */

typedef int (*cond_fn)(void *);

static void
tick_cb(int fd, short what, void *arg)
{
}

/*
 * Run the loop until cond(arg) holds or ms milliseconds pass; a short
 * timer keeps each turn from blocking.  Returns whether cond held.
 */
static int
run_until(cond_fn cond, void *arg, int ms)
{
	int64_t deadline = tu_now_usec() + (int64_t)ms * 1000;
	struct timeval tv = { 0, 20000 };
	struct event tick;
	int ok;

	evtimer_set(&tick, tick_cb, NULL);
	event_base_set(tu_base, &tick);
	while (!(ok = cond(arg)) && tu_now_usec() < deadline) {
		event_add(&tick, &tv);
		event_base_loop(tu_base, EVLOOP_ONCE);
	}
	event_del(&tick);
	return ok;
}

/* Run whatever is ready now, a few turns, without blocking. */
static void
run_ready(int turns)
{
	while (turns-- > 0)
		event_base_loop(tu_base, EVLOOP_NONBLOCK);
}

/* ---- a bufferevent and what its callbacks saw ------------------------ */

enum { FREE_NONE, FREE_IN_READ, FREE_IN_WRITE, FREE_IN_ERROR };

struct side {
	struct bufferevent *bev;
	int reads, writes, errors;
	short what;	      /* last errorcb flags */
	int err;	      /* errno at the last errorcb */
	size_t maxin;	      /* largest input seen by readcb */
	size_t out_at_write;  /* output length at last writecb */
	struct evbuffer *got; /* data readcb took, if collecting */
	int collect;	      /* readcb moves input into got */
	int free_in;	      /* free the bufferevent in a callback */
	int freed;
};

static void
side_readcb(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;

	assert_ptr_equal(bev, s->bev);
	s->reads++;
	if (EVBUFFER_LENGTH(bev->input) > s->maxin)
		s->maxin = EVBUFFER_LENGTH(bev->input);
	if (s->collect)
		assert_int_equal(evbuffer_add_buffer(s->got, bev->input), 0);
	if (s->free_in == FREE_IN_READ) {
		bufferevent_free(bev);
		s->freed = 1;
	}
}

static void
side_writecb(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;

	assert_ptr_equal(bev, s->bev);
	s->writes++;
	s->out_at_write = EVBUFFER_LENGTH(bev->output);
	if (s->free_in == FREE_IN_WRITE) {
		bufferevent_free(bev);
		s->freed = 1;
	}
}

static void
side_errorcb(struct bufferevent *bev, short what, void *arg)
{
	struct side *s = arg;

	assert_ptr_equal(bev, s->bev);
	s->err = errno;
	s->errors++;
	s->what = what;
	if (s->free_in == FREE_IN_ERROR) {
		bufferevent_free(bev);
		s->freed = 1;
	}
}

static void
side_open(struct side *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->bev = bufferevent_new(fd, side_readcb, side_writecb, side_errorcb,
	    s);
	assert_non_null(s->bev);
	assert_int_equal(bufferevent_base_set(tu_base, s->bev), 0);
	s->got = evbuffer_new();
	assert_non_null(s->got);
}

static void
side_close(struct side *s)
{
	if (!s->freed)
		bufferevent_free(s->bev);
	evbuffer_free(s->got);
}

static int
has_read(void *arg)
{
	return ((struct side *)arg)->reads > 0;
}

static int
has_written(void *arg)
{
	return ((struct side *)arg)->writes > 0;
}

static int
has_error(void *arg)
{
	return ((struct side *)arg)->errors > 0;
}

/* Bytes waiting unread in a socket. */
static int
pending_bytes(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* Write n bytes of 'c' to a non-blocking fd; returns how many went. */
static size_t
stuff(int fd, size_t n, char c)
{
	char chunk[65536];
	size_t done = 0;
	ssize_t w;

	memset(chunk, c, sizeof(chunk));
	while (done < n) {
		w = write(fd, chunk,
		    n - done < sizeof(chunk) ? n - done : sizeof(chunk));
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	return done;
}

/* ---- tests ----------------------------------------------------------- */

static void
test_new_defaults(void **state)
{
	struct bufferevent *bev;
	int fds[2];

	tu_socketpair(fds);
	bev = bufferevent_new(fds[0], NULL, NULL, NULL, NULL);
	assert_non_null(bev);
	/* As in 1.4.15: only writing is enabled at first. */
	assert_int_equal(bev->enabled, EV_WRITE);
	assert_non_null(EVBUFFER_INPUT(bev));
	assert_non_null(EVBUFFER_OUTPUT(bev));
	assert_int_equal(EVBUFFER_LENGTH(bev->input), 0);
	assert_int_equal(bev->wm_read.low + bev->wm_read.high, 0);
	assert_int_equal(bev->wm_write.low + bev->wm_write.high, 0);
	assert_int_equal(bev->timeout_read + bev->timeout_write, 0);
	assert_int_equal(EVENT_FD(&bev->ev_read), fds[0]);
	assert_int_equal(EVENT_FD(&bev->ev_write), fds[0]);
	assert_int_equal(event_pending(&bev->ev_read, EV_READ, NULL), 0);
	assert_int_equal(bufferevent_base_set(tu_base, bev), 0);
	assert_ptr_equal(bev->ev_base, tu_base);
	assert_ptr_equal(bev->ev_read.ev_base, tu_base);
	assert_ptr_equal(bev->ev_write.ev_base, tu_base);
	bufferevent_free(bev);
	bufferevent_free(NULL);
	close(fds[0]);
	close(fds[1]);
}

static void
test_read(void **state)
{
	struct side s;
	int fds[2];
	char out[16];

	tu_socketpair(fds);
	side_open(&s, fds[1]);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(s.bev->enabled, EV_READ | EV_WRITE);
	assert_int_equal(write(fds[0], "hello", 5), 5);
	assert_true(run_until(has_read, &s, 5000));
	assert_int_equal(EVBUFFER_LENGTH(EVBUFFER_INPUT(s.bev)), 5);

	memset(out, 0, sizeof(out));
	assert_int_equal(bufferevent_read(s.bev, out, 3), 3);
	assert_string_equal(out, "hel");
	assert_int_equal(bufferevent_read(s.bev, out, sizeof(out)), 2);
	assert_memory_equal(out, "lo", 2);
	assert_int_equal(bufferevent_read(s.bev, out, sizeof(out)), 0);
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

static void
test_write(void **state)
{
	struct side s;
	struct evbuffer *src = evbuffer_new();
	int fds[2];
	char in[32];

	tu_socketpair(fds);
	side_open(&s, fds[0]);
	assert_int_equal(bufferevent_write(s.bev, "abc", 3), 0);
	assert_true(event_pending(&s.bev->ev_write, EV_WRITE, NULL));
	assert_true(run_until(has_written, &s, 5000));
	assert_int_equal(s.out_at_write, 0);
	/* Nothing left to write: the write event is no longer pending. */
	assert_int_equal(event_pending(&s.bev->ev_write, EV_WRITE, NULL), 0);

	assert_int_equal(evbuffer_add_printf(src, "def%d", 7), 4);
	assert_int_equal(bufferevent_write_buffer(s.bev, src), 0);
	assert_int_equal(EVBUFFER_LENGTH(src), 0);
	s.writes = 0;
	assert_true(run_until(has_written, &s, 5000));
	assert_int_equal(read(fds[1], in, sizeof(in)), 7);
	assert_memory_equal(in, "abcdef7", 7);

	/* Writing nothing schedules nothing. */
	assert_int_equal(bufferevent_write(s.bev, "", 0), 0);
	assert_int_equal(event_pending(&s.bev->ev_write, EV_WRITE, NULL), 0);
	evbuffer_free(src);
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

static void
test_enable_write_calls_writecb(void **state)
{
	struct side s;
	int fds[2];

	/* 1.4 adds the write event on enable even with nothing queued,
	 * so writecb runs once; programs use this as a "ready" signal. */
	tu_socketpair(fds);
	side_open(&s, fds[0]);
	assert_int_equal(bufferevent_enable(s.bev, EV_WRITE), 0);
	assert_true(run_until(has_written, &s, 5000));
	assert_int_equal(s.writes, 1);
	run_ready(3);
	assert_int_equal(s.writes, 1);
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

static void
test_disable_and_enable(void **state)
{
	struct side s;
	int fds[2];
	char in[8];

	tu_socketpair(fds);
	side_open(&s, fds[1]);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(bufferevent_disable(s.bev, EV_READ), 0);
	assert_int_equal(s.bev->enabled, EV_WRITE);
	assert_int_equal(write(fds[0], "x", 1), 1);
	run_ready(5);
	assert_int_equal(s.reads, 0);
	assert_int_equal(pending_bytes(fds[1]), 1);

	/* Disabled writing queues without sending. */
	assert_int_equal(bufferevent_disable(s.bev, EV_WRITE), 0);
	assert_int_equal(s.bev->enabled, 0);
	assert_int_equal(bufferevent_write(s.bev, "y", 1), 0);
	run_ready(5);
	assert_int_equal(pending_bytes(fds[0]), 0);

	assert_int_equal(bufferevent_enable(s.bev, EV_READ | EV_WRITE), 0);
	assert_true(run_until(has_read, &s, 5000));
	assert_true(run_until(has_written, &s, 5000));
	assert_int_equal(read(fds[0], in, sizeof(in)), 1);
	assert_int_equal(in[0], 'y');
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

/* Both ends of a socketpair send 1 MB to each other at once. */
struct duplex {
	struct side a, b;
	size_t want;
};

static int
duplex_done(void *arg)
{
	struct duplex *d = arg;

	return EVBUFFER_LENGTH(d->a.got) == d->want &&
	    EVBUFFER_LENGTH(d->b.got) == d->want;
}

static void
test_megabyte_each_way(void **state)
{
	struct duplex d;
	size_t n = 1024 * 1024, i;
	u_char *ab = malloc(n), *ba = malloc(n);
	int fds[2];

	assert_non_null(ab);
	assert_non_null(ba);
	for (i = 0; i < n; i++) {
		ab[i] = (u_char)(i * 31 + (i >> 10));
		ba[i] = (u_char)(i * 17 + (i >> 12) + 5);
	}
	tu_socketpair(fds);
	side_open(&d.a, fds[0]);
	side_open(&d.b, fds[1]);
	d.want = n;
	d.a.collect = d.b.collect = 1;
	assert_int_equal(bufferevent_enable(d.a.bev, EV_READ), 0);
	assert_int_equal(bufferevent_enable(d.b.bev, EV_READ), 0);
	/* In pieces, some before and some while the loop runs. */
	assert_int_equal(bufferevent_write(d.a.bev, ab, n / 2), 0);
	assert_int_equal(bufferevent_write(d.b.bev, ba, n / 3), 0);
	run_ready(2);
	assert_int_equal(bufferevent_write(d.a.bev, ab + n / 2, n - n / 2), 0);
	assert_int_equal(bufferevent_write(d.b.bev, ba + n / 3, n - n / 3), 0);

	assert_true(run_until(duplex_done, &d, 20000));
	assert_memory_equal(EVBUFFER_DATA(d.b.got), ab, n);
	assert_memory_equal(EVBUFFER_DATA(d.a.got), ba, n);
	assert_int_equal(d.a.errors + d.b.errors, 0);
	side_close(&d.a);
	side_close(&d.b);
	close(fds[0]);
	close(fds[1]);
	free(ab);
	free(ba);
}

static int
input_at_least_10(void *arg)
{
	return EVBUFFER_LENGTH(((struct side *)arg)->bev->input) >= 10;
}

static void
test_read_low_watermark(void **state)
{
	struct side s;
	int fds[2];

	tu_socketpair(fds);
	side_open(&s, fds[1]);
	bufferevent_setwatermark(s.bev, EV_READ, 10, 0);
	assert_int_equal(s.bev->wm_read.low, 10);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);

	/* Below the low watermark: read, but no callback yet. */
	assert_int_equal(write(fds[0], "12345", 5), 5);
	while (pending_bytes(fds[1]) > 0)
		run_ready(1);
	run_ready(2);
	assert_int_equal(EVBUFFER_LENGTH(s.bev->input), 5);
	assert_int_equal(s.reads, 0);

	assert_int_equal(write(fds[0], "67890", 5), 5);
	assert_true(run_until(has_read, &s, 5000));
	assert_true(input_at_least_10(&s));
	assert_int_equal(s.maxin, 10);
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

/* A reader that takes its input only when told to. */
struct slow {
	struct side s;
	int fd;	      /* the peer's end */
	size_t total; /* bytes taken out of the input */
};

static int
slow_paused(void *arg)
{
	struct slow *sl = arg;

	return sl->s.reads > 0 &&
	    !event_pending(&sl->s.bev->ev_read, EV_READ, NULL);
}

static void
test_read_high_watermark(void **state)
{
	struct slow sl;
	int fds[2];

	tu_socketpair(fds);
	side_open(&sl.s, fds[1]);
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, 100);
	assert_int_equal(bufferevent_enable(sl.s.bev, EV_READ), 0);
	assert_int_equal(stuff(fds[0], 1000, 'h'), 1000);

	/* It reads up to the watermark, then stops reading. */
	assert_true(run_until(slow_paused, &sl, 5000));
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 100);
	assert_int_equal(pending_bytes(fds[1]), 900);
	run_ready(5);
	assert_int_equal(sl.s.reads, 1);
	assert_int_equal(pending_bytes(fds[1]), 900);

	/* Draining part of the input resumes reading, to the mark again. */
	evbuffer_drain(sl.s.bev->input, 30);
	assert_true(event_pending(&sl.s.bev->ev_read, EV_READ, NULL));
	sl.s.reads = 0;
	assert_true(run_until(slow_paused, &sl, 5000));
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 100);
	assert_int_equal(pending_bytes(fds[1]), 870);

	assert_int_equal(sl.s.maxin, 100);

	/* Removing the limit lets everything in. */
	sl.s.collect = 1;
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, 0);
	assert_true(event_pending(&sl.s.bev->ev_read, EV_READ, NULL));
	while (pending_bytes(fds[1]) > 0)
		run_ready(1);
	/* All but the 30 bytes drained above. */
	assert_int_equal(EVBUFFER_LENGTH(sl.s.got) +
		EVBUFFER_LENGTH(sl.s.bev->input),
	    970);
	side_close(&sl.s);
	close(fds[0]);
	close(fds[1]);
}

static void
test_lowered_high_watermark(void **state)
{
	struct slow sl;
	int fds[2];

	tu_socketpair(fds);
	side_open(&sl.s, fds[1]);
	assert_int_equal(bufferevent_enable(sl.s.bev, EV_READ), 0);
	assert_int_equal(stuff(fds[0], 50, 'l'), 50);
	assert_true(run_until(has_read, &sl.s, 5000));
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 50);

	/* The mark drops below what is already held: no more reading. */
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, 20);
	assert_int_equal(stuff(fds[0], 50, 'm'), 50);
	run_ready(5);
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 50);
	assert_int_equal(pending_bytes(fds[1]), 50);
	assert_false(event_pending(&sl.s.bev->ev_read, EV_READ, NULL));

	/* Empty the input: reading resumes, 20 bytes at a time. */
	evbuffer_drain(sl.s.bev->input, 50);
	sl.s.reads = 0;
	assert_true(run_until(slow_paused, &sl, 5000));
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 20);
	assert_int_equal(pending_bytes(fds[1]), 30);
	side_close(&sl.s);
	close(fds[0]);
	close(fds[1]);
}

/*
 * A peer tries to send 100 MB with no newline to a line reader that has
 * a 64 KB read high watermark.  Reading stops at the mark; the kernel's
 * socket buffers fill and then refuse the rest, so nothing grows.
 */
static void
test_flood_is_bounded(void **state)
{
	struct slow sl;
	const size_t high = 64 * 1024, flood = 100 * 1024 * 1024;
	size_t sent = 0, n;
	int fds[2], round;
	char *line;

	tu_socketpair(fds);
	side_open(&sl.s, fds[1]);
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, high);
	assert_int_equal(bufferevent_enable(sl.s.bev, EV_READ), 0);

	for (round = 0; round < 50 && sent < flood; round++) {
		n = stuff(fds[0], flood - sent, 'f');
		sent += n;
		/* The line reader finds no line, and so takes nothing. */
		line = evbuffer_readln(sl.s.bev->input, NULL,
		    EVBUFFER_EOL_CRLF);
		assert_null(line);
		run_ready(3);
		if (n == 0 && slow_paused(&sl))
			break;
	}
	assert_true(slow_paused(&sl));
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), high);
	assert_true(sl.s.bev->input->totallen <= 4 * high);
	assert_true(sl.s.maxin <= high);
	/* The rest waits in the kernel, which refuses more. */
	assert_true(pending_bytes(fds[1]) > 0);
	assert_true(sent < 16 * 1024 * 1024);
	assert_int_equal(stuff(fds[0], 4096, 'f'), 0);
	side_close(&sl.s);
	close(fds[0]);
	close(fds[1]);
}

static void
test_write_low_watermark(void **state)
{
	struct side s;
	const size_t low = 256 * 1024, total = 4 * 1024 * 1024;
	char *data = calloc(1, total), sink[65536];
	int64_t deadline;
	int fds[2];
	ssize_t r;

	assert_non_null(data);
	tu_socketpair(fds);
	side_open(&s, fds[0]);
	bufferevent_setwatermark(s.bev, EV_WRITE, low, 0);
	assert_int_equal(s.bev->wm_write.low, low);
	assert_int_equal(bufferevent_write(s.bev, data, total), 0);

	/* The peer reads nothing: output stays above the mark, no writecb. */
	run_ready(10);
	assert_true(EVBUFFER_LENGTH(s.bev->output) > low);
	assert_int_equal(s.writes, 0);

	/* The peer drains: writecb comes once output is at or below it. */
	deadline = tu_now_usec() + 10 * 1000 * 1000;
	while (s.writes == 0 && tu_now_usec() < deadline) {
		while ((r = read(fds[1], sink, sizeof(sink))) > 0)
			;
		run_ready(1);
	}
	assert_int_equal(s.writes, 1);
	assert_true(s.out_at_write <= low);
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
	free(data);
}

struct two {
	struct side r, w;
};

static int
both_errored(void *arg)
{
	struct two *t = arg;

	return t->r.errors > 0 && t->w.errors > 0;
}

static void
test_timeouts(void **state)
{
	struct two t;
	int rfds[2], wfds[2];
	int64_t start;
	char *data = calloc(1, 4 * 1024 * 1024);

	assert_non_null(data);
	tu_socketpair(rfds);
	tu_socketpair(wfds);
	side_open(&t.r, rfds[1]);
	side_open(&t.w, wfds[0]);

	/* A reader that hears nothing; the timeout is set after enabling,
	 * so settimeout must re-arm the pending event. */
	assert_int_equal(bufferevent_enable(t.r.bev, EV_READ), 0);
	bufferevent_settimeout(t.r.bev, 1, 0);
	assert_int_equal(t.r.bev->timeout_read, 1);
	assert_true(event_pending(&t.r.bev->ev_read, EV_TIMEOUT, NULL));

	/* A writer whose peer never reads. */
	bufferevent_settimeout(t.w.bev, 0, 1);
	assert_int_equal(bufferevent_write(t.w.bev, data, 4 * 1024 * 1024), 0);

	start = tu_now_usec();
	assert_true(run_until(both_errored, &t, 5000));
	assert_true(tu_now_usec() - start >= 900000);
	assert_int_equal(t.r.what, EVBUFFER_READ | EVBUFFER_TIMEOUT);
	assert_int_equal(t.w.what, EVBUFFER_WRITE | EVBUFFER_TIMEOUT);
	assert_int_equal(t.r.errors + t.w.errors, 2);
	assert_int_equal(t.r.reads, 0);
	side_close(&t.r);
	side_close(&t.w);
	close(rfds[0]);
	close(rfds[1]);
	close(wfds[0]);
	close(wfds[1]);
	free(data);
}

static void
test_eof(void **state)
{
	struct side s;
	int fds[2];

	tu_socketpair(fds);
	side_open(&s, fds[1]);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(write(fds[0], "last", 4), 4);
	close(fds[0]);
	assert_true(run_until(has_error, &s, 5000));
	/* The data before the close arrived first. */
	assert_int_equal(s.reads, 1);
	assert_int_equal(EVBUFFER_LENGTH(s.bev->input), 4);
	assert_int_equal(s.what, EVBUFFER_READ | EVBUFFER_EOF);
	/* The read event is not re-added after EOF: no repeats. */
	run_ready(3);
	assert_int_equal(s.errors, 1);
	side_close(&s);
	close(fds[1]);
}

static void
test_eof_without_errorcb(void **state)
{
	struct bufferevent *bev;
	int fds[2];

	tu_socketpair(fds);
	bev = bufferevent_new(fds[1], NULL, NULL, NULL, NULL);
	assert_non_null(bev);
	assert_int_equal(bufferevent_base_set(tu_base, bev), 0);
	assert_int_equal(bufferevent_enable(bev, EV_READ), 0);
	close(fds[0]);
	/* 1.4 called a NULL errorcb; here the EOF is simply dropped. */
	run_ready(3);
	assert_false(event_pending(&bev->ev_read, EV_READ, NULL));
	bufferevent_free(bev);
	close(fds[1]);
}

/* A TCP connection whose peer resets it. */
static void
make_reset_pair(int *mine)
{
	unsigned short port;
	struct linger lg = { 1, 0 };
	int lfd, peer;

	lfd = tu_listen_loopback(&port);
	*mine = tu_connect_loopback(port);
	peer = accept(lfd, NULL, NULL);
	assert_true(peer >= 0);
	close(lfd);
	assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg,
			     sizeof(lg)),
	    0);
	close(peer); /* sends RST */
	assert_int_equal(evutil_make_socket_nonblocking(*mine), 0);
}

static void
test_peer_reset(void **state)
{
	struct side r, w;
	int rfd, wfd;
	char big[65536];

	make_reset_pair(&rfd);
	side_open(&r, rfd);
	assert_int_equal(bufferevent_enable(r.bev, EV_READ), 0);
	assert_true(run_until(has_error, &r, 5000));
	assert_int_equal(r.what, EVBUFFER_READ | EVBUFFER_ERROR);
	side_close(&r);
	close(rfd);

	make_reset_pair(&wfd);
	side_open(&w, wfd);
	memset(big, 'r', sizeof(big));
	assert_int_equal(bufferevent_write(w.bev, big, sizeof(big)), 0);
	assert_true(run_until(has_error, &w, 5000));
	assert_int_equal(w.what, EVBUFFER_WRITE | EVBUFFER_ERROR);
	assert_true(w.err == EPIPE || w.err == ECONNRESET);
	assert_int_equal(w.writes, 0);
	side_close(&w);
	close(wfd);
}

static int
freed(void *arg)
{
	return ((struct side *)arg)->freed;
}

static void
test_free_in_callbacks(void **state)
{
	struct side s;
	int fds[2], i;

	for (i = FREE_IN_READ; i <= FREE_IN_ERROR; i++) {
		tu_socketpair(fds);
		side_open(&s, fds[1]);
		s.free_in = i;
		/* With a watermark, so read pressure is in play too. */
		bufferevent_setwatermark(s.bev, EV_READ, 0, 2);
		assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
		if (i == FREE_IN_WRITE)
			assert_int_equal(bufferevent_write(s.bev, "w", 1), 0);
		assert_int_equal(write(fds[0], "abc", 3), 3);
		if (i == FREE_IN_ERROR) {
			/* Take the data in, so the EOF behind it is seen. */
			shutdown(fds[0], SHUT_WR);
			s.collect = 1;
		}
		assert_true(run_until(freed, &s, 5000));
		run_ready(3);
		side_close(&s);
		close(fds[0]);
		close(fds[1]);
	}
}

static void
test_setfd_and_setcb(void **state)
{
	struct side s, other;
	int a[2], b[2];

	tu_socketpair(a);
	tu_socketpair(b);
	side_open(&s, a[1]);
	memset(&other, 0, sizeof(other));
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);

	/* Move to another fd: the old one is no longer watched. */
	bufferevent_setfd(s.bev, b[1]);
	assert_int_equal(EVENT_FD(&s.bev->ev_read), b[1]);
	assert_ptr_equal(s.bev->ev_read.ev_base, tu_base);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(write(a[0], "old", 3), 3);
	assert_int_equal(write(b[0], "new", 3), 3);

	/* New callbacks and argument. */
	other.bev = s.bev;
	bufferevent_setcb(s.bev, side_readcb, side_writecb, side_errorcb,
	    &other);
	assert_ptr_equal(s.bev->cbarg, &other);
	assert_true(run_until(has_read, &other, 5000));
	assert_int_equal(s.reads, 0);
	assert_memory_equal(EVBUFFER_DATA(s.bev->input), "new", 3);
	assert_int_equal(pending_bytes(a[1]), 3);
	side_close(&s);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
test_priority(void **state)
{
	struct side s;
	int fds[2];

	assert_int_equal(event_base_priority_init(tu_base, 3), 0);
	tu_socketpair(fds);
	side_open(&s, fds[1]);
	assert_int_equal(bufferevent_priority_set(s.bev, 0), 0);
	assert_int_equal(s.bev->ev_read.ev_pri, 0);
	assert_int_equal(s.bev->ev_write.ev_pri, 0);
	assert_int_equal(bufferevent_priority_set(s.bev, 3), -1);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(write(fds[0], "p", 1), 1);
	assert_true(run_until(has_read, &s, 5000));
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

/* The 1.4 style: event_init(), no base_set, event_dispatch(). */
static void
legacy_readcb(struct bufferevent *bev, void *arg)
{
	*(int *)arg = 1;
	event_loopexit(NULL);
}

static void
test_global_base(void **state)
{
	struct event_base *global = event_init();
	struct bufferevent *bev;
	int fds[2], done = 0;

	assert_non_null(global);
	tu_socketpair(fds);
	bev = bufferevent_new(fds[1], legacy_readcb, NULL, NULL, &done);
	assert_non_null(bev);
	assert_int_equal(bufferevent_enable(bev, EV_READ), 0);
	assert_int_equal(write(fds[0], "g", 1), 1);
	assert_int_equal(event_dispatch(), 0);
	assert_int_equal(done, 1);
	bufferevent_free(bev);
	event_base_free(global);
	close(fds[0]);
	close(fds[1]);
}

/* A peer that sends one byte per tick, while ticks remain. */
struct drip {
	struct event ev;
	int fd, left;
	int64_t last; /* when the last byte went */
};

static void
drip_cb(int fd, short what, void *arg)
{
	struct drip *d = arg;
	struct timeval tv = { 0, 300000 };

	assert_int_equal(write(d->fd, "d", 1), 1);
	d->last = tu_now_usec();
	if (--d->left > 0)
		event_add(&d->ev, &tv);
}

static void
test_traffic_resets_read_timeout(void **state)
{
	struct side s;
	struct drip d;
	struct timeval tv = { 0, 300000 };
	int fds[2];
	int64_t start;

	tu_socketpair(fds);
	side_open(&s, fds[1]);
	s.collect = 1;
	bufferevent_settimeout(s.bev, 1, 0);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);

	/* A byte every 0.3 s for 2.4 s: slower than nothing, faster than
	 * the 1 s timeout, so the timeout never fires. */
	memset(&d, 0, sizeof(d));
	d.fd = fds[0];
	d.left = 8;
	evtimer_set(&d.ev, drip_cb, &d);
	event_base_set(tu_base, &d.ev);
	assert_int_equal(event_add(&d.ev, &tv), 0);
	start = tu_now_usec();
	assert_true(run_until(has_error, &s, 5000));
	/* It fired only once the peer fell silent, a second later. */
	assert_int_equal(d.left, 0);
	assert_int_equal(EVBUFFER_LENGTH(s.got), 8);
	assert_int_equal(s.what, EVBUFFER_READ | EVBUFFER_TIMEOUT);
	assert_int_equal(s.errors, 1);
	assert_true(tu_now_usec() - start >= 2400000);
	assert_true(tu_now_usec() - d.last >= 900000);
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

/* readcb turns reading off; writecb turns it back on. */
static void
toggle_readcb(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;

	s->reads++;
	assert_int_equal(bufferevent_disable(bev, EV_READ), 0);
	assert_int_equal(bufferevent_write(bev, "w", 1), 0);
}

static void
toggle_writecb(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;

	s->writes++;
	if (s->writes == 1) {
		/* Nothing new is read while reading is off. */
		assert_int_equal(EVBUFFER_LENGTH(bev->input), 1);
		assert_int_equal(bufferevent_enable(bev, EV_READ), 0);
	}
}

static void
test_enable_disable_in_callbacks(void **state)
{
	struct side s;
	int fds[2];

	tu_socketpair(fds);
	memset(&s, 0, sizeof(s));
	s.bev = bufferevent_new(fds[1], toggle_readcb, toggle_writecb,
	    side_errorcb, &s);
	assert_non_null(s.bev);
	assert_int_equal(bufferevent_base_set(tu_base, s.bev), 0);
	/* With a read timeout, which disabling must also cancel. */
	bufferevent_settimeout(s.bev, 1, 0);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(write(fds[0], "a", 1), 1);
	assert_true(run_until(has_read, &s, 5000));
	assert_int_equal(write(fds[0], "b", 1), 1);
	assert_false(
	    event_pending(&s.bev->ev_read, EV_READ | EV_TIMEOUT, NULL));
	assert_true(run_until(has_written, &s, 5000));
	/* Re-enabled from writecb: the second byte arrives. */
	assert_true(event_pending(&s.bev->ev_read, EV_READ, NULL));
	s.reads = 0;
	assert_true(run_until(has_read, &s, 5000));
	assert_int_equal(EVBUFFER_LENGTH(s.bev->input), 2);
	assert_int_equal(s.errors, 0);
	bufferevent_free(s.bev);
	close(fds[0]);
	close(fds[1]);
}

static void
test_free_with_write_pending(void **state)
{
	struct side s;
	int fds[2];
	char *data = calloc(1, 1024 * 1024);

	assert_non_null(data);
	tu_socketpair(fds);
	/* From outside the loop, with output queued and a timeout armed. */
	side_open(&s, fds[0]);
	bufferevent_settimeout(s.bev, 5, 5);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(bufferevent_write(s.bev, data, 1024 * 1024), 0);
	run_ready(2);
	assert_true(event_pending(&s.bev->ev_write, EV_WRITE, NULL));
	side_close(&s);
	run_ready(3);
	close(fds[0]);
	close(fds[1]);

	/* From readcb, while the write event is pending. */
	tu_socketpair(fds);
	side_open(&s, fds[1]);
	s.free_in = FREE_IN_READ;
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(bufferevent_write(s.bev, data, 1024 * 1024), 0);
	assert_int_equal(write(fds[0], "r", 1), 1);
	assert_true(run_until(freed, &s, 5000));
	run_ready(3);
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
	free(data);
}

static void
test_watermark_changes_while_paused(void **state)
{
	struct slow sl;
	int fds[2];

	tu_socketpair(fds);
	side_open(&sl.s, fds[1]);
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, 100);
	assert_int_equal(bufferevent_enable(sl.s.bev, EV_READ), 0);
	assert_int_equal(stuff(fds[0], 1000, 'w'), 1000);
	assert_true(run_until(slow_paused, &sl, 5000));
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 100);

	/* Lowered, or raised but still not above what is held: paused. */
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, 50);
	assert_false(event_pending(&sl.s.bev->ev_read, EV_READ, NULL));
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, 100);
	assert_false(event_pending(&sl.s.bev->ev_read, EV_READ, NULL));
	/* Changing only the write marks changes nothing for reading. */
	bufferevent_setwatermark(sl.s.bev, EV_WRITE, 0, 0);
	assert_false(event_pending(&sl.s.bev->ev_read, EV_READ, NULL));

	/* Raised while reading is disabled: it stays off... */
	assert_int_equal(bufferevent_disable(sl.s.bev, EV_READ), 0);
	bufferevent_setwatermark(sl.s.bev, EV_READ, 0, 300);
	assert_false(event_pending(&sl.s.bev->ev_read, EV_READ, NULL));
	run_ready(3);
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 100);
	/* ...until enabled, and then reads to the new mark. */
	assert_int_equal(bufferevent_enable(sl.s.bev, EV_READ), 0);
	sl.s.reads = 0;
	assert_true(run_until(slow_paused, &sl, 5000));
	assert_int_equal(EVBUFFER_LENGTH(sl.s.bev->input), 300);
	assert_int_equal(pending_bytes(fds[1]), 700);
	side_close(&sl.s);
	close(fds[0]);
	close(fds[1]);
}

static void
test_setfd_while_pending(void **state)
{
	struct side s;
	int a[2], b[2];
	char in[16];

	tu_socketpair(a);
	tu_socketpair(b);
	side_open(&s, a[1]);
	bufferevent_settimeout(s.bev, 1, 1);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ | EV_WRITE), 0);
	assert_int_equal(bufferevent_write(s.bev, "queued", 6), 0);
	assert_true(event_pending(&s.bev->ev_read, EV_READ, NULL));
	assert_true(event_pending(&s.bev->ev_write, EV_WRITE, NULL));

	/* Nothing stays armed on the old fd, timeouts included. */
	bufferevent_setfd(s.bev, b[1]);
	assert_false(event_pending(&s.bev->ev_read,
	    EV_READ | EV_WRITE | EV_TIMEOUT, NULL));
	assert_false(event_pending(&s.bev->ev_write,
	    EV_READ | EV_WRITE | EV_TIMEOUT, NULL));
	assert_int_equal(write(a[0], "old", 3), 3);
	run_ready(3);
	assert_int_equal(s.reads + s.errors, 0);
	assert_int_equal(pending_bytes(a[0]), 0);

	/* As in 1.4 the program re-enables; the queued data then goes to
	 * the new fd and reading uses it. */
	assert_int_equal(bufferevent_enable(s.bev, EV_READ | EV_WRITE), 0);
	assert_int_equal(write(b[0], "new", 3), 3);
	assert_true(run_until(has_read, &s, 5000));
	assert_true(run_until(has_written, &s, 5000));
	assert_memory_equal(EVBUFFER_DATA(s.bev->input), "new", 3);
	assert_int_equal(read(b[0], in, sizeof(in)), 6);
	assert_memory_equal(in, "queued", 6);
	assert_int_equal(pending_bytes(a[1]), 3);
	side_close(&s);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
test_base_set_after_enable(void **state)
{
	struct event_base *other = event_base_new();
	struct side s;
	int fds[2];

	assert_non_null(other);
	tu_socketpair(fds);
	side_open(&s, fds[1]);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);

	/* Pending events cannot move: refused, and nothing half moved. */
	assert_int_equal(bufferevent_base_set(other, s.bev), -1);
	assert_ptr_equal(s.bev->ev_base, tu_base);
	assert_ptr_equal(s.bev->ev_read.ev_base, tu_base);
	assert_ptr_equal(s.bev->ev_write.ev_base, tu_base);
	/* Only the write event pending: still refused as a whole. */
	assert_int_equal(bufferevent_disable(s.bev, EV_READ), 0);
	assert_int_equal(bufferevent_write(s.bev, "x", 1), 0);
	assert_int_equal(bufferevent_base_set(other, s.bev), -1);
	assert_ptr_equal(s.bev->ev_base, tu_base);
	assert_ptr_equal(s.bev->ev_read.ev_base, tu_base);
	assert_ptr_equal(s.bev->ev_write.ev_base, tu_base);

	/* It keeps working on its base. */
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	assert_int_equal(write(fds[0], "y", 1), 1);
	assert_true(run_until(has_read, &s, 5000));
	assert_true(run_until(has_written, &s, 5000));

	/* Once nothing is pending, it may move. */
	assert_int_equal(bufferevent_disable(s.bev, EV_READ | EV_WRITE), 0);
	assert_int_equal(bufferevent_base_set(other, s.bev), 0);
	assert_ptr_equal(s.bev->ev_read.ev_base, other);
	assert_ptr_equal(s.bev->ev_write.ev_base, other);
	side_close(&s);
	event_base_free(other);
	close(fds[0]);
	close(fds[1]);
}

/*
 * Woken with nothing to read, or with no room to write (another reader
 * got there first, or the wake-up was spurious): the bufferevent waits
 * again instead of reporting an error, and later traffic goes through.
 */
static void
test_spurious_wakeups(void **state)
{
	struct side s;
	int fds[2];
	char buf[65536];
	size_t stuffed;

	tu_socketpair(fds);
	side_open(&s, fds[0]);
	assert_int_equal(bufferevent_enable(s.bev, EV_READ), 0);
	event_active(&s.bev->ev_read, EV_READ, 1);
	run_ready(2);
	assert_int_equal(s.errors + s.reads, 0);
	assert_true(event_pending(&s.bev->ev_read, EV_READ, NULL));
	assert_int_equal(write(fds[1], "r", 1), 1);
	assert_true(run_until(has_read, &s, 2000));

	/* The socket is full: the write has to wait for the peer. */
	stuffed = stuff(fds[0], 64 * 1024 * 1024, 'f');
	assert_int_equal(bufferevent_write(s.bev, "w", 1), 0);
	/* A timeout set now applies to the write already pending. */
	bufferevent_settimeout(s.bev, 0, 5);
	assert_true(event_pending(&s.bev->ev_write, EV_TIMEOUT, NULL));
	event_active(&s.bev->ev_write, EV_WRITE, 1);
	run_ready(2);
	assert_int_equal(s.errors + s.writes, 0);
	assert_int_equal(EVBUFFER_LENGTH(s.bev->output), 1);
	while (stuffed > 0) {
		ssize_t n = read(fds[1], buf, sizeof(buf));
		if (n > 0)
			stuffed -= (size_t)n;
		else
			run_ready(1);
	}
	assert_true(run_until(has_written, &s, 2000));
	assert_int_equal(EVBUFFER_LENGTH(s.bev->output), 0);
	assert_int_equal(read(fds[1], buf, 1), 1);
	assert_int_equal(buf[0], 'w');
	side_close(&s);
	close(fds[0]);
	close(fds[1]);
}

/* Without a descriptor there is nothing to enable. */
static void
test_enable_without_fd(void **state)
{
	struct bufferevent *bev;

	bev = bufferevent_new(-1, NULL, NULL, NULL, NULL);
	assert_non_null(bev);
	assert_int_equal(bufferevent_base_set(tu_base, bev), 0);
	assert_int_equal(bufferevent_enable(bev, EV_READ), -1);
	assert_int_equal(bufferevent_enable(bev, EV_WRITE), -1);
	bufferevent_free(bev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) TU_TEST(f)
		T(test_new_defaults),
		T(test_read),
		T(test_write),
		T(test_enable_write_calls_writecb),
		T(test_disable_and_enable),
		T(test_megabyte_each_way),
		T(test_read_low_watermark),
		T(test_read_high_watermark),
		T(test_lowered_high_watermark),
		T(test_flood_is_bounded),
		T(test_write_low_watermark),
		T(test_timeouts),
		T(test_eof),
		T(test_eof_without_errorcb),
		T(test_peer_reset),
		T(test_free_in_callbacks),
		T(test_setfd_and_setcb),
		T(test_priority),
		T(test_global_base),
		T(test_traffic_resets_read_timeout),
		T(test_enable_disable_in_callbacks),
		T(test_free_with_write_pending),
		T(test_watermark_changes_while_paused),
		T(test_setfd_while_pending),
		T(test_base_set_after_enable),
		T(test_spurious_wakeups),
		T(test_enable_without_fd),
#undef T
	};

	return TU_RUN_PER_BACKEND("bufferevent", tests);
}
