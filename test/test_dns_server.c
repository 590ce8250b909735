/*
 * test_dns_server.c: the DNS server port of evdns-server.c.
 *
 * Requests answered at once or later, replies built with compression and
 * truncation, records added through every add_*_reply call, requests
 * with several questions, malformed requests, arguments a program gets
 * wrong, ICMP errors reported on the socket, a socketpair, and a socket
 * whose send buffer is full: replies wait in the port and all go out
 * once it drains.  Clients are plain sockets (and the resolver) on
 * 127.0.0.1 or AF_UNIX datagram sockets.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
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

static void
test_server_deferred_and_close(void **state)
{
	struct tserver ts;
	struct result r[2];
	struct sockaddr_in sin;

	tserver_start(&ts);
	ts.defer = 1;
	add_ns_port(ts.portnum);
	resolve4("a.example.com", 0, &r[0]);
	resolve4("nx.example.com", 0, &r[1]);
	assert_true(run_until(&ts.nheld, 2, 5000));
	assert_int_equal(evdns_server_request_get_requesting_addr(ts.held[0],
			     (struct sockaddr *)&sin, 4),
	    -1);
	/* Closing the port keeps it until held requests are finished. */
	evdns_close_server_port(ts.port);
	tserver_answer(ts.held[0], ts.held[0]->questions[0]);
	assert_int_equal(evdns_server_request_drop(ts.held[1]), 0);
	assert_true(run_until(&r[0].calls, 1, 5000));
	assert_int_equal(r[0].err, DNS_ERR_NONE);
	assert_int_equal(r[1].calls, 0);
}

/* Send a query to a server port from a plain socket; the reply's length. */
static int
raw_query(int fd, unsigned short port, const char *name, uint8_t *reply,
    size_t cap, int *counter)
{
	struct sockaddr_in sin;
	uint8_t q[512];
	int len;

	len = ev__dns_query_build(q, sizeof(q), 0x4242, name, EVDNS_TYPE_A);
	assert_true(len > 0);
	loopback_addr(&sin, port);
	assert_int_equal(sendto(fd, q, (size_t)len, 0, (struct sockaddr *)&sin,
			     sizeof(sin)),
	    len);
	assert_true(run_until(counter, 1, 5000));
	/* The server answered from its callback: the reply is here. */
	return (int)recv(fd, reply, cap, MSG_DONTWAIT);
}

static void
test_server_compression(void **state)
{
	struct tserver ts;
	uint8_t reply[600];
	unsigned short cport;
	int fd, len;

	tserver_start(&ts);
	fd = udp_socket(&cport);
	/* Question at 12 (a.example.com: 15 bytes + 4); the answers name it
	 * with a 2-byte pointer to offset 12. */
	len = raw_query(fd, ts.portnum, "a.example.com", reply, sizeof(reply),
	    &ts.nreq);
	assert_int_equal(len, 12 + 19 + 2 * (2 + 10 + 4));
	assert_int_equal(reply[0], 0x42);
	assert_int_equal(reply[2] & 0x80, 0x80); /* QR */
	assert_int_equal(reply[2] & 0x01, 0x01); /* RD kept */
	assert_int_equal(reply[7], 2);		 /* ANCOUNT */
	assert_int_equal(reply[31], 0xc0);
	assert_int_equal(reply[32], 12);
	assert_int_equal(reply[47], 0xc0);
	/* CNAME chain: targets end in pointers to names already written. */
	ts.nreq = 0;
	len = raw_query(fd, ts.portnum, "alias.example.com", reply,
	    sizeof(reply), &ts.nreq);
	/* q 19+4; cname: ptr+10 + "alias2"+ptr(8)... */
	assert_true(len > 0 && len < 12 + 23 + 2 * 20 + 40);
	assert_int_equal(reply[7], 4);
	/* Truncation sets TC. */
	ts.nreq = 0;
	len = raw_query(fd, ts.portnum, "big.example.com", reply, sizeof(reply),
	    &ts.nreq);
	assert_true(len <= 512);
	assert_int_equal(reply[2] & 0x02, 0x02);
	close(fd);
	evdns_close_server_port(ts.port);
}

static int nreq_seen;

