/*
 * test_dns_util.c: helpers shared by the DNS test programs (see
 * test_dns_util.h): resolver setup, the loop driver, result recording,
 * our server port and a raw socket as nameservers, and a packet builder.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
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

static struct event_base *base;

int nlog_down, nlog_up, nlog_drop;

static void
log_cb(int warn, const char *msg)
{
	/* DNS_TEST_LOG=1 shows the resolver's log while debugging a test. */
	if (getenv("DNS_TEST_LOG") != NULL)
		fprintf(stderr, "evdns%s: %s\n", warn ? " warning" : "", msg);
	if (strstr(msg, "is down") != NULL)
		nlog_down++;
	if (strstr(msg, "back up") != NULL)
		nlog_up++;
	if (strstr(msg, "dropped") != NULL)
		nlog_drop++;
}

int
dns_setup(void **state)
{
	base = event_init();
	assert_non_null(base);
	nlog_down = nlog_up = nlog_drop = 0;
	evdns_set_log_fn(log_cb);
	return 0;
}

int
dns_teardown(void **state)
{
	evdns_shutdown(0);
	evdns_set_log_fn(NULL);
	evdns_set_transaction_id_fn(NULL);
	event_base_free(base);
	return 0;
}

/* ---- driving the loop ---- */

static int timed_out;
int run_loops;

static void
safety_cb(int fd, short what, void *arg)
{
	timed_out = 1;
	event_loopbreak();
}

int
run_until(const int *counter, int want, int ms)
{
	struct event t;
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	timed_out = 0;
	run_loops = 0;
	evtimer_set(&t, safety_cb, NULL);
	evtimer_add(&t, &tv);
	while (*counter < want && !timed_out) {
		event_loop(EVLOOP_ONCE);
		run_loops++;
	}
	evtimer_del(&t);
	return *counter >= want;
}

/* ---- sockets and nameservers ---- */

void
loopback_addr(struct sockaddr_in *sin, unsigned short port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
}

