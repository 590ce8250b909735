/*
 * test_dns.c: the evdns resolver and server port.
 *
 * The resolver is tested against our own server port on 127.0.0.1 (A,
 * AAAA, PTR, CNAME chains, errors, timeouts, failover, probing, search
 * lists, truncation), against raw UDP sockets that craft hostile or
 * spoofed replies, and against a real dnsmasq the test starts on a
 * loopback port.  The wire-format code is also fed hostile packets
 * directly, each in a heap buffer of its exact size so ASan sees any read
 * past the end.  Nothing leaves 127.0.0.1.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#include "evdns-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

/* ---- resolve results ---- */

struct result {
	int calls;
	int err;
	int type;
	int count;
	int ttl;
	uint8_t addrs[EV__DNS_MAX_ADDRS * 16];
	char name[256];
	void (*then)(struct result *);	/* run inside the callback */
};

static void
result_cb(int err, char type, int count, int ttl, void *addrs, void *arg)
{
	struct result *r = arg;
	size_t size = type == DNS_IPv6_AAAA ? 16 : 4;

	r->calls++;
	r->err = err;
	r->type = type;
	r->count = count;
	r->ttl = ttl;
	if (err == DNS_ERR_NONE && type == DNS_PTR)
		snprintf(r->name, sizeof(r->name), "%s", *(char **)addrs);
	else if (err == DNS_ERR_NONE && count > 0 && count <= EV__DNS_MAX_ADDRS)
		memcpy(r->addrs, addrs, (size_t)count * size);
	if (err != DNS_ERR_NONE)
		assert_null(addrs);
	if (r->then != NULL)
		r->then(r);
}