static void
add_reply_cb(struct evdns_server_request *req, void *arg)
{
	static const char txt[] = "\x05hello";
	struct in_addr in;

	nreq_seen++;
	inet_pton(AF_INET, "10.0.0.1", &in);
	assert_int_equal(evdns_server_request_add_reply(req,
			     EVDNS_ANSWER_SECTION, req->questions[0]->name,
			     EVDNS_TYPE_TXT, EVDNS_CLASS_INET, 5, 6, 0, txt),
	    0);
	assert_int_equal(evdns_server_request_add_reply(req,
			     EVDNS_AUTHORITY_SECTION, "example.com",
			     EVDNS_TYPE_NS, EVDNS_CLASS_INET, 5, -1, 1,
			     "ns.example.com"),
	    0);
	assert_int_equal(evdns_server_request_add_ptr_reply(req, &in, NULL,
			     "x.example.com", 5),
	    0);
	/* Bad arguments are refused. */
	assert_int_equal(evdns_server_request_add_reply(req, 3, "x",
			     EVDNS_TYPE_A, EVDNS_CLASS_INET, 5, 4, 0, "abcd"),
	    -1);
	assert_int_equal(evdns_server_request_add_reply(req,
			     EVDNS_ANSWER_SECTION, "a..b", EVDNS_TYPE_A,
			     EVDNS_CLASS_INET, 5, 4, 0, "abcd"),
	    -1);
	assert_int_equal(evdns_server_request_add_a_reply(req, "x", -1, NULL,
			     5),
	    -1);
	req->flags |= EV__DNS_AA;
	assert_int_equal(evdns_server_request_respond(req, 0), 0);
}

static void
test_server_add_reply(void **state)
{
	struct evdns_server_port *port;
	struct ev__dns_reply r;
	uint8_t reply[600];
	unsigned short sport, cport;
	int fd, len;

	port = evdns_add_server_port(udp_socket(&sport), 0, add_reply_cb, NULL);
	assert_non_null(port);
	assert_null(evdns_add_server_port(0, 1, add_reply_cb, NULL));
	fd = udp_socket(&cport);
	nreq_seen = 0;
	len = raw_query(fd, sport, "t.example.com", reply, sizeof(reply),
	    &nreq_seen);
	assert_true(len > 12);
	assert_int_equal(ev__dns_reply_parse(reply, (size_t)len, &r), 0);
	assert_string_equal(r.qname, "t.example.com");
	assert_int_equal(r.hdr.ancount, 2);
	assert_int_equal(r.hdr.nscount, 1);
	assert_true(r.hdr.flags & EV__DNS_AA);
	close(fd);
	evdns_close_server_port(port);
}

static int nserved, respond_res;

static void
server_cb(struct evdns_server_request *req, void *arg)
{
	nserved++;
	respond_res = evdns_server_request_respond(req, DNS_ERR_NONE);
	if (respond_res != 0)
		evdns_server_request_drop(req);
}

static void
test_server_many_questions(void **state)
{
	struct evdns_server_port *port;
	struct pkt p;
	uint8_t label[64], reply[600];
	unsigned short sport, cport;
	struct sockaddr_in sin;
	int sfd, cfd, i, q;
	ssize_t r;

	nserved = 0;
	sfd = udp_socket(&sport);
	cfd = udp_socket(&cport);
	port = evdns_add_server_port(sfd, 0, server_cb, NULL);
	assert_non_null(port);
	/* Three questions of 250 bytes, and qdcount 0. */
	p.n = 0;
	pbytes(&p, "\1\2\0\0\0\3\0\0\0\0\0\0", 12);
	memset(label, 'q', sizeof(label));
	for (q = 0; q < 3; q++) {
		for (i = 0; i < 3; i++) {
			label[0] = 63;
			label[1] = (uint8_t)('a' + q);
			pbytes(&p, label, 64);
		}
		label[0] = 57;
		pbytes(&p, label, 58);
		p8(&p, 0);
		p16(&p, EVDNS_TYPE_A);
		p16(&p, EVDNS_CLASS_INET);
	}
	loopback_addr(&sin, sport);
	assert_int_equal(sendto(cfd, p.b, p.n, 0, (struct sockaddr *)&sin,
			     sizeof(sin)),
	    (ssize_t)p.n);
	assert_true(run_until(&nserved, 1, 5000));
	assert_int_equal(respond_res, 0);
	r = recv(cfd, reply, sizeof(reply), MSG_DONTWAIT);
	assert_int_equal(r, 12);
	assert_true(reply[2] & 0x82); /* QR, TC */
	p.b[5] = 0;
	p.n = 12;
	assert_int_equal(sendto(cfd, p.b, p.n, 0, (struct sockaddr *)&sin,
			     sizeof(sin)),
	    12);
	assert_true(run_until(&nserved, 2, 5000));
	assert_int_equal(respond_res, 0);
	assert_int_equal(recv(cfd, reply, sizeof(reply), MSG_DONTWAIT), 12);
	evdns_close_server_port(port);
	close(cfd);
}

