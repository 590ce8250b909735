/*
 * fuzz_http_request.c: libFuzzer target for the HTTP request parser
 * (http-parse.c): request line, headers, body framing, chunked decoding,
 * pipelined requests, fed in slices as a network would deliver them.
 * Besides the sanitizers' checks it asserts what the server relies on: an
 * error always carries a 4xx/5xx status, parsed names and values never
 * hold CR or LF, a uri is origin-form or absolute, a body never exceeds
 * its limit.
 *
 * Build (from /work/main; <builddir> is a configured build, for
 * event-config.h):
 *   clang -fsanitize=fuzzer,address -I/work/main/include \
 *     -I<builddir>/include -I/work/main -I/work/main/compat \
 *     test/fuzz/fuzz_http_request.c http-parse.c http-util.c buffer.c \
 *     log.c evutil.c -o fuzz_http_request
 * Run for a bounded time on the seed corpus:
 *   ./fuzz_http_request -max_total_time=60 test/fuzz/corpus/http_request
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"

#define MAX_HEADERS  4096
#define MAX_BODY     65536
#define MAX_REQUESTS 64

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

/* What a server would do with a parsed request; checks invariants. */
static void
use_request(struct evhttp_request *req)
{
	struct evkeyvalq query;
	struct evkeyval *kv;
	char *s;

	check(req->uri != NULL);
	check(req->uri[0] == '/' || (req->flags & EVHTTP_PROXY_REQUEST));
	check(strpbrk(req->uri, " \r\n") == NULL);
	TAILQ_FOREACH(kv, req->input_headers, next) {
		check(strpbrk(kv->key, "\r\n:") == NULL);
		check(strpbrk(kv->value, "\r\n") == NULL);
	}
	check(EVBUFFER_LENGTH(req->input_buffer) <= MAX_BODY);
	evhttp_parse_query(req->uri, &query);
	evhttp_clear_headers(&query);
	free(evhttp_decode_uri(req->uri));
	free(evhttp_encode_uri(req->uri));
	free(evhttp_htmlescape(req->uri));
}

static struct evhttp_request *
fresh(struct ev__http_parser *p)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);

	check(req != NULL);
	req->kind = EVHTTP_REQUEST;
	ev__http_parser_init(p, MAX_HEADERS, MAX_BODY);
	return req;
}

/*
 * Parse what buf holds.  Returns 0 when more input is needed, -1 when
 * the connection would be closed (an error or enough requests).
 */
static int
parse(struct ev__http_parser *p, struct evhttp_request **preq, int *phase,
    int *nreq, struct evbuffer *buf)
{
	int r;

	for (;;) {
		if (*phase == 0) {
			r = ev__http_parse_firstline(p, *preq, buf);
			if (r == ALL_DATA_READ)
				*phase = 1;
		} else if (*phase == 1) {
			r = ev__http_parse_headers(p, *preq, buf);
			if (r == ALL_DATA_READ) {
				if (ev__http_body_framing(p, *preq) == -1)
					r = DATA_CORRUPTED;
				else
					*phase = 2;
			}
		} else {
			r = ev__http_read_body(p, *preq, buf);
			if (r == EV__CHUNK_COMPLETE)
				continue;
			if (r == ALL_DATA_READ) {
				use_request(*preq);
				evhttp_request_free(*preq);
				*preq = fresh(p);
				*phase = 0;
				if (++*nreq == MAX_REQUESTS)
					return -1;
				continue;
			}
		}
		if (r == DATA_CORRUPTED) {
			check(p->error >= 400 && p->error < 600);
			return -1;
		}
		if (r == MORE_DATA_EXPECTED)
			return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ev__http_parser p;
	struct evhttp_request *req;
	struct evbuffer *buf;
	size_t slice, off, n;
	int phase = 0, nreq = 0;

	event_set_log_callback(quiet);
	if (size == 0)
		return 0;
	/* The first byte chooses how the rest arrives: whole, or in slices. */
	slice = data[0] == 0 ? size : data[0];
	data++;
	size--;
	buf = evbuffer_new();
	check(buf != NULL);
	req = fresh(&p);
	for (off = 0; off < size; off += n) {
		n = size - off < slice ? size - off : slice;
		check(evbuffer_add(buf, data + off, n) == 0);
		if (parse(&p, &req, &phase, &nreq, buf) == -1)
			break;
	}
	evhttp_request_free(req);
	evbuffer_free(buf);
	return 0;
}
