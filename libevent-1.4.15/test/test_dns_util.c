/*
 * test_dns_util.c: helpers shared by the DNS test programs (see
 * test_dns_util.h): resolver setup, the loop driver, a raw nameserver and
 * a packet builder.
 */
#include <sys/types.h>
#include <sys/time.h>
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

static struct event_base *base;

int nlog_down, nlog_up, nlog_drop;

static void
log_cb(int warn, const char *msg)
{
	if (strstr(msg, "is down") != NULL)
		nlog_down++;
	if (strstr(msg, "back up") != NULL)
		nlog_up++;
	if (strstr(msg, "dropped") != NULL)
		nlog_drop++;
}

int
setup(void **state)
{
	base = event_init();
	assert_non_null(base);
	nlog_down = nlog_up = nlog_drop = 0;
	evdns_set_log_fn(log_cb);
	return 0;
}

int
teardown(void **state)
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

int
udp_socket(unsigned short *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

void
add_ns_port(unsigned short port)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "127.0.0.1:%u", port);
	assert_int_equal(evdns_nameserver_ip_add(buf), 0);
}

void
fast_options(void)
{
	assert_int_equal(evdns_set_option("timeout:", "0.2", DNS_OPTIONS_ALL),
	    0);
	assert_int_equal(evdns_set_option("attempts:", "2", DNS_OPTIONS_ALL),
	    0);
}

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
	p->n = 0;
	p8(p, q[0]);
	p8(p, q[1]);
	p16(p, flags);
	p16(p, 1);
	p16(p, ancount);
	p16(p, 0);
	p16(p, 0);
	assert_true(qlen > 12);
	pbytes(p, q + 12, qlen - 12);
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

void
send_from(int fd, const struct rawns *ns, const struct pkt *p)
{
	assert_int_equal(sendto(fd, p->b, p->n, 0,
	    (const struct sockaddr *)&ns->from, sizeof(ns->from)),
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
