/*
 * http.c: struct evhttp_connection and struct evhttp_request, the parts
 * the server and the client share: reading one message through the
 * parser of http-parse.c, writing the output buffer, the one timer each
 * connection has, closing, and freeing.
 *
 * A connection has three events: a persistent read event and a
 * persistent write event on its socket, and a timer whose meaning depends
 * on the state (connect timeout, retry backoff, read deadline, write
 * stall, lingering close).  Registering and unregistering interest costs
 * a system call each, so a server connection keeps its read event for
 * its whole life (switching it off only if input arrives while the
 * program holds a request), and a write first runs from the active queue
 * of the current loop pass: the write event is registered only when the
 * socket takes less than everything.
 * The server side and the client side (http-server.c, http-client.c) are
 * told when a message is complete, when the timer fires and when
 * something fails.
 *
 * Callbacks may free the connection: the close and chunk callbacks run
 * under a flag that turns evhttp_connection_free() into a request to free
 * it when the callback returns; every other callback is the last thing
 * its caller does.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

/* Bytes asked of the socket per read. */
#define READ_SIZE 32768

static void read_cb(int fd, short what, void *arg);
static void write_cb(int fd, short what, void *arg);
static void timer_cb(int fd, short what, void *arg);
static void handle_eof(struct evhttp_connection *evcon);

void
ev__http_request_detach(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = req->evcon;

	if (evcon != NULL)
		TAILQ_REMOVE(&evcon->requests, req, next);
	req->evcon = NULL;
}

