/*
 * fuzz_http_response.c: libFuzzer target for the client's side of the
 * HTTP parser (http-parse.c): status line, headers (folds unfolded),
 * interim 1xx responses, body framing by Content-Length, chunks or the
 * close, fed in slices as a network would deliver them, then an EOF.
 * Besides the sanitizers' checks it asserts what the client relies on:
 * an error always carries a status, a status is 100-999, parsed names
 * and values never hold CR or LF, no more body is held than the limit
 * (with a chunk callback, no more than the limit per chunk).
 *
 * The first input byte chooses the slice size (0: all at once), the
 * second the request: bit 0 HEAD instead of GET, bit 1 a chunk callback
 * that drops each chunk.  Build and run as fuzz_http_request.c (see
 * run-fuzzers.sh), with the seeds in test/fuzz/corpus/http_response.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"

#define MAX_HEADERS 4096
#define MAX_BODY    65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
quiet(int severity, const char *msg)
{
	(void)severity;
	(void)msg;
}

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* The state of one response being read, as http.c keeps it. */
struct reading {
	struct ev__http_parser p;
	struct evhttp_request *req;
	int phase; /* 0 status line, 1 headers, 2 body, 3 done */
	int ninterim;
	int streaming; /* a chunk callback drops each chunk */
};

static void
check_headers(const struct evhttp_request *req)
{
	const struct evkeyval *kv;

	TAILQ_FOREACH(kv, req->input_headers, next) {
		check(strpbrk(kv->key, "\r\n:") == NULL);
		check(strpbrk(kv->value, "\r\n") == NULL);
	}
}

/* The headers are in: an interim response, or the body's framing. */
static int
headers_done(struct reading *rd)
{
	struct evhttp_request *req = rd->req;

	check(req->response_code >= 100 && req->response_code <= 999);
	check_headers(req);
	if (req->response_code < 200 && req->response_code != 101) {
		if (++rd->ninterim > EV__HTTP_MAX_INTERIM)
			return -1;
		evhttp_clear_headers(req->input_headers);
		ev__http_parser_init(&rd->p, MAX_HEADERS, MAX_BODY);
		rd->phase = 0;
		return 0;
	}
	if (ev__http_body_framing(&rd->p, req) == -1) {
		check(rd->p.error >= 400 && rd->p.error < 600);
		return -1;
	}
	rd->phase = 2;
	return 0;
}

/* Parse what buf holds: 0 for more input, 1 when done, -1 on error. */
static int
parse(struct reading *rd, struct evbuffer *buf)
{
	int r;

	for (;;) {
		if (rd->phase == 0) {
			r = ev__http_parse_firstline(&rd->p, rd->req, buf);
			if (r == ALL_DATA_READ)
				rd->phase = 1;
		} else if (rd->phase == 1) {
			r = ev__http_parse_headers(&rd->p, rd->req, buf);
			if (r == ALL_DATA_READ && headers_done(rd) == -1)
				return -1;
		} else {
			r = ev__http_read_body(&rd->p, rd->req, buf);
			check(
			    EVBUFFER_LENGTH(rd->req->input_buffer) <= MAX_BODY);
			if (r == EV__CHUNK_COMPLETE) {
				if (rd->streaming) {
					evbuffer_drain(rd->req->input_buffer,
					    EVBUFFER_LENGTH(
						rd->req->input_buffer));
					rd->p.total = 0;
				}
				continue;
			}
			if (r == ALL_DATA_READ)
				return 1;
		}
		if (r == DATA_CORRUPTED)
			return -1;
		if (r == MORE_DATA_EXPECTED)
			return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reading rd;
	struct evbuffer *buf;
	size_t slice, off, n;
	int r = 0;

	event_set_log_callback(quiet);
	if (size < 2)
		return 0;
	slice = data[0] == 0 ? size : data[0];
	memset(&rd, 0, sizeof(rd));
	rd.req = evhttp_request_new(NULL, NULL);
	check(rd.req != NULL);
	rd.req->type = (data[1] & 1) ? EVHTTP_REQ_HEAD : EVHTTP_REQ_GET;
	rd.streaming = (data[1] & 2) != 0;
	data += 2;
	size -= 2;
	ev__http_parser_init(&rd.p, MAX_HEADERS, MAX_BODY);
	buf = evbuffer_new();
	check(buf != NULL);
	for (off = 0; off < size && r == 0; off += n) {
		n = size - off < slice ? size - off : slice;
		check(evbuffer_add(buf, data + off, n) == 0);
		r = parse(&rd, buf);
	}
	/* The EOF: it ends a close-delimited body, and nothing else. */
	if (r == 0 && rd.phase == 2 && rd.p.body == EV__BODY_CLOSE)
		check_headers(rd.req);
	if (r == 1)
		check(rd.req->response_code >= 100);
	evhttp_request_free(rd.req);
	evbuffer_free(buf);
	return 0;
}
