/*
 * test_alloc_extra.c: the allocation-failure sweep (test_alloc_util.h)
 * over tagging, HTTP (utilities, server, client, one whole round trip)
 * and DNS (configuration, resolver, server, one whole round trip).  A
 * round trip is swept as one operation: allocation n may fail on either
 * side, and the client must still hear of the outcome, after which the
 * same server, client and resolver objects must serve a clean request.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>
#include <evdns.h>

#include "test_util.h"
#include "test_alloc_util.h"

/* Tagging: a marshal that cannot grow the buffer leaves it as it was. */
static void
test_tagging(void **state)
{
	struct evbuffer *buf, *dst;
	struct timeval tv = { 1234, 5678 };
	static char blob[3000];
	char *s = NULL;
	size_t before;
	ev_uint32_t tag;
	int n, r, kind;

	(void)state;
	memset(blob, 'z', sizeof(blob) - 1);
	assert_non_null(buf = evbuffer_new());
	assert_non_null(dst = evbuffer_new());
	for (kind = 0; kind < 5; kind++) {
		for (n = 1;; n++) {
			/* Fresh and empty, so the marshal must allocate. */
			evbuffer_free(buf);
			assert_non_null(buf = evbuffer_new());
			before = EVBUFFER_LENGTH(buf);
			ta_arm(n);
			switch (kind) {
			case 0:
				evtag_marshal(buf, 7, blob, sizeof(blob));
				break;
			case 1: evtag_marshal_string(buf, 300, blob); break;
			case 2: evtag_marshal_int(buf, 8, 0xdeadbeef); break;
			case 3: evtag_marshal_timeval(buf, 9, &tv); break;
			default: encode_int(buf, 0x12345678); break;
			}
			if (!ta_injected("evtag_marshal", n))
				break;
			assert_int_equal(EVBUFFER_LENGTH(buf), before);
			assert_int_equal(ta_delta(), 0);
		}
		assert_true(EVBUFFER_LENGTH(buf) > before);
	}

	/* Unmarshalling that cannot allocate leaves the source whole. */
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	evtag_marshal_string(buf, 5, blob);
	before = EVBUFFER_LENGTH(buf);
	for (n = 1;; n++) {
		ta_arm(n);
		r = evtag_unmarshal_string(buf, 5, &s);
		if (!ta_injected("evtag_unmarshal_string", n))
			break;
		assert_int_equal(r, -1);
		assert_int_equal(EVBUFFER_LENGTH(buf), before);
	}
	assert_int_equal(r, 0);
	assert_string_equal(s, blob);
	free(s);
	evtag_marshal(buf, 6, blob, sizeof(blob));
	before = EVBUFFER_LENGTH(buf);
	for (n = 1;; n++) {
		ta_arm(n);
		r = evtag_unmarshal(buf, &tag, dst);
		if (!ta_injected("evtag_unmarshal", n))
			break;
		assert_int_equal(r, -1);
		assert_int_equal(EVBUFFER_LENGTH(buf), before);
		assert_int_equal(EVBUFFER_LENGTH(dst), 0);
	}
	assert_int_equal(r, (int)sizeof(blob));
	assert_int_equal(tag, 6);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	evbuffer_free(buf);
	evbuffer_free(dst);
}

/* Calls returning a fresh string: NULL, then the right string. */
#define SWEEP_STRING(what, call, want) \
	do { \
		char *out_; \
		int n_; \
		for (n_ = 1;; n_++) { \
			ta_arm(n_); \
			out_ = (call); \
			if (!ta_injected(what, n_)) \
				break; \
			assert_null(out_); \
			assert_int_equal(ta_delta(), 0); \
		} \
		assert_string_equal(out_, want); \
		free(out_); \
	} while (0)

