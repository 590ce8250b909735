/*
 * http-util.c: the helpers of evhttp.h that need no connection: header
 * lists, URI escaping and unescaping, query strings, HTML escaping, and
 * the small tables (methods, reason phrases, dates) the rest shares, and
 * the life of a struct evhttp_request (so the parser and its fuzzer need
 * nothing that owns a socket).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "event.h"
#include "evhttp.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

int
ev__http_is_tchar(unsigned char c)
{
	/* One bit per ASCII character: ALPHA, DIGIT and !#$%&'*+-.^_`|~. */
	static const ev_uint32_t map[4] = { 0x00000000, 0x03ff6cfa, 0xc7fffffe,
		0x57ffffff };

	return c < 128 && ((map[c >> 5] >> (c & 31)) & 1);
}

const char *
ev__http_method(enum evhttp_cmd_type type)
{
	switch (type) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	}
	return NULL;
}

struct evhttp_request *
evhttp_request_new(void (*cb)(struct evhttp_request *, void *), void *arg)
{
	struct evhttp_request *req;

	if ((req = ev__calloc(1, sizeof(*req))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	req->kind = EVHTTP_RESPONSE;
	req->major = 1;
	req->minor = 1;
	req->input_headers = ev__calloc(1, sizeof(struct evkeyvalq));
	req->output_headers = ev__calloc(1, sizeof(struct evkeyvalq));
	req->input_buffer = evbuffer_new();
	req->output_buffer = evbuffer_new();
	if (req->input_headers == NULL || req->output_headers == NULL ||
	    req->input_buffer == NULL || req->output_buffer == NULL) {
		event_warn("%s: out of memory", __func__);
		ev__free(req->input_headers);
		ev__free(req->output_headers);
		if (req->input_buffer != NULL)
			evbuffer_free(req->input_buffer);
		if (req->output_buffer != NULL)
			evbuffer_free(req->output_buffer);
		ev__free(req);
		return NULL;
	}
	TAILQ_INIT(req->input_headers);
	TAILQ_INIT(req->output_headers);
	req->cb = cb;
	req->cb_arg = arg;
	return req;
}

/*
 * A request a connection holds (queued, in progress, or in its callback)
 * is the connection's to free: in 1.4, freeing it as well was a double
 * free.  Refuse, say so, and leave it to the connection.
 */
void
evhttp_request_free(struct evhttp_request *req)
{
	if (req == NULL)
		return;
	if (req->evcon != NULL || (req->flags & EV__REQ_HELD)) {
		event_warnx("%s: request %p belongs to its connection, which "
			    "frees it; not freed",
		    __func__, (void *)req);
		return;
	}
	ev__http_request_free(req);
}

void
ev__http_request_free(struct evhttp_request *req)
{
	if (req == NULL)
		return;
	ev__free(req->remote_host);
	ev__free(req->uri);
	ev__free(req->response_code_line);
	evhttp_clear_headers(req->input_headers);
	ev__free(req->input_headers);
	evhttp_clear_headers(req->output_headers);
	ev__free(req->output_headers);
	evbuffer_free(req->input_buffer);
	evbuffer_free(req->output_buffer);
	ev__free(req);
}

/* Empty buf for reuse: 0, or -1 if it holds more storage than is kept. */
static int
buffer_reuse(struct evbuffer *buf)
{
	if (buf->totallen > EV__HTTP_REUSE_BUFFER)
		return -1;
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	evbuffer_setcb(buf, NULL, NULL);
	return 0;
}

int
ev__http_request_reset(struct evhttp_request *req)
{
	struct evkeyvalq *ih = req->input_headers, *oh = req->output_headers;
	struct evbuffer *ib = req->input_buffer, *ob = req->output_buffer;

	if (ih == NULL || oh == NULL || ib == NULL || ob == NULL ||
	    buffer_reuse(ib) == -1 || buffer_reuse(ob) == -1)
		return -1;
	ev__free(req->remote_host);
	ev__free(req->uri);
	ev__free(req->response_code_line);
	evhttp_clear_headers(ih);
	evhttp_clear_headers(oh);
	memset(req, 0, sizeof(*req));
	req->input_headers = ih;
	req->output_headers = oh;
	req->input_buffer = ib;
	req->output_buffer = ob;
	req->kind = EVHTTP_RESPONSE;
	req->major = 1;
	req->minor = 1;
	return 0;
}

void
evhttp_request_set_chunked_cb(struct evhttp_request *req,
    void (*cb)(struct evhttp_request *, void *))
{
	req->chunk_cb = cb;
}

struct evhttp_connection *
evhttp_request_get_connection(struct evhttp_request *req)
{
	return req->evcon;
}

const char *
evhttp_request_uri(struct evhttp_request *req)
{
	return req->uri;
}

const char *
evhttp_find_header(const struct evkeyvalq *headers, const char *key)
{
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, headers, next) {
		if (ev__http_name_eq(kv->key, key))
			return kv->value;
	}
	return NULL;
}

/*
 * A header is one allocation: the struct, the size of the whole, then the
 * key and the value, so a request's headers cost a third of the calls to
 * malloc and free they did.  The struct is public, and a program may have
 * pointed key or value at strings of its own (or built the entry itself,
 * with three allocations, as 1.4 did): a pointer outside the block is its
 * own allocation and is freed as such.
 */
struct kv_block {
	struct evkeyval kv;
	size_t size; /* of the whole block */
};

static int
in_block(const struct evkeyval *kv, const char *p)
{
	const struct kv_block *b = (const struct kv_block *)kv;

	return p > (const char *)kv && p < (const char *)kv + b->size;
}

static void
kv_free(struct evkeyval *kv)
{
	const char *start = (const char *)((struct kv_block *)kv + 1);

	/* Only blocks made by add_pair() have their key where it starts. */
	if (kv->key != start) {
		ev__free(kv->key);
		ev__free(kv->value);
	} else if (!in_block(kv, kv->value)) {
		ev__free(kv->value);
	}
	ev__free(kv);
}

int
ev__http_header_owns_value(const struct evkeyval *kv)
{
	const char *start = (const char *)((const struct kv_block *)kv + 1);

	return kv->key != start || !in_block(kv, kv->value);
}

void
evhttp_clear_headers(struct evkeyvalq *headers)
{
	struct evkeyval *kv;

	while ((kv = TAILQ_FIRST(headers)) != NULL) {
		TAILQ_REMOVE(headers, kv, next);
		kv_free(kv);
	}
}

int
evhttp_remove_header(struct evkeyvalq *headers, const char *key)
{
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, headers, next) {
		if (ev__http_name_eq(kv->key, key))
			break;
	}
	if (kv == NULL)
		return -1;
	TAILQ_REMOVE(headers, kv, next);
	kv_free(kv);
	return 0;
}