struct evhttp_connection *
ev__http_connection_alloc(struct event_base *base,
    const struct ev__http_role *role)
{
	struct evhttp_connection *evcon;

	if ((evcon = ev__calloc(1, sizeof(*evcon))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	evcon->fd = -1;
	evcon->timeout = -1;
	evcon->max_headers_size = EV__HTTP_MAX_HEADERS;
	evcon->max_body_size = EV__HTTP_CLIENT_MAX_BODY;
	evcon->state = EVCON_DISCONNECTED;
	evcon->base = base;
	evcon->role = role;
	TAILQ_INIT(&evcon->requests);
	evcon->input_buffer = evbuffer_new();
	evcon->output_buffer = evbuffer_new();
	if (evcon->input_buffer == NULL || evcon->output_buffer == NULL) {
		event_warn("%s: evbuffer_new", __func__);
		if (evcon->input_buffer != NULL)
			evbuffer_free(evcon->input_buffer);
		if (evcon->output_buffer != NULL)
			evbuffer_free(evcon->output_buffer);
		ev__free(evcon);
		return NULL;
	}
	evtimer_set(&evcon->ev_timer, timer_cb, evcon);
	if (base != NULL)
		event_base_set(base, &evcon->ev_timer);
	return evcon;
}

void
ev__http_connection_setfd(struct evhttp_connection *evcon, int fd)
{
	evcon->fd = fd;
	event_set(&evcon->ev_read, fd, EV_READ | EV_PERSIST, read_cb, evcon);
	event_set(&evcon->ev_write, fd, EV_WRITE | EV_PERSIST, write_cb, evcon);
	if (evcon->base != NULL) {
		event_base_set(evcon->base, &evcon->ev_read);
		event_base_set(evcon->base, &evcon->ev_write);
	}
}

void
ev__http_timer_add(struct evhttp_connection *evcon, long secs, long usecs)
{
	struct timeval tv;

	tv.tv_sec = secs;
	tv.tv_usec = usecs;
	event_add(&evcon->ev_timer, &tv);
}

int
ev__http_timeout(struct evhttp_connection *evcon, int dflt)
{
	return evcon->timeout > 0 ? evcon->timeout : dflt;
}

/* Whether the socket is connected (its close is worth a close callback). */
static int
connected(const struct evhttp_connection *evcon)
{
	return evcon->fd != -1 && evcon->state != EVCON_DISCONNECTED &&
	    evcon->state != EVCON_CONNECTING;
}

/* Stop the events, close the socket, free everything. */
static void
connection_free_now(struct evhttp_connection *evcon)
{
	struct evhttp_request *req;

	while ((req = TAILQ_FIRST(&evcon->requests)) != NULL) {
		ev__http_request_detach(req);
		ev__http_request_free(req);
	}
	if (evcon->role != NULL && evcon->role->release != NULL)
		(*evcon->role->release)(evcon);
	if (evcon->fd != -1) {
		event_del(&evcon->ev_read);
		event_del(&evcon->ev_write);
		close(evcon->fd);
	}
	event_del(&evcon->ev_timer);
	evbuffer_free(evcon->input_buffer);
	evbuffer_free(evcon->output_buffer);
	ev__free(evcon->bind_address);
	ev__free(evcon->address);
	ev__free(evcon);
}

/* Run the close callback; -1 if it freed the connection. */
static int
run_closecb(struct evhttp_connection *evcon)
{
	if (evcon->closecb == NULL)
		return 0;
	evcon->flags |= EVHTTP_CON_INCALLBACK;
	(*evcon->closecb)(evcon, evcon->closecb_arg);
	evcon->flags &= ~EVHTTP_CON_INCALLBACK;
	if (evcon->flags & EVHTTP_CON_FREELATER) {
		evcon->flags &= ~EVHTTP_CON_FREELATER;
		evhttp_connection_free(evcon);
		return -1;
	}
	return 0;
}

void
evhttp_connection_free(struct evhttp_connection *evcon)
{
	if (evcon == NULL || (evcon->flags & EVHTTP_CON_FREEING))
		return;
	if (evcon->flags & EVHTTP_CON_INCALLBACK) {
		/* Freed from a callback we are running: free it after. */
		evcon->flags |= EVHTTP_CON_FREELATER;
		return;
	}
	evcon->flags |= EVHTTP_CON_FREEING;
	if (connected(evcon) && evcon->closecb != NULL)
		(*evcon->closecb)(evcon, evcon->closecb_arg);
	connection_free_now(evcon);
}

int
ev__http_connection_reset(struct evhttp_connection *evcon)
{
	int was_connected = connected(evcon);

	if (evcon->fd != -1) {
		event_del(&evcon->ev_read);
		event_del(&evcon->ev_write);
		close(evcon->fd);
		evcon->fd = -1;
	}
	event_del(&evcon->ev_timer);
	evbuffer_drain(evcon->input_buffer,
	    EVBUFFER_LENGTH(evcon->input_buffer));
	evbuffer_drain(evcon->output_buffer,
	    EVBUFFER_LENGTH(evcon->output_buffer));
	evcon->state = EVCON_DISCONNECTED;
	evcon->flags &= ~(
	    EVHTTP_CON_CLOSEDETECT | EVHTTP_CON_GOTDATA | EVHTTP_CON_READEOF);
	evcon->write_done = NULL;
	evcon->nrequests = 0;
	if (was_connected)
		return run_closecb(evcon);
	return 0;
}

void
evhttp_connection_set_timeout(struct evhttp_connection *evcon,
    int timeout_in_secs)
{
	evcon->timeout = timeout_in_secs;
}

void
evhttp_connection_set_retries(struct evhttp_connection *evcon, int retry_max)
{
	evcon->retry_max = retry_max;
}

void
evhttp_connection_set_closecb(struct evhttp_connection *evcon,
    void (*cb)(struct evhttp_connection *, void *), void *cbarg)
{
	evcon->closecb = cb;
	evcon->closecb_arg = cbarg;
}

void
evhttp_connection_set_base(struct evhttp_connection *evcon,
    struct event_base *base)
{
	evcon->base = base;
	if (base == NULL)
		return;
	/* Events must not be pending while they move. */
	event_del(&evcon->ev_timer);
	event_base_set(base, &evcon->ev_timer);
	if (evcon->fd != -1) {
		event_del(&evcon->ev_read);
		event_del(&evcon->ev_write);
		event_base_set(base, &evcon->ev_read);
		event_base_set(base, &evcon->ev_write);
	}
}

void
evhttp_connection_get_peer(struct evhttp_connection *evcon, char **address,
    u_short *port)
{
	*address = evcon->address;
	*port = evcon->port;
}

void
evhttp_connection_fail(struct evhttp_connection *evcon,
    enum evhttp_connection_error error)
{
	(*evcon->role->fail)(evcon, error);
}

void
ev__http_connection_start_read(struct evhttp_connection *evcon)
{
	size_t max_headers = evcon->max_headers_size;
	ev_uint64_t max_body = evcon->max_body_size;

	evcon->state = EVCON_READING_FIRSTLINE;
	evcon->flags &= ~(EVHTTP_CON_GOTDATA | EVHTTP_CON_READPENDING);
	evcon->ninterim = 0;
	if (evcon->role->limits != NULL)
		(*evcon->role->limits)(evcon, &max_headers, &max_body);
	ev__http_parser_init(&evcon->parser, max_headers, max_body);
	if ((evcon->flags & EVHTTP_CON_UNARMED) && evcon->nrequests == 0)
		/*
		 * A connection just accepted: its request is usually here
		 * already, so read it in this loop pass and register ev_read
		 * only if the read comes back empty (read_cb()).  A reply
		 * written at once and a close then never touch the backend.
		 */
		event_active(&evcon->ev_read, EV_READ, 1);
	else
		ev__http_read_arm(evcon);
	ev__http_timer_add(evcon,
	    ev__http_timeout(evcon, EV__HTTP_READ_TIMEOUT), 0);
	/* Pipelined bytes may already be here; no new read would come. */
	if (EVBUFFER_LENGTH(evcon->input_buffer) > 0) {
		evcon->flags |= EVHTTP_CON_GOTDATA;
		event_active(&evcon->ev_read, EV_READ, 1);
	}
}

void
ev__http_read_arm(struct evhttp_connection *evcon)
{
	evcon->flags &= ~EVHTTP_CON_UNARMED;
	event_add(&evcon->ev_read, NULL);
}

/* The message is complete: stop its timer and tell the role. */
static void
message_done(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	event_del(&evcon->ev_timer);
	(*evcon->role->message_done)(evcon, req);
}

/*
 * Hand a completed chunk to the request's chunk callback and drop it.
 * Returns -1 if the callback freed the connection.
 */
static int
deliver_chunk(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	if (req->chunk_cb == NULL) /* (never set on a server's requests) */
		return 0;
	evcon->flags |= EVHTTP_CON_INCALLBACK;
	(*req->chunk_cb)(req, req->cb_arg);
	evcon->flags &= ~EVHTTP_CON_INCALLBACK;
	if (evcon->flags & EVHTTP_CON_FREELATER) {
		evcon->flags &= ~EVHTTP_CON_FREELATER;
		evhttp_connection_free(evcon);
		return -1;
	}
	evbuffer_drain(req->input_buffer, EVBUFFER_LENGTH(req->input_buffer));
	/* Delivered bytes are gone: the limit is on what is held. */
	evcon->parser.total = 0;
	return 0;
}

/* The headers are in: work out the body, or fail.  0, or -1 if done. */
static int
headers_done(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	struct ev__http_parser *p = &evcon->parser;

	if (req->kind == EVHTTP_RESPONSE && req->response_code >= 100 &&
	    req->response_code < 200 && req->response_code != 101) {
		/* An interim response: the real one follows (soon). */
		if (++evcon->ninterim > EV__HTTP_MAX_INTERIM) {
			event_warnx("%s: more than %d interim responses from "
				    "%s",
			    __func__, EV__HTTP_MAX_INTERIM, evcon->address);
			evhttp_connection_fail(evcon,
			    EVCON_HTTP_INVALID_HEADER);
			return -1;
		}
		evhttp_clear_headers(req->input_headers);
		ev__http_parser_init(p, p->max_headers, p->max_body);
		evcon->state = EVCON_READING_FIRSTLINE;
		return 0;
	}
	if (ev__http_body_framing(p, req) == -1) {
		evhttp_connection_fail(evcon, EVCON_HTTP_INVALID_HEADER);
		return -1;
	}
	evcon->state = EVCON_READING_BODY;
	if (evcon->role->headers_done != NULL &&
	    (*evcon->role->headers_done)(evcon, req) == -1)
		return -1;
	return 0;
}

/* Feed buffered input to the parser until it needs more or is done. */
static void
process_input(struct evhttp_connection *evcon)
{
	struct evhttp_request *req;
	struct evbuffer *in = evcon->input_buffer;
	int r;

	for (;;) {
		if (evcon->state < EVCON_READING_FIRSTLINE ||
		    evcon->state > EVCON_READING_BODY)
			return;
		if ((req = TAILQ_FIRST(&evcon->requests)) == NULL) {
			if (EVBUFFER_LENGTH(in) == 0 ||
			    evcon->role->new_request == NULL) {
				if (evcon->flags & EVHTTP_CON_READEOF)
					handle_eof(evcon);
				else if (evcon->flags & EVHTTP_CON_UNARMED)
					ev__http_read_arm(evcon);
				return;
			}
			if ((req = (*evcon->role->new_request)(evcon)) == NULL)
				return;
		}
		switch (evcon->state) {
		case EVCON_READING_FIRSTLINE:
			r = ev__http_parse_firstline(&evcon->parser, req, in);
			if (r == ALL_DATA_READ)
				evcon->state = EVCON_READING_HEADERS;
			break;
		case EVCON_READING_HEADERS:
			r = ev__http_parse_headers(&evcon->parser, req, in);
			if (r == ALL_DATA_READ &&
			    headers_done(evcon, req) == -1)
				return;
			break;
		default:
			r = ev__http_read_body(&evcon->parser, req, in);
			if (r == EV__CHUNK_COMPLETE) {
				if (deliver_chunk(evcon, req) == -1)
					return;
				continue;
			}
			if (r == ALL_DATA_READ) {
				message_done(evcon, req);
				return;
			}
			break;
		}
		if (r == DATA_CORRUPTED) {
			evhttp_connection_fail(evcon,
			    EVCON_HTTP_INVALID_HEADER);
			return;
		}
		if (r == MORE_DATA_EXPECTED) {
			/* Buffered input is used up; now the EOF counts. */
			if (evcon->flags & EVHTTP_CON_READEOF)
				handle_eof(evcon);
			else if (evcon->flags & EVHTTP_CON_UNARMED)
				ev__http_read_arm(evcon);
			return;
		}
	}
}

/* The peer closed its side. */
static void
handle_eof(struct evhttp_connection *evcon)
{
	struct evhttp_request *req = TAILQ_FIRST(&evcon->requests);

	switch (evcon->state) {
	case EVCON_LINGERING: evhttp_connection_free(evcon); return;
	case EVCON_IDLE:
		/* A kept-alive client connection the server closed. */
		(void)ev__http_connection_reset(evcon);
		return;
	case EVCON_READING_BODY:
		if (evcon->parser.body == EV__BODY_CLOSE && req != NULL) {
			message_done(evcon, req);
			return;
		}
		break;
	default: break;
	}
	evhttp_connection_fail(evcon, EVCON_HTTP_EOF);
}

/*
 * Read what the socket has into the input buffer: bytes, 0 at EOF, or -1.
 * A buffer without storage yet (a new connection) is read through the
 * stack, so it gets only as much as its first request needs: a small one
 * then costs a small allocation, which malloc serves from its caches,
 * instead of a 4 KiB block for each connection.
 */
static int
read_input(struct evhttp_connection *evcon, int fd)
{
	struct evbuffer *in = evcon->input_buffer;
	char tmp[4096];
	ssize_t n;

	if (in->totallen > 0)
		return evbuffer_read(in, fd, READ_SIZE);
	if ((n = read(fd, tmp, sizeof(tmp))) <= 0)
		return (int)n;
	if (evbuffer_add(in, tmp, (size_t)n) == -1)
		return -1; /* errno ENOMEM: the connection fails */
	return (int)n;
}

static void
read_cb(int fd, short what, void *arg)
{
	struct evhttp_connection *evcon = arg;
	int n;

	if (evcon->state == EVCON_WAITING || evcon->state == EVCON_WRITING) {
		if (evcon->flags & EVHTTP_CON_UNARMED) {
			/*
			 * Not the backend: the check the server queued when
			 * it handed the first request over.  A reply still
			 * due means waiting, with ev_read registered as for
			 * any connection; a reply being written goes on
			 * (write_cb() registers it if the socket is full).
			 */
			if (evcon->state == EVCON_WAITING)
				ev__http_read_arm(evcon);
			return;
		}
		/*
		 * Pipelined input (or an EOF) while a reply is due: leave it
		 * in the kernel until the next request is read, so a slow
		 * program is not flooded, and stop being told about it.
		 */
		evcon->flags |= EVHTTP_CON_READPENDING;
		event_del(&evcon->ev_read);
		return;
	}
	n = read_input(evcon, fd);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			if (evcon->flags & EVHTTP_CON_UNARMED)
				ev__http_read_arm(evcon);
			/* start_read() activates us for pipelined input. */
			if (evcon->state >= EVCON_READING_FIRSTLINE &&
			    evcon->state <= EVCON_READING_BODY)
				process_input(evcon);
			return;
		}
		event_debug(
		    ("%s: read on %d: %s", __func__, fd, strerror(errno)));
		if (evcon->state == EVCON_LINGERING ||
		    evcon->state == EVCON_IDLE) {
			handle_eof(evcon);
			return;
		}
		evhttp_connection_fail(evcon, EVCON_HTTP_EOF);
		return;
	}
	if (n == 0) {
		/*
		 * The peer is done sending, but what it sent before (say,
		 * pipelined requests and then a shutdown) is still owed
		 * its answers: the EOF counts once the buffer is used up.
		 */
		evcon->flags |= EVHTTP_CON_READEOF;
		event_del(&evcon->ev_read);
		if (evcon->state >= EVCON_READING_FIRSTLINE &&
		    evcon->state <= EVCON_READING_BODY &&
		    EVBUFFER_LENGTH(evcon->input_buffer) > 0)
			process_input(evcon);
		else
			handle_eof(evcon);
		return;
	}
	if (evcon->state == EVCON_LINGERING) {
		evbuffer_drain(evcon->input_buffer,
		    EVBUFFER_LENGTH(evcon->input_buffer));
		return;
	}
	if (evcon->state == EVCON_IDLE) {
		/* Bytes nobody asked for: the connection is out of step. */
		(void)ev__http_connection_reset(evcon);
		return;
	}
	evcon->flags |= EVHTTP_CON_GOTDATA;
	/* The role decides what the bytes do to the read deadline. */
	(*evcon->role->got_bytes)(evcon, (size_t)n);
	process_input(evcon);
}

