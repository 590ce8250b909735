/*
 * http.c: struct evhttp_connection and struct evhttp_request, the parts
 * the server and the client share: reading one message through the
 * parser of http-parse.c, writing the output buffer, the deadlines,
 * closing, and freeing.
 *
 * A connection has a persistent read event on its socket, whose timeout
 * is the deadline of reading a message (or of a lingering close), and,
 * only while a write is queued, a persistent write event, whose timeout
 * is the write stall timeout (or a client's connect timeout).  So an idle
 * server connection, fresh or kept alive, holds one event and no timer
 * of its own, and no buffer storage either: waiting for a message, it
 * passes its input storage to the server's spares.  (A client's retry
 * backoff has a timer in the client's part, struct ev__http_client.)
 * Registering and unregistering interest costs a system call each, so a
 * server connection keeps its read event for its whole life (switching
 * it off only if input arrives while the program holds a request), and a
 * write first runs from the active queue of the current loop pass: the
 * write event is registered only when the socket takes less than
 * everything.
 * The server side and the client side (http-server.c, http-client.c) are
 * told when a message is complete, when a deadline passes and when
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
#include "buffer-internal.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

/* Bytes asked of the socket per read. */
#define READ_SIZE 32768
/* Output storage up to this size stays with an idle connection. */
#define KEEP_OUTPUT 512

static void read_cb(int fd, short what, void *arg);
static void write_cb(int fd, short what, void *arg);
static void wait_writable(struct evhttp_connection *evcon, int progress);
static void handle_eof(struct evhttp_connection *evcon);
static void give_back_input(struct evhttp_connection *evcon);

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
	evcon->state = EVCON_DISCONNECTED;
	evcon->base = base;
	evcon->role = role;
	TAILQ_INIT(&evcon->requests);
	/* Empty buffers (all zero) in the connection's own memory. */
	evcon->input_buffer = &evcon->in;
	evcon->output_buffer = &evcon->out;
	return evcon;
}

void
ev__http_connection_setfd(struct evhttp_connection *evcon, int fd)
{
	evcon->fd = fd;
	event_set(&evcon->ev_read, fd, EV_READ | EV_PERSIST, read_cb, evcon);
	if (evcon->base != NULL)
		event_base_set(evcon->base, &evcon->ev_read);
}

void
ev__http_read_deadline(struct evhttp_connection *evcon, long secs, long usecs)
{
	struct timeval tv;

	tv.tv_sec = secs;
	tv.tv_usec = usecs;
	evcon->flags &= ~EVHTTP_CON_UNARMED;
	event_add(&evcon->ev_read, &tv);
}

/* The write event, made on first use; NULL if memory ran out. */
static struct event *
writer(struct evhttp_connection *evcon)
{
	struct event *ev = evcon->ev_write;

	if (ev != NULL)
		return ev;
	if ((ev = ev__malloc(sizeof(*ev))) == NULL) {
		event_warn("%s: malloc", __func__);
		return NULL;
	}
	event_set(ev, evcon->fd, EV_WRITE | EV_PERSIST, write_cb, evcon);
	if (evcon->base != NULL)
		event_base_set(evcon->base, ev);
	evcon->ev_write = ev;
	return ev;
}