/* ---- malformed requests and wrong arguments ---- */

/* The address the callbacks below answer with: 10.0.0.7. */
static uint8_t addr7[4] = { 10, 0, 0, 7 };

static int nlogged_malformed;

static void
count_malformed(int warn, const char *msg)
{
	if (strstr(msg, "malformed request") != NULL)
		nlogged_malformed++;
}

/* Malformed datagrams are dropped and logged; the next query is served. */
static void
test_server_malformed_request(void **state)
{
	/* Too short; a reply; a question name pointing at itself. */
	static const uint8_t bad[][14] = {
		{ 0, 1, 0, 0 },
		{ 0, 2, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0 },
		{ 0, 3, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12 },
	};
	static const size_t badlen[] = { 4, 12, 14 };
	struct evdns_server_port *port;
	struct sockaddr_in sin;
	uint8_t reply[600];
	unsigned short sport, cport;
	int cfd, sfd;
	size_t i;

	nserved = 0;
	nlogged_malformed = 0;
	evdns_set_log_fn(count_malformed);
	sfd = udp_socket(&sport);
	cfd = udp_socket(&cport);
	port = evdns_add_server_port(sfd, 0, server_cb, NULL);
	assert_non_null(port);
	loopback_addr(&sin, sport);
	for (i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++)
		assert_int_equal(sendto(cfd, bad[i], badlen[i], 0,
				     (struct sockaddr *)&sin, sizeof(sin)),
		    (ssize_t)badlen[i]);
	assert_true(raw_query(cfd, sport, "ok.example.com", reply,
			sizeof(reply), &nserved) > 12);
	assert_int_equal(nserved, 1);
	assert_int_equal(nlogged_malformed, 3);
	evdns_close_server_port(port);
	close(cfd);
}

static void
bad_calls_cb(struct evdns_server_request *req, void *arg)
{
	static const char big[70000];
	struct sockaddr_in sin;

	nserved++;
	assert_int_equal(evdns_server_request_add_reply(NULL,
			     EVDNS_ANSWER_SECTION, "x", EVDNS_TYPE_A,
			     EVDNS_CLASS_INET, 5, 4, 0, "abcd"),
	    -1);
	assert_int_equal(evdns_server_request_add_reply(req,
			     EVDNS_ANSWER_SECTION, NULL, EVDNS_TYPE_A,
			     EVDNS_CLASS_INET, 5, 4, 0, "abcd"),
	    -1);
	assert_int_equal(evdns_server_request_add_reply(req,
			     EVDNS_ANSWER_SECTION, "x", EVDNS_TYPE_TXT,
			     EVDNS_CLASS_INET, 5, (int)sizeof(big), 0, big),
	    -1);
	assert_int_equal(evdns_server_request_add_a_reply(req, "a..b", 1, addr7,
			     5),
	    -1);
	assert_int_equal(evdns_server_request_add_ptr_reply(req, NULL, NULL,
			     "x.example.com", 5),
	    -1);
	assert_int_equal(evdns_server_request_get_requesting_addr(req, NULL,
			     (int)sizeof(sin)),
	    -1);
	assert_int_equal(evdns_server_request_get_requesting_addr(NULL,
			     (struct sockaddr *)&sin, (int)sizeof(sin)),
	    -1);
	assert_int_equal(evdns_server_request_respond(req, 16), -1);
	assert_int_equal(evdns_server_request_respond(req, -1), -1);
	assert_int_equal(evdns_server_request_respond(NULL, 0), -1);
	assert_int_equal(evdns_server_request_drop(NULL), -1);
	/* None of that changed the request: it is answered as asked. */
	assert_int_equal(evdns_server_request_add_a_reply(req,
			     req->questions[0]->name, 1, addr7, 5),
	    0);
	respond_res = evdns_server_request_respond(req, DNS_ERR_NONE);
}

