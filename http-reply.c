/*
 * http-reply.c: a server's replies: evhttp_send_reply(), the error pages,
 * streamed replies (evhttp_send_reply_start/_chunk/_end), the default
 * headers 1.4 sent (Date, Content-Length, a Content-Type, Connection),
 * and what follows a reply: the next request, a close, or a lingering
 * close that lets a client still sending read the reply.
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

static void send_response(struct evhttp_connection *evcon,
    struct evhttp_request *req, int streaming);

/* Whether the client said it sends nothing after req. */
static int
client_closes(struct evhttp_request *req)
{
	/* A list holding close closes, whatever else it holds. */
	if (req->major != 1 ||
	    ev__http_header_has_token(req->input_headers, "Connection",
		"close"))
		return 1;
	if (req->minor == 0)
		return !ev__http_header_has_token(req->input_headers,
		    "Connection", "keep-alive");
	return 0;
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

/* Whether the program set one Content-Length of digits only. */
static int
own_length_ok(const struct evkeyvalq *h)
{
	const char *v = evhttp_find_header(h, "Content-Length");

	if (v == NULL || *v == '\0' || strspn(v, "0123456789") != strlen(v))
		return 0;
	return 1;
}

/*
 * The program set a Content-Length other than the body's (or a negative
 * or malformed one): it is replaced, since sending it would split the
 * response, and the program is told.
 */
static void
warn_own_length(const struct evkeyvalq *h, const char *real, size_t len)
{
	const char *v = evhttp_find_header(h, "Content-Length");

	if (v != NULL &&
	    (!own_length_ok(h) ||
		strtoull(v, NULL, 10) != (unsigned long long)len))
		event_warnx("evhttp_send_reply: replacing the Content-Length "
			    "\"%.32s\" set by the program with the body's %s",
		    v, real);
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
		struct evhttp *http = req->evcon != NULL ?
		    req->evcon->http_server :
		    NULL;
		time_t now = time(NULL);

		/* Formatted once a second per server. */
		if (http == NULL) {
			ev__http_date(buf, sizeof(buf), now);
			r |= evhttp_add_header(h, "Date", buf);
		} else {
			if (http->date_time != now || http->date[0] == '\0') {
				ev__http_date(http->date, sizeof(http->date),
				    now);
				http->date_time = now;
			}
			r |= evhttp_add_header(h, "Date", http->date);
		}
	}
	ev__http_remove_all(h, "Transfer-Encoding");
	if (status_without_body(req->response_code) || streaming) {
		ev__http_remove_all(h, "Content-Length");
	} else if (req->type != EVHTTP_REQ_HEAD || !own_length_ok(h)) {
		/* The length is the body's: a wrong one would split it. */
		(void)ev__http_utoa(buf, len);
		warn_own_length(h, buf, len);
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
	const char *reason = req->response_code_line != NULL ?
	    req->response_code_line :
	    ev__http_reason(req->response_code);
	size_t rlen = strlen(reason), n;
	char line[128];

	if (rlen + 36 <= sizeof(line) && req->response_code >= 0) {
		/* "HTTP/1.x CODE REASON\r\n" without printf. */
		memcpy(line, "HTTP/1.", 7);
		line[7] = req->major == 1 && req->minor >= 1 ? '1' : '0';
		line[8] = ' ';
		n = 9 +
		    ev__http_utoa(line + 9, (ev_uint64_t)req->response_code);
		line[n++] = ' ';
		memcpy(line + n, reason, rlen);
		memcpy(line + n + rlen, "\r\n", 2);
		if (evbuffer_add(out, line, n + rlen + 2) == -1)
			return -1;
	} else if (evbuffer_add_printf(out, "HTTP/1.%d %d %s\r\n",
		       req->major == 1 && req->minor >= 1 ? 1 : 0,
		       req->response_code, reason) == -1) {
		return -1;
	}
	return ev__http_write_headers(out, req->output_headers);
}

/* The connection could not take its reply: close it, from the loop. */
static void
reply_unbuilt(struct evhttp_connection *evcon)
{
	ev__http_release_held_request(evcon);
	evhttp_connection_free(evcon);
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
	quiet = !(evcon->flags &
		    (EVHTTP_CON_LINGER | EVHTTP_CON_READPENDING)) &&
	    client_closes(req) && EVBUFFER_LENGTH(evcon->input_buffer) == 0;
	ev__http_request_detach(req);
	ev__http_server_recycle(evcon, req);
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
	secs = ev__http_timeout(evcon, EV__HTTP_LINGER_SECS);
	ev__http_read_deadline(evcon,
	    secs < EV__HTTP_LINGER_SECS ? secs : EV__HTTP_LINGER_SECS, 0);
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

/*
 * Write the output, then run send_done().  When the reply is complete and
 * the connection closes after it, the write may keep its last, short
 * segment back (MSG_MORE) for the close or shutdown that send_done()
 * makes at once: the FIN then leaves in the same packet as the end of the
 * reply, one packet less for both hosts to handle.
 */
static void
write_reply(struct evhttp_connection *evcon, struct evhttp_request *req)
{
	if (req->userdone && (evcon->flags & EVHTTP_CON_CLOSEAFTER))
		evcon->flags |= EVHTTP_CON_LASTWRITE;
	ev__http_connection_write(evcon, send_done);
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
	write_reply(evcon, req);
}

/*
 * The connection is going away while the program still holds its first
 * request (it has not finished its reply).  With a close callback the
 * program is told and the request is freed after it, as in 1.4; without
 * one it could not know, and would later touch a freed request: detach
 * the request instead, so it stays valid until the program finishes the
 * reply, which then frees it.
 */
void
ev__http_release_held_request(struct evhttp_connection *evcon)
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
		ev__http_request_free(req);
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
void
ev__http_send_error_page(struct evhttp_connection *evcon,
    struct evhttp_request *req, int code, const char *reason)
{
	char *escaped;

	evcon->flags |= EVHTTP_CON_CLOSEAFTER | EVHTTP_CON_LINGER;
	set_response_code(req, code, reason);
	escaped = evhttp_htmlescape(
	    req->response_code_line ? req->response_code_line : "");
	evbuffer_drain(req->output_buffer, EVBUFFER_LENGTH(req->output_buffer));
	evbuffer_add_printf(req->output_buffer,
	    "<html><head><title>%d %s"
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
	ev__http_send_error_page(req->evcon, req, error, reason);
}

void
evhttp_send_reply_start(struct evhttp_request *req, int code,
    const char *reason)
{
	struct evhttp_connection *evcon = req->evcon;

	if (orphaned(req, 0))
		return; /* the pieces are dropped; the end frees it */
	if (!can_reply(req, __func__))
		return;
	set_response_code(req, code, reason);
	req->userdone = 0;
	req->chunked = 0;
	if (req->type != EVHTTP_REQ_HEAD && !status_without_body(code)) {
		if (req->major == 1 && req->minor >= 1)
			req->chunked = 1;
		else /* An HTTP/1.0 client reads until we close. */
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
	if (evcon == NULL || evcon->state != EVCON_WRITING || req->userdone ||
	    len == 0)
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
	write_reply(evcon, req);
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
	write_reply(evcon, req);
}