void
ev__http_connection_write(struct evhttp_connection *evcon,
    void (*done)(struct evhttp_connection *))
{
	evcon->write_done = done;
	if (evcon->state == EVCON_CONNECTING) {
		/* Writability is what says the connect is done. */
		event_add(&evcon->ev_write, NULL);
		return;
	}
	/*
	 * The socket can almost always take a reply at once: write it from
	 * the active queue in this loop pass (after the caller has
	 * returned, so a request handed to a callback stays valid), and
	 * register the write event (and the write timeout) only if write_cb
	 * could not finish.
	 */
	if (!event_pending(&evcon->ev_write, EV_WRITE, NULL))
		event_active(&evcon->ev_write, EV_WRITE, 1);
	else if (evcon->state == EVCON_WRITING)
		ev__http_timer_add(evcon,
		    ev__http_timeout(evcon, EV__HTTP_WRITE_TIMEOUT), 0);
}

/* The socket takes no more for now: wait, for the write timeout at most. */
static void
wait_writable(struct evhttp_connection *evcon)
{
	event_add(&evcon->ev_write, NULL);
	if (evcon->state == EVCON_WRITING)
		ev__http_timer_add(evcon,
		    ev__http_timeout(evcon, EV__HTTP_WRITE_TIMEOUT), 0);
	/* Input that comes meanwhile must still be noticed. */
	if (evcon->flags & EVHTTP_CON_UNARMED)
		ev__http_read_arm(evcon);
}

