/*
 * test_dns_tcp.c: the resolver's TCP fallback (RFC 7766).
 *
 * A raw UDP nameserver answers with TC set; a raw TCP nameserver on the
 * same port then gets the question again, framed by a two-byte length,
 * and answers it in full, or misbehaves: accepts and never answers,
 * closes in the middle of a length, sends a length of 0, or a length of
 * 65,535 with less data.  Each misbehaviour is a clean error for that
 * request, the connection is closed (the peer sees EOF: no descriptor
 * is kept), and the resolver goes on working.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#include "evdns-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

enum mode {
	ANSWER,
	ANSWER_ONE,
	SILENT,
	CLOSE_MID,
	ZERO_LEN,
	SHORT_CLOSE,
	SHORT_OPEN
};

/* A TCP nameserver serving one connection at a time. */
struct rawtcp {
	int lfd, fd;
	struct event lev, ev;
	enum mode mode;
	int nrecords; /* A records per answer */
	int accepts, queries, eofs;
	uint8_t in[4096];
	size_t inlen;
};

static void
send_all(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void
tcp_conn_close(struct rawtcp *t)
{
	event_del(&t->ev);
	close(t->fd);
	t->fd = -1;
}

/* Answer the query q as mode says. */
static void
tcp_answer(struct rawtcp *t, const uint8_t *q, size_t qlen)
{
	static const uint8_t zero[2] = { 0, 0 }, big[2] = { 0xff, 0xff };
	uint8_t junk[100], hdr[2];
	struct pkt p;
	int i;

	t->queries++;
	switch (t->mode) {
	case ANSWER:
		reply_start(&p, q, qlen, 0x8180, (unsigned)t->nrecords);
		for (i = 0; i < t->nrecords; i++)
			add_a(&p, 10, 0, (unsigned)i / 256, (unsigned)i % 256);
		hdr[0] = (uint8_t)(p.n >> 8);
		hdr[1] = (uint8_t)p.n;
		send_all(t->fd, hdr, 2);
		send_all(t->fd, p.b, p.n);
		break;
	case ANSWER_ONE:
		/* As dnsmasq after 100 queries: answer, then close with
		 * the rest unanswered. */
		reply_start(&p, q, qlen, 0x8180, 1);
		add_a(&p, 10, 0, 0, (unsigned)t->queries);
		hdr[0] = (uint8_t)(p.n >> 8);
		hdr[1] = (uint8_t)p.n;
		send_all(t->fd, hdr, 2);
		send_all(t->fd, p.b, p.n);
		tcp_conn_close(t);
		break;
	case SILENT: break;
	case CLOSE_MID:
		send_all(t->fd, big, 1);
		tcp_conn_close(t);
		break;
	case ZERO_LEN: send_all(t->fd, zero, 2); break;
	case SHORT_CLOSE:
	case SHORT_OPEN:
		memset(junk, 0x42, sizeof(junk));
		send_all(t->fd, big, 2);
		send_all(t->fd, junk, sizeof(junk));
		if (t->mode == SHORT_CLOSE)
			tcp_conn_close(t);
		break;
	}
}

static void
tcp_read_cb(int fd, short what, void *arg)
{
	struct rawtcp *t = arg;
	ssize_t r;
	size_t n;

	r = read(fd, t->in + t->inlen, sizeof(t->in) - t->inlen);
	if (r <= 0) {
		t->eofs++;
		tcp_conn_close(t);
		return;
	}
	t->inlen += (size_t)r;
	while (t->fd >= 0 && t->inlen >= 2) {
		n = ((size_t)t->in[0] << 8) | t->in[1];
		assert_true(n >= 12);
		if (t->inlen < n + 2)
			break;
		tcp_answer(t, t->in + 2, n);
		memmove(t->in, t->in + 2 + n, t->inlen - 2 - n);
		t->inlen -= 2 + n;
	}
}

static void
tcp_accept_cb(int fd, short what, void *arg)
{
	struct rawtcp *t = arg;
	int c;

	if ((c = accept(fd, NULL, NULL)) < 0)
		return;
	if (t->fd >= 0)
		tcp_conn_close(t); /* one at a time */
	t->accepts++;
	t->fd = c;
	t->inlen = 0;
	event_set(&t->ev, c, EV_READ | EV_PERSIST, tcp_read_cb, t);
	event_add(&t->ev, NULL);
}

/* A raw UDP nameserver and a TCP one on its port; added as nameserver. */
static void
servers_start(struct rawns *ns, struct rawtcp *t, enum mode mode)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->mode = mode;
	t->nrecords = 40;
	rawns_start_tcp(ns, &t->lfd);
	event_set(&t->lev, t->lfd, EV_READ | EV_PERSIST, tcp_accept_cb, t);
	event_add(&t->lev, NULL);
	add_ns_port(ns->port);
	dns_option("tcp-idle-timeout:", "0.1");
}

