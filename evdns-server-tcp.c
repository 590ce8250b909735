/*
 * evdns-server-tcp.c: the server port over TCP (RFC 7766).  A port made
 * from a listening socket accepts connections; each carries queries and
 * replies framed by a two-byte length, several per connection, answered
 * in whatever order the program responds.
 *
 * Bounds, so a client cannot hold the server's memory or descriptors:
 * at most MAX_CONNS connections per port (more are accepted and closed at
 * once, so the listener does not stay readable); at most MAX_PENDING
 * requests of one connection with the program at a time (reading pauses
 * until one is answered); replies a client does not read are limited to
 * MAX_OUTPUT bytes, past which the connection is closed; a connection
 * with nothing outstanding closes after ev__dns_server_idle (10 s).
 *
 * A connection is reference-counted like the port: one reference while
 * it is open, one per request the program has not finished, so a request
 * outliving its connection is answered into nothing.
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
#include "evdns-server-internal.h"
#include "log.h"
#include "mm-internal.h"

#define MAX_CONNS   EV__DNS_SERVER_MAX_CONNS
#define MAX_PENDING EV__DNS_SERVER_MAX_PENDING
#define MAX_OUTPUT  (256 * 1024)
#define READ_CHUNK  4096

struct server_conn {
	TAILQ_ENTRY(server_conn) next;
	struct evdns_server_port *port;
	int fd;
	int refcnt;
	int closed;
	int reading, writing; /* read_ev, write_ev added */
	int npending;	      /* requests with the program */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct event read_ev, write_ev, idle_ev;
	struct evbuffer *in, *out;
};

struct timeval ev__dns_server_idle = { 10, 0 };

static void conn_read_cb(int, short, void *);
static void conn_write_cb(int, short, void *);
static void conn_idle_cb(int, short, void *);

static void
conn_unref(struct server_conn *c)
{
	if (--c->refcnt > 0)
		return;
	if (c->in != NULL)
		evbuffer_free(c->in);
	if (c->out != NULL)
		evbuffer_free(c->out);
	ev__free(c);
}

static void
conn_close(struct server_conn *c)
{
	struct evdns_server_port *port = c->port;

	if (c->closed)
		return;
	c->closed = 1;
	event_del(&c->read_ev);
	event_del(&c->write_ev);
	event_del(&c->idle_ev);
	close(c->fd);
	TAILQ_REMOVE(&port->conns, c, next);
	port->nconns--;
	conn_unref(c);
	ev__dns_server_port_unref(port);
}

/* Read while fewer than MAX_PENDING requests are with the program. */
static void
conn_update(struct server_conn *c)
{
	int want = c->npending < MAX_PENDING;

	if (c->closed)
		return;
	if (want != c->reading) {
		if (want)
			event_add(&c->read_ev, NULL);
		else
			event_del(&c->read_ev);
		c->reading = want;
	}
	if (c->npending == 0 && EVBUFFER_LENGTH(c->out) == 0)
		evtimer_add(&c->idle_ev, &ev__dns_server_idle);
	else
		event_del(&c->idle_ev);
}

