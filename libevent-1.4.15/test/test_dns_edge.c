/*
 * test_dns_edge.c: edge cases of the evdns layer found in review, kept
 * apart from test_dns.c: names whose labels hold dots, NULs or control
 * bytes, replies whose questions do not fit in a datagram, a nameserver
 * whose port is closed, resolver calls made from inside callbacks,
 * thousands of requests in flight, and resolv.conf files with NUL bytes.
 * Raw UDP sockets on 127.0.0.1 play the nameserver.
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

struct result {
	int calls, err, count;
	uint8_t addr[4];
	char name[256];
	void (*then)(struct result *);
};

static void
result_cb(int err, char type, int count, int ttl, void *addrs, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->err = err;
	r->count = count;
	if (err == DNS_ERR_NONE && type == DNS_PTR)
		snprintf(r->name, sizeof(r->name), "%s", *(char **)addrs);
	else if (err == DNS_ERR_NONE && count > 0)
		memcpy(r->addr, addrs, 4);
	if (r->then != NULL)
		r->then(r);
}

/* The wire form of one label holding "a.example.com" (dots inside). */
static const uint8_t dotted[] = "\015a.example.com";

/* ---- the wire format ---- */

/*
 * A label may hold any byte.  One with a dot inside cannot be written as
 * text without passing for several labels: such records are skipped
 * (not taken for "a.example.com"), and the rest of the reply is used.
 */
static void
test_wire_dotted_labels(void **state)
{
	struct ev__dns_answer a;
	struct pkt p;
	uint8_t q[512];
	size_t qlen;

	/* An unrelated record with an odd owner, then the real answer. */
	qlen = query(q, sizeof(q), "h.example.com", EVDNS_TYPE_A);
	reply_start(&p, q, qlen, 0x8180, 2);
	pbytes(&p, dotted, sizeof(dotted));
	rr_fixed(&p, EVDNS_TYPE_A, 4);
	pbytes(&p, "\6\6\6\6", 4);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_A, 4);
	pbytes(&p, "\12\11\10\7", 4);
	assert_int_equal(answers(&p, EVDNS_TYPE_A, &a), 1);
	assert_int_equal(a.count, 1);
	assert_memory_equal(a.addrs, "\12\11\10\7", 4);

	/* A CNAME to the odd name, and records for both spellings of it:
	 * neither is an answer for h.example.com. */
	reply_start(&p, q, qlen, 0x8180, 3);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_CNAME, sizeof(dotted));
	pbytes(&p, dotted, sizeof(dotted));
	pbytes(&p, dotted, sizeof(dotted));
	rr_fixed(&p, EVDNS_TYPE_A, 4);
	pbytes(&p, "\6\6\6\6", 4);
	pbytes(&p, "\1a\7example\3com", 15);
	rr_fixed(&p, EVDNS_TYPE_A, 4);
	pbytes(&p, "\5\5\5\5", 4);
	assert_int_equal(answers(&p, EVDNS_TYPE_A, &a), 0);

	/* A PTR whose target is one label "a.example.com". */
	qlen = query(q, sizeof(q), "4.3.2.1.in-addr.arpa", EVDNS_TYPE_PTR);
	reply_start(&p, q, qlen, 0x8180, 1);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_PTR, sizeof(dotted));
	pbytes(&p, dotted, sizeof(dotted));
	assert_int_equal(answers(&p, EVDNS_TYPE_PTR, &a), 0);
	assert_string_equal(a.ptr, "");

	/* A question with such a name is no question of ours. */
	p.n = 0;
	pbytes(&p, "\0\7\201\200\0\1\0\0\0\0\0\0", 12);
	pbytes(&p, dotted, sizeof(dotted));
	p16(&p, EVDNS_TYPE_A);
	p16(&p, EVDNS_CLASS_INET);
	assert_int_equal(answers(&p, EVDNS_TYPE_A, &a), -1);
}

/* A PTR target with control bytes or spaces is no host name to hand out. */
static void
test_wire_ptr_unprintable(void **state)
{
	static const char *const bad[] = {
		"\033[2Jevil", "evil\nhost", "with space", "high\377byte",
	};
	struct ev__dns_answer a;
	struct pkt p;
	uint8_t q[512];
	size_t qlen, i, l;

	qlen = query(q, sizeof(q), "4.3.2.1.in-addr.arpa", EVDNS_TYPE_PTR);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = strlen(bad[i]);
		reply_start(&p, q, qlen, 0x8180, 1);
		p16(&p, 0xc00c);
		rr_fixed(&p, EVDNS_TYPE_PTR, (unsigned)l + 2);
		p8(&p, (unsigned)l);
		pbytes(&p, bad[i], l + 1);
		assert_int_equal(answers(&p, EVDNS_TYPE_PTR, &a), 0);
	}
	/* A good one is still taken, even after a bad one. */
	reply_start(&p, q, qlen, 0x8180, 2);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_PTR, 5);
	pbytes(&p, "\3a\tb", 4);
	p8(&p, 0);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_PTR, 8);
	pbytes(&p, "\6host-1", 7);
	p8(&p, 0);
	assert_int_equal(answers(&p, EVDNS_TYPE_PTR, &a), 1);
	assert_int_equal(a.count, 1);
	assert_string_equal(a.ptr, "host-1");
}