/* Arguments a program gets wrong are refused and change nothing. */
static void
test_server_bad_calls(void **state)
{
	struct evdns_server_port *port;
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	uint8_t reply[600];
	unsigned short sport, cport, tport;
	int cfd, sfd, len, closed, tcp, ctcp, pfd[2];

	sfd = udp_socket(&sport);
	assert_null(evdns_add_server_port(-1, 0, bad_calls_cb, NULL));
	assert_null(evdns_add_server_port(sfd, 0, NULL, NULL));
	closed = dup(sfd);
	close(closed);
	assert_null(evdns_add_server_port(closed, 0, bad_calls_cb, NULL));
	evdns_close_server_port(NULL);
	/* Neither a datagram nor a listening socket: each would keep the
	 * loop busy for ever.  A connected TCP socket is neither. */
	tcp = tu_listen_loopback(&tport);
	ctcp = tu_connect_loopback(tport);
	assert_null(evdns_add_server_port(ctcp, 0, bad_calls_cb, NULL));
	assert_int_equal(pipe(pfd), 0);
	assert_null(evdns_add_server_port(pfd[0], 0, bad_calls_cb, NULL));
	/* is_tcp with a datagram socket is a mistake too. */
	assert_null(evdns_add_server_port(sfd, 1, bad_calls_cb, NULL));
	close(ctcp);
	close(tcp);
	close(pfd[0]);
	close(pfd[1]);
	port = evdns_add_server_port(sfd, 0, bad_calls_cb, NULL);
	assert_non_null(port);
	cfd = udp_socket(&cport);
	nserved = 0;
	respond_res = -1;
	len = raw_query(cfd, sport, "t.example.com", reply, sizeof(reply),
	    &nserved);
	assert_int_equal(respond_res, 0);
	assert_int_equal(ev__dns_reply_parse(reply, (size_t)len, &r), 0);
	assert_int_equal(ev__dns_reply_answers(reply, (size_t)len, &r,
			     EVDNS_TYPE_A, &a),
	    1);
	assert_int_equal(a.count, 1);
	assert_memory_equal(a.addrs, "\12\0\0\7", 4);
	evdns_close_server_port(port);
	close(cfd);
}

/*
 * A server socket that reports ICMP errors (IP_RECVERR): a reply to a
 * client whose port is closed queues an error on it.  The port reads
 * that error away, so the socket does not stay readable for ever (the
 * loop would spin), and it goes on serving.
 */
static void
test_server_icmp_errors(void **state)
{
#ifdef IP_RECVERR
	struct evdns_server_port *port;
	struct sockaddr_in sin;
	uint8_t q[512], reply[600];
	unsigned short sport, cport;
	int sfd, cfd, on = 1, len, never = 0;

	sfd = udp_socket(&sport);
	assert_int_equal(setsockopt(sfd, IPPROTO_IP, IP_RECVERR, &on,
			     sizeof(on)),
	    0);
	port = evdns_add_server_port(sfd, 0, server_cb, NULL);
	assert_non_null(port);
	nserved = 0;
	/* The client asks, then goes away before the reply. */
	cfd = udp_socket(&cport);
	loopback_addr(&sin, sport);
	len = ev__dns_query_build(q, sizeof(q), 1, "gone.example.com",
	    EVDNS_TYPE_A);
	assert_int_equal(sendto(cfd, q, (size_t)len, 0, (struct sockaddr *)&sin,
			     sizeof(sin)),
	    len);
	close(cfd);
	assert_true(run_until(&nserved, 1, 5000));
	assert_int_equal(respond_res, 0);
	/* Nothing to do for a while: the loop sleeps. */
	assert_false(run_until(&never, 1, 200));
	assert_true(run_loops < 20);
	nserved = 0;
	cfd = udp_socket(&cport);
	assert_true(raw_query(cfd, sport, "next.example.com", reply,
			sizeof(reply), &nserved) > 12);
	close(cfd);
	evdns_close_server_port(port);
#else
	skip();
#endif
}

