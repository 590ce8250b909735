/*
 * http-server.c: struct evhttp, the server side of evhttp.h.
 *
 * Listening sockets accept connections; each connection reads one
 * request at a time (http.c), hands it to the program's callback and
 * reads nothing more until the reply has been written, so pipelined
 * requests are answered in order and a slow program gets backpressure
 * instead of buffers.  Replies are http-reply.c's.  The server is the
 * connection's role (ev__http_server_role, http-server-role.c): what
 * http.c hands over to.
 *
 * A request that cannot be parsed gets a 4xx/5xx page and "Connection:
 * close"; then the write side is shut and input is drained for a moment
 * (a "lingering close"), so a client still sending gets to read the
 * error instead of a reset.  When accept() runs out of descriptors the
 * listeners pause and retry on a timer, as nginx does, rather than spin;
 * at the cap on connections (evhttp_set_max_connections()) they pause
 * until one closes.  Log lines a peer can cause are rate-limited.
 *
 * Per request the server makes as few system calls as it can: accept4()
 * sets O_NONBLOCK and FD_CLOEXEC in the same call, a new connection is
 * read before it is registered with the backend (its request is usually
 * there already), replies are written without waiting for the socket to
 * be reported writable, and a client that asked for the connection to
 * close is closed as soon as its reply is out (it has promised to send
 * nothing more, so no lingering is needed), the reply's last packet
 * carrying the FIN.
 */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK, SOCK_CLOEXEC */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

/* Connections accepted per wake-up, so one listener cannot starve. */
#define ACCEPT_BURST 64
/* How long the listeners pause when accept() hits a resource limit. */
#define ACCEPT_PAUSE_MSECS 250
#define LISTEN_BACKLOG	   1024
/* Descriptors the default connection cap leaves to the rest of a program. */
#define FD_RESERVE_MIN 16
/* Log lines a peer may cause per second and server; the rest are counted. */
#define PEER_LOG_PER_SEC 10

static void accept_cb(int fd, short what, void *arg);
static void accept_retry_cb(int fd, short what, void *arg);

/*
 * The default cap on a server's connections: what the descriptor limit
 * allows, less a reserve (1/16, at least 16) for listeners, files and
 * the program's own connections.
 */
static int
default_max_connections(void)
{
	struct rlimit rl;
	rlim_t n, reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)1 << 30)
		return 1 << 30;
	n = rl.rlim_cur;
	reserve = n / 16 > FD_RESERVE_MIN ? n / 16 : FD_RESERVE_MIN;
	return n > reserve * 2 ? (int)(n - reserve) : (int)(n / 2 + 1);
}

/*
 * Log a line a peer caused (a bad request, a flood of connections), at
 * most PEER_LOG_PER_SEC a second per server; the count of the lines
 * dropped is logged with the next line of a later second.
 */
void
ev__http_peer_log(struct evhttp *http, const char *fmt, ...)
{
	struct timespec ts;
	char msg[256];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((ev_int64_t)ts.tv_sec != http->log_second) {
		if (http->log_suppressed > 0)
			event_msgx("evhttp: %lu similar lines suppressed",
			    http->log_suppressed);
		http->log_second = (ev_int64_t)ts.tv_sec;
		http->log_count = 0;
		http->log_suppressed = 0;
	}
	if (http->log_count >= PEER_LOG_PER_SEC) {
		http->log_suppressed++;
		return;
	}
	http->log_count++;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event_msgx("%s", msg);
}

