/*
 * test_alloc_dns.c: the allocation-failure sweep (test_alloc_util.h) over
 * what DNS over TCP allocates: a lookup whose answer (120 addresses) does
 * not fit in a datagram, so the resolver falls back to TCP and our server
 * port serves the connection.  Allocation n may fail on either side; the
 * caller must still hear of the outcome once, and the same resolver and
 * server must then serve a clean lookup.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#include "test_util.h"
#include "test_alloc_util.h"

#define NADDRS 120

static void
server_cb(struct evdns_server_request *req, void *arg)
{
	static ev_uint32_t addrs[NADDRS];
	int i;

	(void)arg;
	for (i = 0; i < NADDRS; i++)
		addrs[i] = htonl(0x0a000000U + (unsigned)i);
	if (req->nquestions != 1 ||
	    evdns_server_request_add_a_reply(req, req->questions[0]->name,
		NADDRS, addrs, 60) != 0 ||
	    evdns_server_request_respond(req, DNS_ERR_NONE) != 0)
		if (evdns_server_request_respond(req, DNS_ERR_SERVERFAILED))
			evdns_server_request_drop(req);
}

struct answer {
	int done, result, count;
};

static void
answer_cb(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct answer *a = arg;

	(void)type;
	(void)ttl;
	(void)addrs;
	a->done++;
	a->result = result;
	a->count = count;
}

/* Ask for the big name; 1 if it could be asked (and was answered). */
static int
lookup(struct event_base *base, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	if (evdns_resolve_ipv4("big.alloc.test", DNS_QUERY_NO_SEARCH, answer_cb,
		a) != 0)
		return 0;
	assert_true(ta_run_until(base, &a->done, 5000));
	assert_int_equal(a->done, 1);
	return 1;
}

/* A UDP socket and a listening TCP socket on one loopback port. */
static void
sockets(int *udp, int *tcp, unsigned short *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int i, one = 1;

	for (i = 0; i < 20; i++) {
		assert_true((*udp = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
		assert_true((*tcp = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(*udp, (struct sockaddr *)&sin,
				     sizeof(sin)),
		    0);
		assert_int_equal(getsockname(*udp, (struct sockaddr *)&sin,
				     &len),
		    0);
		setsockopt(*tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(*tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(*tcp, 8) == 0) {
			*port = ntohs(sin.sin_port);
			return;
		}
		close(*udp);
		close(*tcp);
	}
	fail_msg("no port free for both UDP and TCP");
}

static void
test_dns_tcp(void **state)
{
	struct event_base *base;
	struct evdns_server_port *uport, *tport;
	struct answer a;
	char addr[32];
	unsigned short pnum = 0;
	int n, made, udp, tcp;

	(void)state;
	assert_non_null(base = event_init());
	sockets(&udp, &tcp, &pnum);
	assert_non_null(uport = evdns_add_server_port(udp, 0, server_cb, NULL));
	for (n = 1;; n++) {
		ta_arm(n);
		tport = evdns_add_server_port(tcp, 1, server_cb, NULL);
		if (!ta_injected("evdns_add_server_port (TCP)", n))
			break;
		assert_null(tport);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(tport);
	assert_int_equal(evdns_set_option("timeout:", "0.2", DNS_OPTIONS_ALL),
	    0);
	assert_int_equal(evdns_set_option("max-timeouts:", "100",
			     DNS_OPTIONS_ALL),
	    0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)pnum);
	assert_int_equal(evdns_nameserver_ip_add(addr), 0);
	/* Once cleanly, so the base's tables have grown to what it takes. */
	assert_int_equal(lookup(base, &a), 1);
	assert_int_equal(a.result, DNS_ERR_NONE);
	for (n = 1;; n++) {
		/* A new nameserver, so each lookup opens its TCP connection
		 * (and the server accepts one) inside the sweep. */
		evdns_clear_nameservers_and_suspend();
		evdns_resume();
		assert_int_equal(evdns_nameserver_ip_add(addr), 0);
		ta_arm(n);
		made = lookup(base, &a);
		if (!ta_injected("DNS lookup over TCP", n))
			break;
		/* Whatever failed, the next lookup works. */
		assert_int_equal(lookup(base, &a), 1);
		assert_int_equal(a.result, DNS_ERR_NONE);
		assert_int_equal(a.count, 32);
	}
	assert_int_equal(made, 1);
	assert_int_equal(a.result, DNS_ERR_NONE);
	evdns_close_server_port(uport);
	evdns_close_server_port(tport);
	evdns_shutdown(0);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_tcp),
	};

	ta_install();
	return TU_RUN_PER_BACKEND("alloc_dns", tests);
}