/* A port on one end of a datagram socketpair answers the other end. */
static void
test_server_socketpair(void **state)
{
	struct evdns_server_port *port;
	uint8_t q[512], reply[600];
	int sv[2], len;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	port = evdns_add_server_port(sv[0], 0, server_cb, NULL);
	assert_non_null(port);
	nserved = 0;
	respond_res = -1;
	len = ev__dns_query_build(q, sizeof(q), 9, "pair.example.com",
	    EVDNS_TYPE_A);
	assert_int_equal(send(sv[1], q, (size_t)len, 0), len);
	assert_true(run_until(&nserved, 1, 5000));
	assert_int_equal(respond_res, 0);
	assert_int_equal(recv(sv[1], reply, sizeof(reply), MSG_DONTWAIT), len);
	assert_int_equal(reply[1], 9);
	evdns_close_server_port(port);
	close(sv[1]);
}

/* ---- a full send buffer ---- */

#define NFULL 64

/*
 * Loopback UDP never reports a full send buffer (the kernel frees each
 * datagram as soon as it is delivered), so the server port gets an
 * AF_UNIX datagram socket with the smallest SO_SNDBUF: datagrams the
 * client has not read count against it, and sendto() fails with EAGAIN
 * until the client reads.  The port's code is the same for both.
 */
static int
unix_dgram(const char *tag, struct sockaddr_un *sun, socklen_t *len)
{
	static int serial;
	int fd, n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	/* An abstract name (leading NUL): nothing to clean up. */
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
	    "evdns-test-%ld-%d-%s", (long)getpid(), serial++, tag);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    (size_t)n);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sun, *len), 0);
	return fd;
}

struct full {
	struct evdns_server_port *port;
	int sfd, cfd;
	struct sockaddr_un saddr;
	socklen_t slen;
	int nserved, nfailed, ngot, dups;
	int hold_last; /* keep the last request in held */
	struct evdns_server_request *held;
	uint8_t seen[NFULL];
	struct event cev;
};

static void
full_server_cb(struct evdns_server_request *req, void *arg)
{
	struct full *f = arg;

	f->nserved++;
	if (f->hold_last && f->nserved == NFULL) {
		f->held = req;
		return;
	}
	assert_int_equal(evdns_server_request_add_a_reply(req,
			     req->questions[0]->name, 1, addr7, 60),
	    0);
	if (evdns_server_request_respond(req, DNS_ERR_NONE) != 0)
		f->nfailed++;
}

/* Read every reply waiting at the client and check it. */
static void
full_client_read(int fd, short what, void *arg)
{
	struct full *f = arg;
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	uint8_t reply[600];
	ssize_t n;

	while ((n = recv(f->cfd, reply, sizeof(reply), MSG_DONTWAIT)) > 0) {
		assert_int_equal(ev__dns_reply_parse(reply, (size_t)n, &r), 0);
		assert_true(r.hdr.id < NFULL);
		assert_int_equal(ev__dns_reply_answers(reply, (size_t)n, &r,
				     EVDNS_TYPE_A, &a),
		    1);
		assert_memory_equal(a.addrs, "\12\0\0\7", 4);
		f->dups += f->seen[r.hdr.id];
		f->seen[r.hdr.id] = 1;
		f->ngot++;
	}
}

/* Start a port on a tiny send buffer and send it NFULL queries unread. */
static void
full_start(struct full *f, int hold_last)
{
	struct sockaddr_un caddr;
	socklen_t clen;
	uint8_t q[512];
	int tiny = 1, sent = 0, len;

	memset(f, 0, sizeof(*f));
	f->hold_last = hold_last;
	f->sfd = unix_dgram("server", &f->saddr, &f->slen);
	f->cfd = unix_dgram("client", &caddr, &clen);
	assert_int_equal(setsockopt(f->sfd, SOL_SOCKET, SO_SNDBUF, &tiny,
			     sizeof(tiny)),
	    0);
	assert_int_equal(fcntl(f->cfd, F_SETFL, O_NONBLOCK), 0);
	f->port = evdns_add_server_port(f->sfd, 0, full_server_cb, f);
	assert_non_null(f->port);
	while (sent < NFULL) {
		len = ev__dns_query_build(q, sizeof(q), (uint16_t)sent,
		    "a.example.com", EVDNS_TYPE_A);
		if (sendto(f->cfd, q, (size_t)len, 0,
			(struct sockaddr *)&f->saddr, f->slen) == len) {
			sent++;
			continue;
		}
		/* The server's queue is full: let it read. */
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		event_loop(EVLOOP_ONCE);
	}
	assert_true(run_until(&f->nserved, NFULL, 5000));
	assert_int_equal(f->nfailed, 0);
}

