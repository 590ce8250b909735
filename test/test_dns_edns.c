/*
 * test_dns_edns.c: EDNS0 (RFC 6891), 0x20 case randomization and the PTR
 * root name, in the resolver and the server port.
 *
 * Raw UDP nameservers on 127.0.0.1 look at the queries the resolver
 * sends (an OPT record advertising 1232 bytes; letters in random case)
 * and answer as servers that reject OPT, spoof an answer with the right
 * ID but the wrong case, or lower the case of every question.  The
 * server port is asked with and without an OPT record of various sizes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#include "evdns-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

/* The size the last query's OPT advertises, or 0 without one. */
static unsigned
query_edns(const struct rawns *ns)
{
	uint16_t size = 0;

	if (ev__dns_opt_find(ns->q, ns->qlen, &size) != 1)
		return 0;
	return size;
}

/* The question name of the last query, as sent. */
static void
query_name(const struct rawns *ns, char *out)
{
	size_t off = EV__DNS_HDR_LEN;

	assert_int_equal(ev__dns_name_parse(ns->q, ns->qlen, &off, out,
			     EV__DNS_NAME_BUF),
	    0);
}

static void
answer(struct rawns *ns, int lower, unsigned last)
{
	struct pkt p;
	size_t i;

	reply_start(&p, ns->q, ns->qlen, 0x8180, 1);
	for (i = 12; lower && p.b[i] != 0; i++)
		p.b[i] = (uint8_t)tolower(p.b[i]);
	add_a(&p, 10, 0, 0, last);
	send_from(ns->fd, ns, &p);
}

static void
test_edns_query(void **state)
{
	struct rawns ns;
	struct result r;

	rawns_start(&ns);
	add_ns_port(ns.port);
	resolve4("e.example.com", 0, &r);
	assert_true(run_until(&ns.got, 1, 5000));
	assert_int_equal(query_edns(&ns), EV__DNS_EDNS_SIZE);
	answer(&ns, 0, 1);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	/* Another size, then none at all. */
	dns_option("edns-udp-size:", "4096");
	resolve4("e.example.com", 0, &r);
	assert_true(run_until(&ns.got, 2, 5000));
	assert_int_equal(query_edns(&ns), 4096);
	answer(&ns, 0, 1);
	assert_true(run_until(&r.calls, 1, 5000));
	dns_option("edns-udp-size:", "0");
	resolve4("e.example.com", 0, &r);
	assert_true(run_until(&ns.got, 3, 5000));
	assert_int_equal(query_edns(&ns), 0);
	answer(&ns, 0, 1);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(evdns_set_option("edns-udp-size:", "100",
			     DNS_OPTIONS_ALL),
	    -1);
	rawns_stop(&ns);
}

/*
 * A server that rejects OPT (FORMERR, with or without the question): the
 * query is repeated without it, and the server is not sent OPT again.
 */
static void
test_edns_rejected(void **state)
{
	struct rawns ns;
	struct result r;
	struct pkt p;
	int noquestion;

	for (noquestion = 0; noquestion < 2; noquestion++) {
		rawns_start(&ns);
		add_ns_port(ns.port);
		resolve4("old.example.com", 0, &r);
		assert_true(run_until(&ns.got, 1, 5000));
		assert_int_not_equal(query_edns(&ns), 0);
		reply_start(&p, ns.q, ns.qlen, 0x8181, 0);
		if (noquestion) {
			p.n = 12;
			p.b[5] = 0; /* QDCOUNT 0 */
		}
		send_from(ns.fd, &ns, &p);
		assert_true(run_until(&ns.got, 2, 5000));
		assert_int_equal(query_edns(&ns), 0);
		assert_int_equal(r.calls, 0);
		answer(&ns, 0, 2);
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
		assert_ipv4(&r, 0, "10.0.0.2");
		resolve4("old.example.com", 0, &r);
		assert_true(run_until(&ns.got, 3, 5000));
		assert_int_equal(query_edns(&ns), 0);
		answer(&ns, 0, 3);
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
		rawns_stop(&ns);
		evdns_clear_nameservers_and_suspend();
		evdns_resume();
	}
}

