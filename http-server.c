/*
 * http-server.c: struct evhttp, the server side of evhttp.h.
 *
 * Listening sockets accept connections; each connection reads one
 * request at a time (http.c), hands it to the program's callback and
 * reads nothing more until the reply has been written, so pipelined
 * requests are answered in order and a slow program gets backpressure
 * instead of buffers.  Replies get 1.4's default headers (Date,
 * Content-Length, a Content-Type, Connection).
 *
 * A request that cannot be parsed gets a 4xx/5xx page and "Connection:
 * close"; then the write side is shut and input is drained for a moment
 * (a "lingering close"), so a client still sending gets to read the
 * error instead of a reset.  When accept() runs out of descriptors the
 * listeners pause and retry on a timer, as nginx does, rather than spin.
 *
 * Per request the server makes as few system calls as it can: accept4()
 * sets O_NONBLOCK and FD_CLOEXEC in the same call, the read event stays
 * registered for the life of a connection, replies are written without
 * waiting for the socket to be reported writable, and a client that
 * asked for the connection to close is closed as soon as its reply is
 * out (it has promised to send nothing more, so no lingering is needed).
 */
#define _GNU_SOURCE	/* accept4, SOCK_NONBLOCK, SOCK_CLOEXEC */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
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
#define ACCEPT_BURST		64
/* How long the listeners pause when accept() hits a resource limit. */
#define ACCEPT_PAUSE_MSECS	250
#define LISTEN_BACKLOG		1024

static void accept_cb(int fd, short what, void *arg);
static void accept_retry_cb(int fd, short what, void *arg);
static void send_response(struct evhttp_connection *evcon,
    struct evhttp_request *req, int streaming);

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
	if (!http->accept_paused && event_add(&l->ev, NULL) == -1) {
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
	event_del(&http->accept_retry);
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

void
evhttp_set_timeout(struct evhttp *http, int timeout_in_secs)
{
	http->timeout = timeout_in_secs;
}

void
evhttp_set_max_headers_size(struct evhttp *http, ssize_t max_headers_size)
{
	http->max_headers_size = max_headers_size < 0 ?
	    (size_t)-1 : (size_t)max_headers_size;
}

void
evhttp_set_max_body_size(struct evhttp *http, ssize_t max_body_size)
{
	http->max_body_size = max_body_size < 0 ?
	    (ev_uint64_t)-1 : (ev_uint64_t)max_body_size;
}

/* Stop accepting for a moment: the process is out of descriptors. */
static void
pause_accepting(struct evhttp *http)
{
	struct evhttp_listener *l;
	struct timeval tv;

	http->accept_failures++;
	if (http->accept_paused)
		return;
	event_warn("%s: accept failed; pausing %d ms", __func__,
	    ACCEPT_PAUSE_MSECS);
	TAILQ_FOREACH(l, &http->sockets, next)
		event_del(&l->ev);
	http->accept_paused = 1;
	tv.tv_sec = ACCEPT_PAUSE_MSECS / 1000;
	tv.tv_usec = (ACCEPT_PAUSE_MSECS % 1000) * 1000;
	evtimer_add(&http->accept_retry, &tv);
}

static void
accept_retry_cb(int fd, short what, void *arg)
{
	struct evhttp *http = arg;
	struct evhttp_listener *l;

	http->accept_paused = 0;
	TAILQ_FOREACH(l, &http->sockets, next)
		event_add(&l->ev, NULL);
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
	static int no_accept4;	/* atomic: servers in several threads */
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
static void
get_request(struct evhttp *http, int fd, struct sockaddr *sa,
    socklen_t salen, int ready)
{
	struct evhttp_connection *evcon;
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if ((!ready && evutil_make_socket_nonblocking(fd) == -1) ||
	    (evcon = ev__http_connection_alloc(http->base)) == NULL) {
		close(fd);
		return;
	}
	if (!ready)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strcpy(host, "unknown");
		strcpy(serv, "0");
	}
	if ((evcon->address = ev__strdup(host)) == NULL) {
		event_warn("%s: strdup", __func__);
		evhttp_connection_free(evcon);
		close(fd);
		return;
	}
	evcon->port = (u_short)atoi(serv);
	evcon->flags |= EVHTTP_CON_INCOMING;
	evcon->http_server = http;
	evcon->timeout = http->timeout;
	ev__http_connection_setfd(evcon, fd);
	TAILQ_INSERT_TAIL(&http->connections, evcon, next);
	http->nconnections++;
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
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			pause_accepting(l->http);
			return;
		default:
			event_warn("%s: accept", __func__);
			return;
		}
	}
}