void
ev__http_remove_all(struct evkeyvalq *headers, const char *key)
{
	while (evhttp_remove_header(headers, key) == 0)
		continue;
}

int
ev__http_add_pair_n(struct evkeyvalq *headers, const char *key, size_t klen,
    const char *value, size_t vlen)
{
	struct kv_block *b;

	if (klen > SIZE_MAX / 2 - sizeof(*b) ||
	    vlen > SIZE_MAX / 2 - sizeof(*b) ||
	    (b = ev__malloc(sizeof(*b) + klen + vlen + 2)) == NULL) {
		event_warn("%s: malloc", __func__);
		return -1;
	}
	b->size = sizeof(*b) + klen + vlen + 2;
	b->kv.key = (char *)(b + 1);
	b->kv.value = b->kv.key + klen + 1;
	memcpy(b->kv.key, key, klen);
	b->kv.key[klen] = '\0';
	memcpy(b->kv.value, value, vlen);
	b->kv.value[vlen] = '\0';
	TAILQ_INSERT_TAIL(headers, &b->kv, next);
	return 0;
}

/* Append a header to the list as it is, unchecked.  0 or -1. */
static int
add_pair(struct evkeyvalq *headers, const char *key, const char *value)
{
	return ev__http_add_pair_n(headers, key, strlen(key), value,
	    strlen(value));
}

/*
 * A copy of value with each line fold (CR LF or LF, then spaces or tabs)
 * made one space, as 1.4 accepted folded values and nothing folded may be
 * sent; NULL with *bad set if a CR or LF is not part of a fold.
 */