static void
test_http_util(void **state)
{
	struct evkeyvalq headers;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	int n, r;

	(void)state;
	SWEEP_STRING("evhttp_encode_uri", evhttp_encode_uri("a b/c"),
	    "a%20b%2Fc");
	SWEEP_STRING("evhttp_decode_uri", evhttp_decode_uri("a%20b?c+d"),
	    "a b?c d");
	SWEEP_STRING("evhttp_htmlescape", evhttp_htmlescape("<a&b>"),
	    "&lt;a&amp;b&gt;");

	for (n = 1;; n++) {
		ta_arm(n);
		evhttp_parse_query("/p?a=1&b=x%20y&c=3", &headers);
		if (!ta_injected("evhttp_parse_query", n))
			break;
		/* All or nothing. */
		assert_null(TAILQ_FIRST(&headers));
		assert_int_equal(ta_delta(), 0);
	}
	assert_string_equal(evhttp_find_header(&headers, "a"), "1");
	assert_string_equal(evhttp_find_header(&headers, "b"), "x y");
	assert_string_equal(evhttp_find_header(&headers, "c"), "3");
	for (n = 1;; n++) {
		ta_arm(n);
		r = evhttp_add_header(&headers, "Key", "value");
		if (!ta_injected("evhttp_add_header", n))
			break;
		assert_int_equal(r, -1);
		assert_null(evhttp_find_header(&headers, "Key"));
		assert_int_equal(ta_delta(), 0);
	}
	assert_int_equal(r, 0);
	assert_string_equal(evhttp_find_header(&headers, "Key"), "value");
	evhttp_clear_headers(&headers);

	for (n = 1;; n++) {
		ta_arm(n);
		req = evhttp_request_new(NULL, NULL);
		if (!ta_injected("evhttp_request_new", n))
			break;
		assert_null(req);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(req);
	evhttp_request_free(req);
	for (n = 1;; n++) {
		ta_arm(n);
		evcon = evhttp_connection_new("127.0.0.1", 80);
		if (!ta_injected("evhttp_connection_new", n))
			break;
		assert_null(evcon);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(evcon);
	evhttp_connection_free(evcon);
}

/* /hello answers "hello <uri>", or 503 if it cannot. */
static void
hello_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = evbuffer_new();

	(void)arg;
	if (body == NULL ||
	    evbuffer_add_printf(body, "hello %s", evhttp_request_uri(req)) ==
		-1)
		evhttp_send_error(req, 503, "Out of memory");
	else
		evhttp_send_reply(req, 200, "OK", body);
	if (body != NULL)
		evbuffer_free(body);
}

/* /stream answers the same as a chunked stream of two pieces. */
static void
stream_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *first = evbuffer_new(), *second = evbuffer_new();

	(void)arg;
	if (first == NULL || second == NULL ||
	    evbuffer_add(first, "hello ", 6) == -1 ||
	    evbuffer_add_printf(second, "%s", evhttp_request_uri(req)) == -1) {
		evhttp_send_error(req, 503, "Out of memory");
	} else {
		evhttp_send_reply_start(req, 200, "OK");
		evhttp_send_reply_chunk(req, first);
		evhttp_send_reply_chunk(req, second);
		evhttp_send_reply_end(req);
	}
	evbuffer_free(first);
	evbuffer_free(second);
}

struct reply {
	int done;
	int code; /* -1: the callback got NULL */
	char body[64];
};

static void
reply_cb(struct evhttp_request *req, void *arg)
{
	struct reply *r = arg;
	size_t len;

	r->done = 1;
	r->code = req != NULL ? req->response_code : -1;
	r->body[0] = '\0';
	if (req == NULL)
		return;
	len = EVBUFFER_LENGTH(req->input_buffer);
	if (len >= sizeof(r->body))
		len = sizeof(r->body) - 1;
	if (len > 0)
		memcpy(r->body, EVBUFFER_DATA(req->input_buffer), len);
	r->body[len] = '\0';
}

/*
 * Send one POST for uri on evcon and wait for its outcome: 0 if the
 * request could not even be made (then nothing else happened), else 1
 * with *rep filled in.
 */
static int
round_trip(struct event_base *base, struct evhttp_connection *evcon,
    const char *uri, struct reply *rep)
{
	struct evhttp_request *req;

	memset(rep, 0, sizeof(*rep));
	if ((req = evhttp_request_new(reply_cb, rep)) == NULL)
		return 0;
	if (evhttp_add_header(req->output_headers, "Host", "alloc") == -1 ||
	    evbuffer_add(req->output_buffer, "body", 4) == -1 ||
	    evhttp_make_request(evcon, req, EVHTTP_REQ_POST, uri) == -1) {
		evhttp_request_free(req);
		return 0;
	}
	ta_run_until(base, &rep->done, 3000);
	assert_true(rep->done);
	return 1;
}

/* A clean request on evcon gets the right answer. */
static void
assert_serves(struct event_base *base, struct evhttp_connection *evcon)
{
	struct reply rep;

	assert_int_equal(round_trip(base, evcon, "/hello?again", &rep), 1);
	assert_int_equal(rep.code, 200);
	assert_string_equal(rep.body, "hello /hello?again");
}