struct evhttp_request *
ev__http_server_new_request(struct evhttp_connection *evcon)
{
	struct evhttp_request *req;

	if ((req = evhttp_request_new(NULL, NULL)) == NULL ||
	    (req->remote_host = ev__strdup(evcon->address)) == NULL) {
		event_warn("%s: out of memory", __func__);
		evhttp_request_free(req);
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

int
ev__http_server_headers_done(struct evhttp_connection *evcon,
    struct evhttp_request *req)
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
	return 0;
}

/* The callback registered for the request's path, if any. */
static struct evhttp_cb *
find_callback(struct evhttp *http, const char *uri)
{
	struct evhttp_cb *hcb;
	size_t len = strcspn(uri, "?");

	TAILQ_FOREACH(hcb, &http->callbacks, next) {
		if (strlen(hcb->what) == len && memcmp(hcb->what, uri, len) == 0)
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
	evbuffer_add_printf(buf, "<html><head><title>404 Not Found</title>"
	    "</head><body>\n<h1>Not Found</h1>\n<p>Nothing is served at %s."
	    "</p>\n</body></html>\n", escaped);
	ev__free(escaped);
	evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", buf);
	evbuffer_free(buf);
}

void
ev__http_server_dispatch(struct evhttp_connection *evcon,
    struct evhttp_request *req)
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

/* Whether the client said it sends nothing after req. */
static int
client_closes(struct evhttp_request *req)
{
	if (req->major != 1)
		return 1;
	if (req->minor == 0)
		return !ev__http_header_has_token(req->input_headers,
		    "Connection", "keep-alive");
	return ev__http_header_has_token(req->input_headers, "Connection",
	    "close");
}

/* Whether the connection must close after the reply to req. */
static int
must_close(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	if (evcon->flags & EVHTTP_CON_CLOSEAFTER)
		return 1;
	if (ev__http_header_has_token(req->output_headers, "Connection",
	    "close"))
		return 1;
	return client_closes(req);
}

/* Responses with these codes never carry a body. */
static int
status_without_body(int code)
{
	return (code >= 100 && code < 200) || code == 204 || code == 304;
}

/*
 * Fill in what 1.4 sent when the program did not.  Returns 0, or -1 if
 * memory ran out (a reply without its framing headers must not go out).
 */
static int
add_default_headers(struct evhttp_request *req, int closing, int streaming)
{
	struct evkeyvalq *h = req->output_headers;
	size_t len = EVBUFFER_LENGTH(req->output_buffer);
	char buf[64];
	int r = 0;

	if (evhttp_find_header(h, "Date") == NULL) {
		ev__http_date(buf, sizeof(buf), time(NULL));
		r |= evhttp_add_header(h, "Date", buf);
	}
	ev__http_remove_all(h, "Transfer-Encoding");
	if (status_without_body(req->response_code) || streaming) {
		ev__http_remove_all(h, "Content-Length");
	} else if (req->type != EVHTTP_REQ_HEAD ||
	    evhttp_find_header(h, "Content-Length") == NULL) {
		/* The length is the body's: a wrong one would split it. */
		snprintf(buf, sizeof(buf), "%zu", len);
		r |= ev__http_set_header(h, "Content-Length", buf);
	}
	if ((len > 0 || streaming) &&
	    !status_without_body(req->response_code) &&
	    evhttp_find_header(h, "Content-Type") == NULL)
		r |= evhttp_add_header(h, "Content-Type",
		    "text/html; charset=ISO-8859-1");
	if (req->chunked)
		r |= evhttp_add_header(h, "Transfer-Encoding", "chunked");
	if (closing)
		r |= ev__http_set_header(h, "Connection", "close");
	else if (req->minor == 0)
		r |= ev__http_set_header(h, "Connection", "keep-alive");
	return r == 0 ? 0 : -1;
}

/* Write the status line and headers of req to the connection; 0 or -1. */
static int
write_header(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	struct evbuffer *out = evcon->output_buffer;

	if (evbuffer_add_printf(out, "HTTP/1.%d %d %s\r\n",
		req->major == 1 && req->minor >= 1 ? 1 : 0, req->response_code,
		req->response_code_line != NULL ?
		    req->response_code_line :
		    ev__http_reason(req->response_code)) == -1)
		return -1;
	return ev__http_write_headers(out, req->output_headers);
}

/* The connection could not take its reply: close it, from the loop. */
static void
reply_unbuilt(struct evhttp_connection *evcon)
{
	ev__http_server_fail(evcon, 0);
}

/*
 * Memory ran out while queueing a reply: take back what was queued of it
 * (the output held keep bytes before), so the client never reads half a
 * reply, and close the connection once the caller has returned.
 */
static void
reply_failed(struct evhttp_connection *evcon, size_t keep)
{
	event_warnx("evhttp: out of memory replying to %s; closing",
	    evcon->address);
	ev__http_truncate(evcon->output_buffer, keep);
	evcon->flags |= EVHTTP_CON_CLOSEAFTER | EVHTTP_CON_BROKEN;
	evcon->state = EVCON_WRITING;
	ev__http_connection_write(evcon, reply_unbuilt);
}

/* Set the status of req; the reason loses any control characters. */
static void
set_response_code(struct evhttp_request *req, int code, const char *reason)
{
	char *s;

	req->kind = EVHTTP_RESPONSE;
	req->response_code = code;
	ev__free(req->response_code_line);
	req->response_code_line = ev__strdup(
	    reason != NULL ? reason : ev__http_reason(code));
	if (req->response_code_line == NULL) {
		/* The status line falls back on the standard reason. */
		event_warn("%s: strdup", __func__);
		return;
	}
	for (s = req->response_code_line; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* The reply (or its last piece) is written: next request, or close. */
static void
send_done(struct evhttp_connection *evcon)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);
	int secs, quiet;

	if (req == NULL || !req->userdone)
		return;
	/*
	 * A client that announced the close, all of whose bytes have been
	 * consumed and which has sent nothing since (as far as the loop has
	 * seen), has nothing more to send: closing now ends the reply with
	 * a FIN, and lingering would only cost system calls.  Anything
	 * unread would turn the close into a reset, so then we linger.
	 */
	quiet = !(evcon->flags & (EVHTTP_CON_LINGER |
	    EVHTTP_CON_READPENDING)) && client_closes(req) &&
	    EVBUFFER_LENGTH(evcon->input_buffer) == 0;
	ev__http_request_detach(req);
	evhttp_request_free(req);
	evcon->nrequests++;
	if (!(evcon->flags & EVHTTP_CON_CLOSEAFTER)) {
		ev__http_connection_start_read(evcon);
		return;
	}
	if (quiet) {
		evhttp_connection_free(evcon);
		return;
	}
	/*
	 * Lingering close: shut our side so the client sees the end of the
	 * reply, and read (dropping it) what it still sends, so that
	 * closing with unread input does not reset the connection and
	 * destroy the reply before the client has read it.
	 */
	evcon->state = EVCON_LINGERING;
	(void)shutdown(evcon->fd, SHUT_WR);
	evbuffer_drain(evcon->input_buffer,
	    EVBUFFER_LENGTH(evcon->input_buffer));
	event_add(&evcon->ev_read, NULL);
	secs = ev__http_timeout(evcon, EV__HTTP_LINGER_SECS);
	ev__http_timer_add(evcon, secs < EV__HTTP_LINGER_SECS ?
	    secs : EV__HTTP_LINGER_SECS, 0);
}

/*
 * Move buf to the output as one piece of the body (a chunk if chunked).
 * Returns 0, or -1 if memory ran out.
 */
static int
add_piece(struct evhttp_connection *evcon, struct evhttp_request *req,
    struct evbuffer *buf)
{
	size_t len = EVBUFFER_LENGTH(buf);

	if (len == 0)
		return 0;
	if (req->chunked &&
	    evbuffer_add_printf(evcon->output_buffer, "%zx\r\n", len) == -1)
		return -1;
	if (evbuffer_add_buffer(evcon->output_buffer, buf) == -1)
		return -1;
	if (req->chunked)
		return evbuffer_add(evcon->output_buffer, "\r\n", 2);
	return 0;
}

/* Queue the header (and body unless streaming) of req and write it. */
static void
send_response(struct evhttp_connection *evcon, struct evhttp_request *req,
    int streaming)
{
	size_t keep = EVBUFFER_LENGTH(evcon->output_buffer);
	int closing = must_close(evcon, req), r;

	if (closing)
		evcon->flags |= EVHTTP_CON_CLOSEAFTER;
	r = add_default_headers(req, closing, streaming);
	if (r == 0)
		r = write_header(evcon, req);
	if (r == 0 &&
	    (req->type == EVHTTP_REQ_HEAD ||
		status_without_body(req->response_code)))
		evbuffer_drain(req->output_buffer,
		    EVBUFFER_LENGTH(req->output_buffer));
	else if (r == 0 && streaming)
		/* A chunked stream must frame even the first bytes. */
		r = add_piece(evcon, req, req->output_buffer);
	else if (r == 0)
		r = evbuffer_add_buffer(evcon->output_buffer,
		    req->output_buffer);
	if (r == -1) {
		reply_failed(evcon, keep);
		return;
	}
	evcon->state = EVCON_WRITING;
	ev__http_connection_write(evcon, send_done);
}

/*
 * The connection is going away while the program still holds its first
 * request (it has not finished its reply).  With a close callback the
 * program is told and the request is freed after it, as in 1.4; without
 * one it could not know, and would later touch a freed request: detach
 * the request instead, so it stays valid until the program finishes the
 * reply, which then frees it.
 */
static void
release_held_request(struct evhttp_connection *evcon)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);

	if (req == NULL || evcon->closecb != NULL)
		return;
	if (evcon->state != EVCON_WAITING &&
	    (evcon->state != EVCON_WRITING || req->userdone))
		return;
	ev__http_request_detach(req);
	req->flags |= EV__REQ_ORPHAN;
}

