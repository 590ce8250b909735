/*
 * http-parse.c: reading HTTP/1.x messages out of an evbuffer.
 *
 * Everything here is a pure function of the bytes in the buffer and the
 * parser state, so the same code serves the server, the client and the
 * fuzzer.  The rules are stricter than 1.4's, because every leniency in
 * framing is a way to make two parties disagree on where a message ends
 * (request smuggling):
 *   - lines end in CR LF; a bare CR, a bare LF or a NUL is an error;
 *   - a request line is METHOD SP URI SP HTTP/1.0 or HTTP/1.1 with single
 *     spaces; a status line's version is HTTP/1.d;
 *   - a header name is a token directly followed by ':';
 *   - a line starting with whitespace (obs-fold) makes a request 400, as
 *     RFC 9112 5.2 allows: a fold must never extend Transfer-Encoding or
 *     Content-Length behind a proxy's back; in a response it continues
 *     the previous header with one space (as 1.4 did);
 *   - a request with two Host headers is 400;
 *   - Content-Length is digits only, and several must agree;
 *   - Transfer-Encoding with Content-Length is an error, and a request
 *     may only use "chunked" (anything else is 501);
 *   - a chunk size is 1 to 16 hex digits, then nothing but extensions of
 *     RFC 9112 7.1.1's syntax, the whole line within 4096 bytes, and the
 *     extensions of a message within what its headers left of the header
 *     limit;
 *   - the line and header bytes, the number of header lines and the body
 *     are limited, and the limits are checked before any arithmetic.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Bytes allowed in a header value: visible, obs-text, SP and HTAB. */
static int
is_fieldchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

void
ev__http_parser_init(struct ev__http_parser *p, size_t max_headers,
    ev_uint64_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->max_headers = max_headers;
	p->max_body = max_body;
	p->body = EV__BODY_NONE;
	p->chunk = EV__CHUNK_SIZE;
}

/*
 * Find the next CRLF-terminated line at the front of buf, searching from
 * *scanned (the bytes already found free of line ends, so a line that
 * trickles in byte by byte is scanned once).  Returns 1 with the line's
 * length in *len (without the CRLF), 0 if more bytes are needed, -1 on a
 * bare CR, a bare LF or a NUL, -2 if no line fits in max bytes with its
 * CRLF.
 */
static int
get_line(struct evbuffer *buf, size_t *scanned, size_t max, size_t *len)
{
	const unsigned char *data = EVBUFFER_DATA(buf);
	size_t off = EVBUFFER_LENGTH(buf), i;

	for (i = *scanned; i < off; i++) {
		if (data[i] == '\n' || data[i] == '\0')
			return -1;
		if (data[i] != '\r')
			continue;
		if (i + 1 == off)
			break;
		if (data[i + 1] != '\n')
			return -1;
		if (i + 2 > max)
			return -2;
		*len = i;
		*scanned = 0;
		return 1;
	}
	*scanned = i;
	if (i + 2 > max)
		return -2;
	return 0;
}

/* The bytes of header allowance left, for get_line(). */
static size_t
header_room(const struct ev__http_parser *p)
{
	return p->used < p->max_headers ? p->max_headers - p->used : 0;
}

/* "HTTP/d.d" with major 0 or 1.  Returns 0, or -1. */
static int
parse_version(const char *s, size_t len, char *major, char *minor)
{
	if (len != 8 || memcmp(s, "HTTP/", 5) != 0)
		return -1;
	if ((s[5] != '0' && s[5] != '1') || s[6] != '.' || s[7] < '0' ||
	    s[7] > '9')
		return -1;
	*major = (char)(s[5] - '0');
	*minor = (char)(s[7] - '0');
	return 0;
}

/* The request-target: no controls, spaces or DEL; origin or absolute. */
static int
check_uri(struct evhttp_request *req, const char *uri, size_t len)
{
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];
		if (c <= 0x20 || c == 0x7f)
			return -1;
	}
	if (uri[0] == '/')
		return 0;
	if ((len > 7 && strncasecmp(uri, "http://", 7) == 0) ||
	    (len > 8 && strncasecmp(uri, "https://", 8) == 0)) {
		req->flags |= EVHTTP_PROXY_REQUEST;
		return 0;
	}
	return -1;
}

