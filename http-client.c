/*
 * http-client.c: the client side of evhttp.h.
 *
 * A connection sends its queued requests one at a time: connect (with
 * retries and a doubling backoff), write the request, read the response
 * through http.c, call the request's callback, then send the next one on
 * the same socket if both sides keep it alive, or on a new one.  An idle
 * kept-alive socket is watched so a server's close is noticed at once.
 *
 * A request is never sent twice unless that is provably harmless (RFC
 * 9110 9.2.2): only if not one byte of it was written, or, once, if it is
 * idempotent (GET, HEAD) and went out on a reused kept-alive socket that
 * closed before any byte of a response (the server's close crossing our
 * request).  A POST the server may have read and acted on fails instead:
 * only the program can know whether repeating it is safe.
 * evhttp_connection_set_retries() governs failed connects, as in 1.4.
 *
 * Responses are bounded: the status line and headers by the header
 * limit, a body held in memory by the body limit (a chunk callback's
 * pieces are dropped once delivered, so a stream of any length passes
 * in bounded memory), interim responses by a count.
 *
 * A request that fails (connect, timeout, bad response) gets its callback
 * called with NULL, as in 1.4.
 */
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
#include <unistd.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

/* The first retry waits this long; each next one twice as long. */
#define RETRY_FIRST_MSECS 250
#define RETRY_MAX_SECS	  60

static void request_dispatch(struct evhttp_connection *evcon);
static void client_connected(struct evhttp_connection *evcon);
static void client_timeout(struct evhttp_connection *evcon);

static void
client_timer_cb(int fd, short what, void *arg)
{
	client_timeout(arg);
}

/* Arm the client's timer (a failed connect's report, a retry). */
static void
client_timer_add(struct evhttp_connection *evcon, long secs, long usecs)
{
	struct timeval tv;

	tv.tv_sec = secs;
	tv.tv_usec = usecs;
	event_add(&evcon->client->timer, &tv);
}

struct evhttp_connection *
evhttp_connection_new(const char *address, unsigned short port)
{
	struct evhttp_connection *evcon;
	struct ev__http_client *client;

	if (address == NULL)
		return NULL;
	if ((evcon = ev__http_connection_alloc(NULL, &ev__http_client_role)) ==
	    NULL)
		return NULL;
	if ((client = ev__calloc(1, sizeof(*client))) == NULL) {
		event_warn("%s: calloc", __func__);
		evhttp_connection_free(evcon);
		return NULL;
	}
	evtimer_set(&client->timer, client_timer_cb, evcon);
	client->max_headers_size = EV__HTTP_MAX_HEADERS;
	client->max_body_size = EV__HTTP_CLIENT_MAX_BODY;
	evcon->client = client;
	if ((evcon->address = ev__strdup(address)) == NULL) {
		event_warn("%s: strdup", __func__);
		evhttp_connection_free(evcon);
		return NULL;
	}
	evcon->port = port;
	evcon->flags |= EVHTTP_CON_OUTGOING;
	return evcon;
}

/* The connection is being freed: so is the client's part. */
static void
client_release(struct evhttp_connection *evcon)
{
	struct ev__http_client *client = evcon->client;

	if (client == NULL)
		return;
	event_del(&client->timer);
	ev__free(client->bind_address);
	ev__free(client);
	evcon->client = NULL;
}

void
evhttp_connection_set_local_address(struct evhttp_connection *evcon,
    const char *address)
{
	char *copy;

	if (evcon->client == NULL) /* a server's connection: no use */
		return;
	copy = address != NULL ? ev__strdup(address) : NULL;
	if (address != NULL && copy == NULL) {
		event_warn("%s: strdup", __func__);
		return;
	}
	ev__free(evcon->client->bind_address);
	evcon->client->bind_address = copy;
}

void
evhttp_connection_set_local_port(struct evhttp_connection *evcon,
    unsigned short port)
{
	if (evcon->client != NULL)
		evcon->client->bind_port = port;
}

void
evhttp_connection_set_max_headers_size(struct evhttp_connection *evcon,
    ssize_t new_max_headers_size)
{
	if (evcon->client == NULL) /* a server's are the server's */
		return;
	evcon->client->max_headers_size = new_max_headers_size < 0 ?
	    (size_t)-1 :
	    (size_t)new_max_headers_size;
}

void
evhttp_connection_set_max_body_size(struct evhttp_connection *evcon,
    ssize_t new_max_body_size)
{
	if (evcon->client == NULL)
		return;
	evcon->client->max_body_size = new_max_body_size < 0 ?
	    (ev_uint64_t)-1 :
	    (ev_uint64_t)new_max_body_size;
}