/*
 * Whether req lost its connection while the program held it; if so and
 * finish is set, the program is done with it: free it.
 */
static int
orphaned(struct evhttp_request *req, int finish)
{
	if (req->evcon != NULL || !(req->flags & EV__REQ_ORPHAN))
		return 0;
	if (finish)
		evhttp_request_free(req);
	return 1;
}

/* Whether the program may answer req now; warns if not. */
static int
can_reply(struct evhttp_request *req, const char *func)
{
	struct evhttp_connection *evcon = req->evcon;

	if (evcon == NULL || !(evcon->flags & EVHTTP_CON_INCOMING) ||
	    evcon->state != EVCON_WAITING ||
	    TAILQ_FIRST(&evcon->requests) != req) {
		event_warnx("%s: the request cannot be answered now", func);
		return 0;
	}
	return 1;
}

void
evhttp_send_reply(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *databuf)
{
	if (orphaned(req, 0)) {
		if (databuf != NULL)
			evbuffer_drain(databuf, EVBUFFER_LENGTH(databuf));
		orphaned(req, 1);
		return;
	}
	if (!can_reply(req, __func__))
		return;
	set_response_code(req, code, reason);
	req->chunked = 0;
	req->userdone = 1;
	if (databuf != NULL && databuf != req->output_buffer &&
	    evbuffer_add_buffer(req->output_buffer, databuf) == -1) {
		reply_failed(req->evcon,
		    EVBUFFER_LENGTH(req->evcon->output_buffer));
		return;
	}
	send_response(req->evcon, req, 0);
}

