/*
 * event_tagging.c: the evtag_* tagged marshalling of libevent 1.4, which
 * evrpc and programs use to put typed fields into an evbuffer.
 *
 * The wire format is 1.4's, byte for byte:
 * - a tag is a little-endian base-128 varint: 7 bits per byte, low bits
 *   first, the high bit set on every byte but the last (tag 0 is 0x00);
 * - an integer (encode_int) is a nibble string: the high nibble of the
 *   first byte holds the number of significant nibbles minus one, and the
 *   nibbles follow least significant first, starting in the first byte's
 *   low nibble (0 is 00, 0x10 is 10 10, 0xffffffff is 7f ff ff ff f0);
 * - an item is the tag, encode_int(payload length), then the payload;
 *   integers are items whose payload is an encode_int, timevals items
 *   whose payload is encode_int(tv_sec) then encode_int(tv_usec).
 *
 * Unlike 1.4 the decoders treat their input as hostile: a varint longer
 * than a 32-bit value needs, an integer of more than 8 nibbles, a length
 * beyond the data and a payload that does not hold exactly its value are
 * all errors (-1), found before anything is consumed or allocated, and a
 * failed call leaves the source buffer as it was.  A string payload with
 * a NUL byte inside is refused too, since the C string would silently
 * lose its tail.  No global scratch
 * buffer is used, so evtag_init() is optional and threads may marshal
 * concurrently into their own buffers.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "mm-internal.h"

/* The longest encodings of a 32-bit tag and of a 32-bit integer. */
#define TAG_MAX_BYTES 5
#define INT_MAX_BYTES 5

void
evtag_init(void)
{
}

/* Encode tag into data; returns the number of bytes. */
static size_t
encode_tag(ev_uint8_t *data, ev_uint32_t tag)
{
	size_t n = 0;

	do {
		data[n] = tag & 0x7f;
		tag >>= 7;
		if (tag != 0)
			data[n] |= 0x80;
		n++;
	} while (tag != 0);
	return n;
}

/* Encode number into data; returns the number of bytes. */
static size_t
encode_number(ev_uint8_t *data, ev_uint32_t number)
{
	size_t pos = 1, nibbles;

	/* Nibble position pos: odd is a low nibble, even a high one. */
	memset(data, 0, INT_MAX_BYTES);
	while (number != 0) {
		if (pos & 1)
			data[pos / 2] |= number & 0x0f;
		else
			data[pos / 2] |= (number & 0x0f) << 4;
		number >>= 4;
		pos++;
	}
	nibbles = pos > 2 ? pos - 2 : 0; /* significant nibbles - 1 */
	data[0] |= (ev_uint8_t)(nibbles << 4);
	return (pos + 1) / 2;
}

/*
 * Decode a tag from data[0..len); returns its length in bytes, or 0 if it
 * is truncated or does not fit in 32 bits.
 */
static size_t
decode_tag(const ev_uint8_t *data, size_t len, ev_uint32_t *ptag)
{
	ev_uint32_t tag = 0;
	size_t i;

	for (i = 0; i < len && i < TAG_MAX_BYTES; i++) {
		/* The fifth byte has room for only 4 more bits. */
		if (i == TAG_MAX_BYTES - 1 && data[i] > 0x0f)
			return 0;
		tag |= (ev_uint32_t)(data[i] & 0x7f) << (7 * i);
		if ((data[i] & 0x80) == 0) {
			if (ptag != NULL)
				*ptag = tag;
			return i + 1;
		}
	}
	return 0;
}

/*
 * Decode an encode_int() integer from data[0..len); returns its length in
 * bytes, or 0 if it is truncated.
 */
static size_t
decode_number(const ev_uint8_t *data, size_t len, ev_uint32_t *pnumber)
{
	ev_uint32_t number = 0;
	size_t nibbles, bytes;

	if (len == 0)
		return 0;
	/* Four bits can say 16 nibbles; a 32-bit value has at most 8. */
	nibbles = (size_t)(data[0] >> 4) + 1;
	bytes = nibbles / 2 + 1;
	if (nibbles > 8 || bytes > len)
		return 0;
	for (; nibbles > 0; nibbles--) {
		number <<= 4;
		if (nibbles & 1)
			number |= data[nibbles / 2] & 0x0f;
		else
			number |= data[nibbles / 2] >> 4;
	}
	if (pnumber != NULL)
		*pnumber = number;
	return bytes;
}

void
encode_int(struct evbuffer *evbuf, ev_uint32_t number)
{
	ev_uint8_t data[INT_MAX_BYTES];

	evbuffer_add(evbuf, data, encode_number(data, number));
}