/* Name lengths: 255 bytes on the wire are fine, 256 are not. */
static void
test_wire_name_limits(void **state)
{
	char name[EV__DNS_NAME_BUF + 8], out[EV__DNS_NAME_BUF];
	uint8_t q[600];
	size_t off;
	int len, last;

	for (last = 61; last <= 62; last++) {
		memset(name, 'a', sizeof(name));
		name[63] = name[127] = name[191] = '.';
		name[192 + last] = '\0';
		assert_int_equal(ev__dns_name_check(name),
		    last == 61 ? 0 : -1);
		len = ev__dns_query_build(q, sizeof(q), 1, name,
		    EVDNS_TYPE_A);
		assert_int_equal(len, last == 61 ? 12 + 255 + 4 : -1);
	}
	/* Encode the 256-byte name by hand: the parser refuses it. */
	q[0] = 63;
	memset(q + 1, 'b', 63);
	memcpy(q + 64, q, 64);
	memcpy(q + 128, q, 64);
	q[192] = 62;
	memset(q + 193, 'b', 62);
	q[255] = 0;
	off = 0;
	memset(out, 'z', sizeof(out));
	assert_int_equal(ev__dns_name_parse(q, 256, &off, out, sizeof(out)),
	    -1);
	/* Not left holding the labels read before the failure, unended. */
	assert_string_equal(out, "");
	q[192] = 61;
	q[254] = 0;
	off = 0;
	assert_int_equal(ev__dns_name_parse(q, 255, &off, out, sizeof(out)),
	    0);
	assert_int_equal(strlen(out), 253);
	assert_int_equal(off, 255);
}

static struct evdns_server_question *
question(const char *name)
{
	struct evdns_server_question *q;

	q = malloc(sizeof(*q) + strlen(name));
	assert_non_null(q);
	q->type = EVDNS_TYPE_A;
	q->dns_question_class = EVDNS_CLASS_INET;
	strcpy(q->name, name);
	return q;
}

/*
 * A request may carry several long questions; the reply must still be
 * sent (a bare header with TC), or the request is never answered.
 */
static void
test_wire_questions_too_long(void **state)
{
	struct evdns_server_question *qs[3];
	struct ev__dns_msg m;
	uint8_t buf[EV__DNS_UDP_MAX];
	char name[250];
	int i, len;

	memset(name, 'x', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[sizeof(name) - 1] = '\0';
	for (i = 0; i < 3; i++) {
		/* Names that differ at the end share no suffix. */
		name[sizeof(name) - 2] = (char)('a' + i);
		qs[i] = question(name);
	}
	memset(&m, 0, sizeof(m));
	m.id = 0x4242;
	m.flags = EV__DNS_QR;
	m.nquestions = 3;
	m.questions = qs;
	len = ev__dns_response_build(buf, sizeof(buf), &m);
	assert_int_equal(len, EV__DNS_HDR_LEN);
	assert_int_equal(buf[0], 0x42);
	assert_true(buf[2] & 0x02);		/* TC */
	for (i = 4; i < 12; i++)
		assert_int_equal(buf[i], 0);	/* no counts */
	/* One fits; a question name that is not valid is still refused. */
	m.nquestions = 1;
	assert_true(ev__dns_response_build(buf, sizeof(buf), &m) > 12);
	assert_false(buf[2] & 0x02);
	strcpy(qs[0]->name, "a..b");
	assert_int_equal(ev__dns_response_build(buf, sizeof(buf), &m), -1);
	for (i = 0; i < 3; i++)
		free(qs[i]);
}

/* ---- the server port, end to end ---- */

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
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(sport);
	assert_int_equal(sendto(cfd, p.b, p.n, 0, (struct sockaddr *)&sin,
	    sizeof(sin)), (ssize_t)p.n);
	assert_true(run_until(&nserved, 1, 5000));
	assert_int_equal(respond_res, 0);
	r = recv(cfd, reply, sizeof(reply), MSG_DONTWAIT);
	assert_int_equal(r, 12);
	assert_true(reply[2] & 0x82);		/* QR, TC */
	p.b[5] = 0;
	p.n = 12;
	assert_int_equal(sendto(cfd, p.b, p.n, 0, (struct sockaddr *)&sin,
	    sizeof(sin)), 12);
	assert_true(run_until(&nserved, 2, 5000));
	assert_int_equal(respond_res, 0);
	assert_int_equal(recv(cfd, reply, sizeof(reply), MSG_DONTWAIT), 12);
	evdns_close_server_port(port);
	close(cfd);
}

