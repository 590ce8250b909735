/*
 * evdns-tcp.c: the resolver's TCP transport (RFC 7766), used when a
 * nameserver answers over UDP with the TC bit set.
 *
 * Each nameserver has at most one connection, opened on the first query
 * that needs it, reused for later ones (several may be outstanding) and
 * closed after ev__dns.tcp_idle without any.  Messages are framed by a
 * two-byte length, so an answer is at most 65,535 bytes.  The state
 * machine:
 *
 *   (none) --send--> CONNECTING --writable, no error--> OPEN
 *   OPEN --no request left--> idle timer --fires--> (none)
 *   any --error, EOF with requests left, zero length--> (none), and each
 *       request sent on it is retried as after a timeout
 *
 * Requests keep their own timeouts, which cover connecting and reading,
 * so a server that accepts and never answers costs what a silent UDP
 * server does.  A request remembers the serial of the connection it was
 * sent on; a reply is matched by ID like a datagram.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "evutil.h"
#include "evdns.h"
#include "evdns-internal.h"
#include "evdns-resolv-internal.h"
#include "log.h"
#include "mm-internal.h"

#define READ_CHUNK 4096 /* bytes read per callback */

struct ev__dns_tcp {
	struct nameserver *ns;
	int fd;
	int connecting;
	unsigned serial;
	int npending; /* requests waiting on this connection */
	int nanswers; /* messages it brought */
	int writing;  /* write_ev is added */
	struct event read_ev, write_ev, idle_ev;
	struct evbuffer *in, *out;
};

static unsigned next_serial;

static void tcp_read_cb(int, short, void *);
static void tcp_write_cb(int, short, void *);
static void tcp_idle_cb(int, short, void *);

static void
conn_free(struct ev__dns_tcp *c)
{
	event_del(&c->read_ev);
	event_del(&c->write_ev);
	event_del(&c->idle_ev);
	if (c->fd >= 0)
		close(c->fd);
	if (c->in != NULL)
		evbuffer_free(c->in);
	if (c->out != NULL)
		evbuffer_free(c->out);
	ev__free(c);
}

void
ev__dns_tcp_close(struct nameserver *ns)
{
	if (ns->tcp == NULL)
		return;
	conn_free(ns->tcp);
	ns->tcp = NULL;
}

static struct ev__dns_tcp *
conn_open(struct nameserver *ns)
{
	struct ev__dns_tcp *c;
	char buf[64];
	int one = 1;

	if ((c = ev__calloc(1, sizeof(*c))) == NULL) {
		event_warn("evdns: no memory for a TCP connection");
		ev__dns.nomem++;
		return NULL;
	}
	c->ns = ns;
	c->fd = -1;
	c->serial = ++next_serial != 0 ? next_serial : ++next_serial;
	event_set(&c->read_ev, -1, 0, tcp_read_cb, c);
	event_set(&c->write_ev, -1, 0, tcp_write_cb, c);
	evtimer_set(&c->idle_ev, tcp_idle_cb, c);
	if ((c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL) {
		ev__dns.nomem++;
		goto fail;
	}
	if ((c->fd = socket(ns->addr.ss_family, SOCK_STREAM, 0)) < 0)
		goto fail;
	fcntl(c->fd, F_SETFD, FD_CLOEXEC);
	if (evutil_make_socket_nonblocking(c->fd) < 0)
		goto fail;
	/* Queries are small and often several in flight: Nagle's delay
	 * against the server's delayed ACK would cost 40 ms each time. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&ns->addr, ns->addrlen) <
	    0) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		c->connecting = 1;
	}
	event_set(&c->read_ev, c->fd, EV_READ | EV_PERSIST, tcp_read_cb, c);
	event_set(&c->write_ev, c->fd, EV_WRITE | EV_PERSIST, tcp_write_cb, c);
	if (event_add(&c->read_ev, NULL) < 0)
		goto fail;
	ev__dns_log(0, "TCP connection to %s",
	    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
	return c;
fail:
	ev__dns_log(1, "cannot open a TCP connection to %s: %s",
	    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)), strerror(errno));
	conn_free(c);
	if (++ns->timeouts >= ev__dns.max_timeouts)
		ev__dns_ns_failed(ns, "no TCP connection");
	return NULL;
}

int
ev__dns_tcp_send(struct nameserver *ns, struct request *req, const uint8_t *pkt,
    size_t len)
{
	struct ev__dns_tcp *c = ns->tcp;
	uint8_t hdr[2];

	if (len > 0xffff)
		return -1;
	if (c == NULL && (c = ns->tcp = conn_open(ns)) == NULL)
		return -1;
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	if (evbuffer_add(c->out, hdr, 2) < 0 ||
	    evbuffer_add(c->out, pkt, len) < 0) {
		/* A half-written frame would garble the stream. */
		event_warn("evdns: no memory to send over TCP");
		ev__dns.nomem++;
		ev__dns_tcp_close(ns);
		return -1;
	}
	if (!c->writing) {
		if (event_add(&c->write_ev, NULL) < 0)
			return -1;
		c->writing = 1;
	}
	event_del(&c->idle_ev);
	c->npending++;
	req->tcp_serial = c->serial;
	return 0;
}