static char *
unfold(const char *value, int *bad)
{
	size_t i = 0, j = 0, n, fold_end = 0;
	char *out;

	*bad = 0;
	if ((out = ev__malloc(strlen(value) + 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return NULL;
	}
	while (value[i] != '\0') {
		if (value[i] != '\r' && value[i] != '\n') {
			out[j++] = value[i++];
			continue;
		}
		n = value[i] == '\r' && value[i + 1] == '\n' ? 2 : 1;
		if (value[i] == '\r' && n == 1)
			break; /* a bare CR */
		if (value[i + n] != ' ' && value[i + n] != '\t')
			break; /* a line end that is not a fold */
		for (i += n; value[i] == ' ' || value[i] == '\t'; i++)
			continue;
		while (j > 0 && (out[j - 1] == ' ' || out[j - 1] == '\t'))
			j--;
		out[j++] = ' ';
		fold_end = j;
	}
	if (value[i] != '\0') {
		ev__free(out);
		*bad = 1;
		return NULL;
	}
	if (j > 0 && j == fold_end)
		j--; /* a fold at the very end leaves nothing behind */
	out[j] = '\0';
	return out;
}

/*
 * CR or LF in a name, or in a value other than as a fold, would let text
 * from a peer forge headers of its own.  (Lists also hold query strings,
 * so names are not restricted to tokens here; the writer skips headers
 * whose name is not one.)
 */
int
evhttp_add_header(struct evkeyvalq *headers, const char *key, const char *value)
{
	char *flat;
	int bad, r;

	if (key == NULL || value == NULL || strpbrk(key, "\r\n") != NULL) {
		event_warnx("%s: refusing header \"%s\" (CR or LF, or NULL)",
		    __func__, key ? key : "(null)");
		return -1;
	}
	if (strpbrk(value, "\r\n") == NULL)
		return add_pair(headers, key, value);
	if ((flat = unfold(value, &bad)) == NULL) {
		if (bad)
			event_warnx("%s: refusing header \"%s\" (CR or LF "
				    "in its value)",
			    __func__, key);
		return -1;
	}
	r = add_pair(headers, key, flat);
	ev__free(flat);
	return r;
}

int
ev__http_set_header(struct evkeyvalq *headers, const char *key,
    const char *value)
{
	ev__http_remove_all(headers, key);
	return evhttp_add_header(headers, key, value);
}

int
ev__http_write_headers(struct evbuffer *out, const struct evkeyvalq *headers)
{
	const struct evkeyval *kv;
	const char *s;
	int r = 0;

	char line[256];
	size_t klen, vlen;

	TAILQ_FOREACH(kv, headers, next) {
		for (s = kv->key; *s != '\0'; s++)
			if (!ev__http_is_tchar((unsigned char)*s))
				break;
		klen = (size_t)(s - kv->key);
		vlen = strcspn(kv->value, "\r\n");
		if (*s != '\0' || klen == 0 || kv->value[vlen] != '\0') {
			event_warnx("%s: dropping malformed header \"%s\"",
			    __func__, kv->key);
			continue;
		}
		/* Most lines are short: one copy, without printf. */
		if (klen + vlen + 4 <= sizeof(line)) {
			memcpy(line, kv->key, klen);
			memcpy(line + klen, ": ", 2);
			memcpy(line + klen + 2, kv->value, vlen);
			memcpy(line + klen + 2 + vlen, "\r\n", 2);
			if (evbuffer_add(out, line, klen + vlen + 4) == -1)
				r = -1;
		} else if (evbuffer_add_printf(out, "%s: %s\r\n", kv->key,
			       kv->value) == -1) {
			r = -1;
		}
	}
	if (evbuffer_add(out, "\r\n", 2) == -1)
		r = -1;
	return r;
}

void
ev__http_truncate(struct evbuffer *buf, size_t len)
{
	if (buf->off > len)
		buf->off = len;
}

int
ev__http_header_has_token(const struct evkeyvalq *headers, const char *name,
    const char *token)
{
	const struct evkeyval *kv;
	size_t tlen = strlen(token), len;
	const char *s, *e;

	TAILQ_FOREACH(kv, headers, next) {
		if (!ev__http_name_eq(kv->key, name))
			continue;
		for (s = kv->value; *s != '\0'; s = *e ? e + 1 : e) {
			e = strchr(s, ',');
			if (e == NULL)
				e = s + strlen(s);
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			len = (size_t)(e - s);
			while (len > 0 &&
			    (s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
			if (len == tlen && strncasecmp(s, token, tlen) == 0)
				return 1;
		}
	}
	return 0;
}

/* Letters, digits and "-_.~" pass through evhttp_encode_uri(). */
static int
is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

char *
evhttp_encode_uri(const char *uri)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(uri), i, j;
	char *out;

	if (len > ((size_t)-1 - 1) / 3 ||
	    (out = ev__malloc(len * 3 + 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return NULL;
	}
	for (i = 0, j = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];
		if (is_unreserved(c)) {
			out[j++] = (char)c;
		} else {
			out[j++] = '%';
			out[j++] = hex[c >> 4];
			out[j++] = hex[c & 15];
		}
	}
	out[j] = '\0';
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode %XX escapes (a '%' not followed by two hex digits stays as it
 * is) and '+' once in the query part (always if plus_always).
 */
static char *
decode_uri(const char *uri, int plus_always)
{
	size_t len = strlen(uri), i, j;
	int in_query = plus_always, hi, lo;
	char *out;

	if ((out = ev__malloc(len + 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return NULL;
	}
	for (i = 0, j = 0; i < len; i++) {
		char c = uri[i];
		if (c == '?') {
			in_query = 1;
		} else if (c == '+' && in_query) {
			c = ' ';
		} else if (c == '%' && (hi = hexval(uri[i + 1])) >= 0 &&
		    (lo = hexval(uri[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		out[j++] = c;
	}
	out[j] = '\0';
	return out;
}

char *
evhttp_decode_uri(const char *uri)
{
	return decode_uri(uri, 0);
}

void
evhttp_parse_query(const char *uri, struct evkeyvalq *headers)
{
	char *line, *p, *end, *value, *decoded;

	TAILQ_INIT(headers);
	if ((p = strchr(uri, '?')) == NULL)
		return;
	if ((line = ev__strdup(p + 1)) == NULL) {
		event_warn("%s: strdup", __func__);
		return;
	}
	for (p = line; *p != '\0'; p = end) {
		if ((end = strchr(p, '&')) != NULL)
			*end++ = '\0';
		else
			end = p + strlen(p);
		if ((value = strchr(p, '=')) == NULL)
			break;
		*value++ = '\0';
		if ((decoded = decode_uri(value, 1)) == NULL)
			goto nomem;
		/* A query is not a header: every decoded value is kept. */
		if (add_pair(headers, p, decoded) == -1) {
			ev__free(decoded);
			goto nomem;
		}
		ev__free(decoded);
	}
	ev__free(line);
	return;
nomem:
	/* Half a query could mean something else: give none of it. */
	event_warnx("%s: out of memory; the query is ignored", __func__);
	evhttp_clear_headers(headers);
	ev__free(line);
}

char *
evhttp_htmlescape(const char *html)
{
	size_t len = strlen(html), need = 1, i;
	char *out, *o;

	for (i = 0; i < len; i++) {
		switch (html[i]) {
		case '<':
		case '>': need += 4; break;
		case '&': need += 5; break;
		case '"':
		case '\'': need += 6; break;
		default: need += 1;
		}
	}
	if ((out = ev__malloc(need)) == NULL) {
		event_warn("%s: malloc", __func__);
		return NULL;
	}
	for (i = 0, o = out; i < len; i++) {
		const char *rep;
		switch (html[i]) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#039;"; break;
		default: *o++ = html[i]; continue;
		}
		memcpy(o, rep, strlen(rep));
		o += strlen(rep);
	}
	*o = '\0';
	return out;
}

const char *
ev__http_reason(int code)
{
	static const struct {
		int code;
		const char *text;
	} table[] = {
		{ 100, "Continue" },
		{ 200, "OK" },
		{ 201, "Created" },
		{ 202, "Accepted" },
		{ 204, "No Content" },
		{ 206, "Partial Content" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 303, "See Other" },
		{ 304, "Not Modified" },
		{ 307, "Temporary Redirect" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 411, "Length Required" },
		{ 413, "Payload Too Large" },
		{ 414, "URI Too Long" },
		{ 417, "Expectation Failed" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return table[i].text;
	return "Unknown";
}

/* Day and month names of RFC 9110 dates, whatever the locale. */
void
ev__http_date(char *buf, size_t len, time_t t)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_year + 1900 > 9999) {
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

size_t
ev__http_utoa(char *buf, ev_uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}
