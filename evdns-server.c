/*
 * evdns-server.c: the DNS server port of evdns.h.  A program hands us a
 * bound UDP socket or a listening TCP one (whose connections
 * evdns-server-tcp.c serves); each well-formed query becomes a struct
 * evdns_server_request passed to the program's callback, which adds
 * records and responds (now or later) or drops it.
 *
 * A port is reference-counted: the program holds one reference until
 * evdns_close_server_port(), and each request it has not finished holds
 * one, so closing a port with requests outstanding is safe.  A reply that
 * meets a full socket waits on the port's write event.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "evutil.h"
#include "evdns.h"
#include "evdns-internal.h"
#include "evdns-server-internal.h"
#include "log.h"
#include "mm-internal.h"

#define READ_BATCH     32    /* datagrams read per callback */
#define MAX_REPLY_DATA 65536 /* bytes one reply may collect */

/* The largest reply over UDP, whatever size a client advertises. */
#define MAX_UDP_REPLY 4096

static uint8_t rbuf[65536]; /* one datagram at a time */
static uint8_t wbuf[65535]; /* one reply at a time */

#define SREQ(r) \
	((struct server_request *)(( \
	    char *)(r)-offsetof(struct server_request, base)))

static void server_port_cb(int, short, void *);

void
ev__dns_server_port_unref(struct evdns_server_port *port)
{
	if (--port->refcnt > 0)
		return;
	event_del(&port->ev);
	close(port->fd);
	ev__free(port);
}

/* Re-register the port's event, with EV_WRITE while replies wait. */
static void
server_port_events(struct evdns_server_port *port, int writing)
{
	if (port->writing == writing || port->closing)
		return;
	port->writing = writing;
	event_del(&port->ev);
	event_set(&port->ev, port->fd,
	    EV_READ | EV_PERSIST | (writing ? EV_WRITE : 0), server_port_cb,
	    port);
	event_add(&port->ev, NULL);
}

static void
server_request_free(struct server_request *sr)
{
	struct evdns_server_port *port = sr->port;
	struct ev__dns_rr *rr;
	int s;

	for (s = 0; s < 3; s++) {
		while ((rr = sr->sections[s]) != NULL) {
			sr->sections[s] = rr->next;
			ev__free(rr->name);
			ev__free(rr->data);
			ev__free(rr);
		}
	}
	ev__dns_query_clear(&sr->query);
	ev__free(sr->response);
	if (sr->conn != NULL)
		ev__dns_server_conn_done(sr->conn);
	ev__free(sr);
	ev__dns_server_port_unref(port);
}

struct evdns_server_port *
evdns_add_server_port(int fd, int is_tcp,
    evdns_request_callback_fn_type callback, void *user_data)
{
	struct evdns_server_port *port;
	socklen_t len = sizeof(int);
	int type, listening = 0;

	if (fd < 0 || callback == NULL || current_base == NULL)
		return NULL;
	/* A connected stream socket or a file would be readable forever:
	 * the loop would spin on errors.  A listening one serves TCP. */
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    (type != SOCK_DGRAM && type != SOCK_STREAM)) {
		ev__dns_log(1, "server port fd %d is not a socket for DNS", fd);
		return NULL;
	}
	len = sizeof(int);
	if (type == SOCK_STREAM &&
	    (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
		!listening)) {
		ev__dns_log(1,
		    "server port fd %d is a TCP socket that is "
		    "not listening",
		    fd);
		return NULL;
	}
	if (is_tcp && type != SOCK_STREAM) {
		ev__dns_log(1, "server port fd %d is not a TCP socket", fd);
		return NULL;
	}
	if (evutil_make_socket_nonblocking(fd) < 0)
		return NULL;
	if ((port = ev__calloc(1, sizeof(*port))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	port->fd = fd;
	port->tcp = type == SOCK_STREAM;
	port->refcnt = 1;
	port->cb = callback;
	port->arg = user_data;
	TAILQ_INIT(&port->pending);
	TAILQ_INIT(&port->conns);
	event_set(&port->ev, fd, EV_READ | EV_PERSIST, server_port_cb, port);
	if (event_add(&port->ev, NULL) < 0) {
		ev__free(port);
		return NULL;
	}
	return port;
}

void
evdns_close_server_port(struct evdns_server_port *port)
{
	struct server_request *sr;

	if (port == NULL || port->closing)
		return;
	port->closing = 1;
	event_del(&port->ev);
	/* Replies still waiting for the socket are given up. */
	port->refcnt++;
	while ((sr = TAILQ_FIRST(&port->pending)) != NULL) {
		TAILQ_REMOVE(&port->pending, sr, next);
		server_request_free(sr);
	}
	ev__dns_server_conns_close(port);
	port->refcnt--;
	ev__dns_server_port_unref(port);
}

/*
 * A socket with IP_RECVERR (or IPV6_RECVERR) set by the program keeps the
 * ICMP errors its replies met in an error queue, and polls as readable
 * (POLLERR) until that queue is read: read it away, or the loop spins.
 */
static void
server_drain_errors(int fd)
{
#ifdef MSG_ERRQUEUE
	struct msghdr msg;
	struct iovec iov;
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = rbuf;
		iov.iov_len = sizeof(rbuf);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
	}
#endif
}