/* An error page for code and reason; the connection closes after it. */
static void
send_error_page(struct evhttp_connection *evcon, struct evhttp_request *req,
    int code, const char *reason)
{
	char *escaped;

	evcon->flags |= EVHTTP_CON_CLOSEAFTER | EVHTTP_CON_LINGER;
	set_response_code(req, code, reason);
	escaped = evhttp_htmlescape(req->response_code_line ?
	    req->response_code_line : "");
	evbuffer_drain(req->output_buffer,
	    EVBUFFER_LENGTH(req->output_buffer));
	evbuffer_add_printf(req->output_buffer, "<html><head><title>%d %s"
	    "</title></head><body>\n<h1>%d %s</h1>\n</body></html>\n",
	    code, escaped ? escaped : "", code, escaped ? escaped : "");
	ev__free(escaped);
	req->chunked = 0;
	req->userdone = 1;
	send_response(evcon, req, 0);
}

void
evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
	if (orphaned(req, 1))
		return;
	if (!can_reply(req, __func__))
		return;
	send_error_page(req->evcon, req, error, reason);
}

void
evhttp_send_reply_start(struct evhttp_request *req, int code,
    const char *reason)
{
	struct evhttp_connection *evcon = req->evcon;

	if (orphaned(req, 0))
		return;		/* the pieces are dropped; the end frees it */
	if (!can_reply(req, __func__))
		return;
	set_response_code(req, code, reason);
	req->userdone = 0;
	req->chunked = 0;
	if (req->type != EVHTTP_REQ_HEAD && !status_without_body(code)) {
		if (req->major == 1 && req->minor >= 1)
			req->chunked = 1;
		else	/* An HTTP/1.0 client reads until we close. */
			evcon->flags |= EVHTTP_CON_CLOSEAFTER;
	}
	/* Anything already in the output buffer goes out as a piece. */
	send_response(evcon, req, 1);
}

