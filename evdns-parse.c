/*
 * evdns-parse.c: the DNS wire format (RFC 1035) for evdns.c: decoding
 * names, replies and requests, and encoding queries and replies with name
 * compression.
 *
 * Everything here works on a packet in memory and nothing else, so the
 * fuzz targets and tests can call it directly.  Lengths from the packet
 * are checked against the bytes that remain before any use, names are
 * capped at 255 wire bytes, and a compression pointer must point to an
 * offset before the start of the part of the name that holds it, so
 * pointer loops (including a pointer to itself) cannot happen.
 */
#include <stdlib.h>
#include <string.h>

#include "evdns-internal.h"
#include "mm-internal.h"

/* How many earlier names a reply's compression may refer to. */
#define CTAB_MAX 64
/* The longest CNAME chain followed from the question name. */
#define CHAIN_MAX 8

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int
ev__dns_header_parse(const uint8_t *pkt, size_t len, struct ev__dns_header *h)
{
	if (len < EV__DNS_HDR_LEN)
		return -1;
	h->id = get16(pkt);
	h->flags = get16(pkt + 2);
	h->qdcount = get16(pkt + 4);
	h->ancount = get16(pkt + 6);
	h->nscount = get16(pkt + 8);
	h->arcount = get16(pkt + 10);
	return 0;
}

static int
name_parse(const uint8_t *pkt, size_t len, size_t *off, char *out,
    size_t outlen)
{
	size_t pos = *off, seg = *off, after = 0, o = 0, wire = 1, l, i;
	int jumped = 0, odd = 0;

	if (outlen == 0)
		return -1;
	for (;;) {
		if (pos >= len)
			return -1;
		l = pkt[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (len - pos < 2)
				return -1;
			target = ((l & 0x3f) << 8) | pkt[pos + 1];
			/* Only backwards, before this part of the name. */
			if (target >= seg)
				return -1;
			if (!jumped)
				after = pos + 2;
			jumped = 1;
			pos = seg = target;
			continue;
		}
		if ((l & 0xc0) != 0) /* 0x40 and 0x80 are not labels */
			return -1;
		pos++;
		if (l == 0)
			break;
		wire += l + 1;
		if (wire > EV__DNS_WIRE_NAME_MAX || l > len - pos)
			return -1;
		if (o != 0)
			out[o++] = '.';
		if (o + l + 1 > outlen)
			return -1;
		for (i = 0; i < l; i++) {
			/* A dot or NUL inside a label has no text form. */
			if (pkt[pos + i] == '.' || pkt[pos + i] == '\0')
				odd = 1;
			out[o++] = (char)pkt[pos + i];
		}
		pos += l;
	}
	out[o] = '\0';
	*off = jumped ? after : pos;
	if (odd) {
		/* Legal on the wire, but it would read as other labels. */
		out[0] = '\0';
		return 1;
	}
	return 0;
}

int
ev__dns_name_parse(const uint8_t *pkt, size_t len, size_t *off, char *out,
    size_t outlen)
{
	int res = name_parse(pkt, len, off, out, outlen);

	/* A name that failed half way is not left unterminated. */
	if (res < 0 && outlen > 0)
		out[0] = '\0';
	return res;
}

int
ev__dns_name_equal(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

int
ev__dns_name_check(const char *name)
{
	size_t label = 0, wire = 1;
	const char *p;

	if (strcmp(name, ".") == 0)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (*p != '.') {
			if (++label > EV__DNS_LABEL_MAX)
				return -1;
			continue;
		}
		if (label == 0)
			return -1; /* empty label: "..", ".x" */
		wire += label + 1;
		label = 0;
		if (wire > EV__DNS_WIRE_NAME_MAX)
			return -1;
	}
	if (label != 0)
		wire += label + 1;
	return wire <= EV__DNS_WIRE_NAME_MAX ? 0 : -1;
}

int
ev__dns_reply_parse(const uint8_t *pkt, size_t len, struct ev__dns_reply *r)
{
	size_t off = EV__DNS_HDR_LEN;

	if (ev__dns_header_parse(pkt, len, &r->hdr) < 0)
		return -1;
	if (!(r->hdr.flags & EV__DNS_QR) || r->hdr.qdcount != 1)
		return -1;
	if (ev__dns_name_parse(pkt, len, &off, r->qname, sizeof(r->qname)) != 0)
		return -1; /* an odd name cannot be our question */
	if (len - off < 4)
		return -1;
	r->qtype = get16(pkt + off);
	r->qclass = get16(pkt + off + 2);
	r->answers_off = off + 4;
	return 0;
}

/* The fixed part of one resource record. */
struct rr {
	char name[EV__DNS_NAME_BUF];
	int odd; /* name has no text form: never used */
	uint16_t type, dns_class;
	uint32_t ttl;
	size_t rdoff, rdlen;
};