int
ev__dns_server_request(struct evdns_server_port *port, struct server_conn *conn,
    const struct sockaddr_storage *from, socklen_t fromlen, const uint8_t *pkt,
    size_t len)
{
	struct server_request *sr;
	int s, perr = 0;

	if ((sr = ev__calloc(1, sizeof(*sr))) == NULL ||
	    (perr = ev__dns_request_parse(pkt, len, &sr->query)) == -2) {
		event_warn("evdns: no memory: server dropped a request");
		ev__free(sr);
		return -2;
	}
	if (perr < 0) {
		ev__dns_log(0, "server dropped a malformed request");
		ev__free(sr);
		return -1;
	}
	memcpy(&sr->addr, from, fromlen);
	sr->addrlen = fromlen;
	sr->port = port;
	sr->conn = conn;
	for (s = 0; s < 3; s++)
		sr->tails[s] = &sr->sections[s];
	sr->base.flags = sr->query.flags & (EV__DNS_RD | EV__DNS_CD);
	sr->base.nquestions = sr->query.nquestions;
	sr->base.questions = sr->query.questions;
	port->refcnt++;
	port->cb(&sr->base, port->arg);
	return 0;
}

static void
server_read(struct evdns_server_port *port)
{
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t r;
	int i;

	for (i = 0; i < READ_BATCH && !port->closing; i++) {
		fromlen = sizeof(from);
		r = recvfrom(port->fd, rbuf, sizeof(rbuf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				event_warn("evdns: server recvfrom");
				server_drain_errors(port->fd);
			}
			return;
		}
		ev__dns_server_request(port, NULL, &from, fromlen, rbuf,
		    (size_t)r);
	}
}

/* Send the replies that waited for the socket to become writable. */
static void
server_flush(struct evdns_server_port *port)
{
	struct server_request *sr;

	while ((sr = TAILQ_FIRST(&port->pending)) != NULL) {
		if (sendto(port->fd, sr->response, sr->resplen, 0,
			(struct sockaddr *)&sr->addr, sr->addrlen) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			event_warn("evdns: server sendto");
		}
		TAILQ_REMOVE(&port->pending, sr, next);
		server_request_free(sr);
	}
	server_port_events(port, 0);
}

static void
server_port_cb(int fd, short what, void *arg)
{
	struct evdns_server_port *port = arg;

	port->refcnt++; /* callbacks may close the port */
	if (what & EV_WRITE)
		server_flush(port);
	if ((what & EV_READ) && port->tcp)
		ev__dns_server_accept(port);
	else if (what & EV_READ)
		server_read(port);
	ev__dns_server_port_unref(port);
}

int
evdns_server_request_add_reply(struct evdns_server_request *req, int section,
    const char *name, int type, int dns_class, int ttl, int datalen,
    int is_name, const char *data)
{
	struct server_request *sr;
	struct ev__dns_rr *rr;
	size_t len;

	if (req == NULL || name == NULL || data == NULL)
		return -1;
	sr = SREQ(req);
	if (sr->response != NULL || section < 0 || section > 2 || type < 0 ||
	    type > 0xffff || dns_class < 0 || dns_class > 0xffff ||
	    ev__dns_name_check(name) < 0 ||
	    (is_name && ev__dns_name_check(data) < 0))
		return -1;
	len = (is_name || datalen < 0) ? strlen(data) + 1 : (size_t)datalen;
	if (len > 0xffff || len + strlen(name) > MAX_REPLY_DATA - sr->nbytes)
		return -1;
	if ((rr = ev__calloc(1, sizeof(*rr))) == NULL) {
		event_warn("%s: calloc", __func__);
		return -1;
	}
	rr->name = ev__strdup(name);
	rr->data = ev__malloc(len > 0 ? len : 1);
	if (rr->name == NULL || rr->data == NULL) {
		event_warn("%s: malloc", __func__);
		ev__free(rr->name);
		ev__free(rr->data);
		ev__free(rr);
		return -1;
	}
	memcpy(rr->data, data, len);
	/* A string given with datalen -1 is sent without its NUL. */
	rr->datalen = (is_name || datalen < 0) ? len - 1 : len;
	rr->is_name = is_name;
	rr->type = (uint16_t)type;
	rr->dns_class = (uint16_t)dns_class;
	rr->ttl = ttl < 0 ? 0 : (uint32_t)ttl;
	*sr->tails[section] = rr;
	sr->tails[section] = &rr->next;
	sr->nbytes += len + strlen(name);
	return 0;
}

static int
add_addrs(struct evdns_server_request *req, const char *name, int n,
    const void *addrs, int ttl, int type, int size)
{
	int i;

	if (n < 0 || (n > 0 && addrs == NULL))
		return -1;
	for (i = 0; i < n; i++)
		if (evdns_server_request_add_reply(req, EVDNS_ANSWER_SECTION,
			name, type, EVDNS_CLASS_INET, ttl, size, 0,
			(const char *)addrs + (size_t)i * (size_t)size) < 0)
			return -1;
	return 0;
}