static struct evhttp *
http_new_object(struct event_base *base)
{
	struct evhttp *http;

	if ((http = ev__calloc(1, sizeof(*http))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	TAILQ_INIT(&http->sockets);
	TAILQ_INIT(&http->callbacks);
	TAILQ_INIT(&http->connections);
	http->timeout = -1;
	http->max_headers_size = EV__HTTP_MAX_HEADERS;
	http->max_body_size = EV__HTTP_MAX_BODY;
	http->max_connections = default_max_connections();
	http->base = base;
	evtimer_set(&http->accept_retry, accept_retry_cb, http);
	if (base != NULL)
		event_base_set(base, &http->accept_retry);
	return http;
}

struct evhttp *
evhttp_new(struct event_base *base)
{
	return http_new_object(base);
}

struct evhttp *
evhttp_start(const char *address, u_short port)
{
	struct evhttp *http;

	if ((http = http_new_object(NULL)) == NULL)
		return NULL;
	if (evhttp_bind_socket(http, address, port) == -1) {
		ev__free(http);
		return NULL;
	}
	return http;
}

/* A non-blocking socket bound to address:port and listening, or -1. */
static int
listen_socket(const char *address, u_short port)
{
	struct addrinfo hints, *ai;
	char portstr[16];
	int fd, on = 1, err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	if ((err = getaddrinfo(address, portstr, &hints, &ai)) != 0) {
		event_warnx("%s: getaddrinfo(%s): %s", __func__,
		    address ? address : "*", gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd == -1) {
		event_warn("%s: socket", __func__);
		freeaddrinfo(ai);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		event_warn("%s: bind/listen %s:%u", __func__,
		    address ? address : "*", (unsigned)port);
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
evhttp_bind_socket(struct evhttp *http, const char *address, u_short port)
{
	int fd;

	if ((fd = listen_socket(address, port)) == -1)
		return -1;
	if (evhttp_accept_socket(http, fd) == -1) {
		close(fd);
		return -1;
	}
	return 0;
}

int
evhttp_accept_socket(struct evhttp *http, int fd)
{
	struct evhttp_listener *l;

	if (evutil_make_socket_nonblocking(fd) == -1)
		return -1;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if ((l = ev__calloc(1, sizeof(*l))) == NULL) {
		event_warn("%s: calloc", __func__);
		return -1;
	}
	l->fd = fd;
	l->http = http;
	event_set(&l->ev, fd, EV_READ | EV_PERSIST, accept_cb, l);
	if (http->base != NULL)
		event_base_set(http->base, &l->ev);
	if (!http->accept_paused && !http->full &&
	    event_add(&l->ev, NULL) == -1) {
		event_warnx("%s: event_add failed", __func__);
		ev__free(l);
		return -1;
	}
	TAILQ_INSERT_TAIL(&http->sockets, l, next);
	return 0;
}

void
evhttp_free(struct evhttp *http)
{
	struct evhttp_listener *l;
	struct evhttp_connection *evcon;
	struct evhttp_cb *cb;

	while ((l = TAILQ_FIRST(&http->sockets)) != NULL) {
		TAILQ_REMOVE(&http->sockets, l, next);
		event_del(&l->ev);
		close(l->fd);
		ev__free(l);
	}
	while ((evcon = TAILQ_FIRST(&http->connections)) != NULL) {
		TAILQ_REMOVE(&http->connections, evcon, next);
		http->nconnections--;
		evcon->http_server = NULL;
		evhttp_connection_free(evcon);
	}
	while ((cb = TAILQ_FIRST(&http->callbacks)) != NULL) {
		TAILQ_REMOVE(&http->callbacks, cb, next);
		ev__free(cb->what);
		ev__free(cb);
	}
	while (http->nspare > 0)
		ev__http_request_free(http->spare[--http->nspare]);
	event_del(&http->accept_retry);
	while (http->spares.n > 0)
		ev__free(http->spares.block[--http->spares.n]);
	ev__free(http);
}

void
evhttp_set_cb(struct evhttp *http, const char *uri,
    void (*cb)(struct evhttp_request *, void *), void *cbarg)
{
	struct evhttp_cb *hcb;

	if ((hcb = ev__calloc(1, sizeof(*hcb))) == NULL ||
	    (hcb->what = ev__strdup(uri)) == NULL) {
		event_warn("%s: out of memory", __func__);
		ev__free(hcb);
		return;
	}
	hcb->cb = cb;
	hcb->cbarg = cbarg;
	TAILQ_INSERT_TAIL(&http->callbacks, hcb, next);
}

int
evhttp_del_cb(struct evhttp *http, const char *uri)
{
	struct evhttp_cb *hcb;

	TAILQ_FOREACH(hcb, &http->callbacks, next) {
		if (strcmp(hcb->what, uri) == 0)
			break;
	}
	if (hcb == NULL)
		return -1;
	TAILQ_REMOVE(&http->callbacks, hcb, next);
	ev__free(hcb->what);
	ev__free(hcb);
	return 0;
}

void
evhttp_set_gencb(struct evhttp *http,
    void (*cb)(struct evhttp_request *, void *), void *cbarg)
{
	http->gencb = cb;
	http->gencbarg = cbarg;
}

/* Listen again unless paused for a resource limit or at the cap. */
static void
listeners_on(struct evhttp *http)
{
	struct evhttp_listener *l;

	if (http->accept_paused || http->full)
		return;
	TAILQ_FOREACH(l, &http->sockets, next)
		event_add(&l->ev, NULL);
}

static void
listeners_off(struct evhttp *http)
{
	struct evhttp_listener *l;

	TAILQ_FOREACH(l, &http->sockets, next)
		event_del(&l->ev);
}

void
evhttp_set_max_connections(struct evhttp *http, int max_connections)
{
	http->max_connections = max_connections > 0 ? max_connections :
						      default_max_connections();
	if (http->full && http->nconnections < http->max_connections) {
		http->full = 0;
		listeners_on(http);
	}
}

void
ev__http_server_forget(struct evhttp_connection *evcon)
{
	struct evhttp *http = evcon->http_server;

	if (http == NULL)
		return;
	TAILQ_REMOVE(&http->connections, evcon, next);
	http->nconnections--;
	evcon->http_server = NULL;
	if (http->full && http->nconnections < http->max_connections) {
		http->full = 0;
		listeners_on(http);
	}
}

void
evhttp_set_timeout(struct evhttp *http, int timeout_in_secs)
{
	http->timeout = timeout_in_secs;
}

void
evhttp_set_max_headers_size(struct evhttp *http, ssize_t max_headers_size)
{
	http->max_headers_size = max_headers_size < 0 ?
	    (size_t)-1 :
	    (size_t)max_headers_size;
}

void
evhttp_set_max_body_size(struct evhttp *http, ssize_t max_body_size)
{
	http->max_body_size = max_body_size < 0 ? (ev_uint64_t)-1 :
						  (ev_uint64_t)max_body_size;
}

/* Stop accepting for a moment: the process is out of descriptors. */
static void
pause_accepting(struct evhttp *http)
{
	struct timeval tv;

	http->accept_failures++;
	if (http->accept_paused)
		return;
	ev__http_peer_log(http, "evhttp: accept failed (%s); pausing %d ms",
	    strerror(errno), ACCEPT_PAUSE_MSECS);
	listeners_off(http);
	http->accept_paused = 1;
	tv.tv_sec = ACCEPT_PAUSE_MSECS / 1000;
	tv.tv_usec = (ACCEPT_PAUSE_MSECS % 1000) * 1000;
	evtimer_add(&http->accept_retry, &tv);
}

static void
accept_retry_cb(int fd, short what, void *arg)
{
	struct evhttp *http = arg;

	http->accept_paused = 0;
	listeners_on(http);
}

#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
int (*ev__accept4)(int, struct sockaddr *, socklen_t *, int) = accept4;
#endif

/*
 * accept() a connection that is non-blocking and close-on-exec, in one
 * call where the kernel has accept4() (*ready set), else in three.
 */
static int
accept_nonblock(int fd, struct sockaddr *sa, socklen_t *len, int *ready)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
	static int no_accept4; /* atomic: servers in several threads */
	int nfd;

	if (!__atomic_load_n(&no_accept4, __ATOMIC_RELAXED)) {
		nfd = ev__accept4(fd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (nfd != -1 || errno != ENOSYS) {
			*ready = 1;
			return nfd;
		}
		/* A kernel without accept4(): never ask again. */
		__atomic_store_n(&no_accept4, 1, __ATOMIC_RELAXED);
	}
#endif
	*ready = 0;
	return accept(fd, sa, len);
}

/* Take an accepted socket into a new connection, reading a request. */
/*
 * a.b.c.d into buf (16 bytes): what inet_ntop() writes, without the
 * sprintf() it makes for each connection.
 */
static void
format_ipv4(char *buf, const struct in_addr *in)
{
	const unsigned char *b = (const unsigned char *)&in->s_addr;
	int i;

	for (i = 0; i < 4; i++) {
		buf += ev__http_utoa(buf, b[i]);
		*buf++ = i < 3 ? '.' : '\0';
	}
}

static void
get_request(struct evhttp *http, int fd, struct sockaddr *sa, socklen_t salen,
    int ready)
{
	struct evhttp_connection *evcon;
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	u_short port;

	if ((!ready && evutil_make_socket_nonblocking(fd) == -1) ||
	    (evcon = ev__http_connection_alloc(http->base,
		 &ev__http_server_role)) == NULL) {
		close(fd);
		return;
	}
	if (!ready)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		format_ipv4(host, &sin->sin_addr);
		port = ntohs(sin->sin_port);
	} else if (getnameinfo(sa, salen, host, sizeof(host), serv,
		       sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strcpy(host, "unknown");
		port = 0;
	} else {
		port = (u_short)atoi(serv);
	}
	if ((evcon->address = ev__strdup(host)) == NULL) {
		event_warn("%s: strdup", __func__);
		evhttp_connection_free(evcon);
		close(fd);
		return;
	}
	evcon->port = port;
	evcon->flags |= EVHTTP_CON_INCOMING;
	evcon->http_server = http;
	evcon->timeout = http->timeout;
	ev__http_connection_setfd(evcon, fd);
	evcon->flags |= EVHTTP_CON_UNARMED;
	TAILQ_INSERT_TAIL(&http->connections, evcon, next);
	if (++http->nconnections >= http->max_connections && !http->full) {
		/* At the cap: accept again when one closes (as on EMFILE). */
		ev__http_peer_log(http,
		    "evhttp: %d connections; not accepting more "
		    "until one closes",
		    http->nconnections);
		http->full = 1;
		listeners_off(http);
	}
	ev__http_connection_start_read(evcon);
}

static void
accept_cb(int fd, short what, void *arg)
{
	struct evhttp_listener *l = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, nfd, ready;

	for (i = 0; i < ACCEPT_BURST; i++) {
		len = sizeof(ss);
		nfd = accept_nonblock(fd, (struct sockaddr *)&ss, &len, &ready);
		if (nfd != -1) {
			get_request(l->http, nfd, (struct sockaddr *)&ss, len,
			    ready);
			if (l->http->full)
				return;
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO: continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM: pause_accepting(l->http); return;
		default: event_warn("%s: accept", __func__); return;
		}
	}
}