static void
assert_ipv4(const struct result *r, int i, const char *want)
{
	char buf[INET_ADDRSTRLEN];

	assert_non_null(inet_ntop(AF_INET, r->addrs + 4 * i, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

/* ---- our own server port as a nameserver ---- */

struct tserver {
	struct evdns_server_port *port;
	unsigned short portnum;
	int silent;		/* drop every request */
	int defer;		/* keep requests in held[] */
	int nreq;		/* requests other than probes */
	int nprobe;
	char names[16][256];	/* the first questions, in order */
	struct evdns_server_request *held[8];
	int nheld;
	struct sockaddr_in from;
};

static int
name_is(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static void
answer(struct evdns_server_request *req, const struct evdns_server_question *q)
{
	static const uint8_t a1[8] = { 10, 0, 0, 1, 10, 0, 0, 2 };
	static const uint8_t host[4] = { 10, 1, 1, 1 };
	uint8_t aaaa[16] = { 0x20, 0x01, 0x0d, 0xb8 }, many[40 * 4];
	int err = DNS_ERR_NONE, i;

	aaaa[15] = 1;
	if (name_is(q->name, "a.example.com") && q->type == EVDNS_TYPE_A)
		evdns_server_request_add_a_reply(req, q->name, 2, (void *)a1,
		    300);
	else if (name_is(q->name, "a.example.com") &&
	    q->type == EVDNS_TYPE_AAAA)
		evdns_server_request_add_aaaa_reply(req, q->name, 1, aaaa, 200);
	else if (name_is(q->name, "1.0.0.10.in-addr.arpa"))
		evdns_server_request_add_ptr_reply(req, NULL, q->name,
		    "a.example.com", 100);
	else if (name_is(q->name, "alias.example.com")) {
		evdns_server_request_add_cname_reply(req, q->name,
		    "alias2.example.com", 50);
		evdns_server_request_add_cname_reply(req, "alias2.example.com",
		    "a.example.com", 40);
		evdns_server_request_add_a_reply(req, "a.example.com", 2,
		    (void *)a1, 300);
	} else if (name_is(q->name, "fail.example.com"))
		err = DNS_ERR_SERVERFAILED;
	else if (name_is(q->name, "big.example.com")) {
		for (i = 0; i < 40; i++) {
			many[4 * i] = 10;
			many[4 * i + 1] = 2;
			many[4 * i + 2] = 0;
			many[4 * i + 3] = (uint8_t)i;
		}
		evdns_server_request_add_a_reply(req, q->name, 40, many, 10);
	} else if (name_is(q->name, "nodata.example.com"))
		;
	else if (name_is(q->name, "host.search1.test"))
		evdns_server_request_add_a_reply(req, q->name, 1, (void *)host,
		    30);
	else
		err = DNS_ERR_NOTEXIST;
	assert_int_equal(evdns_server_request_respond(req, err), 0);
}

static void
tserver_cb(struct evdns_server_request *req, void *arg)
{
	struct tserver *ts = arg;
	const struct evdns_server_question *q;

	assert_int_equal(req->nquestions, 1);
	q = req->questions[0];
	if (q->name[0] == '\0' && q->type == EVDNS_TYPE_NS) {
		ts->nprobe++;		/* the resolver's liveness probe */
		if (ts->silent)
			evdns_server_request_drop(req);
		else
			evdns_server_request_respond(req, DNS_ERR_NONE);
		return;
	}
	if (ts->nreq < 16)
		snprintf(ts->names[ts->nreq], sizeof(ts->names[0]), "%s",
		    q->name);
	ts->nreq++;
	assert_int_equal(evdns_server_request_get_requesting_addr(req,
	    (struct sockaddr *)&ts->from, sizeof(ts->from)),
	    (int)sizeof(struct sockaddr_in));
	if (ts->silent)
		evdns_server_request_drop(req);
	else if (ts->defer && ts->nheld < 8)
		ts->held[ts->nheld++] = req;
	else
		answer(req, q);
}

static void
tserver_start(struct tserver *ts)
{
	int fd;

	memset(ts, 0, sizeof(*ts));
	fd = udp_socket(&ts->portnum);
	ts->port = evdns_add_server_port(fd, 0, tserver_cb, ts);
	assert_non_null(ts->port);
}

static void
resolve4(const char *name, int flags, struct result *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(evdns_resolve_ipv4(name, flags, result_cb, r), 0);
}

/* ---- the resolver against our server port ---- */

static void
test_resolve_a_aaaa(void **state)
{
	struct tserver ts;
	struct result r;
	char buf[INET6_ADDRSTRLEN];

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	assert_int_equal(evdns_count_nameservers(), 1);
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.type, DNS_IPv4_A);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.ttl, 300);
	assert_ipv4(&r, 0, "10.0.0.1");
	assert_ipv4(&r, 1, "10.0.0.2");
	/* The server saw the resolver's loopback address. */
	assert_int_equal(ts.from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_ipv6("A.Example.COM", 0, result_cb, &r),
	    0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.type, DNS_IPv6_AAAA);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.ttl, 200);
	inet_ntop(AF_INET6, r.addrs, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
	evdns_close_server_port(ts.port);
}

static void
test_resolve_ptr(void **state)
{
	struct tserver ts;
	struct result r;
	struct in_addr in;
	struct in6_addr in6;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	inet_pton(AF_INET, "10.0.0.1", &in);
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_reverse(&in, 0, result_cb, &r), 0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.type, DNS_PTR);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.ttl, 100);
	assert_string_equal(r.name, "a.example.com");

	/* An IPv6 reverse query asks the nibble name in ip6.arpa. */
	inet_pton(AF_INET6, "2001:db8::1", &in6);
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_reverse_ipv6(&in6, 0, result_cb, &r),
	    0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_string_equal(ts.names[1], "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	evdns_close_server_port(ts.port);
}

static void
test_cname_chain(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	resolve4("alias.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.count, 2);
	assert_ipv4(&r, 1, "10.0.0.2");
	assert_int_equal(r.ttl, 40);	/* the smallest TTL on the chain */
	evdns_close_server_port(ts.port);
}

static void
test_errors(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	resolve4("nx.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_int_equal(r.count, 0);

	resolve4("fail.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_SERVERFAILED);

	/* A reply with no answer of the type asked. */
	resolve4("nodata.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_UNKNOWN);

	/* 40 records do not fit in 512 bytes: TC is set and reported. */
	resolve4("big.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_TRUNCATED);
	assert_int_equal(r.calls, 1);
	assert_non_null(evdns_err_to_string(DNS_ERR_TRUNCATED));
	assert_non_null(evdns_err_to_string(12345));
	evdns_close_server_port(ts.port);
}

static void
test_timeout(void **state)
{
	struct tserver ts;
	struct result r;
	int64_t t0, el;

	tserver_start(&ts);
	ts.silent = 1;
	add_ns_port(ts.portnum);
	fast_options();
	t0 = tu_now_usec();
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	el = tu_now_usec() - t0;
	assert_int_equal(r.err, DNS_ERR_TIMEOUT);
	assert_int_equal(ts.nreq, 2);		/* attempts:2 */
	assert_true(el >= 350000 && el < 3000000);
	assert_int_equal(evdns_set_option("timeout:", "x", 7), -1);
	assert_int_equal(evdns_set_option("timeout:", "0", 7), -1);
	assert_int_equal(evdns_set_option("timeout:", "1.5s", 7), -1);
	assert_int_equal(evdns_set_option("attempts:", "", 7), -1);
	assert_int_equal(evdns_set_option("ndots:", "-1", 7), -1);
	assert_int_equal(evdns_set_option("no-such-option:", "1", 7), 0);
	evdns_close_server_port(ts.port);
}

static void
test_failover_and_probe(void **state)
{
	struct tserver ts1, ts2;
	struct result r;
	int i, before;

	tserver_start(&ts1);
	tserver_start(&ts2);
	ts1.silent = 1;
	add_ns_port(ts1.portnum);
	add_ns_port(ts2.portnum);
	assert_int_equal(evdns_count_nameservers(), 2);
	fast_options();
	assert_int_equal(evdns_set_option("max-timeouts:", "1",
	    DNS_OPTIONS_ALL), 0);
	assert_int_equal(evdns_set_option("initial-probe-timeout:", "0.2",
	    DNS_OPTIONS_ALL), 0);
	/* The first goes to the silent one, times out, and moves on. */
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(ts1.nreq, 1);
	assert_int_equal(ts2.nreq, 1);
	assert_int_equal(nlog_down, 1);
	/* While it is down, everything goes to the other one. */
	for (i = 0; i < 3; i++) {
		resolve4("a.example.com", 0, &r);
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
	}
	assert_int_equal(ts1.nreq, 1);
	/* It comes back: a probe finds it and it is used again. */
	ts1.silent = 0;
	assert_true(run_until(&nlog_up, 1, 5000));
	assert_true(ts1.nprobe >= 1);
	before = ts1.nreq;
	for (i = 0; i < 4; i++) {
		resolve4("a.example.com", 0, &r);
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
	}
	assert_true(ts1.nreq > before);
	evdns_close_server_port(ts1.port);
	evdns_close_server_port(ts2.port);
}

static void
test_search(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	evdns_search_add("nosuch.test");
	evdns_search_add(".search1.test.");
	/* No dot: the domains first. */
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.1.1.1");
	assert_int_equal(ts.nreq, 2);
	assert_string_equal(ts.names[0], "host.nosuch.test");
	assert_string_equal(ts.names[1], "host.search1.test");
	/* Enough dots: the name itself first, and it exists. */
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(ts.nreq, 3);
	/* Nothing matches: name, then each domain, then the last error. */
	resolve4("nx.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_int_equal(ts.nreq, 6);
	assert_string_equal(ts.names[3], "nx.example.com");
	assert_string_equal(ts.names[5], "nx.example.com.search1.test");
	/* ndots 2: "x.y" tries the domains first, the name last. */
	evdns_search_ndots_set(2);
	resolve4("x.y", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(ts.nreq, 9);
	assert_string_equal(ts.names[6], "x.y.nosuch.test");
	assert_string_equal(ts.names[8], "x.y");
	/* No search: the flag, or a final dot. */
	resolve4("host", DNS_QUERY_NO_SEARCH, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	resolve4("host.", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(ts.nreq, 11);
	assert_string_equal(ts.names[10], "host");
	/* After clearing, a bare name is asked as it is. */
	evdns_search_clear();
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(ts.nreq, 12);
	evdns_close_server_port(ts.port);
}

/* CVE-2016-10197: an empty name with a search list read before it. */
static void
test_bad_names(void **state)
{
	struct result r;
	char longname[300];

	add_ns_port(9);
	evdns_search_add("example.com");
	memset(&r, 0, sizeof(r));
	assert_int_not_equal(evdns_resolve_ipv4("", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv6("", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv4(".", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv4("a..b", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv4(NULL, 0, result_cb, &r), 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_not_equal(evdns_resolve_ipv4(longname, 0, result_cb, &r), 0);
	assert_int_equal(r.calls, 0);
}

static void
shutdown_in_cb(struct result *r)
{
	evdns_shutdown(1);
}

static void
test_shutdown_inflight(void **state)
{
	struct tserver ts;
	struct result r[3];
	int i;

	tserver_start(&ts);
	ts.silent = 1;
	add_ns_port(ts.portnum);
	assert_int_equal(evdns_set_option("max-inflight:", "2",
	    DNS_OPTIONS_ALL), 0);
	for (i = 0; i < 3; i++)
		resolve4("a.example.com", 0, &r[i]);
	assert_true(run_until(&ts.nreq, 2, 5000));
	evdns_shutdown(1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].err, DNS_ERR_SHUTDOWN);
	}
	assert_int_equal(evdns_count_nameservers(), 0);

	/* Without fail_requests, no callback runs. */
	add_ns_port(ts.portnum);
	resolve4("a.example.com", 0, &r[0]);
	evdns_shutdown(0);
	assert_int_equal(r[0].calls, 0);

	/* After a shutdown the resolver works again; a callback may shut
	 * it down with other requests pending. */
	ts.silent = 0;
	add_ns_port(ts.portnum);
	resolve4("a.example.com", 0, &r[0]);
	r[0].then = shutdown_in_cb;
	resolve4("nx.example.com", DNS_QUERY_NO_SEARCH, &r[1]);
	ts.silent = 0;
	assert_true(run_until(&r[0].calls, 1, 5000));
	assert_int_equal(r[0].err, DNS_ERR_NONE);
	assert_true(r[1].calls == 1);
	assert_true(r[1].err == DNS_ERR_SHUTDOWN ||
	    r[1].err == DNS_ERR_NOTEXIST);
	evdns_close_server_port(ts.port);
}

static void
test_suspend_resume(void **state)
{
	struct tserver ts1, ts2;
	struct result r;

	tserver_start(&ts1);
	tserver_start(&ts2);
	ts1.silent = 1;
	add_ns_port(ts1.portnum);
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&ts1.nreq, 1, 5000));
	assert_int_equal(evdns_clear_nameservers_and_suspend(), 0);
	assert_int_equal(evdns_count_nameservers(), 0);
	add_ns_port(ts2.portnum);
	event_loop(EVLOOP_NONBLOCK);
	assert_int_equal(ts2.nreq, 0);		/* held while suspended */
	assert_int_equal(evdns_resume(), 0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(ts2.nreq, 1);
	evdns_close_server_port(ts1.port);
	evdns_close_server_port(ts2.port);
}

static void
test_max_inflight(void **state)
{
	struct tserver ts;
	struct result r[6];
	int i, done = 0;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	assert_int_equal(evdns_set_option("max-inflight:", "2",
	    DNS_OPTIONS_ALL), 0);
	for (i = 0; i < 6; i++)
		resolve4("a.example.com", 0, &r[i]);
	while (done < 6 && run_until(&r[done].calls, 1, 5000))
		done++;
	assert_int_equal(done, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(r[i].err, DNS_ERR_NONE);
	evdns_close_server_port(ts.port);
}

/* ---- the server port ---- */

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
	    (struct sockaddr *)&sin, 4), -1);
	/* Closing the port keeps it until held requests are finished. */
	evdns_close_server_port(ts.port);
	answer(ts.held[0], ts.held[0]->questions[0]);
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
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	assert_int_equal(sendto(fd, q, (size_t)len, 0, (struct sockaddr *)&sin,
	    sizeof(sin)), len);
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
	assert_int_equal(reply[2] & 0x80, 0x80);	/* QR */
	assert_int_equal(reply[2] & 0x01, 0x01);	/* RD kept */
	assert_int_equal(reply[7], 2);			/* ANCOUNT */
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
	len = raw_query(fd, ts.portnum, "big.example.com", reply,
	    sizeof(reply), &ts.nreq);
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
	    EVDNS_ANSWER_SECTION, req->questions[0]->name, EVDNS_TYPE_TXT,
	    EVDNS_CLASS_INET, 5, 6, 0, txt), 0);
	assert_int_equal(evdns_server_request_add_reply(req,
	    EVDNS_AUTHORITY_SECTION, "example.com", EVDNS_TYPE_NS,
	    EVDNS_CLASS_INET, 5, -1, 1, "ns.example.com"), 0);
	assert_int_equal(evdns_server_request_add_ptr_reply(req, &in, NULL,
	    "x.example.com", 5), 0);
	/* Bad arguments are refused. */
	assert_int_equal(evdns_server_request_add_reply(req, 3, "x",
	    EVDNS_TYPE_A, EVDNS_CLASS_INET, 5, 4, 0, "abcd"), -1);
	assert_int_equal(evdns_server_request_add_reply(req,
	    EVDNS_ANSWER_SECTION, "a..b", EVDNS_TYPE_A, EVDNS_CLASS_INET, 5,
	    4, 0, "abcd"), -1);
	assert_int_equal(evdns_server_request_add_a_reply(req, "x", -1, NULL,
	    5), -1);
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

	port = evdns_add_server_port(udp_socket(&sport), 0, add_reply_cb,
	    NULL);
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

/* ---- raw nameservers: hostile and spoofed replies ---- */

/* Build one of the hostile replies to the query ns holds. */
static void
hostile_reply(struct pkt *p, const struct rawns *ns, int which)
{
	size_t at;
	int i, j;

	reply_start(p, ns->q, ns->qlen, 0x8180, 1);
	at = p->n;
	switch (which) {
	case 0:	/* a label longer than what is left (CVE-2016-10195) */
		p8(p, 0x3f);
		p8(p, 'a');
		break;
	case 1:	/* a pointer to itself */
		p16(p, 0xc000 | (unsigned)at);
		break;
	case 2:	/* two pointers pointing at each other */
		p16(p, 0xc000 | (unsigned)(at + 2));
		p16(p, 0xc000 | (unsigned)at);
		break;
	case 3:	/* a label, then a pointer back to that label */
		p8(p, 1);
		p8(p, 'x');
		p16(p, 0xc000 | (unsigned)at);
		break;
	case 4:	/* a pointer past the end */
		p16(p, 0xc000 | 0x3ff);
		break;
	case 5:	/* a name longer than 255 bytes */
		for (i = 0; i < 5; i++) {
			p8(p, 63);
			for (j = 0; j < 63; j++)
				p8(p, 'a');
		}
		p8(p, 0);
		p16(p, EVDNS_TYPE_A);
		p16(p, EVDNS_CLASS_INET);
		p32(p, 60);
		p16(p, 4);
		p32(p, 0x06060606);
		break;
	case 6:	/* more answers announced than the packet holds */
		p->b[7] = 50;
		add_a(p, 6, 6, 6, 6);
		break;
	case 7:	/* a 12-byte packet */
		p->n = 12;
		p->b[5] = 1;
		break;
	case 8:	/* rdlength past the end */
		p16(p, 0xc00c);
		p16(p, EVDNS_TYPE_A);
		p16(p, EVDNS_CLASS_INET);
		p32(p, 60);
		p16(p, 400);
		p32(p, 0x06060606);
		break;
	case 9:	/* an A record with 3 bytes of data */
		p16(p, 0xc00c);
		p16(p, EVDNS_TYPE_A);
		p16(p, EVDNS_CLASS_INET);
		p32(p, 60);
		p16(p, 3);
		p8(p, 6);
		p8(p, 6);
		p8(p, 6);
		break;
	}
}

#define NHOSTILE 10

static void
test_hostile_replies(void **state)
{
	struct rawns ns;
	struct result r;
	struct pkt p;
	int which, sent = 0;

	rawns_start(&ns);
	add_ns_port(ns.port);
	for (which = 0; which < NHOSTILE; which++) {
		resolve4("h.example.com", 0, &r);
		assert_true(run_until(&ns.got, ++sent, 5000));
		hostile_reply(&p, &ns, which);
		send_from(ns.fd, &ns, &p);
		/* Then the genuine answer, which must still be taken. */
		reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
		add_a(&p, 10, 9, 8, 7);
		send_from(ns.fd, &ns, &p);
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
		assert_int_equal(r.count, 1);
		assert_ipv4(&r, 0, "10.9.8.7");
		assert_int_equal(nlog_drop, which + 1);
	}
	/* Answers that are well formed but not ours are dropped too: a wrong
	 * ID, another question, a query instead of a reply. */
	resolve4("h.example.com", 0, &r);
	assert_true(run_until(&ns.got, ++sent, 5000));
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	add_a(&p, 6, 6, 6, 6);
	p.b[0] ^= 0x5a;
	send_from(ns.fd, &ns, &p);
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	p.b[13] = 'z';			/* h.example.com -> z.example.com */
	add_a(&p, 6, 6, 6, 6);
	send_from(ns.fd, &ns, &p);
	reply_start(&p, ns.q, ns.qlen, 0x0100, 1);
	add_a(&p, 6, 6, 6, 6);
	send_from(ns.fd, &ns, &p);
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	add_a(&p, 10, 9, 8, 7);
	send_from(ns.fd, &ns, &p);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.9.8.7");
	rawns_stop(&ns);
}

static void
test_spoofed_port(void **state)
{
	struct rawns ns;
	struct result r;
	struct pkt p;
	unsigned short sport;
	int spoofer;

	rawns_start(&ns);
	add_ns_port(ns.port);
	spoofer = udp_socket(&sport);
	resolve4("s.example.com", 0, &r);
	assert_true(run_until(&ns.got, 1, 5000));
	assert_int_equal(ns.from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	/* A perfect answer, but from another port of the same address. */
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	add_a(&p, 6, 6, 6, 6);
	send_from(spoofer, &ns, &p);
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	add_a(&p, 10, 9, 8, 7);
	send_from(ns.fd, &ns, &p);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.9.8.7");
	close(spoofer);
	rawns_stop(&ns);
}

static uint16_t
fixed_id(void)
{
	return 0x1234;
}

static void
test_ids_and_ports(void **state)
{
	struct rawns ns1, ns2;
	struct result r[16];
	int i, distinct = 0, j;

	rawns_start(&ns1);
	rawns_start(&ns2);
	add_ns_port(ns1.port);
	for (i = 0; i < 16; i++)
		resolve4("id.example.com", 0, &r[i]);
	assert_true(run_until(&ns1.got, 16, 5000));
	for (i = 0; i < 16; i++) {
		for (j = 0; j < i && ns1.ids[j] != ns1.ids[i]; j++)
			;
		distinct += j == i;
	}
	assert_int_equal(distinct, 16);
	/* The ID function is used, but never for two requests at once. */
	evdns_shutdown(0);
	evdns_set_transaction_id_fn(fixed_id);
	add_ns_port(ns2.port);
	resolve4("id.example.com", 0, &r[0]);
	resolve4("id.example.com", 0, &r[1]);
	assert_true(run_until(&ns2.got, 2, 5000));
	assert_int_equal(ns2.ids[0], 0x1234);
	assert_int_not_equal(ns2.ids[1], 0x1234);
	/* Each nameserver socket has its own source port. */
	assert_int_not_equal(ns1.from.sin_port, ns2.from.sin_port);
	evdns_set_transaction_id_fn(NULL);
	rawns_stop(&ns1);
	rawns_stop(&ns2);
}

/* ---- resolv.conf ---- */

static char tmpdir[64];

static const char *
write_file(const char *name, const char *data, size_t len)
{
	static char path[128];
	FILE *f;

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dns.XXXXXX");
		assert_non_null(mkdtemp(tmpdir));
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void
test_resolv_conf(void **state)
{
	struct tserver ts;
	struct result r;
	char conf[512];
	const char *path;
	int n;

	tserver_start(&ts);
	n = snprintf(conf, sizeof(conf),
	    "# a comment\n\n"
	    "domain ignored.test\n"
	    "search nosuch.test search1.test ; a comment\n"
	    "nameserver 127.0.0.1:%u\n"
	    "nameserver not-an-address\n"
	    "options rotate ndots:1 timeout:0.5 attempts:2 bogus:1\n"
	    "sortlist 10.0.0.0\n", ts.portnum);
	path = write_file("resolv.conf", conf, (size_t)n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 0);
	assert_int_equal(evdns_count_nameservers(), 1);
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_string_equal(ts.names[0], "host.nosuch.test");
	unlink(path);
	evdns_close_server_port(ts.port);
	evdns_shutdown(0);

	/* Only the parts asked for are applied. */
	path = write_file("resolv.conf", conf, (size_t)n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTION_SEARCH, path), 0);
	assert_int_equal(evdns_count_nameservers(), 0);
	unlink(path);
}

static void
test_resolv_conf_defaults(void **state)
{
	const char *path;

	/* A missing file: a local nameserver. */
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL,
	    "/nonexistent/resolv.conf"), 1);
	assert_int_equal(evdns_count_nameservers(), 1);
	evdns_shutdown(0);
	/* No nameserver line: the same default, and error 6. */
	path = write_file("empty.conf", "search x.test\n", 14);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 6);
	assert_int_equal(evdns_count_nameservers(), 1);
	unlink(path);
	evdns_shutdown(0);
	/* The system's file, as evdns_init() reads it. */
	assert_true(evdns_init() >= 0);
	assert_true(evdns_count_nameservers() >= 1);
}

static void
test_resolv_conf_hostile(void **state)
{
	char *big;
	const char *path;
	size_t i, n;
	unsigned seed = 12345;

	big = malloc(70000);
	assert_non_null(big);
	/* 100 nameservers: only the first few are used. */
	for (i = 0, n = 0; i < 100; i++)
		n += (size_t)sprintf(big + n, "nameserver 127.0.0.1:%zu\n",
		    20000 + i);
	path = write_file("many.conf", big, n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 0);
	assert_int_equal(evdns_count_nameservers(), 32);
	unlink(path);
	evdns_shutdown(0);
	/* Very long lines: a huge search list and a huge address. */
	n = (size_t)sprintf(big, "search");
	for (i = 0; i < 3000; i++)
		n += (size_t)sprintf(big + n, " d%zu.test", i);
	n += (size_t)sprintf(big + n, "\nnameserver ");
	memset(big + n, '1', 20000);
	n += 20000;
	n += (size_t)sprintf(big + n, "\noptions ndots:99999999999999999\n");
	path = write_file("long.conf", big, n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 6);
	unlink(path);
	evdns_shutdown(0);
	/* Garbage, NUL bytes included. */
	for (i = 0; i < 8192; i++) {
		seed = seed * 1103515245U + 12345U;
		big[i] = (char)(seed >> 16);
	}
	path = write_file("garbage.conf", big, 8192);
	n = (size_t)evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path);
	assert_true(n == 0 || n == 6);
	unlink(path);
	evdns_shutdown(0);
	/* Too large. */
	memset(big, '#', 70000);
	path = write_file("huge.conf", big, 70000);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 3);
	unlink(path);
	free(big);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

/* Whether this machine has an IPv6 loopback to connect to. */
static int
have_ipv6(void)
{
	struct sockaddr_in6 sin6;
	int fd, ok;

	if ((fd = socket(AF_INET6, SOCK_DGRAM, 0)) < 0)
		return 0;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons(5353);
	ok = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

static void
test_nameserver_add(void **state)
{
	assert_int_equal(evdns_nameserver_add(htonl(INADDR_LOOPBACK)), 0);
	assert_int_not_equal(evdns_nameserver_add(htonl(INADDR_LOOPBACK)), 0);
	assert_int_equal(evdns_nameserver_ip_add("127.0.0.1:5353"), 0);
	if (have_ipv6()) {
		assert_int_equal(evdns_nameserver_ip_add("[::1]:5353"), 0);
		assert_int_equal(evdns_nameserver_ip_add("::1"), 0);
		assert_int_equal(evdns_count_nameservers(), 4);
	}
	assert_int_not_equal(evdns_nameserver_ip_add("127.0.0.1:0"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("127.0.0.1:99999"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("127.0.0.1:"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("[::1"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("nonsense"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add(""), 0);
}

/* ---- dnsmasq ---- */

/* Wait until a server answers a query: 0 when it does, -1 if it dies. */
static int
wait_for_server(pid_t pid, unsigned short port)
{
	struct sockaddr_in sin;
	struct timeval tv = { 0, 100000 };
	uint8_t q[512], reply[512];
	unsigned short cport;
	int fd, len, i, status;

	fd = udp_socket(&cport);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	len = ev__dns_query_build(q, sizeof(q), 1, "a.dns.test", EVDNS_TYPE_A);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sendto(fd, q, (size_t)len, 0, (struct sockaddr *)&sin,
		    sizeof(sin));
		if (recv(fd, reply, sizeof(reply), 0) > 0) {
			close(fd);
			return 0;
		}
	}
	close(fd);
	return -1;
}

/*
 * A port free for both UDP and TCP (dnsmasq binds both): the kernel picks
 * a TCP port that nothing holds, not even a TIME-WAIT connection, and the
 * UDP port of the same number must be free too.
 */
static unsigned short
free_port_udp_tcp(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int t, u, i;

	for (i = 0; i < 50; i++) {
		t = socket(AF_INET, SOCK_STREAM, 0);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(t >= 0 && u >= 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(t, (struct sockaddr *)&sin, sizeof(sin)),
		    0);
		assert_int_equal(getsockname(t, (struct sockaddr *)&sin, &len),
		    0);
		if (bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(t);
			close(u);
			return ntohs(sin.sin_port);
		}
		close(t);
		close(u);
	}
	fail_msg("no free loopback port");
	return 0;
}

static pid_t
dnsmasq_start(unsigned short *port, const char *hosts)
{
	char portarg[32], hostsarg[200], logpath[] = "/tmp/test_dns_log.XXXXXX";
	char msg[256];
	ssize_t n;
	pid_t pid;
	int tries, logfd;

	/* dnsmasq's messages go to a file, shown only if it fails. */
	logfd = mkstemp(logpath);
	assert_true(logfd >= 0);
	unlink(logpath);
	for (tries = 0; tries < 10; tries++) {
		*port = free_port_udp_tcp();	/* and still free, probably */
		snprintf(portarg, sizeof(portarg), "--port=%u", *port);
		snprintf(hostsarg, sizeof(hostsarg), "--addn-hosts=%s", hosts);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
			execl("/usr/sbin/dnsmasq", "dnsmasq", "-k", "-C",
			    "/dev/null", "--no-resolv", "--no-hosts", hostsarg,
			    portarg, "--listen-address=127.0.0.1",
			    "--bind-interfaces", "--pid-file=",
			    "--local=/dns.test/", "--local-ttl=77",
			    "--log-facility=-", (char *)NULL);
			_exit(127);
		}
		if (wait_for_server(pid, *port) == 0) {
			close(logfd);
			return pid;
		}
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	n = pread(logfd, msg, sizeof(msg) - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(logfd);
	fail_msg("/usr/sbin/dnsmasq did not start: %s", msg);
	return -1;
}

static void
test_dnsmasq(void **state)
{
	static const char hosts_data[] =
	    "10.0.0.1 a.dns.test\n"
	    "2001:db8::1 a.dns.test\n"
	    "10.0.0.2 b.dns.test\n";
	char hosts[] = "/tmp/test_dns_hosts.XXXXXX";
	struct result r;
	struct in_addr in;
	struct in6_addr in6;
	unsigned short port;
	char buf[INET6_ADDRSTRLEN];
	pid_t pid;
	int fd;

	fd = mkstemp(hosts);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hosts_data, sizeof(hosts_data) - 1),
	    (ssize_t)sizeof(hosts_data) - 1);
	fchmod(fd, 0644);	/* dnsmasq reads it as another user */
	close(fd);
	pid = dnsmasq_start(&port, hosts);
	add_ns_port(port);
	evdns_search_add("dns.test");

	resolve4("a.dns.test", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.ttl, 77);
	assert_ipv4(&r, 0, "10.0.0.1");

	resolve4("b", 0, &r);	/* through the search list */
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.0.0.2");

	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_ipv6("a.dns.test", 0, result_cb, &r), 0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	inet_ntop(AF_INET6, r.addrs, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");

	inet_pton(AF_INET, "10.0.0.2", &in);
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_reverse(&in, 0, result_cb, &r), 0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_string_equal(r.name, "b.dns.test");

	inet_pton(AF_INET6, "2001:db8::1", &in6);
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_reverse_ipv6(&in6, 0, result_cb, &r),
	    0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_string_equal(r.name, "a.dns.test");

	resolve4("nx.dns.test", DNS_QUERY_NO_SEARCH, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(hosts);
}

/* ---- the wire format, fed directly ---- */

static void
test_wire_hostile(void **state)
{
	struct rawns ns;
	struct ev__dns_answer a;
	struct pkt p;
	char name[EV__DNS_NAME_BUF];
	size_t off;
	int which, len, cut;

	memset(&ns, 0, sizeof(ns));
	len = ev__dns_query_build(ns.q, sizeof(ns.q), 7, "h.example.com",
	    EVDNS_TYPE_A);
	assert_true(len > 0);
	ns.qlen = (size_t)len;
	for (which = 0; which < NHOSTILE; which++) {
		hostile_reply(&p, &ns, which);
		assert_int_equal(answers(&p, EVDNS_TYPE_A, &a), -1);
	}
	/* A good reply parses, and every truncation of it fails cleanly. */
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	add_a(&p, 10, 9, 8, 7);
	assert_int_equal(answers(&p, EVDNS_TYPE_A, &a), 1);
	assert_int_equal(a.count, 1);
	assert_int_equal(a.ttl, 60);
	for (cut = 0; cut < (int)p.n; cut++) {
		struct pkt q = p;

		q.n = (size_t)cut;
		assert_int_equal(answers(&q, EVDNS_TYPE_A, &a), -1);
	}
	/* Names: a pointer into the header is fine only backwards. */
	{
		static const uint8_t loop[] = { 0xc0, 0x00 };
		static const uint8_t ext[] = { 0x40, 0x00 };
		uint8_t *b;

		b = exact(loop, sizeof(loop));
		off = 0;
		assert_int_equal(ev__dns_name_parse(b, sizeof(loop), &off,
		    name, sizeof(name)), -1);
		free(b);
		b = exact(ext, sizeof(ext));
		off = 0;
		assert_int_equal(ev__dns_name_parse(b, sizeof(ext), &off,
		    name, sizeof(name)), -1);
		free(b);
	}
	/* Requests: a self pointer, too many questions, a response. */
	{
		struct ev__dns_query q;
		uint8_t *b;

		hostile_reply(&p, &ns, 1);
		p.b[2] &= 0x7f;		/* make it a query */
		p.b[5] = 2;		/* whose 2nd question is the pointer */
		b = exact(p.b, p.n);
		assert_int_equal(ev__dns_request_parse(b, p.n, &q), -1);
		free(b);
		p.b[4] = 0xff;
		b = exact(p.b, p.n);
		assert_int_equal(ev__dns_request_parse(b, p.n, &q), -1);
		free(b);
		b = exact(ns.q, ns.qlen);
		assert_int_equal(ev__dns_request_parse(b, ns.qlen, &q), 0);
		assert_int_equal(q.nquestions, 1);
		assert_string_equal(q.questions[0]->name, "h.example.com");
		ev__dns_query_clear(&q);
		b[2] |= 0x80;
		assert_int_equal(ev__dns_request_parse(b, ns.qlen, &q), -1);
		free(b);
	}
	assert_int_equal(ev__dns_name_check("a.b."), 0);
	assert_int_equal(ev__dns_name_check(".a"), -1);
	assert_int_equal(ev__dns_name_check("a..b"), -1);
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_int_equal(ev__dns_name_check(name), -1);
}

static void
test_wire_roundtrip(void **state)
{
	struct evdns_server_question *qs[1];
	struct ev__dns_rr rr[3];
	struct ev__dns_msg m;
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	uint8_t buf[512];
	int len;

	qs[0] = malloc(sizeof(*qs[0]) + 32);
	assert_non_null(qs[0]);
	qs[0]->type = EVDNS_TYPE_PTR;
	qs[0]->dns_question_class = EVDNS_CLASS_INET;
	strcpy(qs[0]->name, "4.3.2.1.in-addr.arpa");
	memset(rr, 0, sizeof(rr));
	memset(&m, 0, sizeof(m));
	rr[0].name = "4.3.2.1.IN-ADDR.ARPA";	/* compressed despite case */
	rr[0].type = EVDNS_TYPE_CNAME;
	rr[0].dns_class = EVDNS_CLASS_INET;
	rr[0].ttl = 9;
	rr[0].is_name = 1;
	rr[0].data = "4.0/25.3.2.1.in-addr.arpa";
	rr[0].next = &rr[1];
	rr[1].name = "4.0/25.3.2.1.in-addr.arpa";
	rr[1].type = EVDNS_TYPE_PTR;
	rr[1].dns_class = EVDNS_CLASS_INET;
	rr[1].ttl = 0x80000000U;		/* read back as 0 */
	rr[1].is_name = 1;
	rr[1].data = "host.example.";
	m.id = 99;
	m.flags = EV__DNS_QR;
	m.nquestions = 1;
	m.questions = qs;
	m.sections[0] = &rr[0];
	len = ev__dns_response_build(buf, sizeof(buf), &m);
	assert_true(len > 0);
	/* Question 22+4; CNAME: pointer, 10, "4"+"0/25"+pointer = 9. */
	assert_int_equal(len, 12 + 26 + (2 + 10 + 9) + (2 + 10 + 14));
	assert_int_equal(ev__dns_reply_parse(buf, (size_t)len, &r), 0);
	assert_int_equal(ev__dns_reply_answers(buf, (size_t)len, &r,
	    EVDNS_TYPE_PTR, &a), 1);
	assert_string_equal(a.ptr, "host.example");
	assert_int_equal(a.ttl, 0);
	/* Too small a buffer: records are left out and TC is set. */
	len = ev__dns_response_build(buf, 60, &m);
	assert_true(len > 0 && len <= 60);
	assert_true(buf[2] & 0x02);
	assert_int_equal(buf[7], 1);
	free(qs[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve_a_aaaa, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resolve_ptr, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cname_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failover_and_probe, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_inflight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_suspend_resume, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_max_inflight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_server_deferred_and_close,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_compression, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_server_add_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hostile_replies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spoofed_port, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ids_and_ports, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resolv_conf, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resolv_conf_defaults,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolv_conf_hostile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nameserver_add, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dnsmasq, setup, teardown),
		cmocka_unit_test(test_wire_hostile),
		cmocka_unit_test(test_wire_roundtrip),
	};

	return TU_RUN_PER_BACKEND("dns", tests);
}
