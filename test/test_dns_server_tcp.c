/*
 * test_dns_server_tcp.c: the server port on a listening TCP socket, and
 * our resolver and server together for answers that need more than a
 * datagram.
 *
 * A test client writes framed queries (several on one connection, in one
 * write) and reads framed replies through the loop.  The server's bounds
 * are checked: connections per port, requests per connection with the
 * program, idle connections, malformed frames.  End to end, a name with
 * 120 A records (over 1232 bytes) is truncated over UDP and fetched over
 * TCP by the resolver.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#include "evdns-internal.h"
#include "evdns-server-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

/* A TCP client reading framed replies through the loop. */
struct client {
	int fd;
	struct event ev;
	uint8_t in[65536 + 2];
	size_t inlen;
	int replies, eof;
	uint16_t ids[32];
	int tc[32], ancount[32];
};

static void
client_cb(int fd, short what, void *arg)
{
	struct client *c = arg;
	struct ev__dns_header h;
	ssize_t r;
	size_t n;

	r = read(fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (r <= 0) {
		if (r < 0 && errno == EAGAIN)
			return;
		c->eof = 1;
		event_del(&c->ev);
		return;
	}
	c->inlen += (size_t)r;
	while (c->inlen >= 2) {
		n = ((size_t)c->in[0] << 8) | c->in[1];
		if (c->inlen < n + 2)
			break;
		assert_int_equal(ev__dns_header_parse(c->in + 2, n, &h), 0);
		if (c->replies < 32) {
			c->ids[c->replies] = h.id;
			c->tc[c->replies] = (h.flags & EV__DNS_TC) != 0;
			c->ancount[c->replies] = h.ancount;
		}
		c->replies++;
		memmove(c->in, c->in + n + 2, c->inlen - n - 2);
		c->inlen -= n + 2;
	}
}

static void
client_start(struct client *c, unsigned short port)
{
	memset(c, 0, sizeof(*c));
	c->fd = tu_connect_loopback(port);
	event_set(&c->ev, c->fd, EV_READ | EV_PERSIST, client_cb, c);
	event_add(&c->ev, NULL);
}

static void
client_stop(struct client *c)
{
	event_del(&c->ev);
	close(c->fd);
}

/* Write n framed queries for name (IDs 100, 101, ...) in one write. */
static void
client_ask(struct client *c, const char *name, int n)
{
	uint8_t buf[4096], q[512];
	size_t len, off = 0;
	int i;

	for (i = 0; i < n; i++) {
		len = query(q, sizeof(q), name, EVDNS_TYPE_A);
		q[0] = 0;
		q[1] = (uint8_t)(100 + i);
		assert_true(off + len + 2 <= sizeof(buf));
		buf[off++] = (uint8_t)(len >> 8);
		buf[off++] = (uint8_t)len;
		memcpy(buf + off, q, len);
		off += len;
	}
	assert_int_equal(write(c->fd, buf, off), (ssize_t)off);
}

static void
test_server_tcp_queries(void **state)
{
	struct tserver ts;
	struct client c;
	int i;

	tserver_start_tcp(&ts);
	client_start(&c, ts.portnum);
	client_ask(&c, "huge.example.com", 3);
	assert_true(run_until(&c.replies, 3, 5000));
	for (i = 0; i < 3; i++) {
		/* All 120 records: no truncation over TCP. */
		assert_int_equal(c.ids[i], 100 + i);
		assert_int_equal(c.tc[i], 0);
		assert_int_equal(c.ancount[i], 120);
	}
	assert_int_equal(ts.nreq, 3);
	/* The address the requests came from is the client's. */
	assert_int_equal(ts.from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	client_ask(&c, "a.example.com", 1);
	assert_true(run_until(&c.replies, 4, 5000));
	assert_int_equal(c.ancount[3], 2);
	client_stop(&c);
	evdns_close_server_port(ts.port);
	evdns_close_server_port(ts.tport);
}

/* Our resolver and our server: TC over UDP, the answer over TCP. */
static void
test_server_tcp_end_to_end(void **state)
{
	struct tserver ts;
	struct result r;
	int i;

	tserver_start_tcp(&ts);
	add_ns_port(ts.portnum);
	for (i = 0; i < 2; i++) {
		resolve4("huge.example.com", 0, &r);
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
		assert_int_equal(r.count, EV__DNS_MAX_ADDRS);
		assert_ipv4(&r, 5, "10.2.0.5");
	}
	/* Each asked over UDP first, then over TCP. */
	assert_int_equal(ts.nreq, 4);
	evdns_close_server_port(ts.port);
	evdns_close_server_port(ts.tport);
}

/* A frame too short for a header closes the connection. */
static void
test_server_tcp_malformed(void **state)
{
	static const uint8_t bad[7] = { 0, 5, 1, 2, 3, 4, 5 };
	struct tserver ts;
	struct client c;

	tserver_start_tcp(&ts);
	client_start(&c, ts.portnum);
	assert_int_equal(write(c.fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
	assert_true(run_until(&c.eof, 1, 5000));
	assert_int_equal(ts.nreq, 0);
	client_stop(&c);
	evdns_close_server_port(ts.port);
	evdns_close_server_port(ts.tport);
}

/* An idle connection is closed; one with a request out is not. */
static void
test_server_tcp_idle(void **state)
{
	struct timeval saved = ev__dns_server_idle;
	struct tserver ts;
	struct client c;

	ev__dns_server_idle.tv_sec = 0;
	ev__dns_server_idle.tv_usec = 100000;
	tserver_start_tcp(&ts);
	ts.defer = 1;
	client_start(&c, ts.portnum);
	client_ask(&c, "a.example.com", 1);
	assert_true(run_until(&ts.nheld, 1, 5000));
	/* Held by the program well past the idle time: still open. */
	assert_false(run_until(&c.eof, 1, 300));
	tserver_answer(ts.held[0], ts.held[0]->questions[0]);
	assert_true(run_until(&c.replies, 1, 5000));
	assert_true(run_until(&c.eof, 1, 5000));
	client_stop(&c);
	evdns_close_server_port(ts.port);
	evdns_close_server_port(ts.tport);
	ev__dns_server_idle = saved;
}

static struct evdns_server_request *held[64];
static int nheld;

static void
hold_cb(struct evdns_server_request *req, void *arg)
{
	assert_true(nheld < 64);
	held[nheld++] = req;
}

/*
 * At most EV__DNS_SERVER_MAX_PENDING requests of one connection are with
 * the program; the rest wait in the connection until one is answered.
 */
static void
test_server_tcp_pending_cap(void **state)
{
	struct evdns_server_port *port;
	struct client c;
	unsigned short pnum;
	int fd, i;

	nheld = 0;
	fd = tu_listen_loopback(&pnum);
	assert_non_null(port = evdns_add_server_port(fd, 1, hold_cb, NULL));
	client_start(&c, pnum);
	client_ask(&c, "a.example.com", 20);
	assert_false(run_until(&nheld, EV__DNS_SERVER_MAX_PENDING + 1, 300));
	assert_int_equal(nheld, EV__DNS_SERVER_MAX_PENDING);
	for (i = 0; i < 4; i++)
		assert_int_equal(evdns_server_request_respond(held[i], 0), 0);
	assert_true(run_until(&nheld, 20, 5000));
	assert_true(run_until(&c.replies, 4, 5000));
	for (i = 4; i < 20; i++)
		assert_int_equal(evdns_server_request_drop(held[i]), 0);
	/* The port closes with the connection still open: no leak. */
	evdns_close_server_port(port);
	assert_true(run_until(&c.eof, 1, 5000));
	client_stop(&c);
}

/* Connections past EV__DNS_SERVER_MAX_CONNS are closed at once. */
static void
test_server_tcp_conn_cap(void **state)
{
	struct evdns_server_port *port;
	struct client *c;
	unsigned short pnum;
	int fd, i, n = EV__DNS_SERVER_MAX_CONNS + 1;

	nheld = 0;
	assert_non_null(c = test_calloc((size_t)n, sizeof(*c)));
	fd = tu_listen_loopback(&pnum);
	assert_non_null(port = evdns_add_server_port(fd, 1, hold_cb, NULL));
	for (i = 0; i < n; i++)
		client_start(&c[i], pnum);
	assert_true(run_until(&c[n - 1].eof, 1, 5000));
	for (i = 0; i < n - 1; i++)
		assert_int_equal(c[i].eof, 0);
	/* The others are served. */
	client_ask(&c[0], "a.example.com", 1);
	assert_true(run_until(&nheld, 1, 5000));
	assert_int_equal(evdns_server_request_respond(held[0], 0), 0);
	assert_true(run_until(&c[0].replies, 1, 5000));
	evdns_close_server_port(port);
	for (i = 0; i < n; i++)
		client_stop(&c[i]);
	test_free(c);
}

/* A request answered after its connection went away is dropped. */
static void
test_server_tcp_client_gone(void **state)
{
	struct tserver ts;
	struct client c;

	tserver_start_tcp(&ts);
	ts.defer = 1;
	client_start(&c, ts.portnum);
	client_ask(&c, "a.example.com", 1);
	assert_true(run_until(&ts.nheld, 1, 5000));
	client_stop(&c);
	/* Let the server see the EOF. */
	run_until(&c.eof, 1, 100);
	tserver_answer(ts.held[0], ts.held[0]->questions[0]);
	evdns_close_server_port(ts.port);
	evdns_close_server_port(ts.tport);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_server_tcp_queries),
		DNS_TEST(test_server_tcp_end_to_end),
		DNS_TEST(test_server_tcp_malformed),
		DNS_TEST(test_server_tcp_idle),
		DNS_TEST(test_server_tcp_pending_cap),
		DNS_TEST(test_server_tcp_conn_cap),
		DNS_TEST(test_server_tcp_client_gone),
	};

	return TU_RUN_PER_BACKEND("dns_server_tcp", tests);
}
