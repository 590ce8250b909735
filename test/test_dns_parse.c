/*
 * test_dns_parse.c: the DNS wire format of evdns-parse.c, fed directly.
 *
 * Hostile replies (bad labels, pointer loops, lying counts), every
 * truncation of a good reply, names at and past their limits, labels
 * holding dots or control bytes, CNAME chains, and replies encoded with
 * name compression and truncated to fit.  Each packet is parsed from a
 * heap buffer of its exact size, so ASan sees any read past the end.
 * Nothing here needs an event loop: the tests run once.
 */
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <evdns.h>

#include "evdns-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

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
		assert_int_equal(ev__dns_name_parse(b, sizeof(loop), &off, name,
				     sizeof(name)),
		    -1);
		free(b);
		b = exact(ext, sizeof(ext));
		off = 0;
		assert_int_equal(ev__dns_name_parse(b, sizeof(ext), &off, name,
				     sizeof(name)),
		    -1);
		free(b);
	}
	/* Requests: a self pointer, too many questions, a response. */
	{
		struct ev__dns_query q;
		uint8_t *b;

		hostile_reply(&p, &ns, 1);
		p.b[2] &= 0x7f; /* make it a query */
		p.b[5] = 2;	/* whose 2nd question is the pointer */
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
	rr[0].name = "4.3.2.1.IN-ADDR.ARPA"; /* compressed despite case */
	rr[0].type = EVDNS_TYPE_CNAME;
	rr[0].dns_class = EVDNS_CLASS_INET;
	rr[0].ttl = 9;
	rr[0].is_name = 1;
	rr[0].data = "4.0/25.3.2.1.in-addr.arpa";
	rr[0].next = &rr[1];
	rr[1].name = "4.0/25.3.2.1.in-addr.arpa";
	rr[1].type = EVDNS_TYPE_PTR;
	rr[1].dns_class = EVDNS_CLASS_INET;
	rr[1].ttl = 0x80000000U; /* read back as 0 */
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
			     EVDNS_TYPE_PTR, &a),
	    1);
	assert_string_equal(a.ptr, "host.example");
	assert_int_equal(a.ttl, 0);
	/* Too small a buffer: records are left out and TC is set. */
	len = ev__dns_response_build(buf, 60, &m);
	assert_true(len > 0 && len <= 60);
	assert_true(buf[2] & 0x02);
	assert_int_equal(buf[7], 1);
	free(qs[0]);
}

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
	dotted_owner_reply(&p, q, qlen);
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
		"\033[2Jevil",
		"evil\nhost",
		"with space",
		"high\377byte",
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
		assert_int_equal(ev__dns_name_check(name), last == 61 ? 0 : -1);
		len = ev__dns_query_build(q, sizeof(q), 1, name, EVDNS_TYPE_A);
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
	assert_int_equal(ev__dns_name_parse(q, 255, &off, out, sizeof(out)), 0);
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
	assert_true(buf[2] & 0x02); /* TC */
	for (i = 4; i < 12; i++)
		assert_int_equal(buf[i], 0); /* no counts */
	/* One fits; a question name that is not valid is still refused. */
	m.nquestions = 1;
	assert_true(ev__dns_response_build(buf, sizeof(buf), &m) > 12);
	assert_false(buf[2] & 0x02);
	strcpy(qs[0]->name, "a..b");
	assert_int_equal(ev__dns_response_build(buf, sizeof(buf), &m), -1);
	for (i = 0; i < 3; i++)
		free(qs[i]);
}

/* Buffers too small for what is asked: -1, and nothing written past them. */
static void
test_wire_small_buffers(void **state)
{
	static const uint8_t www[] = "\3www\7example\3com";
	struct ev__dns_msg m;
	char out[8];
	uint8_t q[512];
	size_t off = 0;

	assert_int_equal(ev__dns_name_parse(www, sizeof(www), &off, out, 0),
	    -1);
	memset(out, 'z', sizeof(out));
	assert_int_equal(ev__dns_name_parse(www, sizeof(www), &off, out,
			     sizeof(out)),
	    -1);
	assert_string_equal(out, "");
	assert_int_equal(off, 0);
	assert_int_equal(ev__dns_query_build(q, 11, 1, "a.b", EVDNS_TYPE_A),
	    -1);
	assert_int_equal(ev__dns_query_build(q, 32, 1, "www.example.com",
			     EVDNS_TYPE_A),
	    -1);
	assert_int_equal(ev__dns_query_build(q, 33, 1, "www.example.com",
			     EVDNS_TYPE_A),
	    33);
	memset(&m, 0, sizeof(m));
	assert_int_equal(ev__dns_response_build(q, 11, &m), -1);
	m.nquestions = -1;
	assert_int_equal(ev__dns_response_build(q, sizeof(q), &m), -1);
}

/* The root is a name; 127 one-letter labels fit in 255 bytes, 128 not. */
static void
test_wire_name_check_limits(void **state)
{
	char name[300];
	int i;

	assert_int_equal(ev__dns_name_check("."), 0);
	for (i = 0; i < 130; i++) {
		name[2 * i] = 'a';
		name[2 * i + 1] = '.';
	}
	name[260] = '\0';
	assert_int_equal(ev__dns_name_check(name), -1);
	name[253] = '\0';
	assert_int_equal(ev__dns_name_check(name), 0);
	name[253] = '.';
	name[255] = '\0';
	assert_int_equal(ev__dns_name_check(name), -1);
}