static int
rr_parse(const uint8_t *pkt, size_t len, size_t *off, struct rr *rr)
{
	if ((rr->odd = ev__dns_name_parse(pkt, len, off, rr->name,
		 sizeof(rr->name))) < 0)
		return -1;
	if (len - *off < 10)
		return -1;
	rr->type = get16(pkt + *off);
	rr->dns_class = get16(pkt + *off + 2);
	rr->ttl = get32(pkt + *off + 4);
	/* RFC 2181: a TTL with the top bit set means zero. */
	if (rr->ttl > 0x7fffffffU)
		rr->ttl = 0;
	rr->rdlen = get16(pkt + *off + 8);
	*off += 10;
	if (rr->rdlen > len - *off)
		return -1;
	rr->rdoff = *off;
	*off += rr->rdlen;
	return 0;
}

/*
 * A name held in rdata must end exactly at the end of the rdata.  0, 1 if
 * it is well formed but has no text form (see ev__dns_name_parse()), -1.
 */
static int
rdata_name(const uint8_t *pkt, size_t len, const struct rr *rr, char *out)
{
	size_t off = rr->rdoff;
	int res;

	if ((res = ev__dns_name_parse(pkt, len, &off, out, EV__DNS_NAME_BUF)) <
	    0)
		return -1;
	return off == rr->rdoff + rr->rdlen ? res : -1;
}

/* Whether a PTR target is fit to hand out: printable ASCII, no spaces. */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
in_chain(char chain[][EV__DNS_NAME_BUF], int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (ev__dns_name_equal(chain[i], name))
			return 1;
	return 0;
}

/*
 * Follow CNAME records from the question name.  Returns the chain length,
 * or -1 if a CNAME is malformed.  ttl is lowered to the CNAMEs' TTLs.
 */
static int
follow_cnames(const uint8_t *pkt, size_t len, const struct ev__dns_reply *r,
    char chain[][EV__DNS_NAME_BUF], uint32_t *ttl)
{
	struct rr rr;
	char target[EV__DNS_NAME_BUF];
	size_t off;
	int n = 1, i, moved, res;

	strcpy(chain[0], r->qname);
	do {
		moved = 0;
		off = r->answers_off;
		for (i = 0; i < r->hdr.ancount && n < CHAIN_MAX; i++) {
			if (rr_parse(pkt, len, &off, &rr) < 0)
				return -1;
			if (rr.type != EVDNS_TYPE_CNAME || rr.odd ||
			    rr.dns_class != EVDNS_CLASS_INET ||
			    !ev__dns_name_equal(rr.name, chain[n - 1]))
				continue;
			if ((res = rdata_name(pkt, len, &rr, target)) < 0)
				return -1;
			/* A loop, or a name that no record can match. */
			if (res != 0 || in_chain(chain, n, target))
				return n;
			strcpy(chain[n++], target);
			if (rr.ttl < *ttl)
				*ttl = rr.ttl;
			moved = 1;
			break;
		}
	} while (moved && n < CHAIN_MAX);
	return n;
}

/* Add one matching record's data to a.  -1 if its rdata is malformed. */
static int
take_record(const uint8_t *pkt, size_t len, const struct rr *rr, uint16_t qtype,
    struct ev__dns_answer *a)
{
	size_t size = qtype == EVDNS_TYPE_A ? 4 : 16;
	int res;

	if (qtype == EVDNS_TYPE_PTR) {
		if (a->count > 0)
			return 0; /* the first name is the answer */
		if ((res = rdata_name(pkt, len, rr, a->ptr)) < 0)
			return -1;
		/* Dots inside labels or control bytes, or the root (no
		 * name at all): not a host name. */
		if (res != 0 || a->ptr[0] == '\0' || !printable(a->ptr)) {
			a->ptr[0] = '\0';
			return 0;
		}
	} else {
		if (rr->rdlen != size)
			return -1;
		if (a->count >= EV__DNS_MAX_ADDRS)
			return 0;
		memcpy(a->addrs + (size_t)a->count * size, pkt + rr->rdoff,
		    size);
	}
	a->count++;
	if (rr->ttl < a->ttl)
		a->ttl = rr->ttl;
	return 0;
}