static void
conn_new(struct evdns_server_port *port, int fd,
    const struct sockaddr_storage *addr, socklen_t addrlen)
{
	struct server_conn *c;

	if ((c = ev__calloc(1, sizeof(*c))) == NULL ||
	    (c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL) {
		event_warn("evdns: no memory for a server connection");
		if (c != NULL && c->in != NULL)
			evbuffer_free(c->in);
		ev__free(c);
		close(fd);
		return;
	}
	c->port = port;
	c->fd = fd;
	c->refcnt = 1;
	memcpy(&c->addr, addr, addrlen);
	c->addrlen = addrlen;
	event_set(&c->read_ev, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	event_set(&c->write_ev, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	evtimer_set(&c->idle_ev, conn_idle_cb, c);
	TAILQ_INSERT_TAIL(&port->conns, c, next);
	port->nconns++;
	port->refcnt++;
	conn_update(c);
}

void
ev__dns_server_accept(struct evdns_server_port *port)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int fd, i, one = 1;

	for (i = 0; i < MAX_CONNS && !port->closing; i++) {
		len = sizeof(addr);
		if ((fd = accept(port->fd, (struct sockaddr *)&addr, &len)) <
		    0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				event_warn("evdns: server accept");
			return;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		/* Replies go out as soon as they are made. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (port->nconns >= MAX_CONNS ||
		    evutil_make_socket_nonblocking(fd) < 0) {
			ev__dns_log(1,
			    "server has %d TCP connections; "
			    "refusing another",
			    port->nconns);
			close(fd);
			continue;
		}
		conn_new(port, fd, &addr, len);
	}
}

/* Hand each complete query on; the connection closes on a bad one. */
static void
conn_deliver(struct server_conn *c)
{
	const uint8_t *p;
	size_t n;
	int bad, res;

	c->refcnt++;
	while (!c->closed && c->npending < MAX_PENDING &&
	    (bad = ev__dns_frame_next(EVBUFFER_DATA(c->in),
		 EVBUFFER_LENGTH(c->in), &n)) != 0) {
		p = EVBUFFER_DATA(c->in);
		bad = bad < 0;
		if (!bad) {
			c->npending++;
			c->refcnt++;
			res = ev__dns_server_request(c->port, c, &c->addr,
			    c->addrlen, p + 2, n);
			if (res < 0) {
				/* No request holds these after all. */
				c->npending--;
				c->refcnt--;
				bad = res == -1;
			}
		}
		if (bad) {
			ev__dns_log(0,
			    "server closed a TCP connection "
			    "that sent a malformed request");
			conn_close(c);
			break;
		}
		if (!c->closed)
			evbuffer_drain(c->in, n + 2);
	}
	conn_update(c);
	conn_unref(c);
}

static void
conn_read_cb(int fd, short what, void *arg)
{
	struct server_conn *c = arg;
	int r;

	r = evbuffer_read(c->in, fd, READ_CHUNK);
	if (r < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		conn_deliver(c); /* woken for what is buffered */
		return;
	}
	if (r < 0)
		ev__dns_log(1, "server TCP read: %s", strerror(errno));
	if (r <= 0) {
		conn_close(c);
		return;
	}
	conn_deliver(c);
}

static void
conn_write_cb(int fd, short what, void *arg)
{
	struct server_conn *c = arg;

	if (evbuffer_write(c->out, fd) < 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR) {
		conn_close(c);
		return;
	}
	if (EVBUFFER_LENGTH(c->out) == 0) {
		event_del(&c->write_ev);
		c->writing = 0;
		conn_update(c);
	}
}

static void
conn_idle_cb(int fd, short what, void *arg)
{
	conn_close(arg);
}

int
ev__dns_server_conn_reply(struct server_conn *c, const uint8_t *pkt, size_t len)
{
	uint8_t hdr[2];

	if (c->closed)
		return 0; /* the client went away: nobody to tell */
	if (EVBUFFER_LENGTH(c->out) > MAX_OUTPUT) {
		ev__dns_log(1,
		    "server closed a TCP connection that does "
		    "not read its replies");
		conn_close(c);
		return 0;
	}
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	if (evbuffer_expand(c->out, len + 2) < 0) {
		event_warn("evdns: no memory to queue a TCP reply");
		return -1;
	}
	evbuffer_add(c->out, hdr, 2);
	evbuffer_add(c->out, pkt, len);
	if (!c->writing) {
		event_add(&c->write_ev, NULL);
		c->writing = 1;
	}
	return 0;
}

void
ev__dns_server_conn_done(struct server_conn *c)
{
	c->npending--;
	if (!c->closed) {
		conn_update(c);
		/* Queries read while the program was full may be waiting:
		 * from the loop, not from inside the program's call. */
		if (c->reading && EVBUFFER_LENGTH(c->in) >= 2)
			event_active(&c->read_ev, EV_READ, 1);
	}
	conn_unref(c);
}

void
ev__dns_server_conns_close(struct evdns_server_port *port)
{
	struct server_conn *c;

	while ((c = TAILQ_FIRST(&port->conns)) != NULL)
		conn_close(c);
}