/* What a reply's answers yield: bounded, first PTR only, exact rdata. */
static void
test_wire_answer_limits(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	struct ev__dns_answer a;
	struct pkt p;
	uint8_t q[512];
	size_t qlen;
	int i;

	/* 40 addresses: the first 32 are handed out. */
	qlen = query(q, sizeof(q), "many.example.com", EVDNS_TYPE_A);
	reply_start(&p, q, qlen, 0x8180, 40);
	for (i = 0; i < 40; i++)
		add_a(&p, 10, 0, 0, (unsigned)i);
	assert_int_equal(answers(&p, EVDNS_TYPE_A, &a), 1);
	assert_int_equal(a.count, EV__DNS_MAX_ADDRS);
	assert_int_equal(a.addrs[4 * 31 + 3], 31);
	/* Only A, AAAA and PTR are collected. */
	assert_int_equal(answers(&p, EVDNS_TYPE_MX, &a), -1);

	/* AAAA: 16 bytes each. */
	qlen = query(q, sizeof(q), "six.example.com", EVDNS_TYPE_AAAA);
	reply_start(&p, q, qlen, 0x8180, 1);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_AAAA, 16);
	pbytes(&p, v6, 16);
	assert_int_equal(answers(&p, EVDNS_TYPE_AAAA, &a), 1);
	assert_memory_equal(a.addrs, v6, 16);

	/* Two PTR records: the first is the answer. */
	qlen = query(q, sizeof(q), "4.3.2.1.in-addr.arpa", EVDNS_TYPE_PTR);
	reply_start(&p, q, qlen, 0x8180, 2);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_PTR, 7);
	pbytes(&p, "\5first", 7);
	p16(&p, 0xc00c);
	rr_fixed(&p, EVDNS_TYPE_PTR, 8);
	pbytes(&p, "\6second", 8);
	assert_int_equal(answers(&p, EVDNS_TYPE_PTR, &a), 1);
	assert_int_equal(a.count, 1);
	assert_string_equal(a.ptr, "first");

	/* A name in rdata must fill the rdata exactly: PTR, then CNAME. */
	for (i = 0; i < 2; i++) {
		reply_start(&p, q, qlen, 0x8180, 1);
		p16(&p, 0xc00c);
		rr_fixed(&p, i == 0 ? EVDNS_TYPE_PTR : EVDNS_TYPE_CNAME, 8);
		pbytes(&p, "\5first", 7);
		p8(&p, 'x');
		assert_int_equal(answers(&p, EVDNS_TYPE_PTR, &a), -1);
	}
}

/* A record that does not fit in the buffer is left out, with TC set. */
static void
test_wire_response_record_cut(void **state)
{
	struct evdns_server_question *qs[1];
	struct ev__dns_rr rr;
	struct ev__dns_msg m;
	uint8_t buf[512];
	size_t cap;

	qs[0] = question("a.example.com");
	memset(&rr, 0, sizeof(rr));
	rr.name = "a.example.com";
	rr.type = EVDNS_TYPE_CNAME;
	rr.dns_class = EVDNS_CLASS_INET;
	rr.is_name = 1;
	rr.data = "target.example.org";
	memset(&m, 0, sizeof(m));
	m.flags = EV__DNS_QR;
	m.nquestions = 1;
	m.questions = qs;
	m.sections[0] = &rr;
	/* Header 12, question 19, record: a pointer for its name, 10 fixed
	 * bytes, rdata "target.example.org" in 20 (nothing to compress). */
	assert_int_equal(ev__dns_response_build(buf, sizeof(buf), &m), 63);
	assert_false(buf[2] & 0x02);
	/* Cut in the rdata, and just before the rdlength. */
	for (cap = 41; cap <= 62; cap += 21) {
		memset(buf, 0, sizeof(buf));
		assert_int_equal(ev__dns_response_build(buf, cap, &m), 31);
		assert_true(buf[2] & 0x02);
		assert_int_equal(buf[7], 0);
	}
	free(qs[0]);
}

/* Every error code, the wire's RCODEs and the resolver's own, has a
 * message of its own. */
static void
test_err_to_string(void **state)
{
	static const int codes[] = {
		DNS_ERR_NONE,
		DNS_ERR_FORMAT,
		DNS_ERR_SERVERFAILED,
		DNS_ERR_NOTEXIST,
		DNS_ERR_NOTIMPL,
		DNS_ERR_REFUSED,
		DNS_ERR_TRUNCATED,
		DNS_ERR_UNKNOWN,
		DNS_ERR_TIMEOUT,
		DNS_ERR_SHUTDOWN,
	};
	const char *msg[sizeof(codes) / sizeof(codes[0])];
	size_t i, j, n = sizeof(codes) / sizeof(codes[0]);

	for (i = 0; i < n; i++) {
		msg[i] = evdns_err_to_string(codes[i]);
		assert_non_null(msg[i]);
		for (j = 0; j < i; j++)
			assert_string_not_equal(msg[i], msg[j]);
		assert_string_not_equal(msg[i], evdns_err_to_string(-1));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_hostile),
		cmocka_unit_test(test_wire_roundtrip),
		cmocka_unit_test(test_wire_dotted_labels),
		cmocka_unit_test(test_wire_ptr_unprintable),
		cmocka_unit_test(test_wire_name_limits),
		cmocka_unit_test(test_wire_questions_too_long),
		cmocka_unit_test(test_wire_small_buffers),
		cmocka_unit_test(test_wire_name_check_limits),
		cmocka_unit_test(test_wire_answer_limits),
		cmocka_unit_test(test_wire_response_record_cut),
		cmocka_unit_test(test_err_to_string),
	};

	return TU_RUN_ONCE("dns_parse", tests);
}