int
ev__dns_reply_answers(const uint8_t *pkt, size_t len,
    const struct ev__dns_reply *r, uint16_t qtype, struct ev__dns_answer *a)
{
	char chain[CHAIN_MAX][EV__DNS_NAME_BUF];
	struct rr rr;
	uint32_t cname_ttl = 0x7fffffffU;
	size_t off;
	int i, n;

	a->count = 0;
	a->ttl = 0x7fffffffU;
	a->ptr[0] = '\0';
	if (qtype != EVDNS_TYPE_A && qtype != EVDNS_TYPE_AAAA &&
	    qtype != EVDNS_TYPE_PTR)
		return -1;
	/* First check that every answer record is within the packet. */
	off = r->answers_off;
	for (i = 0; i < r->hdr.ancount; i++)
		if (rr_parse(pkt, len, &off, &rr) < 0)
			return -1;
	if ((n = follow_cnames(pkt, len, r, chain, &cname_ttl)) < 0)
		return -1;
	off = r->answers_off;
	for (i = 0; i < r->hdr.ancount; i++) {
		if (rr_parse(pkt, len, &off, &rr) < 0)
			return -1;
		if (rr.type != qtype || rr.dns_class != EVDNS_CLASS_INET ||
		    rr.odd || !in_chain(chain, n, rr.name))
			continue;
		if (take_record(pkt, len, &rr, qtype, a) < 0)
			return -1;
	}
	if (a->count == 0) {
		a->ttl = 0;
		return 0;
	}
	if (cname_ttl < a->ttl)
		a->ttl = cname_ttl;
	return 1;
}

/* A bounded output buffer and the names written to it, for compression. */
struct wbuf {
	uint8_t *buf;
	size_t cap, len;
	uint16_t ctab[CTAB_MAX];
	int nct;
};

static int
put_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (n > w->cap - w->len)
		return -1;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

static int
put16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return put_bytes(w, b, 2);
}

static int
put32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	return put_bytes(w, b, 4);
}

/*
 * Whether the name written at off in our own output equals the text s.
 * The output is ours, but the walk is bounded all the same.
 */
static int
wire_name_equals(const struct wbuf *w, size_t off, const char *s)
{
	size_t l, i;
	int hops = 0;

	for (;;) {
		if (off >= w->len)
			return 0;
		l = w->buf[off];
		if ((l & 0xc0) == 0xc0) {
			if (w->len - off < 2 || ++hops > CTAB_MAX)
				return 0;
			off = ((l & 0x3f) << 8) | w->buf[off + 1];
			continue;
		}
		off++;
		if (l == 0)
			return *s == '\0';
		if (l > w->len - off)
			return 0;
		for (i = 0; i < l; i++)
			if (s[i] == '\0' || s[i] == '.' ||
			    lower((unsigned char)s[i]) !=
				lower(w->buf[off + i]))
				return 0;
		s += l;
		off += l;
		if (*s == '.')
			s++;
		else if (*s != '\0')
			return 0;
	}
}

/* Write name, replacing the longest suffix already written by a pointer. */
static int
put_name(struct wbuf *w, const char *name)
{
	char text[EV__DNS_NAME_BUF];
	const char *s, *dot;
	size_t n, l;
	int i;

	if (ev__dns_name_check(name) < 0 || (n = strlen(name)) >= sizeof(text))
		return -1;
	memcpy(text, name, n + 1);
	if (n > 0 && text[n - 1] == '.')
		text[n - 1] = '\0'; /* absolute form; "." is the root */
	for (s = text; *s != '\0'; s += l + (s[l] == '.')) {
		for (i = 0; i < w->nct; i++)
			if (wire_name_equals(w, w->ctab[i], s))
				return put16(w,
				    (uint16_t)(0xc000 | w->ctab[i]));
		if (w->len < 0x4000 && w->nct < CTAB_MAX)
			w->ctab[w->nct++] = (uint16_t)w->len;
		dot = strchr(s, '.');
		l = dot != NULL ? (size_t)(dot - s) : strlen(s);
		if (put_bytes(w, &(uint8_t){ (uint8_t)l }, 1) < 0 ||
		    put_bytes(w, s, l) < 0)
			return -1;
	}
	return put_bytes(w, "", 1);
}

static void
put_header(uint8_t *buf, uint16_t id, uint16_t flags, const uint16_t counts[4])
{
	int i;

	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = (uint8_t)(flags >> 8);
	buf[3] = (uint8_t)flags;
	for (i = 0; i < 4; i++) {
		buf[4 + 2 * i] = (uint8_t)(counts[i] >> 8);
		buf[5 + 2 * i] = (uint8_t)counts[i];
	}
}

int
ev__dns_query_build(uint8_t *buf, size_t buflen, uint16_t id, const char *name,
    uint16_t qtype)
{
	struct wbuf w;
	const uint16_t counts[4] = { 1, 0, 0, 0 };

	memset(&w, 0, sizeof(w));
	w.buf = buf;
	w.cap = buflen;
	if (buflen < EV__DNS_HDR_LEN)
		return -1;
	w.len = EV__DNS_HDR_LEN;
	if (put_name(&w, name) < 0 || put16(&w, qtype) < 0 ||
	    put16(&w, EVDNS_CLASS_INET) < 0)
		return -1;
	put_header(buf, id, EV__DNS_RD, counts);
	return (int)w.len;
}