/* ---- the resolver ---- */

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
	assert_int_equal(evdns_resolve_ipv4("h.example.com", 0, result_cb,
	    &r), 0);
	assert_true(run_until(&ns.got, 1, 5000));
	reply_start(&p, ns.q, ns.qlen, 0x8180, 2);
	pbytes(&p, dotted, sizeof(dotted));
	rr_fixed(&p, EVDNS_TYPE_A, 4);
	pbytes(&p, "\6\6\6\6", 4);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_A, 4);
	pbytes(&p, "\12\11\10\7", 4);
	assert_int_equal(sendto(ns.fd, p.b, p.n, 0,
	    (struct sockaddr *)&ns.from, sizeof(ns.from)), (ssize_t)p.n);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_memory_equal(r.addr, "\12\11\10\7", 4);
	assert_int_equal(ns.got, 1);		/* not sent again */
	assert_int_equal(nlog_drop, 0);
	rawns_stop(&ns);
}

/*
 * The nameserver's port is closed: the connected socket reports
 * ECONNREFUSED.  The server is marked down once, the request ends with
 * an error, and the loop does not spin on the error.
 */
static void
test_refused_port(void **state)
{
	struct result r;
	unsigned short port;
	int fd;

	fd = udp_socket(&port);
	close(fd);
	add_ns_port(port);
	fast_options();
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_ipv4("r.example.com", 0, result_cb,
	    &r), 0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_TIMEOUT);
	assert_int_equal(nlog_down, 1);
	assert_true(run_loops < 50);
}

/* ---- resolver calls from inside callbacks ---- */

static struct result chained;
static unsigned short second_port;

static void
resolve_again(struct result *r)
{
	memset(&chained, 0, sizeof(chained));
	assert_int_equal(evdns_resolve_ipv4("again.example.com", 0,
	    result_cb, &chained), 0);
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
	assert_int_equal(evdns_set_option("timeout:", "5", DNS_OPTIONS_ALL),
	    0);
	/* A callback starts a new resolve. */
	memset(r, 0, sizeof(r));
	r[0].then = resolve_again;
	assert_int_equal(evdns_resolve_ipv4("one.example.com", 0, result_cb,
	    &r[0]), 0);
	assert_true(run_until(&ns1.got, 1, 5000));
	answer_last(&ns1, 1);
	assert_true(run_until(&ns1.got, 2, 5000));
	assert_int_equal(r[0].err, DNS_ERR_NONE);
	answer_last(&ns1, 2);
	assert_true(run_until(&chained.calls, 1, 5000));
	assert_int_equal(chained.err, DNS_ERR_NONE);
	assert_int_equal(chained.addr[3], 2);

	/* A callback swaps the nameservers while another request waits on
	 * the old one: that request is sent to the new one. */
	second_port = ns2.port;
	memset(r, 0, sizeof(r));
	r[0].then = clear_and_readd;
	assert_int_equal(evdns_resolve_ipv4("x.example.com", 0, result_cb,
	    &r[0]), 0);
	assert_true(run_until(&ns1.got, 3, 5000));
	xlen = ns1.qlen;
	memcpy(xq, ns1.q, xlen);
	assert_int_equal(evdns_resolve_ipv4("y.example.com", 0, result_cb,
	    &r[1]), 0);
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
	assert_int_equal(r[1].addr[3], 4);
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
	    DNS_OPTIONS_ALL), 0);
	assert_int_equal(evdns_set_option("timeout:", "30", DNS_OPTIONS_ALL),
	    0);
	nshut = 0;
	/* In batches, so the socket buffer does not drop queries. */
	for (i = 0; i < n; i++) {
		assert_int_equal(evdns_resolve_ipv4("many.example.com",
		    DNS_QUERY_NO_SEARCH, count_cb, NULL), 0);
		if (i % 100 == 99)
			assert_true(run_until(&ns->got, i + 1, 5000));
	}
	assert_int_equal(ns->dups, 0);		/* IDs all distinct */
	evdns_shutdown(1);
	assert_int_equal(nshut, n);
	rawns_stop(ns);
	free(ns);
}

/* ---- resolv.conf ---- */

static void
test_resolv_conf_nul(void **state)
{
	static const char conf[] =
	    "nameserver 127.0.0.1:1111\n\0junk\n"
	    "options timeout:-1 attempts:x ndots:99999999999999 "
	    "max-inflight:0\n"
	    "nameserver 127.0.0.1:2222";	/* no final newline */
	char path[] = "/tmp/test_dns_edge.XXXXXX";
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, sizeof(conf) - 1),
	    (ssize_t)sizeof(conf) - 1);
	close(fd);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 0);
	unlink(path);
	assert_int_equal(evdns_count_nameservers(), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_dotted_labels),
		cmocka_unit_test(test_wire_ptr_unprintable),
		cmocka_unit_test(test_wire_name_limits),
		cmocka_unit_test(test_wire_questions_too_long),
		cmocka_unit_test_setup_teardown(test_server_many_questions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_dotted_owner,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_port, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_calls_from_callbacks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_thousands_inflight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resolv_conf_nul, setup,
		    teardown),
	};

	return TU_RUN_PER_BACKEND("dns_edge", tests);
}