/* The server port honours the size a client's OPT record advertises. */
static void
test_server_edns_size(void **state)
{
	static const struct {
		unsigned size; /* 0: no OPT */
		int tc, an;
	} cases[] = {
		{ 0, 1, 29 },
		{ 700, 0, 40 },
		{ 600, 1, 34 },
		{ 100, 1, 29 },
	};
	struct tserver ts;
	uint8_t q[600], reply[2000];
	struct sockaddr_in sin;
	struct ev__dns_header h;
	uint16_t size;
	unsigned short cport;
	size_t i;
	int fd, len, qlen;

	tserver_start(&ts);
	fd = udp_socket(&cport);
	loopback_addr(&sin, ts.portnum);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		qlen = ev__dns_query_build(q, sizeof(q), 9, "big.example.com",
		    EVDNS_TYPE_A);
		if (cases[i].size > 0)
			qlen = ev__dns_opt_append(q, sizeof(q), (size_t)qlen,
			    (uint16_t)cases[i].size);
		assert_true(qlen > 0);
		ts.nreq = 0;
		assert_int_equal(sendto(fd, q, (size_t)qlen, 0,
				     (struct sockaddr *)&sin, sizeof(sin)),
		    qlen);
		assert_true(run_until(&ts.nreq, 1, 5000));
		len = (int)recv(fd, reply, sizeof(reply), MSG_DONTWAIT);
		assert_true(len > 0);
		assert_true((unsigned)len <=
		    (cases[i].size > 512 ? cases[i].size : 512));
		assert_int_equal(ev__dns_header_parse(reply, (size_t)len, &h),
		    0);
		assert_int_equal((h.flags & EV__DNS_TC) != 0, cases[i].tc);
		assert_int_equal(h.ancount, cases[i].an);
		/* An OPT asked for gets one back. */
		assert_int_equal(ev__dns_opt_find(reply, (size_t)len, &size),
		    cases[i].size > 0 ? 1 : 0);
	}
	close(fd);
	evdns_close_server_port(ts.port);
}

/* A spoofed answer with the right ID but the wrong case is ignored. */
static void
test_case_spoofed(void **state)
{
	struct rawns ns;
	struct result r;
	struct pkt p;
	char name[EV__DNS_NAME_BUF];
	uint16_t id;
	size_t i;

	rawns_start(&ns);
	add_ns_port(ns.port);
	resolve4("abcdefghijkl.example.com", 0, &r);
	assert_true(run_until(&ns.got, 1, 5000));
	query_name(&ns, name);
	/* Random case: the odds of 22 letters all lower are 1 in 4M. */
	assert_string_not_equal(name, "abcdefghijkl.example.com");
	assert_true(strcasecmp(name, "abcdefghijkl.example.com") == 0);
	id = ns.ids[0];
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	for (i = 13; p.b[i] != 0; i++)
		p.b[i] ^= isalpha(p.b[i]) ? 0x20 : 0;
	add_a(&p, 6, 6, 6, 6);
	send_from(ns.fd, &ns, &p);
	/* Dropped, and asked again under another ID. */
	assert_true(run_until(&ns.got, 2, 5000));
	assert_int_equal(r.calls, 0);
	assert_int_equal(nlog_drop, 1);
	assert_int_not_equal(ns.ids[1], id);
	answer(&ns, 0, 7);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.0.0.7");
	rawns_stop(&ns);
}

/* A server that lowers the case of every question still answers. */
static void
test_case_not_preserved(void **state)
{
	struct rawns ns;
	struct result r;
	char name[EV__DNS_NAME_BUF];
	int i;

	rawns_start(&ns);
	add_ns_port(ns.port);
	for (i = 0; i < 4; i++) {
		resolve4("abcdefghijkl.example.com", 0, &r);
		assert_true(run_until(&ns.got, 2 * i + 1, 5000));
		answer(&ns, 1, 9);
		if (i < 3) {
			/* Lost the case: asked again without 0x20. */
			assert_true(run_until(&ns.got, 2 * i + 2, 5000));
			query_name(&ns, name);
			assert_string_equal(name, "abcdefghijkl.example.com");
			answer(&ns, 1, 9);
		}
		assert_true(run_until(&r.calls, 1, 5000));
		assert_int_equal(r.err, DNS_ERR_NONE);
		assert_ipv4(&r, 0, "10.0.0.9");
	}
	/* After three, the server is asked in the case given at once. */
	assert_int_equal(ns.got, 7);
	rawns_stop(&ns);
}

static void
test_case_option(void **state)
{
	struct rawns ns;
	struct result r;
	char name[EV__DNS_NAME_BUF];

	rawns_start(&ns);
	add_ns_port(ns.port);
	dns_option("randomize-case:", "0");
	resolve4("abcdefghijkl.example.com", 0, &r);
	assert_true(run_until(&ns.got, 1, 5000));
	query_name(&ns, name);
	assert_string_equal(name, "abcdefghijkl.example.com");
	answer(&ns, 0, 1);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	/* A name asked as given may come back in any case. */
	resolve4("MiXeD.example.COM", 0, &r);
	assert_true(run_until(&ns.got, 2, 5000));
	query_name(&ns, name);
	assert_string_equal(name, "MiXeD.example.COM");
	answer(&ns, 1, 2);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(ns.got, 2);
	rawns_stop(&ns);
}

