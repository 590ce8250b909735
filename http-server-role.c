/*
 * http-server-role.c: what a server connection does where http.c hands
 * over (ev__http_server_role): a request to read into (one the server
 * kept from before, if it can), the program's callback once it is read,
 * the deadlines of the headers and of a body, and the answer to a request
 * that fails (an error page, or the close).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

static void body_timer(struct evhttp_connection *evcon, size_t n);

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
		ev__http_peer_log(evcon->http_server, "evhttp: %d %s to %s:%u",
		    status, ev__http_reason(status), evcon->address,
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
	.release = ev__http_server_forget,
};