void
evtag_marshal(struct evbuffer *evbuf, ev_uint32_t tag, const void *data,
    ev_uint32_t len)
{
	ev_uint8_t header[TAG_MAX_BYTES + INT_MAX_BYTES];
	size_t n;

	n = encode_tag(header, tag);
	n += encode_number(header + n, len);
	/* Room for the whole item first: never leave half of one behind. */
	if ((size_t)len > SIZE_MAX - n ||
	    evbuffer_expand(evbuf, n + len) == -1) {
		event_warnx("%s: no room for a %u-byte item", __func__,
		    (unsigned)len);
		return;
	}
	evbuffer_add(evbuf, header, n);
	evbuffer_add(evbuf, data, len);
}

void
evtag_marshal_int(struct evbuffer *evbuf, ev_uint32_t tag, ev_uint32_t integer)
{
	ev_uint8_t data[INT_MAX_BYTES];
	size_t n = encode_number(data, integer);

	evtag_marshal(evbuf, tag, data, (ev_uint32_t)n);
}

void
evtag_marshal_string(struct evbuffer *buf, ev_uint32_t tag, const char *string)
{
	size_t len = strlen(string);

	if (len > UINT32_MAX) {
		event_warnx("%s: string too long", __func__);
		return;
	}
	evtag_marshal(buf, tag, string, (ev_uint32_t)len);
}

void
evtag_marshal_timeval(struct evbuffer *evbuf, ev_uint32_t tag,
    struct timeval *tv)
{
	ev_uint8_t data[2 * INT_MAX_BYTES];
	size_t n;

	/* As in 1.4, each field is sent as 32 bits. */
	n = encode_number(data, (ev_uint32_t)tv->tv_sec);
	n += encode_number(data + n, (ev_uint32_t)tv->tv_usec);
	evtag_marshal(evbuf, tag, data, (ev_uint32_t)n);
}

/* Where an item's parts lie, as found by parse_item(). */
struct item {
	ev_uint32_t tag;
	size_t header;	 /* bytes of tag and length */
	ev_uint32_t len; /* payload bytes */
};

/*
 * Parse the tag and length at the front of evbuf.  With need_payload the
 * whole payload must be there too.  Returns 0, or -1 on bad input.
 */
static int
parse_item(struct evbuffer *evbuf, struct item *it, int need_payload)
{
	const ev_uint8_t *data = EVBUFFER_DATA(evbuf);
	size_t avail = EVBUFFER_LENGTH(evbuf), t, n;

	if ((t = decode_tag(data, avail, &it->tag)) == 0)
		return -1;
	if ((n = decode_number(data + t, avail - t, &it->len)) == 0)
		return -1;
	it->header = t + n;
	if (need_payload && it->len > avail - it->header)
		return -1;
	return 0;
}

int
evtag_peek(struct evbuffer *evbuf, ev_uint32_t *ptag)
{
	size_t n = decode_tag(EVBUFFER_DATA(evbuf), EVBUFFER_LENGTH(evbuf),
	    ptag);

	return n == 0 ? -1 : (int)n;
}

int
evtag_peek_length(struct evbuffer *evbuf, ev_uint32_t *plength)
{
	struct item it;

	if (parse_item(evbuf, &it, 0) == -1 || it.len > UINT32_MAX - it.header)
		return -1;
	*plength = (ev_uint32_t)(it.header + it.len);
	return 0;
}

int
evtag_payload_length(struct evbuffer *evbuf, ev_uint32_t *plength)
{
	struct item it;

	if (parse_item(evbuf, &it, 0) == -1)
		return -1;
	*plength = it.len;
	return 0;
}

int
evtag_consume(struct evbuffer *evbuf)
{
	struct item it;

	if (parse_item(evbuf, &it, 1) == -1)
		return -1;
	evbuffer_drain(evbuf, it.header + it.len);
	return 0;
}

int
evtag_unmarshal(struct evbuffer *src, ev_uint32_t *ptag, struct evbuffer *dst)
{
	struct item it;

	/* The length is returned as an int. */
	if (parse_item(src, &it, 1) == -1 || it.len > INT_MAX)
		return -1;
	if (evbuffer_add(dst, EVBUFFER_DATA(src) + it.header, it.len) == -1)
		return -1;
	if (ptag != NULL)
		*ptag = it.tag;
	evbuffer_drain(src, it.header + it.len);
	return (int)it.len;
}

/*
 * Find the complete item with tag need_tag at the front of evbuf and
 * return its payload, without consuming it; NULL on bad input.
 */