void
evhttp_send_reply_chunk(struct evhttp_request *req, struct evbuffer *databuf)
{
	struct evhttp_connection *evcon = req->evcon;
	size_t len = EVBUFFER_LENGTH(databuf), keep;

	if (orphaned(req, 0)) {
		evbuffer_drain(databuf, len);
		return;
	}
	if (evcon == NULL || evcon->state != EVCON_WRITING ||
	    req->userdone || len == 0)
		return;
	if (evcon->flags & EVHTTP_CON_BROKEN) {
		evbuffer_drain(databuf, len); /* dropped, as if sent */
		return;
	}
	if (req->type == EVHTTP_REQ_HEAD ||
	    status_without_body(req->response_code)) {
		evbuffer_drain(databuf, len);
		return;
	}
	keep = EVBUFFER_LENGTH(evcon->output_buffer);
	if (add_piece(evcon, req, databuf) == -1) {
		reply_failed(evcon, keep);
		return;
	}
	ev__http_connection_write(evcon, send_done);
}

void
evhttp_send_reply_end(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = req->evcon;

	if (orphaned(req, 1))
		return;
	if (evcon == NULL || evcon->state != EVCON_WRITING || req->userdone)
		return;
	req->userdone = 1;
	/* A broken connection is closing and frees req with itself. */
	if (evcon->flags & EVHTTP_CON_BROKEN)
		return;
	if (req->chunked &&
	    evbuffer_add(evcon->output_buffer, "0\r\n\r\n", 5) == -1) {
		reply_failed(evcon, EVBUFFER_LENGTH(evcon->output_buffer));
		return;
	}
	ev__http_connection_write(evcon, send_done);
}

void
ev__http_server_fail(struct evhttp_connection *evcon, int status)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);

	if (status == 0 || evcon->state == EVCON_WAITING ||
	    evcon->state == EVCON_WRITING || evcon->state == EVCON_LINGERING) {
		release_held_request(evcon);
		evhttp_connection_free(evcon);
		return;
	}
	event_debug(("%s: answering %d to %s", __func__, status,
	    evcon->address));
	event_del(&evcon->ev_read);
	event_del(&evcon->ev_timer);
	if (req == NULL && (req = ev__http_server_new_request(evcon)) == NULL)
		return;
	evhttp_clear_headers(req->output_headers);
	send_error_page(evcon, req, status, NULL);
}

void
ev__http_server_timeout(struct evhttp_connection *evcon)
{
	switch (evcon->state) {
	case EVCON_READING_FIRSTLINE:
	case EVCON_READING_HEADERS:
	case EVCON_READING_BODY:
		/* Part of a request came: say why we give up on it. */
		if (evcon->flags & EVHTTP_CON_GOTDATA) {
			ev__http_server_fail(evcon, 408);
			return;
		}
		evhttp_connection_free(evcon);
		return;
	case EVCON_WAITING:
		return;
	default:
		/* A reply stalled: the program may still be streaming it. */
		release_held_request(evcon);
		evhttp_connection_free(evcon);
		return;
	}
}
