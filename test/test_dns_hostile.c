/*
 * test_dns_hostile.c: the evdns resolver against hostile nameservers.
 *
 * Raw UDP sockets on 127.0.0.1 play the nameserver and send malformed
 * replies (each followed by the genuine one, which must still be taken),
 * replies to other questions or with other IDs, replies from another
 * port, and records whose owner names have no text form.  The
 * resolver's transaction IDs and source ports are checked too.
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
#include "evdns-resolv-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

/* Send the genuine answer (A 10.9.8.7) for ns's query; r must take it. */
static void
genuine_answer(struct rawns *ns, struct result *r)
{
	struct pkt p;

	reply_start(&p, ns->q, ns->qlen, 0x8180, 1);
	add_a(&p, 10, 9, 8, 7);
	send_from(ns->fd, ns, &p);
	assert_true(run_until(&r->calls, 1, 5000));
	assert_int_equal(r->err, DNS_ERR_NONE);
	assert_ipv4(r, 0, "10.9.8.7");
}

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
		genuine_answer(&ns, &r);
		assert_int_equal(r.count, 1);
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
	p.b[13] = 'z'; /* h.example.com -> z.example.com */
	add_a(&p, 6, 6, 6, 6);
	send_from(ns.fd, &ns, &p);
	reply_start(&p, ns.q, ns.qlen, 0x0100, 1);
	add_a(&p, 6, 6, 6, 6);
	send_from(ns.fd, &ns, &p);
	genuine_answer(&ns, &r);
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
	genuine_answer(&ns, &r);
	close(spoofer);
	rawns_stop(&ns);
}

/*
 * The source check itself, past the connected socket that filters most
 * spoofed datagrams in the kernel: a perfect answer handed in as from
 * another port, or another address, is dropped; from the nameserver's
 * own address and port it is taken.
 */
static void
test_source_check(void **state)
{
	struct rawns ns;
	struct result r;
	struct pkt p;
	struct sockaddr_storage from;
	struct sockaddr_in *sin = (void *)&from;
	struct nameserver *server;

	rawns_start(&ns);
	add_ns_port(ns.port);
	assert_non_null(server = ev__dns_nameserver(0));
	assert_null(ev__dns_nameserver(1));
	resolve4("c.example.com", 0, &r);
	assert_true(run_until(&ns.got, 1, 5000));
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	add_a(&p, 6, 6, 6, 6);
	memset(&from, 0, sizeof(from));
	loopback_addr(sin, (unsigned short)(ns.port ^ 1));
	assert_int_equal(ev__dns_ns_datagram(server, &from, p.b, p.n), 0);
	loopback_addr(sin, ns.port);
	sin->sin_addr.s_addr = htonl(0x7f000002);
	assert_int_equal(ev__dns_ns_datagram(server, &from, p.b, p.n), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(nlog_drop, 2);
	loopback_addr(sin, ns.port);
	assert_int_equal(ev__dns_ns_datagram(server, &from, p.b, p.n), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "6.6.6.6");
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

/* A reply with an odd unrelated record is still the answer, at once. */
static void
test_resolve_dotted_owner(void **state)
{
	struct rawns ns;
	struct result r;
	struct pkt p;

	rawns_start(&ns);
	add_ns_port(ns.port);
	fast_options();
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_ipv4("h.example.com", 0, result_cb, &r),
	    0);
	assert_true(run_until(&ns.got, 1, 5000));
	dotted_owner_reply(&p, ns.q, ns.qlen);
	send_from(ns.fd, &ns, &p);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_memory_equal(r.addrs, "\12\11\10\7", 4);
	assert_int_equal(ns.got, 1); /* not sent again */
	assert_int_equal(nlog_drop, 0);
	rawns_stop(&ns);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_hostile_replies),
		DNS_TEST(test_spoofed_port),
		DNS_TEST(test_source_check),
		DNS_TEST(test_ids_and_ports),
		DNS_TEST(test_resolve_dotted_owner),
	};

	return TU_RUN_PER_BACKEND("dns_hostile", tests);
}