static const ev_uint8_t *
payload_of(struct evbuffer *evbuf, ev_uint32_t need_tag, struct item *it)
{
	if (parse_item(evbuf, it, 1) == -1 || it->tag != need_tag)
		return NULL;
	return EVBUFFER_DATA(evbuf) + it->header;
}

int
evtag_unmarshal_int(struct evbuffer *evbuf, ev_uint32_t need_tag,
    ev_uint32_t *pinteger)
{
	const ev_uint8_t *p;
	struct item it;
	ev_uint32_t value;

	if ((p = payload_of(evbuf, need_tag, &it)) == NULL)
		return -1;
	if (it.len == 0 || decode_number(p, it.len, &value) != it.len)
		return -1;
	*pinteger = value;
	evbuffer_drain(evbuf, it.header + it.len);
	return 0;
}

int
evtag_unmarshal_fixed(struct evbuffer *src, ev_uint32_t need_tag, void *data,
    size_t len)
{
	const ev_uint8_t *p;
	struct item it;

	if ((p = payload_of(src, need_tag, &it)) == NULL || it.len != len)
		return -1;
	if (len > 0)
		memcpy(data, p, len);
	evbuffer_drain(src, it.header + it.len);
	return 0;
}

int
evtag_unmarshal_string(struct evbuffer *evbuf, ev_uint32_t need_tag,
    char **pstring)
{
	const ev_uint8_t *p;
	struct item it;
	char *s;

	if ((p = payload_of(evbuf, need_tag, &it)) == NULL)
		return -1;
	/*
	 * A NUL inside would hand the caller a shorter string than was
	 * sent ("admin\0..." read as "admin"); 1.4 allowed it.
	 */
	if (it.len > 0 && memchr(p, '\0', it.len) != NULL) {
		event_warnx("%s: string holds a NUL byte", __func__);
		return -1;
	}
	/* The payload is in the buffer, so this allocation is bounded. */
	if ((s = ev__malloc((size_t)it.len + 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return -1;
	}
	if (it.len > 0)
		memcpy(s, p, it.len);
	s[it.len] = '\0';
	*pstring = s;
	evbuffer_drain(evbuf, it.header + it.len);
	return 0;
}

int
evtag_unmarshal_timeval(struct evbuffer *evbuf, ev_uint32_t need_tag,
    struct timeval *ptv)
{
	const ev_uint8_t *p;
	struct item it;
	ev_uint32_t sec, usec;
	size_t n, m;

	if ((p = payload_of(evbuf, need_tag, &it)) == NULL)
		return -1;
	if ((n = decode_number(p, it.len, &sec)) == 0 ||
	    (m = decode_number(p + n, it.len - n, &usec)) == 0 ||
	    n + m != it.len)
		return -1;
	ptv->tv_sec = (time_t)sec;
	ptv->tv_usec = (suseconds_t)usec;
	evbuffer_drain(evbuf, it.header + it.len);
	return 0;
}

/*
 * The three functions below are exported by 1.4.15 without a declaration
 * in event.h; 1.4 programs and tests call them through their own
 * prototypes, so they keep 1.4's signatures and return values.
 */
int evtag_decode_int(ev_uint32_t *pnumber, struct evbuffer *evbuf);
int evtag_encode_tag(struct evbuffer *evbuf, ev_uint32_t tag);
int evtag_decode_tag(ev_uint32_t *ptag, struct evbuffer *evbuf);

/* Decode and drain an encode_int() integer; 0, or -1 on bad input. */
int
evtag_decode_int(ev_uint32_t *pnumber, struct evbuffer *evbuf)
{
	size_t n = decode_number(EVBUFFER_DATA(evbuf), EVBUFFER_LENGTH(evbuf),
	    pnumber);

	if (n == 0)
		return -1;
	evbuffer_drain(evbuf, n);
	return 0;
}

/*
 * Append the encoding of tag to evbuf (which may be NULL, as in 1.4, to
 * only count); returns the number of bytes it takes.
 */
int
evtag_encode_tag(struct evbuffer *evbuf, ev_uint32_t tag)
{
	ev_uint8_t data[TAG_MAX_BYTES];
	size_t n = encode_tag(data, tag);

	if (evbuf != NULL)
		evbuffer_add(evbuf, data, n);
	return (int)n;
}

/* Decode and drain a tag; returns the bytes it took, or -1 on bad input. */
int
evtag_decode_tag(ev_uint32_t *ptag, struct evbuffer *evbuf)
{
	size_t n = decode_tag(EVBUFFER_DATA(evbuf), EVBUFFER_LENGTH(evbuf),
	    ptag);

	if (n == 0)
		return -1;
	evbuffer_drain(evbuf, n);
	return (int)n;
}