int
evdns_server_request_add_a_reply(struct evdns_server_request *req,
    const char *name, int n, void *addrs, int ttl)
{
	return add_addrs(req, name, n, addrs, ttl, EVDNS_TYPE_A, 4);
}

int
evdns_server_request_add_aaaa_reply(struct evdns_server_request *req,
    const char *name, int n, void *addrs, int ttl)
{
	return add_addrs(req, name, n, addrs, ttl, EVDNS_TYPE_AAAA, 16);
}

int
evdns_server_request_add_ptr_reply(struct evdns_server_request *req,
    struct in_addr *in, const char *inaddr_name, const char *hostname, int ttl)
{
	char buf[32];
	const uint8_t *b;

	if (in != NULL) {
		b = (const uint8_t *)&in->s_addr;
		evutil_snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa",
		    b[3], b[2], b[1], b[0]);
		inaddr_name = buf;
	}
	if (inaddr_name == NULL)
		return -1;
	return evdns_server_request_add_reply(req, EVDNS_ANSWER_SECTION,
	    inaddr_name, EVDNS_TYPE_PTR, EVDNS_CLASS_INET, ttl, -1, 1,
	    hostname);
}

int
evdns_server_request_add_cname_reply(struct evdns_server_request *req,
    const char *name, const char *cname, int ttl)
{
	return evdns_server_request_add_reply(req, EVDNS_ANSWER_SECTION, name,
	    EVDNS_TYPE_CNAME, EVDNS_CLASS_INET, ttl, -1, 1, cname);
}

/*
 * How large the reply to sr may be: over TCP, 65,535 bytes; over UDP, 512
 * or what the client advertised in an OPT record, up to MAX_UDP_REPLY.
 */
static size_t
reply_cap(const struct server_request *sr)
{
	size_t cap = EV__DNS_UDP_MAX;

	if (sr->conn != NULL)
		return sizeof(wbuf);
	if (sr->query.edns_size > cap)
		cap = sr->query.edns_size < MAX_UDP_REPLY ?
		    sr->query.edns_size :
		    MAX_UDP_REPLY;
	return cap;
}

int
evdns_server_request_respond(struct evdns_server_request *req, int err)
{
	struct server_request *sr;
	struct ev__dns_msg m;
	size_t cap;
	int len, s;

	if (req == NULL || err < 0 || err > 15)
		return -1;
	sr = SREQ(req);
	if (sr->response != NULL)
		return -1;
	memset(&m, 0, sizeof(m));
	m.id = sr->query.id;
	/* The program may have set flags such as AA; QR and RCODE are ours. */
	m.flags = (uint16_t)(EV__DNS_QR | (req->flags & 0x7ff0) | err);
	m.nquestions = req->nquestions;
	m.questions = req->questions;
	for (s = 0; s < 3; s++)
		m.sections[s] = sr->sections[s];
	cap = reply_cap(sr);
	/* An OPT asked for gets one back (RFC 6891), room kept for it. */
	if (sr->query.edns_size > 0)
		cap -= 11;
	if ((len = ev__dns_response_build(wbuf, cap, &m)) < 0) {
		ev__dns_log(1, "server reply does not fit in a datagram");
		return -1;
	}
	if (sr->query.edns_size > 0)
		len = ev__dns_opt_append(wbuf, sizeof(wbuf), (size_t)len,
		    EV__DNS_EDNS_SIZE);
	if (sr->conn != NULL) {
		if (ev__dns_server_conn_reply(sr->conn, wbuf, (size_t)len) < 0)
			return -1;
		server_request_free(sr);
		return 0;
	}
	if (sendto(sr->port->fd, wbuf, (size_t)len, 0,
		(struct sockaddr *)&sr->addr, sr->addrlen) >= 0) {
		server_request_free(sr);
		return 0;
	}
	if ((errno != EAGAIN && errno != EWOULDBLOCK) || sr->port->closing) {
		event_warn("evdns: server sendto");
		return -1;
	}
	/* The socket is full: keep the reply until it is writable. */
	if ((sr->response = ev__malloc((size_t)len)) == NULL) {
		event_warn("evdns: no memory to keep a reply");
		return -1;
	}
	memcpy(sr->response, wbuf, (size_t)len);
	sr->resplen = (size_t)len;
	TAILQ_INSERT_TAIL(&sr->port->pending, sr, next);
	server_port_events(sr->port, 1);
	return 0;
}

int
evdns_server_request_drop(struct evdns_server_request *req)
{
	struct server_request *sr;

	if (req == NULL)
		return -1;
	sr = SREQ(req);
	if (sr->response != NULL)
		TAILQ_REMOVE(&sr->port->pending, sr, next);
	server_request_free(sr);
	return 0;
}

int
evdns_server_request_get_requesting_addr(struct evdns_server_request *req,
    struct sockaddr *sa, int addr_len)
{
	struct server_request *sr;

	if (req == NULL || sa == NULL)
		return -1;
	sr = SREQ(req);
	if (addr_len < (int)sr->addrlen)
		return -1;
	memcpy(sa, &sr->addr, sr->addrlen);
	return (int)sr->addrlen;
}