/* Stop and free the write event, if there is one. */
static void
writer_free(struct evhttp_connection *evcon)
{
	if (evcon->ev_write == NULL)
		return;
	event_del(evcon->ev_write);
	ev__free(evcon->ev_write);
	evcon->ev_write = NULL;
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
	/* A connection per request then takes no new block for its input. */
	give_back_input(evcon);
	if (evcon->role != NULL && evcon->role->release != NULL)
		(*evcon->role->release)(evcon);
	if (evcon->fd != -1) {
		event_del(&evcon->ev_read);
		close(evcon->fd);
	}
	writer_free(evcon);
	ev__big_release(&evcon->in);
	ev__big_release(&evcon->out);
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
		close(evcon->fd);
		evcon->fd = -1;
	}
	writer_free(evcon);
	if (evcon->client != NULL)
		event_del(&evcon->client->timer);
	evbuffer_drain(evcon->input_buffer,
	    EVBUFFER_LENGTH(evcon->input_buffer));
	evbuffer_drain(evcon->output_buffer,
	    EVBUFFER_LENGTH(evcon->output_buffer));
	evcon->state = EVCON_DISCONNECTED;
	evcon->flags &= ~(EVHTTP_CON_CLOSEDETECT | EVHTTP_CON_GOTDATA |
	    EVHTTP_CON_READEOF | EVHTTP_CON_NOWRITER);
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
	/* (A server's connection never retries.) */
	if (evcon->client != NULL)
		evcon->client->retry_max = retry_max;
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
	if (evcon->client != NULL) {
		event_del(&evcon->client->timer);
		event_base_set(base, &evcon->client->timer);
	}
	if (evcon->fd != -1) {
		event_del(&evcon->ev_read);
		event_base_set(base, &evcon->ev_read);
	}
	if (evcon->ev_write != NULL) {
		event_del(evcon->ev_write);
		event_base_set(base, evcon->ev_write);
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

/*
 * The input storage goes to the role's spares if it is a spare's size and
 * they have room, else it is freed (only if the role keeps spares).
 */
static void
give_back_input(struct evhttp_connection *evcon)
{
	struct evbuffer *in = evcon->input_buffer;
	struct ev__http_spares *sp;

	if (evcon->role == NULL || evcon->role->spares == NULL ||
	    in->orig_buffer == NULL ||
	    (sp = (*evcon->role->spares)(evcon)) == NULL)
		return;
	if (in->totallen == EV__HTTP_SPARE_SIZE && sp->n < EV__HTTP_SPARES)
		sp->block[sp->n++] = in->orig_buffer;
	else
		ev__big_release(in);
	in->orig_buffer = in->buffer = NULL;
	in->misalign = in->off = in->totallen = 0;
}

/*
 * Waiting for the next message: an empty input buffer's storage goes to
 * the role's spares (or is freed if it is not a spare's size or they are
 * full), and an empty output buffer keeps only small storage, so a
 * kept-alive connection holds next to nothing while idle.
 */
static void
park_buffers(struct evhttp_connection *evcon)
{
	struct evbuffer *out = evcon->output_buffer;

	if (evcon->input_buffer->off == 0)
		give_back_input(evcon);
	if (out->orig_buffer != NULL && out->off == 0 &&
	    out->totallen > KEEP_OUTPUT) {
		ev__big_release(out);
		out->orig_buffer = out->buffer = NULL;
		out->misalign = out->totallen = 0;
	}
}

/* Give an input buffer without storage a spare block, if there is one. */
static void
take_spare(struct evhttp_connection *evcon)
{
	struct evbuffer *in = evcon->input_buffer;
	struct ev__http_spares *sp;

	if (evcon->role->spares == NULL ||
	    (sp = (*evcon->role->spares)(evcon)) == NULL || sp->n == 0)
		return;
	in->orig_buffer = in->buffer = sp->block[--sp->n];
	in->misalign = in->off = 0;
	in->totallen = EV__HTTP_SPARE_SIZE;
}

void
ev__http_connection_start_read(struct evhttp_connection *evcon)
{
	size_t max_headers = EV__HTTP_MAX_HEADERS;
	ev_uint64_t max_body = EV__HTTP_MAX_BODY;

	evcon->state = EVCON_READING_FIRSTLINE;
	evcon->flags &= ~(EVHTTP_CON_GOTDATA | EVHTTP_CON_READPENDING);
	park_buffers(evcon);
	if (evcon->role->limits != NULL)
		(*evcon->role->limits)(evcon, &max_headers, &max_body);
	ev__http_parser_init(&evcon->parser, max_headers, max_body);
	if ((evcon->flags & EVHTTP_CON_UNARMED) && evcon->nrequests == 0)
		/*
		 * A connection just accepted: its request is usually here
		 * already, so read it in this loop pass and register ev_read
		 * (with the deadline) only if the read comes back empty
		 * (read_cb()).  A reply written at once and a close then
		 * never touch the backend.
		 */
		event_active(&evcon->ev_read, EV_READ, 1);
	else
		/* (Re)registers the read event, with the message's deadline. */
		ev__http_read_arm(evcon);
	/* Pipelined bytes may already be here; no new read would come. */
	if (EVBUFFER_LENGTH(evcon->input_buffer) > 0) {
		evcon->flags |= EVHTTP_CON_GOTDATA;
		event_active(&evcon->ev_read, EV_READ, 1);
	}
}

void
ev__http_read_arm(struct evhttp_connection *evcon)
{
	ev__http_read_deadline(evcon,
	    ev__http_timeout(evcon, EV__HTTP_READ_TIMEOUT), 0);
}

/*
 * The message is complete: tell the role.  Its read deadline stays armed
 * (a client deletes the read event; a server, which keeps watching for
 * input, re-arms the deadline for the next request, and read_cb() lets
 * it pass while a reply is due), so a request costs one timer update.
 */
static void
message_done(struct evhttp_connection *evcon, struct evhttp_request *req)
{
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

	if (req->kind == EVHTTP_RESPONSE && evcon->client != NULL &&
	    req->response_code >= 100 && req->response_code < 200 &&
	    req->response_code != 101) {
		/* An interim response: the real one follows (soon). */
		if (++evcon->client->ninterim > EV__HTTP_MAX_INTERIM) {
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

static void
read_cb(int fd, short what, void *arg)
{
	struct evhttp_connection *evcon = arg;
	int n;

	if (evcon->flags & EVHTTP_CON_NOWRITER) {
		/* A write had no memory for its event: give up, from here. */
		evcon->flags &= ~EVHTTP_CON_NOWRITER;
		evhttp_connection_fail(evcon, EVCON_HTTP_EOF);
		return;
	}
	if (what & EV_TIMEOUT) {
		if ((evcon->flags & EVHTTP_CON_INCOMING) &&
		    (evcon->state == EVCON_WAITING ||
			evcon->state == EVCON_WRITING)) {
			/*
			 * The deadline of the request already read: no
			 * concern of a reply's.  Keep watching for input.
			 */
			event_add(&evcon->ev_read, NULL);
			return;
		}
		(*evcon->role->timeout)(evcon);
		return;
	}
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
	if (evcon->input_buffer->orig_buffer == NULL)
		take_spare(evcon);
	n = evbuffer_read(evcon->input_buffer, fd, READ_SIZE);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			/* Nothing came (say, a first read too early): a
			 * waiting connection holds no input storage. */
			if (EVBUFFER_LENGTH(evcon->input_buffer) == 0)
				give_back_input(evcon);
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
	struct event *ev;
	struct timeval tv;

	evcon->write_done = done;
	if ((ev = writer(evcon)) == NULL) {
		/*
		 * Fail from the loop, once the caller has returned (as a
		 * read: re-arming the deadline would cancel a timeout).
		 */
		evcon->flags |= EVHTTP_CON_NOWRITER;
		event_active(&evcon->ev_read, EV_READ, 1);
		return;
	}
	if (evcon->state == EVCON_CONNECTING) {
		/* Writability is what says the connect is done. */
		tv.tv_sec = ev__http_timeout(evcon, EV__HTTP_CONNECT_TIMEOUT);
		tv.tv_usec = 0;
		event_add(ev, &tv);
		return;
	}
	/*
	 * The socket can almost always take a reply at once: write it from
	 * the active queue in this loop pass (after the caller has
	 * returned, so a request handed to a callback stays valid), and
	 * register the write event (and the write timeout) only if write_cb
	 * could not finish.
	 */
	if (!event_pending(ev, EV_WRITE, NULL))
		event_active(ev, EV_WRITE, 1);
	else if (ev->ev_flags & EVLIST_INSERTED)
		/*
		 * Already waiting for the socket (say, with a 100 Continue):
		 * a message now being written gets its stall timeout.
		 */
		wait_writable(evcon, 0);
}

/*
 * The socket is full: register the write event.  While a message is
 * being written, it must not stall: the timeout restarts when bytes went
 * out (progress) and is set when the wait begins.
 */
static void
wait_writable(struct evhttp_connection *evcon, int progress)
{
	struct event *ev = evcon->ev_write;
	struct timeval tv;

	/* Input that comes meanwhile must still be noticed. */
	if (evcon->flags & EVHTTP_CON_UNARMED)
		ev__http_read_arm(evcon);
	if (evcon->state != EVCON_WRITING) {
		event_add(ev, NULL);
		return;
	}
	if (!progress && event_pending(ev, EV_TIMEOUT, NULL))
		return;
	tv.tv_sec = ev__http_timeout(evcon, EV__HTTP_WRITE_TIMEOUT);
	tv.tv_usec = 0;
	event_add(ev, &tv);
}

static void
write_cb(int fd, short what, void *arg)
{
	struct evhttp_connection *evcon = arg;
	struct evbuffer *out = evcon->output_buffer;
	void (*done)(struct evhttp_connection *);
	ssize_t n;

	if (what & EV_TIMEOUT) {
		/* A write stalled, or a connect did not finish. */
		(*evcon->role->timeout)(evcon);
		return;
	}
	if (EVBUFFER_LENGTH(out) > 0) {
		/* send() with MSG_NOSIGNAL: a closed peer must not SIGPIPE. */
		n = send(fd, EVBUFFER_DATA(out), EVBUFFER_LENGTH(out),
		    MSG_NOSIGNAL |
			((evcon->flags & EVHTTP_CON_LASTWRITE) ? MSG_MORE : 0));
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR) {
				wait_writable(evcon, 0);
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
			wait_writable(evcon, n > 0);
			return;
		}
	}
	/* All out: an idle connection keeps no write event. */
	writer_free(evcon);
	evcon->flags &= ~EVHTTP_CON_LASTWRITE;
	done = evcon->write_done;
	evcon->write_done = NULL;
	if (done != NULL)
		(*done)(evcon);
}