/* Resolve host:port for family (AF_UNSPEC: any).  NULL on failure. */
static struct addrinfo *
resolve(const char *host, u_short port, int family, int passive)
{
	struct addrinfo hints, *ai;
	char portstr[16];
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	if ((err = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
		event_warnx("%s: getaddrinfo(%s): %s", __func__,
		    host ? host : "*", gai_strerror(err));
		return NULL;
	}
	return ai;
}

/* Bind fd to the local address and port asked for.  0 or -1. */
static int
bind_local(struct evhttp_connection *evcon, int fd, int family)
{
	struct ev__http_client *client = evcon->client;
	struct addrinfo *ai;
	int on = 1, r;

	if (client->bind_address == NULL && client->bind_port == 0)
		return 0;
	if ((ai = resolve(client->bind_address, client->bind_port, family,
		 1)) == NULL)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	r = bind(fd, ai->ai_addr, ai->ai_addrlen);
	if (r == -1)
		event_warn("%s: bind", __func__);
	freeaddrinfo(ai);
	return r;
}

/* Start a non-blocking connect; failures are reported from the timer. */
static void
connection_connect(struct evhttp_connection *evcon)
{
	struct addrinfo *ai;
	int fd = -1;

	if (evcon->state == EVCON_CONNECTING)
		return;
	event_del(&evcon->client->timer);
	evcon->state = EVCON_CONNECTING;
	evcon->flags &= ~(EVHTTP_CON_GOTDATA | EVHTTP_CON_WROTE);
	if ((ai = resolve(evcon->address, evcon->port, AF_UNSPEC, 0)) != NULL)
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd != -1 &&
	    (evutil_make_socket_nonblocking(fd) == -1 ||
		fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		bind_local(evcon, fd, ai->ai_family) == -1 ||
		(connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS))) {
		event_debug(("%s: connect to %s: %s", __func__, evcon->address,
		    strerror(errno)));
		close(fd);
		fd = -1;
	}
	if (ai != NULL)
		freeaddrinfo(ai);
	if (fd == -1) {
		/* Never call back from inside evhttp_make_request(). */
		client_timer_add(evcon, 0, 0);
		return;
	}
	ev__http_connection_setfd(evcon, fd);
	/* (The write event carries the connect timeout.) */
	ev__http_connection_write(evcon, client_connected);
}

/* Connecting failed: retry after a backoff, or fail the request. */
static void
connect_failed(struct evhttp_connection *evcon)
{
	struct ev__http_client *client = evcon->client;
	long msecs;
	int shift;

	(void)ev__http_connection_reset(evcon);
	if (client->retry_max < 0 || client->retry_cnt < client->retry_max) {
		shift = client->retry_cnt < 16 ? client->retry_cnt : 16;
		msecs = (long)RETRY_FIRST_MSECS << shift;
		if (msecs > RETRY_MAX_SECS * 1000L)
			msecs = RETRY_MAX_SECS * 1000L;
		client->retry_cnt++;
		client_timer_add(evcon, msecs / 1000, (msecs % 1000) * 1000);
		return;
	}
	client->retry_cnt = 0;
	evhttp_connection_fail(evcon, EVCON_HTTP_EOF);
}