static void
servers_stop(struct rawns *ns, struct rawtcp *t)
{
	if (t->fd >= 0)
		tcp_conn_close(t);
	event_del(&t->lev);
	close(t->lfd);
	rawns_stop(ns);
}

/* Wait for the UDP query number n and answer it with TC and no records. */
static void
truncate_query(struct rawns *ns, int n)
{
	struct pkt p;

	assert_true(run_until(&ns->got, n, 5000));
	reply_start(&p, ns->q, ns->qlen, 0x8380, 0);
	send_from(ns->fd, ns, &p);
}

static void
test_tcp_fallback(void **state)
{
	struct rawns ns;
	struct rawtcp t;
	struct result r;
	int i;

	servers_start(&ns, &t, ANSWER);
	for (i = 1; i <= 2; i++) {
		resolve4("big.example.com", 0, &r);
		truncate_query(&ns, i);
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
		/* 40 records, well over 512 bytes; the callback takes 32. */
		assert_int_equal(r.count, EV__DNS_MAX_ADDRS);
		assert_ipv4(&r, 31, "10.0.0.31");
		assert_int_equal(t.queries, i);
	}
	/* The second question went over the same connection, which is
	 * closed once idle. */
	assert_int_equal(t.accepts, 1);
	assert_true(run_until(&t.eofs, 1, 5000));
	servers_stop(&ns, &t);
}

static void
test_tcp_fallback_off(void **state)
{
	struct rawns ns;
	struct rawtcp t;
	struct result r;

	servers_start(&ns, &t, ANSWER);
	dns_option("tcp-fallback:", "0");
	resolve4("big.example.com", 0, &r);
	truncate_query(&ns, 1);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_TRUNCATED);
	assert_int_equal(t.accepts, 0);
	servers_stop(&ns, &t);
}

/*
 * A server that closes a connection after one answer, with queries still
 * on it: they are asked again on a new connection, not counted as tries
 * (one try each is all they have here), and all succeed.
 */
static void
test_tcp_server_closes(void **state)
{
	struct rawns ns;
	struct rawtcp t;
	struct result r[3];
	int i;

	servers_start(&ns, &t, ANSWER_ONE);
	dns_option("attempts:", "1");
	/* Not accepting yet, so the three queries meet on one connection. */
	event_del(&t.lev);
	for (i = 0; i < 3; i++) {
		resolve4("many.example.com", 0, &r[i]);
		truncate_query(&ns, i + 1);
	}
	event_add(&t.lev, NULL);
	for (i = 0; i < 3; i++) {
		assert_true(run_until(&r[i].calls, 1, 5000));
		assert_int_equal(r[i].err, DNS_ERR_NONE);
	}
	assert_int_equal(t.queries, t.accepts);
	assert_true(t.accepts >= 2);
	assert_int_equal(nlog_down, 0);
	servers_stop(&ns, &t);
}

/*
 * "options use-vc" in resolv.conf (or tcp-only:1): every query goes over
 * TCP, several on one connection, none over UDP.
 */