/*
 * With 0x20 on, a name given in mixed case that a case-lowering server
 * answers: one fallback to the name as given, then accepted (it must not
 * loop asking again).
 */
static void
test_case_given_mixed(void **state)
{
	struct rawns ns;
	struct result r;

	rawns_start(&ns);
	add_ns_port(ns.port);
	resolve4("MiXeDcAsE.ExAmPlE.CoM", 0, &r);
	assert_true(run_until(&ns.got, 1, 5000));
	answer(&ns, 1, 3);
	assert_true(run_until(&ns.got, 2, 5000));
	answer(&ns, 1, 3);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.0.0.3");
	assert_int_equal(ns.got, 2);
	rawns_stop(&ns);
}

/* A PTR answer naming the root is no host name: an error. */
static void
test_ptr_root(void **state)
{
	struct rawns ns;
	struct result r;
	struct pkt p;
	struct in_addr in;

	rawns_start(&ns);
	add_ns_port(ns.port);
	in.s_addr = htonl(0x0a000001);
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_reverse(&in, 0, result_cb, &r), 0);
	assert_true(run_until(&ns.got, 1, 5000));
	reply_start(&p, ns.q, ns.qlen, 0x8180, 1);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_PTR, 1);
	p8(&p, 0); /* the root */
	send_from(ns.fd, &ns, &p);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_UNKNOWN);
	rawns_stop(&ns);
}

/* The OPT record on the wire: appended, found, and bounded. */
static void
test_opt_wire(void **state)
{
	uint8_t q[64], *b;
	struct pkt p;
	uint16_t size = 0;
	int len, n;

	len = ev__dns_query_build(q, sizeof(q), 1, "a.b", EVDNS_TYPE_A);
	assert_true(len > 0);
	assert_int_equal(ev__dns_opt_find(q, (size_t)len, &size), 0);
	/* No room: nothing written. */
	assert_int_equal(ev__dns_opt_append(q, (size_t)len + 10, (size_t)len,
			     1232),
	    -1);
	assert_int_equal(q[11], 0);
	n = ev__dns_opt_append(q, sizeof(q), (size_t)len, 1232);
	assert_int_equal(n, len + 11);
	assert_int_equal(q[11], 1); /* ARCOUNT */
	b = exact(q, (size_t)n);
	assert_int_equal(ev__dns_opt_find(b, (size_t)n, &size), 1);
	assert_int_equal(size, 1232);
	/* Cut short anywhere inside the record: malformed, no overread. */
	for (len = n - 1; len > n - 11; len--) {
		free(b);
		b = exact(q, (size_t)len);
		assert_int_equal(ev__dns_opt_find(b, (size_t)len, &size), -1);
	}
	free(b);
	/* A size below 512 means 512. */
	q[n - 8] = 0;
	q[n - 7] = 10;
	assert_int_equal(ev__dns_opt_find(q, (size_t)n, &size), 1);
	assert_int_equal(size, 512);
	/* Not the root name, or in the answer section: no OPT. */
	memset(&p, 0, sizeof(p));
	pbytes(&p, q, 12);
	p.b[5] = 0; /* no question */
	p.b[11] = 1;
	pbytes(&p, "\1x", 3);
	p16(&p, EV__DNS_TYPE_OPT);
	p16(&p, 4096);
	p32(&p, 0);
	p16(&p, 0);
	assert_int_equal(ev__dns_opt_find(p.b, p.n, &size), 0);
	memset(&p, 0, sizeof(p));
	pbytes(&p, q, 12);
	p.b[5] = 0;
	p.b[7] = 1; /* ANCOUNT */
	p.b[11] = 0;
	p8(&p, 0);
	p16(&p, EV__DNS_TYPE_OPT);
	p16(&p, 4096);
	p32(&p, 0);
	p16(&p, 0);
	assert_int_equal(ev__dns_opt_find(p.b, p.n, &size), 0);
	/* ARCOUNT at its limit: no room to count one more. */
	q[10] = q[11] = 0xff;
	assert_int_equal(ev__dns_opt_append(q, sizeof(q), 20, 1232), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_edns_query),
		DNS_TEST(test_edns_rejected),
		DNS_TEST(test_server_edns_size),
		DNS_TEST(test_case_spoofed),
		DNS_TEST(test_case_not_preserved),
		DNS_TEST(test_case_option),
		DNS_TEST(test_case_given_mixed),
		DNS_TEST(test_ptr_root),
	};
	const struct CMUnitTest once[] = {
		cmocka_unit_test(test_opt_wire),
	};

	return TU_RUN_ONCE("dns_edns", once) +
	    TU_RUN_PER_BACKEND("dns_edns", tests);
}