/* METHOD SP URI SP VERSION.  Returns 0, or the status to answer. */
static int
parse_request_line(struct evhttp_request *req, const char *line, size_t len)
{
	const char *sp1, *sp2, *uri;
	size_t mlen, ulen, i;

	sp1 = memchr(line, ' ', len);
	if (sp1 == NULL || sp1 == line)
		return 400;
	mlen = (size_t)(sp1 - line);
	uri = sp1 + 1;
	sp2 = memchr(uri, ' ', len - mlen - 1);
	if (sp2 == NULL)
		return 400;
	ulen = (size_t)(sp2 - uri);
	/* Only HTTP/1.0 and 1.1: 0.9 has no headers, as 1.4 knew. */
	if (parse_version(sp2 + 1, len - mlen - ulen - 2, &req->major,
		&req->minor) == -1 ||
	    req->major != 1 || req->minor > 1)
		return 400;
	if (check_uri(req, uri, ulen) == -1)
		return 400;
	for (i = 0; i < mlen; i++)
		if (!ev__http_is_tchar((unsigned char)line[i]))
			return 400;
	if (mlen == 3 && memcmp(line, "GET", 3) == 0)
		req->type = EVHTTP_REQ_GET;
	else if (mlen == 4 && memcmp(line, "POST", 4) == 0)
		req->type = EVHTTP_REQ_POST;
	else if (mlen == 4 && memcmp(line, "HEAD", 4) == 0)
		req->type = EVHTTP_REQ_HEAD;
	else
		return 501;
	ev__free(req->uri);
	if ((req->uri = ev__malloc(ulen + 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return 503;
	}
	memcpy(req->uri, uri, ulen);
	req->uri[ulen] = '\0';
	return 0;
}

/* HTTP/d.d SP 3DIGIT [SP reason].  Returns 0, or -1. */
static int
parse_status_line(struct evhttp_request *req, const char *line, size_t len)
{
	const char *reason;
	size_t rlen, i;
	int code;

	if (len < 12 || parse_version(line, 8, &req->major, &req->minor) == -1)
		return -1;
	if (req->major != 1 || line[8] != ' ')
		return -1;
	for (i = 9, code = 0; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		code = code * 10 + (line[i] - '0');
	}
	if (code < 100 || (len > 12 && line[12] != ' '))
		return -1;
	reason = len > 12 ? line + 13 : line + 12;
	rlen = len > 12 ? len - 13 : 0;
	for (i = 0; i < rlen; i++)
		if (!is_fieldchar((unsigned char)reason[i]))
			return -1;
	ev__free(req->response_code_line);
	if ((req->response_code_line = ev__malloc(rlen + 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return -1;
	}
	memcpy(req->response_code_line, reason, rlen);
	req->response_code_line[rlen] = '\0';
	req->response_code = code;
	return 0;
}

enum message_read_status
ev__http_parse_firstline(struct ev__http_parser *p, struct evhttp_request *req,
    struct evbuffer *buf)
{
	size_t len;
	int r, status;

	for (;;) {
		r = get_line(buf, &p->scanned, header_room(p), &len);
		if (r == 0)
			return MORE_DATA_EXPECTED;
		if (r < 0) {
			p->error = r == -2 ? (p->used == 0 ? 414 : 431) : 400;
			return DATA_CORRUPTED;
		}
		p->used += len + 2;
		/* Ignore empty lines before a request, as RFC 9112 asks. */
		if (len != 0 || req->kind != EVHTTP_REQUEST)
			break;
		evbuffer_drain(buf, 2);
	}
	if (req->kind == EVHTTP_REQUEST) {
		status = parse_request_line(req,
		    (const char *)EVBUFFER_DATA(buf), len);
	} else {
		status = parse_status_line(req,
			     (const char *)EVBUFFER_DATA(buf), len) == 0 ?
		    0 :
		    400;
	}
	evbuffer_drain(buf, len + 2);
	if (status != 0) {
		event_debug(("%s: bad first line", __func__));
		p->error = status;
		return DATA_CORRUPTED;
	}
	return ALL_DATA_READ;
}

/* Trim SP/HTAB from both ends of s[0..*len); returns the new start. */
static const char *
trim(const char *s, size_t *len)
{
	while (*len > 0 && is_ws((unsigned char)s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && is_ws((unsigned char)s[*len - 1]))
		(*len)--;
	return s;
}

/* Append a continuation (obs-fold) line to the last header's value. */
static int
append_folded(struct evkeyvalq *headers, const char *s, size_t len)
{
	struct evkeyval *last = TAILQ_LAST(headers, evkeyvalq);
	size_t vlen;
	char *v;

	if (last == NULL)
		return 400;
	s = trim(s, &len);
	if (len == 0)
		return 0;
	vlen = strlen(last->value);
	if (ev__http_header_owns_value(last))
		v = ev__realloc(last->value, vlen + len + 2);
	else if ((v = ev__malloc(vlen + len + 2)) != NULL)
		/* The value lives inside the header's block: copy it out. */
		memcpy(v, last->value, vlen);
	if (v == NULL) {
		event_warn("%s: realloc", __func__);
		return 503;
	}
	v[vlen] = ' ';
	memcpy(v + vlen + 1, s, len);
	v[vlen + len + 1] = '\0';
	last->value = v;
	return 0;
}

/*
 * One header line into headers (NULL: validate only, for trailers).
 * Returns 0, or the status to answer.
 */
static int
parse_header_line(struct evkeyvalq *headers, const char *line, size_t len,
    int request)
{
	const char *colon, *value;
	size_t klen, vlen, i;

	for (i = 0; i < len; i++)
		if (!is_fieldchar((unsigned char)line[i]))
			return 400;
	if (is_ws((unsigned char)line[0])) {
		if (request)
			return 400;
		return headers == NULL ? 0 : append_folded(headers, line, len);
	}
	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return 400;
	klen = (size_t)(colon - line);
	for (i = 0; i < klen; i++)
		if (!ev__http_is_tchar((unsigned char)line[i]))
			return 400;
	if (headers == NULL)
		return 0;
	vlen = len - klen - 1;
	value = trim(colon + 1, &vlen);
	/* Field characters only (no NUL, CR or LF): stored as they are. */
	return ev__http_add_pair_n(headers, line, klen, value, vlen) == 0 ? 0 :
									    503;
}

/*
 * Header lines until the empty line; with headers NULL (trailers) they
 * are checked and dropped.
 */
static enum message_read_status
parse_header_block(struct ev__http_parser *p, struct evkeyvalq *headers,
    int request, struct evbuffer *buf)
{
	size_t len;
	int r, status;

	for (;;) {
		r = get_line(buf, &p->scanned, header_room(p), &len);
		if (r == 0)
			return MORE_DATA_EXPECTED;
		if (r < 0) {
			p->error = r == -2 ? 431 : 400;
			return DATA_CORRUPTED;
		}
		p->used += len + 2;
		if (len == 0) {
			evbuffer_drain(buf, 2);
			return ALL_DATA_READ;
		}
		if (++p->nheaders > EV__HTTP_MAX_NHEADERS) {
			p->error = 431;
			return DATA_CORRUPTED;
		}
		status = parse_header_line(headers,
		    (const char *)EVBUFFER_DATA(buf), len, request);
		evbuffer_drain(buf, len + 2);
		if (status != 0) {
			event_debug(("%s: bad header line", __func__));
			p->error = status;
			return DATA_CORRUPTED;
		}
	}
}

enum message_read_status
ev__http_parse_headers(struct ev__http_parser *p, struct evhttp_request *req,
    struct evbuffer *buf)
{
	return parse_header_block(p, req->input_headers,
	    req->kind == EVHTTP_REQUEST, buf);
}

/*
 * The Content-Length of the message: -1 if absent, -2 if malformed or
 * contradictory.  Several headers, or a list, must all carry one value.
 */
static ev_int64_t
content_length(const struct evkeyvalq *headers)
{
	const struct evkeyval *kv;
	ev_int64_t found = -1, v;
	const char *s;
	int digits;

	TAILQ_FOREACH(kv, headers, next) {
		if (!ev__http_name_eq(kv->key, "Content-Length"))
			continue;
		s = kv->value;
		do {
			while (is_ws((unsigned char)*s))
				s++;
			for (v = 0, digits = 0; *s >= '0' && *s <= '9'; s++) {
				if (++digits > 18)
					return -2;
				v = v * 10 + (*s - '0');
			}
			while (is_ws((unsigned char)*s))
				s++;
			if (digits == 0 || (*s != ',' && *s != '\0'))
				return -2;
			if (found != -1 && found != v)
				return -2;
			found = v;
		} while (*s++ == ',');
	}
	return found;
}

/*
 * The Transfer-Encoding codings: 0 if absent, 1 if exactly one
 * "chunked", last, 2 if chunked is last after other codings, -1 if
 * chunked is not last or repeated, -2 if there are only other codings.
 */
static int
transfer_encoding(const struct evkeyvalq *headers)
{
	const struct evkeyval *kv;
	const char *s, *e;
	int present = 0, nchunked = 0, others = 0, chunked_last = 0;
	size_t len;

	TAILQ_FOREACH(kv, headers, next) {
		if (!ev__http_name_eq(kv->key, "Transfer-Encoding"))
			continue;
		present = 1;
		for (s = kv->value; *s != '\0'; s = *e ? e + 1 : e) {
			e = strchr(s, ',');
			if (e == NULL)
				e = s + strlen(s);
			len = (size_t)(e - s);
			s = trim(s, &len);
			if (len == 0)
				continue;
			chunked_last = len == 7 &&
			    strncasecmp(s, "chunked", 7) == 0;
			if (chunked_last)
				nchunked++;
			else
				others++;
		}
	}
	if (!present)
		return 0;
	if (nchunked > 1 || (nchunked == 1 && !chunked_last))
		return -1;
	if (nchunked == 0)
		return -2;
	return others ? 2 : 1;
}

/* How many headers are named key. */
static int
count_headers(const struct evkeyvalq *headers, const char *key)
{
	const struct evkeyval *kv;
	int n = 0;

	TAILQ_FOREACH(kv, headers, next)
		n += ev__http_name_eq(kv->key, key);
	return n;
}

/* Whether a response to req has no body whatever its headers say. */
static int
response_without_body(const struct evhttp_request *req)
{
	int code = req->response_code;

	return req->type == EVHTTP_REQ_HEAD || (code >= 100 && code < 200) ||
	    code == 204 || code == 304;
}

int
ev__http_body_framing(struct ev__http_parser *p, struct evhttp_request *req)
{
	ev_int64_t len = content_length(req->input_headers);
	int te = transfer_encoding(req->input_headers);
	int request = req->kind == EVHTTP_REQUEST;

	req->chunked = 0;
	req->ntoread = 0;
	p->body = EV__BODY_NONE;
	p->left = 0;
	if (request && count_headers(req->input_headers, "Host") > 1) {
		p->error = 400;
		return -1;
	}
	if (!request && response_without_body(req))
		return 0;
	if (len == -2 || (te != 0 && len != -1) || te == -1 ||
	    (te != 0 && request && req->major == 1 && req->minor == 0)) {
		p->error = 400;
		return -1;
	}
	if (te == -2 && request) {
		p->error = 501;
		return -1;
	}
	if (te > 0 && (te == 1 || !request)) {
		p->body = EV__BODY_CHUNKED;
		p->chunk = EV__CHUNK_SIZE;
		req->chunked = 1;
		req->ntoread = -1;
		return 0;
	}
	if (te == 2) {
		p->error = 501;
		return -1;
	}
	if (len >= 0) {
		if ((ev_uint64_t)len > p->max_body) {
			p->error = 413;
			return -1;
		}
		p->body = len > 0 ? EV__BODY_LENGTH : EV__BODY_NONE;
		p->left = (ev_uint64_t)len;
		req->ntoread = len;
		return 0;
	}
	if (!request) {
		/* No length and no chunking: the body ends at close. */
		p->body = EV__BODY_CLOSE;
		req->ntoread = -1;
	}
	return 0;
}

/* Move up to p->left bytes of buf into the request's input buffer. */
static int
move_body(struct ev__http_parser *p, struct evhttp_request *req,
    struct evbuffer *buf, ev_uint64_t want)
{
	size_t n = EVBUFFER_LENGTH(buf);

	if ((ev_uint64_t)n > want)
		n = (size_t)want;
	if (n == 0)
		return 0;
	if (evbuffer_add(req->input_buffer, EVBUFFER_DATA(buf), n) == -1) {
		p->error = 503;
		return -1;
	}
	evbuffer_drain(buf, n);
	p->total += n;
	if (p->body != EV__BODY_CLOSE)
		p->left -= n;
	return 0;
}

/* Skip BWS (spaces and tabs) from s[*i]. */
static void
skip_bws(const char *s, size_t len, size_t *i)
{
	while (*i < len && is_ws((unsigned char)s[*i]))
		(*i)++;
}

/* A token at s[*i]; 0, or -1 if there is none. */
static int
skip_token(const char *s, size_t len, size_t *i)
{
	size_t start = *i;

	while (*i < len && ev__http_is_tchar((unsigned char)s[*i]))
		(*i)++;
	return *i > start ? 0 : -1;
}

/* A quoted-string at s[*i] (escapes included); 0, or -1. */
static int
skip_quoted(const char *s, size_t len, size_t *i)
{
	unsigned char c;

	for ((*i)++; *i < len; (*i)++) {
		c = (unsigned char)s[*i];
		if (c == '"') {
			(*i)++;
			return 0;
		}
		if (c == '\\' && ++(*i) == len)
			return -1;
		c = (unsigned char)s[*i];
		if (!is_fieldchar(c))
			return -1;
	}
	return -1;
}

/*
 * chunk-ext of RFC 9112 7.1.1: *( BWS ";" BWS name [ BWS "=" BWS value ] )
 * with a token for name, a token or quoted-string for value.  0 or -1.
 */
static int
check_chunk_ext(const char *s, size_t len, size_t i)
{
	while (i < len) {
		skip_bws(s, len, &i);
		if (i == len || s[i++] != ';')
			return -1;
		skip_bws(s, len, &i);
		if (skip_token(s, len, &i) == -1)
			return -1;
		skip_bws(s, len, &i);
		if (i == len || s[i] != '=')
			continue;
		i++;
		skip_bws(s, len, &i);
		if (i < len && s[i] == '"') {
			if (skip_quoted(s, len, &i) == -1)
				return -1;
		} else if (skip_token(s, len, &i) == -1) {
			return -1;
		}
	}
	return 0;
}

/*
 * 1 to 16 hex digits, then nothing or extensions (check_chunk_ext()).
 * Returns 0 with the size and the number of digits, or -1.
 */
static int
parse_chunk_size(const char *s, size_t len, ev_uint64_t *size, size_t *digits)
{
	ev_uint64_t v = 0;
	size_t i;
	int d;

	for (i = 0; i < len && i <= 16; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		v = (v << 4) | (ev_uint64_t)d;
	}
	if (i == 0 || i > 16 || check_chunk_ext(s, len, i) == -1)
		return -1;
	*size = v;
	*digits = i;
	return 0;
}

/* read_chunked_step(): a step is done, take the next one. */
#define CHUNK_AGAIN 3

/*
 * One step of the chunked decoder; returns as ev__http_read_body(), or
 * CHUNK_AGAIN.
 */
static int
read_chunked_step(struct ev__http_parser *p, struct evhttp_request *req,
    struct evbuffer *buf)
{
	ev_uint64_t size;
	size_t len, digits = 0;
	int r = 0;

	switch (p->chunk) {
	case EV__CHUNK_SIZE:
		r = get_line(buf, &p->scanned, EV__HTTP_MAX_CHUNKLINE, &len);
		if (r <= 0)
			break;
		r = parse_chunk_size((const char *)EVBUFFER_DATA(buf), len,
		    &size, &digits);
		evbuffer_drain(buf, len + 2);
		if (r == -1)
			return DATA_CORRUPTED;
		/*
		 * Extensions count against the header allowance, or tiny
		 * chunks could carry them without end.
		 */
		p->used += len - digits;
		if (p->used > p->max_headers)
			return DATA_CORRUPTED;
		if (size > p->max_body - p->total) {
			p->error = 413;
			return DATA_CORRUPTED;
		}
		p->left = size;
		p->chunk = size == 0 ? EV__CHUNK_TRAILER : EV__CHUNK_DATA;
		if (size == 0) {
			/* Trailers get the same allowance as headers. */
			p->used = 0;
			p->nheaders = 0;
		}
		return CHUNK_AGAIN;
	case EV__CHUNK_DATA:
		if (move_body(p, req, buf, p->left) == -1)
			return DATA_CORRUPTED;
		if (p->left != 0)
			return MORE_DATA_EXPECTED;
		p->chunk = EV__CHUNK_CRLF;
		return EV__CHUNK_COMPLETE;
	case EV__CHUNK_CRLF:
		if (EVBUFFER_LENGTH(buf) < 2)
			return MORE_DATA_EXPECTED;
		if (memcmp(EVBUFFER_DATA(buf), "\r\n", 2) != 0)
			return DATA_CORRUPTED;
		evbuffer_drain(buf, 2);
		p->chunk = EV__CHUNK_SIZE;
		return CHUNK_AGAIN;
	case EV__CHUNK_TRAILER:
		return parse_header_block(p, NULL, req->kind == EVHTTP_REQUEST,
		    buf);
	}
	return r == 0 ? MORE_DATA_EXPECTED : DATA_CORRUPTED;
}

int
ev__http_read_body(struct ev__http_parser *p, struct evhttp_request *req,
    struct evbuffer *buf)
{
	int r;

	switch (p->body) {
	case EV__BODY_NONE: return ALL_DATA_READ;
	case EV__BODY_CLOSE:
		if (move_body(p, req, buf, (ev_uint64_t)-1) == -1)
			return DATA_CORRUPTED;
		if (p->total > p->max_body) {
			p->error = 413;
			return DATA_CORRUPTED;
		}
		return MORE_DATA_EXPECTED;
	case EV__BODY_LENGTH:
		if (move_body(p, req, buf, p->left) == -1)
			return DATA_CORRUPTED;
		req->ntoread = (ev_int64_t)p->left;
		return p->left == 0 ? ALL_DATA_READ : MORE_DATA_EXPECTED;
	case EV__BODY_CHUNKED: do { r = read_chunked_step(p, req, buf);
		} while (r == CHUNK_AGAIN);
		if (r == DATA_CORRUPTED && p->error == 0)
			p->error = 400;
		return r;
	}
	return DATA_CORRUPTED;
}

enum message_read_status
evhttp_parse_firstline(struct evhttp_request *req, struct evbuffer *buf)
{
	struct ev__http_parser p;

	ev__http_parser_init(&p, EV__HTTP_MAX_HEADERS, EV__HTTP_MAX_BODY);
	return ev__http_parse_firstline(&p, req, buf);
}

enum message_read_status
evhttp_parse_headers(struct evhttp_request *req, struct evbuffer *buf)
{
	struct ev__http_parser p;

	ev__http_parser_init(&p, EV__HTTP_MAX_HEADERS, EV__HTTP_MAX_BODY);
	return ev__http_parse_headers(&p, req, buf);
}
