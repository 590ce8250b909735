/*
 * test_dns_requests.c: the evdns resolver's requests in flight.
 *
 * Timeouts and retries, failing over to another nameserver and probing
 * a failed one until it is back, a nameserver whose port is closed,
 * limits on requests in flight (and thousands of them), suspending,
 * resuming and shutting down with requests pending, and resolver calls
 * made from inside callbacks.  Our own server port and raw UDP sockets
 * on 127.0.0.1 play the nameservers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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
	assert_int_equal(ts.nreq, 2); /* attempts:2 */
	assert_true(el >= 350000 && el < 3000000);
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
			     DNS_OPTIONS_ALL),
	    0);
	assert_int_equal(evdns_set_option("initial-probe-timeout:", "0.2",
			     DNS_OPTIONS_ALL),
	    0);
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
			     DNS_OPTIONS_ALL),
	    0);
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
	assert_true(
	    r[1].err == DNS_ERR_SHUTDOWN || r[1].err == DNS_ERR_NOTEXIST);
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
	assert_int_equal(ts2.nreq, 0); /* held while suspended */
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
			     DNS_OPTIONS_ALL),
	    0);
	for (i = 0; i < 6; i++)
		resolve4("a.example.com", 0, &r[i]);
	while (done < 6 && run_until(&r[done].calls, 1, 5000))
		done++;
	assert_int_equal(done, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(r[i].err, DNS_ERR_NONE);
	evdns_close_server_port(ts.port);
}

/* ---- resolver calls from inside callbacks ---- */

static struct result chained;
static unsigned short second_port;

static void
resolve_again(struct result *r)
{
	memset(&chained, 0, sizeof(chained));
	assert_int_equal(evdns_resolve_ipv4("again.example.com", 0, result_cb,
			     &chained),
	    0);
}

static void
clear_and_readd(struct result *r)
{
	assert_int_equal(evdns_clear_nameservers_and_suspend(), 0);
	add_ns_port(second_port);
	assert_int_equal(evdns_resume(), 0);
}

/* Answer the last query held by ns with one A record. */
static void
answer_last(struct rawns *ns, unsigned last_octet)
{
	struct pkt p;

	reply_start(&p, ns->q, ns->qlen, 0x8180, 1);
	add_a(&p, 10, 0, 0, last_octet);
	send_from(ns->fd, ns, &p);
}

static void
test_calls_from_callbacks(void **state)
{
	struct rawns ns1, ns2;
	struct result r[2];
	uint8_t xq[512];
	size_t xlen;

	rawns_start(&ns1);
	rawns_start(&ns2);
	add_ns_port(ns1.port);
	fast_options();
	assert_int_equal(evdns_set_option("timeout:", "5", DNS_OPTIONS_ALL), 0);
	/* A callback starts a new resolve. */
	memset(r, 0, sizeof(r));
	r[0].then = resolve_again;
	assert_int_equal(evdns_resolve_ipv4("one.example.com", 0, result_cb,
			     &r[0]),
	    0);
	assert_true(run_until(&ns1.got, 1, 5000));
	answer_last(&ns1, 1);
	assert_true(run_until(&ns1.got, 2, 5000));
	assert_int_equal(r[0].err, DNS_ERR_NONE);
	answer_last(&ns1, 2);
	assert_true(run_until(&chained.calls, 1, 5000));
	assert_int_equal(chained.err, DNS_ERR_NONE);
	assert_int_equal(chained.addrs[3], 2);

	/* A callback swaps the nameservers while another request waits on
	 * the old one: that request is sent to the new one. */
	second_port = ns2.port;
	memset(r, 0, sizeof(r));
	r[0].then = clear_and_readd;
	assert_int_equal(evdns_resolve_ipv4("x.example.com", 0, result_cb,
			     &r[0]),
	    0);
	assert_true(run_until(&ns1.got, 3, 5000));
	xlen = ns1.qlen;
	memcpy(xq, ns1.q, xlen);
	assert_int_equal(evdns_resolve_ipv4("y.example.com", 0, result_cb,
			     &r[1]),
	    0);
	assert_true(run_until(&ns1.got, 4, 5000));
	ns1.qlen = xlen;
	memcpy(ns1.q, xq, xlen);
	answer_last(&ns1, 3);
	assert_true(run_until(&ns2.got, 1, 5000));
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[0].err, DNS_ERR_NONE);
	assert_int_equal(r[1].calls, 0);
	answer_last(&ns2, 4);
	assert_true(run_until(&r[1].calls, 1, 5000));
	assert_int_equal(r[1].err, DNS_ERR_NONE);
	assert_int_equal(r[1].addrs[3], 4);
	assert_int_equal(evdns_count_nameservers(), 1);
	rawns_stop(&ns1);
	rawns_stop(&ns2);
}

/* ---- many requests in flight ---- */

static int nshut;

static void
count_cb(int err, char type, int count, int ttl, void *addrs, void *arg)
{
	if (err == DNS_ERR_SHUTDOWN)
		nshut++;
}