static void
client_connected(struct evhttp_connection *evcon)
{
	int error = 0;
	socklen_t len = sizeof(error);

	if (getsockopt(evcon->fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1 ||
	    error != 0) {
		event_debug(("%s: connect to %s: %s", __func__, evcon->address,
		    strerror(error)));
		connect_failed(evcon);
		return;
	}
	/* (The connect timeout went with the write event.) */
	evcon->client->retry_cnt = 0;
	evcon->nrequests = 0;
	evcon->state = EVCON_IDLE;
	request_dispatch(evcon);
}

static void
client_timeout(struct evhttp_connection *evcon)
{
	switch (evcon->state) {
	case EVCON_CONNECTING: connect_failed(evcon); break;
	case EVCON_DISCONNECTED:
		/* The retry backoff is over. */
		if (TAILQ_FIRST(&evcon->requests) != NULL)
			connection_connect(evcon);
		break;
	case EVCON_READING_FIRSTLINE:
	case EVCON_READING_HEADERS:
	case EVCON_READING_BODY:
	case EVCON_WRITING:
		evhttp_connection_fail(evcon, EVCON_HTTP_TIMEOUT);
		break;
	default: break;
	}
}

/* Append "Host: address[:port]" unless the program set one. */
static int
add_host_header(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	char host[300];
	int v6 = strchr(evcon->address, ':') != NULL;

	if (evhttp_find_header(req->output_headers, "Host") != NULL)
		return 0;
	if (evcon->port == 80)
		snprintf(host, sizeof(host), v6 ? "[%s]" : "%s",
		    evcon->address);
	else
		snprintf(host, sizeof(host), v6 ? "[%s]:%u" : "%s:%u",
		    evcon->address, (unsigned)evcon->port);
	return evhttp_add_header(req->output_headers, "Host", host);
}

/* Queue the request line, headers and body of req for writing. */
static int
write_request(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	struct evbuffer *out = evcon->output_buffer;
	size_t len = EVBUFFER_LENGTH(req->output_buffer);
	char num[32];

	if (add_host_header(evcon, req) == -1)
		return -1;
	ev__http_remove_all(req->output_headers, "Transfer-Encoding");
	if (len > 0 || req->type == EVHTTP_REQ_POST) {
		snprintf(num, sizeof(num), "%zu", len);
		if (ev__http_set_header(req->output_headers, "Content-Length",
			num) == -1)
			return -1;
	}
	if (evbuffer_add_printf(out, "%s %s HTTP/%d.%d\r\n",
		ev__http_method(req->type), req->uri, req->major,
		req->minor) == -1 ||
	    ev__http_write_headers(out, req->output_headers) == -1)
		return -1;
	/* Copied, not moved: a stale socket means sending it again. */
	return evbuffer_add(out, EVBUFFER_DATA(req->output_buffer), len);
}

/* A request that could not be built fails, from the loop. */
static void
request_unbuilt(struct evhttp_connection *evcon)
{
	evhttp_connection_fail(evcon, EVCON_HTTP_INVALID_HEADER);
}

/* The request is out: read its response. */
static void
request_written(struct evhttp_connection *evcon)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);

	if (req == NULL)
		return;
	req->kind = EVHTTP_RESPONSE;
	evcon->client->ninterim = 0;
	ev__http_connection_start_read(evcon);
}

/* Send the first queued request, or watch the idle socket for a close. */
static void
request_dispatch(struct evhttp_connection *evcon)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);
	size_t keep;

	if (req == NULL) {
		evcon->state = EVCON_IDLE;
		evcon->flags |= EVHTTP_CON_CLOSEDETECT;
		event_add(&evcon->ev_read, NULL);
		return;
	}
	evcon->flags &= ~(
	    EVHTTP_CON_CLOSEDETECT | EVHTTP_CON_GOTDATA | EVHTTP_CON_WROTE);
	event_del(&evcon->ev_read);
	evbuffer_drain(evcon->input_buffer,
	    EVBUFFER_LENGTH(evcon->input_buffer));
	evcon->state = EVCON_WRITING;
	keep = EVBUFFER_LENGTH(evcon->output_buffer);
	if (write_request(evcon, req) == -1) {
		/* Never half a request on the wire; fail it after we return. */
		event_warnx("%s: out of memory writing a request to %s",
		    __func__, evcon->address);
		ev__http_truncate(evcon->output_buffer, keep);
		ev__http_connection_write(evcon, request_unbuilt);
		return;
	}
	ev__http_connection_write(evcon, request_written);
}