int
ev__dns_request_parse(const uint8_t *pkt, size_t len, struct ev__dns_query *q)
{
	struct ev__dns_header h;
	struct evdns_server_question *qu;
	char name[EV__DNS_NAME_BUF];
	size_t off = EV__DNS_HDR_LEN, n;
	int i;

	memset(q, 0, sizeof(*q));
	if (ev__dns_header_parse(pkt, len, &h) < 0 || (h.flags & EV__DNS_QR))
		return -1;
	/* Each question takes at least 5 bytes: check before allocating. */
	if (h.qdcount > (len - EV__DNS_HDR_LEN) / 5)
		return -1;
	q->id = h.id;
	q->flags = h.flags;
	q->questions = ev__calloc(h.qdcount > 0 ? h.qdcount : 1,
	    sizeof(*q->questions));
	if (q->questions == NULL)
		return -2;
	for (i = 0; i < h.qdcount; i++) {
		if (ev__dns_name_parse(pkt, len, &off, name, sizeof(name)) !=
			0 ||
		    len - off < 4)
			goto fail;
		n = strlen(name);
		qu = ev__malloc(
		    offsetof(struct evdns_server_question, name) + n + 1);
		if (qu == NULL) {
			ev__dns_query_clear(q);
			return -2;
		}
		qu->type = get16(pkt + off);
		qu->dns_question_class = get16(pkt + off + 2);
		memcpy(qu->name, name, n + 1);
		q->questions[q->nquestions++] = qu;
		off += 4;
	}
	if (ev__dns_opt_find(pkt, len, &q->edns_size) != 1)
		q->edns_size = 0;
	return 0;
fail:
	ev__dns_query_clear(q);
	return -1;
}

void
ev__dns_query_clear(struct ev__dns_query *q)
{
	int i;

	for (i = 0; i < q->nquestions; i++)
		ev__free(q->questions[i]);
	ev__free(q->questions);
	q->questions = NULL;
	q->nquestions = 0;
}

static int
put_rr(struct wbuf *w, const struct ev__dns_rr *rr)
{
	size_t lenpos, rdlen;

	if (put_name(w, rr->name) < 0 || put16(w, rr->type) < 0 ||
	    put16(w, rr->dns_class) < 0 || put32(w, rr->ttl) < 0)
		return -1;
	lenpos = w->len;
	if (put16(w, 0) < 0)
		return -1;
	if (rr->is_name) {
		if (put_name(w, rr->data) < 0)
			return -1;
	} else if (put_bytes(w, rr->data, rr->datalen) < 0)
		return -1;
	rdlen = w->len - lenpos - 2;
	if (rdlen > 0xffff)
		return -1;
	w->buf[lenpos] = (uint8_t)(rdlen >> 8);
	w->buf[lenpos + 1] = (uint8_t)rdlen;
	return 0;
}

int
ev__dns_response_build(uint8_t *buf, size_t buflen, const struct ev__dns_msg *m)
{
	struct wbuf w;
	const struct ev__dns_rr *rr;
	uint16_t counts[4] = { 0, 0, 0, 0 }, flags = m->flags;
	size_t mark;
	int i, s, nct;

	memset(&w, 0, sizeof(w));
	w.buf = buf;
	w.cap = buflen;
	if (buflen < EV__DNS_HDR_LEN || m->nquestions < 0 ||
	    m->nquestions > 0xffff)
		return -1;
	w.len = EV__DNS_HDR_LEN;
	for (i = 0; i < m->nquestions; i++)
		if (ev__dns_name_check(m->questions[i]->name) < 0)
			return -1;
	for (i = 0; i < m->nquestions; i++) {
		const struct evdns_server_question *q = m->questions[i];

		if (put_name(&w, q->name) < 0 ||
		    put16(&w, (uint16_t)q->type) < 0 ||
		    put16(&w, (uint16_t)q->dns_question_class) < 0) {
			/* Questions too long for a datagram: the bare header
			 * with TC, so the request is still answered. */
			w.len = EV__DNS_HDR_LEN;
			flags |= EV__DNS_TC;
			goto done;
		}
	}
	counts[0] = (uint16_t)m->nquestions;
	for (s = 0; s < 3; s++) {
		for (rr = m->sections[s]; rr != NULL; rr = rr->next) {
			mark = w.len;
			nct = w.nct;
			if (counts[s + 1] == 0xffff || put_rr(&w, rr) < 0) {
				/* Leave this and every later record out. */
				w.len = mark;
				w.nct = nct;
				flags |= EV__DNS_TC;
				goto done;
			}
			counts[s + 1]++;
		}
	}
done:
	put_header(buf, m->id, flags, counts);
	return (int)w.len;
}
