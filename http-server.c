/*
 * http-server.c: struct evhttp, the server side of evhttp.h.
 *
 * Listening sockets accept connections; each connection reads one
 * request at a time (http.c), hands it to the program's callback and
 * reads nothing more until the reply has been written, so pipelined
 * requests are answered in order and a slow program gets backpressure
 * instead of buffers.  Replies are http-reply.c's.  The server is the
 * connection's role (ev__http_server_role, at the end): what http.c hands
 * over to.
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
 * sets O_NONBLOCK and FD_CLOEXEC in the same call, the read event stays
 * registered for the life of a connection, replies are written without
 * waiting for the socket to be reported writable, and a client that
 * asked for the connection to close is closed as soon as its reply is
 * out (it has promised to send nothing more, so no lingering is needed).
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
static void body_timer(struct evhttp_connection *evcon, size_t n);

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
static void
    EV_CHECK_FMT(2, 3) peer_log(struct evhttp *http, const char *fmt, ...)
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

static void
server_forget(struct evhttp_connection *evcon)
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
	peer_log(http, "evhttp: accept failed (%s); pausing %d ms",
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
		peer_log(http,
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

static struct evhttp_request *
server_new_request(struct evhttp_connection *evcon)
{
	struct evhttp *http = evcon->http_server;
	struct evhttp_request *req;

	if (http != NULL && http->nspare > 0)
		req = http->spare[--http->nspare];
	else
		req = evhttp_request_new(NULL, NULL);
	if (req == NULL ||
	    (req->remote_host = ev__strdup(evcon->address)) == NULL) {
		event_warn("%s: out of memory", __func__);
		ev__http_request_free(req);
		evhttp_connection_free(evcon);
		return NULL;
	}
	req->kind = EVHTTP_REQUEST;
	req->flags |= EVHTTP_REQ_OWN_CONNECTION;
	req->remote_port = evcon->port;
	req->evcon = evcon;
	TAILQ_INSERT_TAIL(&evcon->requests, req, next);
	return req;
}

void
ev__http_server_recycle(struct evhttp_connection *evcon,
    struct evhttp_request *req)
{
	struct evhttp *http = evcon->http_server;

	/* Saves the five allocations of a request, and their frees. */
	if (http != NULL && http->nspare < EV__HTTP_SPARE_REQUESTS &&
	    ev__http_request_reset(req) == 0)
		http->spare[http->nspare++] = req;
	else
		ev__http_request_free(req);
}

static int
server_headers_done(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	/* Tell a client waiting for permission to send its body. */
	if (req->major == 1 && req->minor >= 1 &&
	    evcon->parser.body != EV__BODY_NONE &&
	    EVBUFFER_LENGTH(evcon->input_buffer) == 0 &&
	    ev__http_header_has_token(req->input_headers, "Expect",
		"100-continue")) {
		evbuffer_add_printf(evcon->output_buffer,
		    "HTTP/1.1 100 Continue\r\n\r\n");
		ev__http_connection_write(evcon, NULL);
	}
	if (evcon->parser.body != EV__BODY_NONE)
		body_timer(evcon, 0);
	return 0;
}

/* The callback registered for the request's path, if any. */
static struct evhttp_cb *
find_callback(struct evhttp *http, const char *uri)
{
	struct evhttp_cb *hcb;
	size_t len = strcspn(uri, "?");

	TAILQ_FOREACH(hcb, &http->callbacks, next) {
		if (strlen(hcb->what) == len &&
		    memcmp(hcb->what, uri, len) == 0)
			return hcb;
	}
	return NULL;
}

/* No callback wants the request: 404, keeping the connection. */
static void
send_not_found(struct evhttp_request *req)
{
	struct evbuffer *buf = evbuffer_new();
	char *escaped = evhttp_htmlescape(req->uri);

	if (buf == NULL || escaped == NULL) {
		if (buf != NULL)
			evbuffer_free(buf);
		ev__free(escaped);
		evhttp_send_error(req, 503, NULL);
		return;
	}
	evbuffer_add_printf(buf,
	    "<html><head><title>404 Not Found</title>"
	    "</head><body>\n<h1>Not Found</h1>\n<p>Nothing is served at %s."
	    "</p>\n</body></html>\n",
	    escaped);
	ev__free(escaped);
	evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", buf);
	evbuffer_free(buf);
}

static void
server_dispatch(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	struct evhttp *http = evcon->http_server;
	struct evhttp_cb *hcb;

	if (http == NULL) {
		evhttp_connection_free(evcon);
		return;
	}
	if ((hcb = find_callback(http, req->uri)) != NULL) {
		(*hcb->cb)(req, hcb->cbarg);
		return;
	}
	if (http->gencb != NULL) {
		(*http->gencb)(req, http->gencbarg);
		return;
	}
	send_not_found(req);
}