static void
test_tcp_only(void **state)
{
	char path[] = "/tmp/test_dns_tcp_confXXXXXX";
	struct rawns ns;
	struct rawtcp t;
	struct result r[2];
	int fd, i;

	memset(&t, 0, sizeof(t));
	t.fd = -1;
	t.mode = ANSWER;
	t.nrecords = 2;
	rawns_start_tcp(&ns, &t.lfd);
	event_set(&t.lev, t.lfd, EV_READ | EV_PERSIST, tcp_accept_cb, &t);
	event_add(&t.lev, NULL);
	assert_true((fd = mkstemp(path)) >= 0);
	dprintf(fd, "nameserver 127.0.0.1:%u\noptions use-vc\n", ns.port);
	close(fd);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 0);
	unlink(path);
	for (i = 0; i < 2; i++)
		resolve4("v.example.com", 0, &r[i]);
	for (i = 0; i < 2; i++) {
		assert_true(run_until(&r[i].calls, 1, 5000));
		assert_int_equal(r[i].err, DNS_ERR_NONE);
		assert_int_equal(r[i].count, 2);
	}
	assert_int_equal(ns.got, 0);
	assert_int_equal(t.queries, 2);
	assert_int_equal(t.accepts, 1);
	servers_stop(&ns, &t);
}

/* One misbehaving TCP server: the request fails with want, cleanly. */
static void
tcp_failure(enum mode mode, int want)
{
	struct rawns ns;
	struct rawtcp t;
	struct result r;
	struct pkt p;

	servers_start(&ns, &t, mode);
	fast_options();
	resolve4("big.example.com", 0, &r);
	truncate_query(&ns, 1);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, want);
	assert_int_equal(r.calls, 1);
	assert_true(t.queries >= 1);
	/* The resolver let go of the connection: the server sees EOF. */
	if (t.fd >= 0)
		assert_true(run_until(&t.eofs, 1, 5000));
	/* And goes on working. */
	resolve4("small.example.com", 0, &r);
	assert_true(run_until(&ns.got, 2, 5000));
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	add_a(&p, 10, 9, 8, 7);
	send_from(ns.fd, &ns, &p);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.9.8.7");
	servers_stop(&ns, &t);
}

static void
test_tcp_silent(void **state)
{
	tcp_failure(SILENT, DNS_ERR_TIMEOUT);
}

static void
test_tcp_close_mid_length(void **state)
{
	tcp_failure(CLOSE_MID, DNS_ERR_TRUNCATED);
}

static void
test_tcp_zero_length(void **state)
{
	tcp_failure(ZERO_LEN, DNS_ERR_TRUNCATED);
}

static void
test_tcp_short_then_close(void **state)
{
	tcp_failure(SHORT_CLOSE, DNS_ERR_TRUNCATED);
}

static void
test_tcp_short_then_silent(void **state)
{
	tcp_failure(SHORT_OPEN, DNS_ERR_TIMEOUT);
}

/* No TCP server at all: connection refused, the truncation reported. */
static void
test_tcp_refused(void **state)
{
	struct rawns ns;
	struct result r;
	int lfd;

	rawns_start_tcp(&ns, &lfd);
	close(lfd);
	add_ns_port(ns.port);
	resolve4("big.example.com", 0, &r);
	truncate_query(&ns, 1);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_TRUNCATED);
	rawns_stop(&ns);
}

/* Shutdown with a request waiting on TCP: failed, connection closed. */
static void
test_tcp_shutdown(void **state)
{
	struct rawns ns;
	struct rawtcp t;
	struct result r;

	servers_start(&ns, &t, SILENT);
	resolve4("big.example.com", 0, &r);
	truncate_query(&ns, 1);
	assert_true(run_until(&t.queries, 1, 5000));
	evdns_shutdown(1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, DNS_ERR_SHUTDOWN);
	assert_true(run_until(&t.eofs, 1, 5000));
	servers_stop(&ns, &t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_tcp_fallback),
		DNS_TEST(test_tcp_fallback_off),
		DNS_TEST(test_tcp_server_closes),
		DNS_TEST(test_tcp_only),
		DNS_TEST(test_tcp_silent),
		DNS_TEST(test_tcp_close_mid_length),
		DNS_TEST(test_tcp_zero_length),
		DNS_TEST(test_tcp_short_then_close),
		DNS_TEST(test_tcp_short_then_silent),
		DNS_TEST(test_tcp_refused),
		DNS_TEST(test_tcp_shutdown),
	};

	return TU_RUN_PER_BACKEND("dns_tcp", tests);
}