static void
write_cb(int fd, short what, void *arg)
{
	struct evhttp_connection *evcon = arg;
	struct evbuffer *out = evcon->output_buffer;
	void (*done)(struct evhttp_connection *);
	ssize_t n;

	if (EVBUFFER_LENGTH(out) > 0) {
		/* send() with MSG_NOSIGNAL: a closed peer must not SIGPIPE. */
		n = send(fd, EVBUFFER_DATA(out), EVBUFFER_LENGTH(out),
		    MSG_NOSIGNAL |
			((evcon->flags & EVHTTP_CON_LASTWRITE) ? MSG_MORE : 0));
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR) {
				wait_writable(evcon);
				return;
			}
			event_debug(("%s: send on %d: %s", __func__, fd,
			    strerror(errno)));
			evhttp_connection_fail(evcon, EVCON_HTTP_EOF);
			return;
		}
		evbuffer_drain(out, (size_t)n);
		if (n > 0)
			evcon->flags |= EVHTTP_CON_WROTE;
		if (EVBUFFER_LENGTH(out) > 0) {
			/* The socket is full: wait until it takes more. */
			wait_writable(evcon);
			return;
		}
	}
	event_del(&evcon->ev_write);
	if (evcon->state == EVCON_WRITING)
		event_del(&evcon->ev_timer);
	evcon->flags &= ~EVHTTP_CON_LASTWRITE;
	done = evcon->write_done;
	evcon->write_done = NULL;
	if (done != NULL)
		(*done)(evcon);
}

static void
timer_cb(int fd, short what, void *arg)
{
	struct evhttp_connection *evcon = arg;

	(*evcon->role->timeout)(evcon);
}