static void
test_thousands_inflight(void **state)
{
	struct rawns *ns;
	int i, n = 3000;

	ns = malloc(sizeof(*ns));
	assert_non_null(ns);
	rawns_start(ns);
	add_ns_port(ns->port);
	assert_int_equal(evdns_set_option("max-inflight:", "65000",
			     DNS_OPTIONS_ALL),
	    0);
	assert_int_equal(evdns_set_option("timeout:", "30", DNS_OPTIONS_ALL),
	    0);
	nshut = 0;
	/* In batches, so the socket buffer does not drop queries. */
	for (i = 0; i < n; i++) {
		assert_int_equal(evdns_resolve_ipv4("many.example.com",
				     DNS_QUERY_NO_SEARCH, count_cb, NULL),
		    0);
		if (i % 100 == 99)
			assert_true(run_until(&ns->got, i + 1, 5000));
	}
	assert_int_equal(ns->dups, 0); /* IDs all distinct */
	evdns_shutdown(1);
	assert_int_equal(nshut, n);
	rawns_stop(ns);
	free(ns);
}

/*
 * The nameserver's port is closed: the connected socket reports
 * ECONNREFUSED.  The server is marked down once, the request ends with
 * an error, and the loop does not spin on the error.
 */
static void
test_refused_port(void **state)
{
	struct result r, rb[2];
	unsigned short port;
	int fd;

	fd = udp_socket(&port);
	close(fd);
	add_ns_port(port);
	fast_options();
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_ipv4("r.example.com", 0, result_cb, &r),
	    0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_TIMEOUT);
	assert_int_equal(nlog_down, 1);
	assert_true(run_loops < 50);
	/* Two requests back to back: the second send already meets the
	 * refusal.  Both end with an error, and the loop does not spin. */
	resolve4("r1.example.com", 0, &rb[0]);
	resolve4("r2.example.com", 0, &rb[1]);
	assert_true(run_until(&rb[0].calls, 1, 5000));
	assert_true(run_loops < 50);
	assert_true(run_until(&rb[1].calls, 1, 5000));
	assert_int_equal(rb[0].err, DNS_ERR_TIMEOUT);
	assert_int_equal(rb[1].err, DNS_ERR_TIMEOUT);
	assert_int_equal(nlog_down, 1);
}

/* SERVFAIL from one nameserver: the question goes to another at once. */
static void
test_servfail_tries_another(void **state)
{
	struct tserver ts1, ts2;
	struct result r;

	tserver_start(&ts1);
	tserver_start(&ts2);
	ts1.servfail = 1;
	add_ns_port(ts1.portnum);
	add_ns_port(ts2.portnum);
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.0.0.1");
	assert_int_equal(ts1.nreq, 1);
	assert_int_equal(ts2.nreq, 1);
	assert_int_equal(nlog_down, 0); /* one failure is no outage */
	/* When every nameserver fails, so does the request. */
	ts2.servfail = 1;
	resolve4("a.example.com", DNS_QUERY_NO_SEARCH, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_SERVERFAILED);
	assert_int_equal(ts1.nreq + ts2.nreq, 4);
	evdns_close_server_port(ts1.port);
	evdns_close_server_port(ts2.port);
}

/*
 * A nameserver that stays silent is probed less and less often: each
 * wait is three times the one before.  Shutting down with a probe in
 * flight runs no callback.
 */
static void
test_probe_backoff(void **state)
{
	struct tserver ts;
	struct result r;
	int64_t gap1, gap2;

	tu_deadline(8, "three probes take 1.5 s, more on a loaded machine");
	tserver_start(&ts);
	ts.silent = 1;
	add_ns_port(ts.portnum);
	dns_option("timeout:", "0.1");
	dns_option("attempts:", "1");
	dns_option("max-timeouts:", "1");
	dns_option("initial-probe-timeout:", "0.1");
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_TIMEOUT);
	assert_int_equal(nlog_down, 1);
	/* Probes at about 0.1, 0.5 (0.1 timeout + 0.3) and 1.5 s. */
	assert_true(run_until(&ts.nprobe, 3, 6000));
	gap1 = ts.probe_at[1] - ts.probe_at[0];
	gap2 = ts.probe_at[2] - ts.probe_at[1];
	assert_true(gap1 >= 300000);
	assert_true(gap2 >= 850000);
	assert_true(gap2 > gap1 + gap1 / 2);
	assert_int_equal(ts.nreq, 1);
	evdns_shutdown(1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(nlog_up, 0);
	evdns_close_server_port(ts.port);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_timeout),
		DNS_TEST(test_failover_and_probe),
		DNS_TEST(test_servfail_tries_another),
		DNS_TEST(test_probe_backoff),
		DNS_TEST(test_refused_port),
		DNS_TEST(test_shutdown_inflight),
		DNS_TEST(test_suspend_resume),
		DNS_TEST(test_max_inflight),
		DNS_TEST(test_calls_from_callbacks),
		DNS_TEST(test_thousands_inflight),
	};

	return TU_RUN_PER_BACKEND("dns_requests", tests);
}