/* Replies that meet a full socket wait, and all go out once it drains. */
static void
test_server_full_sndbuf(void **state)
{
	struct full f;
	int i;

	full_start(&f, 0);
	/* Every respond succeeded, yet not every reply could be sent. */
	full_client_read(f.cfd, EV_READ, &f);
	assert_true(f.ngot < NFULL);
	event_set(&f.cev, f.cfd, EV_READ | EV_PERSIST, full_client_read, &f);
	event_add(&f.cev, NULL);
	assert_true(run_until(&f.ngot, NFULL, 5000));
	assert_int_equal(f.dups, 0);
	for (i = 0; i < NFULL; i++)
		assert_int_equal(f.seen[i], 1);
	/* And the port still answers, with nothing left waiting. */
	full_client_read(f.cfd, EV_READ, &f);
	assert_int_equal(f.ngot, NFULL);
	event_del(&f.cev);
	evdns_close_server_port(f.port);
	close(f.cfd);
}

/*
 * The client goes away with replies waiting for it: they are given up
 * (and logged), and the port goes on serving others.
 */
static void
test_server_client_gone(void **state)
{
	struct full f;
	struct sockaddr_un caddr;
	socklen_t clen;
	uint8_t q[512], reply[600];
	int cfd, len;

	full_start(&f, 0);
	close(f.cfd);
	memset(f.seen, 0, sizeof(f.seen));
	cfd = unix_dgram("other", &caddr, &clen);
	len = ev__dns_query_build(q, sizeof(q), 5, "a.example.com",
	    EVDNS_TYPE_A);
	assert_int_equal(sendto(cfd, q, (size_t)len, 0,
			     (struct sockaddr *)&f.saddr, f.slen),
	    len);
	assert_true(run_until(&f.nserved, NFULL + 1, 5000));
	assert_int_equal(f.nfailed, 0);
	f.cfd = cfd;
	event_set(&f.cev, cfd, EV_READ | EV_PERSIST, full_client_read, &f);
	event_add(&f.cev, NULL);
	assert_true(run_until(&f.ngot, 1, 5000));
	assert_int_equal(f.ngot, 1);
	assert_int_equal(f.seen[5], 1);
	assert_int_equal(recv(cfd, reply, sizeof(reply), MSG_DONTWAIT), -1);
	event_del(&f.cev);
	evdns_close_server_port(f.port);
	close(cfd);
}

/*
 * Closing a port gives up the replies still waiting; a reply to a request
 * held past the close that cannot be sent now fails, and the request is
 * then dropped.
 */
static void
test_server_close_while_full(void **state)
{
	struct full f;

	full_start(&f, 1);
	assert_non_null(f.held);
	evdns_close_server_port(f.port);
	assert_int_equal(evdns_server_request_respond(f.held, DNS_ERR_NONE),
	    -1);
	assert_int_equal(evdns_server_request_drop(f.held), 0);
	/* The port's socket is closed: nothing more will come. */
	assert_int_equal(fcntl(f.sfd, F_GETFD), -1);
	full_client_read(f.cfd, EV_READ, &f);
	assert_true(f.ngot > 0 && f.ngot < NFULL - 1);
	assert_int_equal(f.dups, 0);
	close(f.cfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_server_deferred_and_close),
		DNS_TEST(test_server_compression),
		DNS_TEST(test_server_add_reply),
		DNS_TEST(test_server_many_questions),
		DNS_TEST(test_server_malformed_request),
		DNS_TEST(test_server_bad_calls),
		DNS_TEST(test_server_icmp_errors),
		DNS_TEST(test_server_socketpair),
		DNS_TEST(test_server_full_sndbuf),
		DNS_TEST(test_server_client_gone),
		DNS_TEST(test_server_close_while_full),
	};

	return TU_RUN_PER_BACKEND("dns_server", tests);
}