void
ev__dns_tcp_release(struct request *req)
{
	struct nameserver *ns = req->ns;
	struct ev__dns_tcp *c;

	if (req->tcp_serial == 0)
		return;
	if (ns != NULL && (c = ns->tcp) != NULL &&
	    c->serial == req->tcp_serial && --c->npending == 0)
		evtimer_add(&c->idle_ev, &ev__dns.tcp_idle);
	req->tcp_serial = 0;
}

/* The first request still waiting on connection serial of ns, if any. */
static struct request *
waiting_on(struct nameserver *ns, unsigned serial)
{
	struct request *req;
	int i;

	for (i = 0; i < EV__DNS_NBUCKETS; i++)
		TAILQ_FOREACH(req, &ev__dns.buckets[i], next)
			if (req->ns == ns && req->tcp_serial == serial)
				return req;
	return NULL;
}

/*
 * The connection broke: close it, and move each request sent on it on.
 * A server may close a connection that has served queries, to limit its
 * own load (dnsmasq does after 100 queries), and the queries it left
 * unanswered are then asked again on a new connection (RFC 7766, 6.2.1)
 * without counting against them.  Otherwise the failure counts once
 * against the nameserver and each request is retried as after a timeout.
 * Either happens from the requests' timers, at once but not from inside
 * this callback, so no callback of the program runs here and a new
 * connection never takes the number of the old socket while the loop
 * still holds its events.
 */
static void
conn_fail(struct ev__dns_tcp *c, int closed, const char *why)
{
	static const struct timeval now = { 0, 0 };
	struct nameserver *ns = c->ns;
	struct request *req;
	unsigned serial = c->serial;
	int resend = closed && c->nanswers > 0;
	char buf[64];

	ev__dns_log(!resend, "TCP connection to %s %s: %s",
	    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)),
	    resend ? "closed by the server" : "failed", why);
	ev__dns_tcp_close(ns);
	if (!resend && ++ns->timeouts >= ev__dns.max_timeouts)
		ev__dns_ns_failed(ns, "TCP connection failed");
	while ((req = waiting_on(ns, serial)) != NULL) {
		req->tcp_serial = 0;
		req->fail_err = resend ? EV__DNS_RESEND : DNS_ERR_TRUNCATED;
		evtimer_add(&req->timeout_ev, &now);
	}
}

static void
tcp_write_cb(int fd, short what, void *arg)
{
	struct ev__dns_tcp *c = arg;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(int);
	int err = 0;

	if (c->connecting) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			conn_fail(c, 0, strerror(err));
			return;
		}
		/* A stale wake-up proves nothing: connected only if there
		 * is a peer. */
		len = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
			return;
		c->connecting = 0;
	}
	if (evbuffer_write(c->out, fd) < 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR) {
		conn_fail(c, errno == EPIPE || errno == ECONNRESET,
		    strerror(errno));
		return;
	}
	if (EVBUFFER_LENGTH(c->out) == 0) {
		event_del(&c->write_ev);
		c->writing = 0;
	}
}

/* Hand each complete message in c->in on.  -1 if c is gone. */
static int
deliver(struct ev__dns_tcp *c)
{
	struct nameserver *ns = c->ns;
	unsigned epoch = ev__dns.epoch, serial = c->serial;
	const uint8_t *p;
	size_t n;
	int res;

	while ((res = ev__dns_frame_next(EVBUFFER_DATA(c->in),
		    EVBUFFER_LENGTH(c->in), &n)) == 1) {
		p = EVBUFFER_DATA(c->in);
		c->nanswers++;
		ev__dns_handle_reply(ns, p + 2, n, 1);
		/* A callback may have closed it, or every nameserver. */
		if (ev__dns.epoch != epoch || ns->tcp == NULL ||
		    ns->tcp->serial != serial)
			return -1;
		evbuffer_drain(c->in, n + 2);
	}
	if (res < 0) {
		conn_fail(c, 0, "a message too short for a header");
		return -1;
	}
	return 0;
}

static void
tcp_read_cb(int fd, short what, void *arg)
{
	struct ev__dns_tcp *c = arg;
	struct nameserver *ns = c->ns;
	int r;

	r = evbuffer_read(c->in, fd, READ_CHUNK);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_fail(c, errno == ECONNRESET, strerror(errno));
		return;
	}
	if (r == 0) {
		if (EVBUFFER_LENGTH(c->in) > 0)
			conn_fail(c, 1, "closed in the middle of a message");
		else if (c->npending > 0)
			conn_fail(c, 1, "closed with queries unanswered");
		else
			ev__dns_tcp_close(ns);
		return;
	}
	deliver(c);
}

static void
tcp_idle_cb(int fd, short what, void *arg)
{
	struct ev__dns_tcp *c = arg;

	ev__dns_tcp_close(c->ns);
}