/* No control characters or spaces: they would split the request line. */
static int
uri_ok(const char *uri)
{
	const unsigned char *s = (const unsigned char *)uri;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
evhttp_make_request(struct evhttp_connection *evcon, struct evhttp_request *req,
    enum evhttp_cmd_type type, const char *uri)
{
	char *copy;

	if (evcon->client == NULL) {
		event_warnx("%s: not a client's connection", __func__);
		return -1;
	}
	if (ev__http_method(type) == NULL || uri == NULL || !uri_ok(uri)) {
		event_warnx("%s: bad method or uri", __func__);
		return -1;
	}
	if ((copy = ev__strdup(uri)) == NULL) {
		event_warn("%s: strdup", __func__);
		return -1;
	}
	ev__free(req->uri);
	req->uri = copy;
	req->kind = EVHTTP_REQUEST;
	req->type = type;
	req->evcon = evcon;
	TAILQ_INSERT_TAIL(&evcon->requests, req, next);
	if (TAILQ_FIRST(&evcon->requests) != req)
		return 0; /* sent after the ones before it */
	if (evcon->state == EVCON_IDLE)
		request_dispatch(evcon);
	else if (evcon->state == EVCON_DISCONNECTED &&
	    !event_pending(&evcon->client->timer, EV_TIMEOUT, NULL))
		connection_connect(evcon);
	return 0;
}

/* Whether the socket cannot carry another request after this reply. */
static int
response_closes(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	if (evcon->parser.body == EV__BODY_CLOSE || req->response_code == 101 ||
	    EVBUFFER_LENGTH(evcon->input_buffer) > 0 ||
	    ev__http_header_has_token(req->output_headers, "Connection",
		"close") ||
	    ev__http_header_has_token(req->input_headers, "Connection",
		"close"))
		return 1;
	if (req->major == 1 && req->minor == 0)
		return !ev__http_header_has_token(req->input_headers,
		    "Connection", "keep-alive");
	return 0;
}

static void
client_done(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	int closing = response_closes(evcon, req);

	ev__http_request_detach(req);
	evcon->nrequests++;
	evcon->flags &= ~EVHTTP_CON_RESENT;
	evcon->state = EVCON_IDLE;
	if (closing && ev__http_connection_reset(evcon) == -1)
		evcon = NULL; /* its close callback freed it */
	/* (A close callback may already have queued and connected.) */
	if (evcon != NULL && evcon->state == EVCON_IDLE)
		request_dispatch(evcon);
	else if (evcon != NULL && evcon->state == EVCON_DISCONNECTED &&
	    TAILQ_FIRST(&evcon->requests) != NULL)
		connection_connect(evcon);
	/* The callback may free the connection: nothing follows but req. */
	req->flags |= EV__REQ_HELD;
	if (req->cb != NULL)
		(*req->cb)(req, req->cb_arg);
	req->flags &= ~EV__REQ_HELD;
	ev__http_request_free(req);
}

/*
 * Whether req may go out once more after failing with error (RFC 9110
 * 9.2.2): never after a byte of a response, nor twice; if no byte of it
 * was written, whatever its method; if the socket was reused and closed
 * before the response started, only for an idempotent method.
 */
static int
may_resend(struct evhttp_connection *evcon, struct evhttp_request *req,
    enum evhttp_connection_error error)
{
	if (error != EVCON_HTTP_EOF ||
	    (evcon->flags & (EVHTTP_CON_RESENT | EVHTTP_CON_GOTDATA)))
		return 0;
	if (evcon->state == EVCON_WRITING && !(evcon->flags & EVHTTP_CON_WROTE))
		return 1;
	if (evcon->state != EVCON_WRITING &&
	    evcon->state != EVCON_READING_FIRSTLINE)
		return 0;
	return evcon->nrequests > 0 &&
	    (req->type == EVHTTP_REQ_GET || req->type == EVHTTP_REQ_HEAD);
}

static void
client_fail(struct evhttp_connection *evcon, enum evhttp_connection_error error)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);
	void (*cb)(struct evhttp_request *, void *);
	void *cb_arg;

	if (req == NULL) {
		(void)ev__http_connection_reset(evcon);
		return;
	}
	if (may_resend(evcon, req, error)) {
		evcon->flags |= EVHTTP_CON_RESENT;
		req->kind = EVHTTP_REQUEST;
		if (ev__http_connection_reset(evcon) == 0)
			connection_connect(evcon);
		return;
	}
	cb = req->cb;
	cb_arg = req->cb_arg;
	evcon->flags &= ~EVHTTP_CON_RESENT; /* the next request starts anew */
	ev__http_request_detach(req);
	ev__http_request_free(req);
	if (ev__http_connection_reset(evcon) == 0 &&
	    TAILQ_FIRST(&evcon->requests) != NULL)
		connection_connect(evcon);
	if (cb != NULL)
		(*cb)(NULL, cb_arg);
}

/* A client's reads time out only when they stall. */
static void
client_got_bytes(struct evhttp_connection *evcon, size_t n)
{
	ev__http_read_deadline(evcon,
	    ev__http_timeout(evcon, EV__HTTP_READ_TIMEOUT), 0);
}

/* A response's limits are the connection's. */
static void
client_limits(struct evhttp_connection *evcon, size_t *max_headers,
    ev_uint64_t *max_body)
{
	*max_headers = evcon->client->max_headers_size;
	*max_body = evcon->client->max_body_size;
}

static void
client_message_done(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	event_del(&evcon->ev_read); /* (and its deadline) */
	client_done(evcon, req);
}

const struct ev__http_role ev__http_client_role = {
	.limits = client_limits,
	.got_bytes = client_got_bytes,
	.message_done = client_message_done,
	.fail = client_fail,
	.timeout = client_timeout,
	.release = client_release,
};