/*
 * After a round trip in which an allocation failed: the client heard of
 * it (NULL or 503) or got the real answer, never a wrong one.
 */
static void
assert_outcome(int made, const struct reply *rep, int code, const char *body)
{
	if (!made || rep->code == -1 || rep->code == 503)
		return;
	assert_int_equal(rep->code, code);
	if (body != NULL)
		assert_string_equal(rep->body, body);
}

static void
test_http_server_setup(void **state)
{
	struct evhttp *http;
	unsigned short port;
	int n, r, fd;

	(void)state;
	for (n = 1;; n++) {
		ta_arm(n);
		http = evhttp_new(tu_base);
		if (!ta_injected("evhttp_new", n))
			break;
		assert_null(http);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(http);
	fd = tu_listen_loopback(&port);
	for (n = 1;; n++) {
		ta_arm(n);
		r = evhttp_accept_socket(http, fd);
		if (!ta_injected("evhttp_accept_socket", n))
			break;
		assert_int_equal(r, -1);
	}
	assert_int_equal(r, 0);
	for (n = 1;; n++) {
		ta_arm(n);
		r = evhttp_bind_socket(http, "127.0.0.1", 0);
		if (!ta_injected("evhttp_bind_socket", n))
			break;
		assert_int_equal(r, -1);
	}
	assert_int_equal(r, 0);
	for (n = 1;; n++) {
		ta_arm(n);
		evhttp_set_cb(http, "/cb", hello_cb, NULL);
		if (!ta_injected("evhttp_set_cb", n))
			break;
		assert_int_equal(ta_delta(), 0);
		assert_int_equal(evhttp_del_cb(http, "/cb"), -1);
	}
	assert_int_equal(evhttp_del_cb(http, "/cb"), 0);
	evhttp_free(http);
}

/*
 * Sweep one request for uri (answered with code and body; NULL: any
 * body) over a fresh connection each time (connect, accept, both
 * parsers), then over the kept-alive connection evcon.
 */
static void
sweep_uri(unsigned short port, struct evhttp_connection *evcon, const char *uri,
    int code, const char *body)
{
	struct evhttp_connection *fresh;
	struct reply rep;
	int n, made;

	for (n = 1;; n++) {
		ta_arm(n);
		fresh = evhttp_connection_new("127.0.0.1", port);
		made = 0;
		if (fresh != NULL) {
			evhttp_connection_set_base(fresh, tu_base);
			made = round_trip(tu_base, fresh, uri, &rep);
		}
		if (!ta_injected(uri, n))
			break;
		assert_outcome(made, &rep, code, body);
		if (fresh != NULL) {
			assert_serves(tu_base, fresh);
			evhttp_connection_free(fresh);
		}
		assert_serves(tu_base, evcon);
	}
	assert_int_equal(made, 1);
	assert_outcome(made, &rep, code, body);
	assert_int_equal(rep.code, code);
	evhttp_connection_free(fresh);

	assert_serves(tu_base, evcon);
	for (n = 1;; n++) {
		ta_arm(n);
		made = round_trip(tu_base, evcon, uri, &rep);
		if (!ta_injected(uri, n))
			break;
		assert_outcome(made, &rep, code, body);
		assert_serves(tu_base, evcon);
	}
	assert_int_equal(made, 1);
	assert_int_equal(rep.code, code);
}

static void
test_http_round_trip(void **state)
{
	struct evhttp *http;
	struct evhttp_connection *evcon;
	unsigned short port;
	int n, fd;

	(void)state;
	assert_non_null(http = evhttp_new(tu_base));
	fd = tu_listen_loopback(&port);
	assert_int_equal(evhttp_accept_socket(http, fd), 0);
	evhttp_set_cb(http, "/hello", hello_cb, NULL);
	evhttp_set_cb(http, "/stream", stream_cb, NULL);
	assert_non_null(evcon = evhttp_connection_new("127.0.0.1", port));
	evhttp_connection_set_base(evcon, tu_base);
	for (n = 1;; n++) {
		ta_arm(n);
		evhttp_connection_set_local_address(evcon, "127.0.0.1");
		if (!ta_injected("evhttp_connection_set_local_address", n))
			break;
	}

	sweep_uri(port, evcon, "/hello?x=1", 200, "hello /hello?x=1");
	sweep_uri(port, evcon, "/stream?y", 200, "hello /stream?y");
	sweep_uri(port, evcon, "/nothing", 404, NULL);
	evhttp_connection_free(evcon);
	evhttp_free(http);
}

static void
test_evhttp_start(void **state)
{
	struct event_base *base;
	struct evhttp *http;
	int n;

	(void)state;
	/* evhttp_start() serves on the global base. */
	assert_non_null(base = event_init());
	for (n = 1;; n++) {
		ta_arm(n);
		http = evhttp_start("127.0.0.1", 0);
		if (!ta_injected("evhttp_start", n))
			break;
		assert_null(http);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(http);
	evhttp_free(http);
	event_base_free(base);
}

/* DNS: our own server answers A, AAAA and PTR questions for any name. */
static void
dns_server_cb(struct evdns_server_request *req, void *arg)
{
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 15 };
	struct evdns_server_question *q;
	ev_uint32_t addr = htonl(0x0a000001);
	int i, r = 0;

	(void)arg;
	for (i = 0; i < req->nquestions && r == 0; i++) {
		q = req->questions[i];
		if (q->type == EVDNS_TYPE_A)
			r = evdns_server_request_add_a_reply(req, q->name, 1,
			    &addr, 60);
		else if (q->type == EVDNS_TYPE_AAAA)
			r = evdns_server_request_add_aaaa_reply(req, q->name, 1,
			    (void *)v6, 60);
		else if (q->type == EVDNS_TYPE_PTR)
			r = evdns_server_request_add_ptr_reply(req, NULL,
			    q->name, "alloc.test", 60);
	}
	if (r != 0 || evdns_server_request_respond(req, DNS_ERR_NONE) != 0)
		if (evdns_server_request_respond(req, DNS_ERR_SERVERFAILED))
			evdns_server_request_drop(req);
}

struct answer {
	int done;
	int result;
	char type;
	int count;
};

static void
answer_cb(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct answer *a = arg;

	(void)ttl;
	(void)addrs;
	a->done++;
	a->result = result;
	a->type = type;
	a->count = count;
}

/* The questions of a DNS round trip: A, AAAA, PTR of IPv4 and of IPv6. */
#define NQ 4

/*
 * Ask the NQ questions and wait for the answer of each one that could be
 * asked.  Returns 1 if all could be, else 0.
 */
static int
dns_round_trip(struct event_base *base, struct answer a[NQ])
{
	struct in_addr in;
	struct in6_addr in6;
	int asked[NQ], i;

	memset(a, 0, NQ * sizeof(*a));
	in.s_addr = htonl(0x7f000001);
	memset(&in6, 0, sizeof(in6));
	in6.s6_addr[15] = 1;
	asked[0] = evdns_resolve_ipv4("host.alloc.test", DNS_QUERY_NO_SEARCH,
		       answer_cb, &a[0]) == 0;
	asked[1] = evdns_resolve_ipv6("host.alloc.test", DNS_QUERY_NO_SEARCH,
		       answer_cb, &a[1]) == 0;
	asked[2] = evdns_resolve_reverse(&in, 0, answer_cb, &a[2]) == 0;
	asked[3] = evdns_resolve_reverse_ipv6(&in6, 0, answer_cb, &a[3]) == 0;
	for (i = 0; i < NQ; i++) {
		/* Every request that was queued hears back, once. */
		if (asked[i])
			assert_true(ta_run_until(base, &a[i].done, 5000));
		assert_int_equal(a[i].done, asked[i]);
	}
	return asked[0] && asked[1] && asked[2] && asked[3];
}

/* Every question gets its right answer. */
static void
assert_answers(const struct answer a[NQ])
{
	int i;

	for (i = 0; i < NQ; i++) {
		assert_int_equal(a[i].result, DNS_ERR_NONE);
		assert_int_equal(a[i].count, 1);
	}
	assert_int_equal(a[0].type, DNS_IPv4_A);
	assert_int_equal(a[1].type, DNS_IPv6_AAAA);
	assert_int_equal(a[2].type, DNS_PTR);
	assert_int_equal(a[3].type, DNS_PTR);
}

static void
assert_resolves(struct event_base *base)
{
	struct answer a[NQ];

	assert_int_equal(dns_round_trip(base, a), 1);
	assert_answers(a);
}

static int
udp_loopback(unsigned short *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	assert_true((fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_dns(void **state)
{
	struct event_base *base;
	struct evdns_server_port *port;
	struct answer a[NQ];
	char addr[32], path[] = "/tmp/test_alloc_resolvXXXXXX";
	unsigned short pnum;
	int n, r, fd, made;
	FILE *f;

	(void)state;
	/* The resolver works on the global base. */
	assert_non_null(base = event_init());
	fd = udp_loopback(&pnum);
	for (n = 1;; n++) {
		ta_arm(n);
		port = evdns_add_server_port(fd, 0, dns_server_cb, NULL);
		if (!ta_injected("evdns_add_server_port", n))
			break;
		assert_null(port);
		assert_int_equal(ta_delta(), 0);
	}
	assert_non_null(port);

	/* Configuration. */
	assert_int_equal(evdns_set_option("timeout:", "0.2", DNS_OPTIONS_ALL),
	    0);
	assert_int_equal(evdns_set_option("max-timeouts:", "100",
			     DNS_OPTIONS_ALL),
	    0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)pnum);
	for (n = 1;; n++) {
		ta_arm(n);
		r = evdns_nameserver_ip_add(addr);
		if (!ta_injected("evdns_nameserver_ip_add", n))
			break;
		assert_int_not_equal(r, 0);
		assert_int_equal(evdns_count_nameservers(), 0);
		assert_int_equal(ta_delta(), 0);
	}
	assert_int_equal(r, 0);
	assert_int_equal(evdns_count_nameservers(), 1);
	for (n = 1;; n++) {
		ta_arm(n);
		evdns_search_add("one.alloc.test");
		if (!ta_injected("evdns_search_add", n))
			break;
	}
	assert_int_equal(mkstemp(path) >= 0, 1);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "search a.alloc.test b.alloc.test\noptions ndots:2\n");
	fclose(f);
	for (n = 1;; n++) {
		ta_arm(n);
		r = evdns_resolv_conf_parse(DNS_OPTION_SEARCH | DNS_OPTION_MISC,
		    path);
		if (!ta_injected("evdns_resolv_conf_parse", n))
			break;
		assert_int_equal(r, 4);
	}
	assert_int_equal(r, 0);
	unlink(path);

	/*
	 * A request in flight holds the search list, so changing it makes a
	 * copy: one that cannot be completed leaves the list as it was.
	 */
	memset(a, 0, sizeof(a));
	assert_int_equal(evdns_resolve_ipv4("host", 0, answer_cb, &a[0]), 0);
	for (n = 1;; n++) {
		ta_arm(n);
		evdns_search_add("c.alloc.test");
		if (!ta_injected("evdns_search_add (copy)", n))
			break;
		assert_int_equal(ta_delta(), 0);
	}
	assert_true(ta_run_until(base, &a[0].done, 5000));
	assert_int_equal(a[0].result, DNS_ERR_NONE);

	/* Resolver and server together. */
	for (n = 1;; n++) {
		ta_arm(n);
		made = dns_round_trip(base, a);
		if (!ta_injected("DNS round trip", n))
			break;
		assert_resolves(base);
	}
	assert_int_equal(made, 1);
	assert_answers(a);

	evdns_close_server_port(port);
	evdns_shutdown(0);
	event_base_free(base);
}

/*
 * evdns_init() reads /etc/resolv.conf, whatever it holds; evdns_shutdown()
 * must then give back everything, after a failure as after success.
 */
static void
test_evdns_init(void **state)
{
	struct event_base *base;
	int n, r;

	(void)state;
	assert_non_null(base = event_init());
	/* Once first, so the base's own tables have grown to what it takes. */
	(void)evdns_init();
	evdns_shutdown(0);
	for (n = 1;; n++) {
		ta_arm(n);
		r = evdns_init();
		evdns_shutdown(0);
		if (!ta_injected("evdns_init", n))
			break;
		assert_int_equal(r, 4);
		assert_int_equal(ta_delta(), 0);
	}
	assert_int_equal(ta_delta(), 0);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TEST(test_http_server_setup),
		TU_TEST(test_http_round_trip),
		cmocka_unit_test(test_evhttp_start),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_evdns_init),
	};
	const struct CMUnitTest once[] = {
		cmocka_unit_test(test_tagging),
		cmocka_unit_test(test_http_util),
	};

	ta_install();
	return TU_RUN_ONCE("alloc_extra", once) +
	    TU_RUN_PER_BACKEND("alloc_extra", tests);
}