static void
server_fail(struct evhttp_connection *evcon, int status)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);

	if (status == 0 || evcon->state == EVCON_WAITING ||
	    evcon->state == EVCON_WRITING || evcon->state == EVCON_LINGERING) {
		ev__http_release_held_request(evcon);
		evhttp_connection_free(evcon);
		return;
	}
	if (evcon->http_server != NULL)
		peer_log(evcon->http_server, "evhttp: %d %s to %s:%u", status,
		    ev__http_reason(status), evcon->address,
		    (unsigned)evcon->port);
	event_del(&evcon->ev_read); /* (and its deadline) */
	if (req == NULL && (req = server_new_request(evcon)) == NULL)
		return;
	evhttp_clear_headers(req->output_headers);
	ev__http_send_error_page(evcon, req, status, NULL);
}

static void
server_timeout(struct evhttp_connection *evcon)
{
	switch (evcon->state) {
	case EVCON_READING_FIRSTLINE:
	case EVCON_READING_HEADERS:
	case EVCON_READING_BODY:
		/* Part of a request came: say why we give up on it. */
		if (evcon->flags & EVHTTP_CON_GOTDATA) {
			server_fail(evcon, 408);
			return;
		}
		evhttp_connection_free(evcon);
		return;
	case EVCON_WAITING: return;
	default:
		/* A reply stalled: the program may still be streaming it. */
		ev__http_release_held_request(evcon);
		evhttp_connection_free(evcon);
		return;
	}
}

/* Monotonic time in microseconds. */
static ev_int64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ev_int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Arm a server's read deadline while it reads a body: n more bytes came (0 when
 * the body starts), which earn it 1/EV__HTTP_BODY_MIN_RATE s more of the
 * whole-body deadline; the timer fires at that deadline, or after a
 * stall of the usual timeout, whichever is first.
 */
static void
body_timer(struct evhttp_connection *evcon, size_t n)
{
	ev_int64_t now = now_usec(), left;
	int secs = ev__http_timeout(evcon, EV__HTTP_READ_TIMEOUT);

	if (n == 0)
		evcon->body_deadline = now + (ev_int64_t)secs * 1000000;
	else
		evcon->body_deadline += (ev_int64_t)n * 1000000 /
		    EV__HTTP_BODY_MIN_RATE;
	left = evcon->body_deadline - now;
	if (left > (ev_int64_t)secs * 1000000)
		left = (ev_int64_t)secs * 1000000;
	if (left < 0)
		left = 0;
	ev__http_read_deadline(evcon, (long)(left / 1000000),
	    (long)(left % 1000000));
}

static struct ev__http_spares *
server_spares(struct evhttp_connection *evcon)
{
	return evcon->http_server != NULL ? &evcon->http_server->spares : NULL;
}

static void
server_limits(struct evhttp_connection *evcon, size_t *max_headers,
    ev_uint64_t *max_body)
{
	if (evcon->http_server == NULL)
		return;
	*max_headers = evcon->http_server->max_headers_size;
	*max_body = evcon->http_server->max_body_size;
}

/*
 * The request line and headers share the deadline set when reading
 * starts; a body's grows with the bytes received (body_timer()).
 */
static void
server_got_bytes(struct evhttp_connection *evcon, size_t n)
{
	if (evcon->state == EVCON_READING_BODY)
		body_timer(evcon, n);
}

static void
server_message_done(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	/*
	 * The read event stays registered (read_cb() switches it off if
	 * input arrives before the reply is out).
	 */
	evcon->state = EVCON_WAITING;
	if (evcon->flags & EVHTTP_CON_UNARMED)
		/* After the callback: register ev_read if no reply is out. */
		event_active(&evcon->ev_read, EV_READ, 1);
	server_dispatch(evcon, req);
}

/* A network error gets no answer; a protocol error gets its status. */
static void
server_conn_fail(struct evhttp_connection *evcon,
    enum evhttp_connection_error error)
{
	int status = 0;

	if (error == EVCON_HTTP_INVALID_HEADER)
		status = evcon->parser.error ? evcon->parser.error : 400;
	server_fail(evcon, status);
}

const struct ev__http_role ev__http_server_role = {
	.limits = server_limits,
	.spares = server_spares,
	.new_request = server_new_request,
	.got_bytes = server_got_bytes,
	.headers_done = server_headers_done,
	.message_done = server_message_done,
	.fail = server_conn_fail,
	.timeout = server_timeout,
	.release = server_forget,
};