int
udp_socket(unsigned short *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	loopback_addr(&sin, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

int
udp_tcp_sockets(unsigned short *port, int *tcpfd)
{
	struct sockaddr_in sin;
	int fd, i, one = 1;

	for (i = 0; i < 20; i++) {
		fd = udp_socket(port);
		*tcpfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(*tcpfd >= 0);
		setsockopt(*tcpfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		loopback_addr(&sin, *port);
		if (bind(*tcpfd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(*tcpfd, 16) == 0)
			return fd;
		/* The number is taken for TCP: another pair. */
		close(*tcpfd);
		close(fd);
	}
	fail_msg("no port free for both UDP and TCP");
	return -1;
}

void
add_ns_port(unsigned short port)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "127.0.0.1:%u", port);
	assert_int_equal(evdns_nameserver_ip_add(buf), 0);
}

void
dns_option(const char *option, const char *value)
{
	assert_int_equal(evdns_set_option(option, value, DNS_OPTIONS_ALL), 0);
}

void
fast_options(void)
{
	dns_option("timeout:", "0.2");
	dns_option("attempts:", "2");
}

/* ---- resolve results ---- */

void
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

void
resolve4(const char *name, int flags, struct result *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(evdns_resolve_ipv4(name, flags, result_cb, r), 0);
}

void
assert_ipv4(const struct result *r, int i, const char *want)
{
	char buf[INET_ADDRSTRLEN];

	assert_non_null(inet_ntop(AF_INET, r->addrs + 4 * i, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

/* ---- our own server port as a nameserver ---- */

static int
name_is(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

void
tserver_answer(struct evdns_server_request *req,
    const struct evdns_server_question *q)
{
	static const uint8_t a1[8] = { 10, 0, 0, 1, 10, 0, 0, 2 };
	static const uint8_t host[4] = { 10, 1, 1, 1 };
	uint8_t aaaa[16] = { 0x20, 0x01, 0x0d, 0xb8 }, many[120 * 4];
	int err = DNS_ERR_NONE, i, n;

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
	else if (name_is(q->name, "big.example.com") ||
	    name_is(q->name, "huge.example.com")) {
		n = name_is(q->name, "big.example.com") ? 40 : 120;
		for (i = 0; i < n; i++) {
			many[4 * i] = 10;
			many[4 * i + 1] = 2;
			many[4 * i + 2] = (uint8_t)(i / 256);
			many[4 * i + 3] = (uint8_t)i;
		}
		evdns_server_request_add_a_reply(req, q->name, n, many, 10);
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
	size_t i;
	struct tserver *ts = arg;
	const struct evdns_server_question *q;

	assert_int_equal(req->nquestions, 1);
	q = req->questions[0];
	if (q->name[0] == '\0' && q->type == EVDNS_TYPE_NS) {
		/* The resolver's liveness probe. */
		if (ts->nprobe < 8)
			ts->probe_at[ts->nprobe] = tu_now_usec();
		ts->nprobe++;
		if (ts->silent)
			evdns_server_request_drop(req);
		else
			evdns_server_request_respond(req, DNS_ERR_NONE);
		return;
	}
	if (ts->nreq < 16) {
		/* Lower case: the resolver's 0x20 cases letters at random. */
		snprintf(ts->names[ts->nreq], sizeof(ts->names[0]), "%s",
		    q->name);
		for (i = 0; ts->names[ts->nreq][i] != '\0'; i++)
			ts->names[ts->nreq][i] = (char)tolower(
			    (unsigned char)ts->names[ts->nreq][i]);
	}
	ts->nreq++;
	assert_int_equal(evdns_server_request_get_requesting_addr(req,
			     (struct sockaddr *)&ts->from, sizeof(ts->from)),
	    (int)sizeof(struct sockaddr_in));
	if (ts->silent)
		evdns_server_request_drop(req);
	else if (ts->servfail)
		assert_int_equal(evdns_server_request_respond(req,
				     DNS_ERR_SERVERFAILED),
		    0);
	else if (ts->defer && ts->nheld < 8)
		ts->held[ts->nheld++] = req;
	else
		tserver_answer(req, q);
}

void
tserver_start(struct tserver *ts)
{
	int fd;

	memset(ts, 0, sizeof(*ts));
	fd = udp_socket(&ts->portnum);
	ts->port = evdns_add_server_port(fd, 0, tserver_cb, ts);
	assert_non_null(ts->port);
}

void
tserver_start_tcp(struct tserver *ts)
{
	int fd, tfd;

	memset(ts, 0, sizeof(*ts));
	fd = udp_tcp_sockets(&ts->portnum, &tfd);
	ts->port = evdns_add_server_port(fd, 0, tserver_cb, ts);
	assert_non_null(ts->port);
	ts->tport = evdns_add_server_port(tfd, 1, tserver_cb, ts);
	assert_non_null(ts->tport);
}

/* ---- a raw socket as a nameserver ---- */

static void
rawns_cb(int fd, short what, void *arg)
{
	struct rawns *ns = arg;
	socklen_t len = sizeof(ns->from);
	ssize_t r;
	unsigned id;

	r = recvfrom(fd, ns->q, sizeof(ns->q), 0, (struct sockaddr *)&ns->from,
	    &len);
	if (r < 12)
		return;
	ns->qlen = (size_t)r;
	id = (unsigned)((ns->q[0] << 8) | ns->q[1]);
	if (ns->got < 32)
		ns->ids[ns->got] = (uint16_t)id;
	if (ns->seen[id / 8] & (1 << (id % 8)))
		ns->dups++;
	ns->seen[id / 8] |= (uint8_t)(1 << (id % 8));
	ns->got++;
}

void
rawns_start(struct rawns *ns)
{
	memset(ns, 0, sizeof(*ns));
	ns->fd = udp_socket(&ns->port);
	event_set(&ns->ev, ns->fd, EV_READ | EV_PERSIST, rawns_cb, ns);
	event_add(&ns->ev, NULL);
}

void
rawns_start_tcp(struct rawns *ns, int *tcpfd)
{
	memset(ns, 0, sizeof(*ns));
	ns->fd = udp_tcp_sockets(&ns->port, tcpfd);
	event_set(&ns->ev, ns->fd, EV_READ | EV_PERSIST, rawns_cb, ns);
	event_add(&ns->ev, NULL);
}

void
rawns_stop(struct rawns *ns)
{
	event_del(&ns->ev);
	close(ns->fd);
}

/* ---- building packets ---- */

void
p8(struct pkt *p, unsigned v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = (uint8_t)v;
}

void
p16(struct pkt *p, unsigned v)
{
	p8(p, v >> 8);
	p8(p, v & 0xff);
}

void
p32(struct pkt *p, uint32_t v)
{
	p16(p, v >> 16);
	p16(p, v & 0xffff);
}

void
pbytes(struct pkt *p, const void *b, size_t n)
{
	assert_true(n <= sizeof(p->b) - p->n);
	memcpy(p->b + p->n, b, n);
	p->n += n;
}

void
reply_start(struct pkt *p, const uint8_t *q, size_t qlen, unsigned flags,
    unsigned ancount)
{
	size_t end = 12;

	p->n = 0;
	p8(p, q[0]);
	p8(p, q[1]);
	p16(p, flags);
	p16(p, 1);
	p16(p, ancount);
	p16(p, 0);
	p16(p, 0);
	/* The question only: the query may end in an OPT record. */
	while (end < qlen && q[end] != 0)
		end += 1 + (size_t)q[end];
	end += 5;
	assert_true(end <= qlen);
	pbytes(p, q + 12, end - 12);
}

void
rr_fixed(struct pkt *p, unsigned type, unsigned rdlen)
{
	p16(p, type);
	p16(p, EVDNS_CLASS_INET);
	p32(p, 60);
	p16(p, rdlen);
}

void
add_a(struct pkt *p, unsigned a, unsigned b, unsigned c, unsigned d)
{
	p16(p, 0xc00c);
	rr_fixed(p, EVDNS_TYPE_A, 4);
	p8(p, a);
	p8(p, b);
	p8(p, c);
	p8(p, d);
}

const uint8_t dotted[15] = "\015a.example.com";

void
dotted_owner_reply(struct pkt *p, const uint8_t *q, size_t qlen)
{
	reply_start(p, q, qlen, 0x8180, 2);
	pbytes(p, dotted, sizeof(dotted));
	rr_fixed(p, EVDNS_TYPE_A, 4);
	pbytes(p, "\6\6\6\6", 4);
	p16(p, 0xc00c);
	rr_fixed(p, EVDNS_TYPE_A, 4);
	pbytes(p, "\12\11\10\7", 4);
}

void
hostile_reply(struct pkt *p, const struct rawns *ns, int which)
{
	size_t at;
	int i, j;

	reply_start(p, ns->q, ns->qlen, 0x8180, 1);
	at = p->n;
	switch (which) {
	case 0: /* a label longer than what is left (CVE-2016-10195) */
		p8(p, 0x3f);
		p8(p, 'a');
		break;
	case 1: /* a pointer to itself */ p16(p, 0xc000 | (unsigned)at); break;
	case 2: /* two pointers pointing at each other */
		p16(p, 0xc000 | (unsigned)(at + 2));
		p16(p, 0xc000 | (unsigned)at);
		break;
	case 3: /* a label, then a pointer back to that label */
		p8(p, 1);
		p8(p, 'x');
		p16(p, 0xc000 | (unsigned)at);
		break;
	case 4: /* a pointer past the end */ p16(p, 0xc000 | 0x3ff); break;
	case 5: /* a name longer than 255 bytes */
		for (i = 0; i < 5; i++) {
			p8(p, 63);
			for (j = 0; j < 63; j++)
				p8(p, 'a');
		}
		p8(p, 0);
		rr_fixed(p, EVDNS_TYPE_A, 4);
		p32(p, 0x06060606);
		break;
	case 6: /* more answers announced than the packet holds */
		p->b[7] = 50;
		add_a(p, 6, 6, 6, 6);
		break;
	case 7: /* a 12-byte packet */
		p->n = 12;
		p->b[5] = 1;
		break;
	case 8: /* rdlength past the end */
		p16(p, 0xc00c);
		rr_fixed(p, EVDNS_TYPE_A, 400);
		p32(p, 0x06060606);
		break;
	case 9: /* an A record with 3 bytes of data */
		p16(p, 0xc00c);
		rr_fixed(p, EVDNS_TYPE_A, 3);
		p8(p, 6);
		p8(p, 6);
		p8(p, 6);
		break;
	}
}

void
send_from(int fd, const struct rawns *ns, const struct pkt *p)
{
	assert_int_equal(sendto(fd, p->b, p->n, 0,
			     (const struct sockaddr *)&ns->from,
			     sizeof(ns->from)),
	    (ssize_t)p->n);
}

/* ---- the wire format, fed directly ---- */

size_t
query(uint8_t *q, size_t cap, const char *name, uint16_t type)
{
	int len = ev__dns_query_build(q, cap, 7, name, type);

	assert_true(len > 0);
	return (size_t)len;
}

uint8_t *
exact(const uint8_t *p, size_t len)
{
	uint8_t *b = malloc(len > 0 ? len : 1);

	assert_non_null(b);
	memcpy(b, p, len);
	return b;
}

int
answers(const struct pkt *p, uint16_t type, struct ev__dns_answer *a)
{
	struct ev__dns_reply r;
	uint8_t *b = exact(p->b, p->n);
	int res;

	res = ev__dns_reply_parse(b, p->n, &r);
	if (res == 0)
		res = ev__dns_reply_answers(b, p->n, &r, type, a);
	free(b);
	return res;
}
