/*
 * buffer.c: struct evbuffer, the byte queue under bufferevents and evhttp.
 *
 * 1.4 programs read an evbuffer's data in place through EVBUFFER_DATA and
 * EVBUFFER_LENGTH, so the data is always one contiguous block: `off` bytes
 * starting at `buffer`, which lies `misalign` bytes into the allocation
 * `orig_buffer` of `totallen` bytes.
 *
 * Costs, which the benchmarks hold us to:
 * - draining only moves `buffer` forward (O(1)); an emptied buffer snaps
 *   back to the start of its allocation for free;
 * - the drained space at the front is reclaimed lazily, only when the tail
 *   is out of room, and only by moving data no longer than what was drained
 *   since the last move, so every byte is moved at most once per drain;
 * - storage of EV_BIG_MIN bytes or more is a ring mapped twice
 *   (buffer-big.c), where nothing is moved at all: a backlog costs no
 *   more than the copy in;
 * - otherwise the allocation doubles, so appending is amortised O(1);
 * - line searches use memchr, and a line search never
 *   looks further than the line it returns (plus a bounded look-ahead), so
 *   reading many short lines is linear overall; a needle search is
 *   linear too (buffer-search.c).
 *
 * Every size that comes from a caller is checked before arithmetic (1.4
 * overflowed here: CVE-2014-6272); a failing call returns -1 and leaves
 * the buffer as it was.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "event.h"
#include "buffer-internal.h"
#include "log.h"
#include "mm-internal.h"

/* The smallest allocation; tiny buffers are common and cheap. */
#define EVBUFFER_MIN_ALLOC 256

/* What evbuffer_read() asks for when FIONREAD cannot tell. */
#define EVBUFFER_READ_DEFAULT 4096

/* The most one evbuffer_read() takes, however much is waiting. */
#define EVBUFFER_READ_MAX (1024 * 1024)

/*
 * No buffer may grow past this: pointer differences within it must fit a
 * ptrdiff_t, and refusing absurd sizes before malloc keeps a hostile
 * length from turning into a huge allocation attempt.
 */
#define EVBUFFER_MAX_SIZE ((size_t)PTRDIFF_MAX)

/* Tell the buffer's owner that its length went from oldoff to off. */
static void
notify(struct evbuffer *buf, size_t oldoff)
{
	if (buf->cb != NULL && buf->off != oldoff)
		(*buf->cb)(buf, oldoff, buf->off, buf->cbarg);
}

struct evbuffer *
evbuffer_new(void)
{
	struct evbuffer *buf;

	if ((buf = ev__calloc(1, sizeof(*buf))) == NULL)
		event_warn("%s: calloc", __func__);
	return buf;
}

void
evbuffer_free(struct evbuffer *buf)
{
	if (buf == NULL)
		return;
	ev__big_release(buf);
	ev__free(buf);
}

void
evbuffer_setcb(struct evbuffer *buf,
    void (*cb)(struct evbuffer *, size_t, size_t, void *), void *cbarg)
{
	buf->cb = cb;
	buf->cbarg = cbarg;
}

/* Bytes free after the data. */
static size_t
tail_space(const struct evbuffer *buf)
{
	return buf->totallen - buf->misalign - buf->off;
}

/* Move the data to the start of the allocation. */
static void
align(struct evbuffer *buf)
{
	if (buf->misalign == 0)
		return;
	if (buf->off > 0)
		memmove(buf->orig_buffer, buf->buffer, buf->off);
	buf->buffer = buf->orig_buffer;
	buf->misalign = 0;
}

/* Replace the allocation by one of length bytes holding the data at 0. */
static int
reallocate(struct evbuffer *buf, size_t length)
{
	u_char *p;

	if (length >= EV_BIG_MIN)
		return ev__big_alloc(buf, length);
	if (buf->misalign == 0) {
		/* realloc can often extend in place (or remap) for free. */
		if ((p = ev__realloc(buf->orig_buffer, length)) == NULL)
			goto fail;
	} else {
		/* Copy only the live data, not the drained front. */
		if ((p = ev__malloc(length)) == NULL)
			goto fail;
		if (buf->off > 0)
			memcpy(p, buf->buffer, buf->off);
		ev__free(buf->orig_buffer);
	}
	buf->orig_buffer = buf->buffer = p;
	buf->misalign = 0;
	buf->totallen = length;
	return 0;
fail:
	event_warn("%s: cannot allocate %zu bytes", __func__, length);
	return -1;
}

int
evbuffer_expand(struct evbuffer *buf, size_t datlen)
{
	size_t need, length, ring, cap = buf->totallen;

	if (datlen <= tail_space(buf))
		return 0;
	if (buf->off > EVBUFFER_MAX_SIZE ||
	    datlen > EVBUFFER_MAX_SIZE - buf->off) {
		event_warnx("%s: %zu more bytes would overflow the buffer",
		    __func__, datlen);
		errno = ENOMEM;
		return -1;
	}
	need = buf->off + datlen;

	if (buf->totallen >= EV_BIG_MIN &&
	    (ring = ev__big_ring_size(buf)) > 0) {
		/*
		 * A ring: move buffer back into the first view if the data
		 * has left it, and count the free space afresh.
		 */
		if (buf->misalign >= ring) {
			buf->misalign -= ring;
			buf->buffer -= ring;
		}
		buf->totallen = ring + buf->misalign;
		if (datlen <= tail_space(buf))
			return 0;
		cap = ring;
	} else if (buf->misalign >= buf->off && need <= buf->totallen) {
		/*
		 * Sliding the data to the front costs off bytes; doing it
		 * only when at least that much was drained since the last
		 * slide keeps the total cost within the bytes ever drained.
		 */
		align(buf);
		return 0;
	}

	/* Doubling keeps appends amortised O(1). */
	length = cap < EVBUFFER_MIN_ALLOC / 2 ? EVBUFFER_MIN_ALLOC : cap * 2;
	while (length < need) {
		if (length > EVBUFFER_MAX_SIZE / 2) {
			length = need;
			break;
		}
		length *= 2;
	}
	if (length > EVBUFFER_MAX_SIZE)
		length = need;
	/*
	 * Big storage (a ring, which never needs slack to realign) grows by
	 * half of what it must hold: still amortised O(1), and a steady
	 * backlog holds at most 1.5 times its bytes.
	 */
	if (length >= EV_BIG_MIN && need <= EVBUFFER_MAX_SIZE / 3 * 2)
		length = need + need / 2 < EV_BIG_MIN ? EV_BIG_MIN :
							need + need / 2;
	return reallocate(buf, length);
}

/* Whether p points into the live data of buf (a caller appending itself). */
static int
points_into(const struct evbuffer *buf, const void *p)
{
	uintptr_t start = (uintptr_t)buf->buffer, q = (uintptr_t)p;

	return buf->off > 0 && q >= start && q - start < buf->off;
}

int
evbuffer_add(struct evbuffer *buf, const void *data, size_t datlen)
{
	size_t oldoff = buf->off, rel = 0;
	int self;

	if (datlen == 0)
		return 0;
	/* Expanding may move our own data, which data may point into. */
	self = points_into(buf, data);
	if (self)
		rel = (size_t)((const u_char *)data - buf->buffer);
	if (datlen > tail_space(buf) && evbuffer_expand(buf, datlen) == -1)
		return -1;
	if (self)
		data = buf->buffer + rel;
	memcpy(buf->buffer + buf->off, data, datlen);
	buf->off += datlen;
	notify(buf, oldoff);
	return 0;
}

void
evbuffer_drain(struct evbuffer *buf, size_t len)
{
	size_t oldoff = buf->off;

	if (len >= buf->off && buf->totallen < EV_BIG_MIN) {
		/* Empty: start over at the front, which realigns for free. */
		buf->off = 0;
		buf->buffer = buf->orig_buffer;
		buf->misalign = 0;
	} else if (len >= buf->off) {
		/* Big storage realigns at the next expand (buffer-big.c). */
		buf->buffer += buf->off;
		buf->misalign += buf->off;
		buf->off = 0;
	} else {
		buf->buffer += len;
		buf->misalign += len;
		buf->off -= len;
	}
	notify(buf, oldoff);
}

int
evbuffer_remove(struct evbuffer *buf, void *data, size_t datlen)
{
	size_t n = datlen;

	if (n > buf->off)
		n = buf->off;
	/* The count is returned as an int. */
	if (n > INT_MAX)
		n = INT_MAX;
	if (n > 0) {
		memcpy(data, buf->buffer, n);
		evbuffer_drain(buf, n);
	}
	return (int)n;
}

int
evbuffer_add_buffer(struct evbuffer *outbuf, struct evbuffer *inbuf)
{
	size_t oldoff = inbuf->off;

	if (outbuf == inbuf) {
		event_warnx("%s: cannot move a buffer into itself", __func__);
		return -1;
	}
	if (oldoff == 0)
		return 0;
	if (outbuf->off == 0) {
		/* Exchange the storage, every field of it: no copy at all. */
		struct evbuffer tmp = *outbuf;

		outbuf->buffer = inbuf->buffer;
		outbuf->orig_buffer = inbuf->orig_buffer;
		outbuf->misalign = inbuf->misalign;
		outbuf->totallen = inbuf->totallen;
		outbuf->off = inbuf->off;
		inbuf->buffer = tmp.buffer;
		inbuf->orig_buffer = tmp.orig_buffer;
		inbuf->misalign = tmp.misalign;
		inbuf->totallen = tmp.totallen;
		inbuf->off = 0;

		notify(inbuf, oldoff);
		notify(outbuf, 0);
		return 0;
	}
	if (evbuffer_add(outbuf, inbuf->buffer, inbuf->off) == -1)
		return -1;
	evbuffer_drain(inbuf, inbuf->off);
	return 0;
}

int
evbuffer_add_vprintf(struct evbuffer *buf, const char *fmt, va_list ap)
{
	size_t oldoff = buf->off, space;
	int sz, tries;
	va_list aq;

	if (evbuffer_expand(buf, 64) == -1)
		return -1;
	/* The first try tells the size; the second one must fit. */
	for (tries = 0; tries < 2; tries++) {
		space = tail_space(buf);
		if (space > INT_MAX)
			space = INT_MAX;
		va_copy(aq, ap);
		sz = vsnprintf((char *)buf->buffer + buf->off, space, fmt, aq);
		va_end(aq);
		if (sz < 0) {
			event_warn("%s: vsnprintf", __func__);
			return -1;
		}
		if ((size_t)sz < space) {
			buf->off += (size_t)sz;
			notify(buf, oldoff);
			return sz;
		}
		if (sz == INT_MAX || tries > 0)
			break;
		if (evbuffer_expand(buf, (size_t)sz + 1) == -1)
			return -1;
	}
	event_warnx("%s: formatted text too long", __func__);
	return -1;
}

int
evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...)
{
	int res;
	va_list ap;

	va_start(ap, fmt);
	res = evbuffer_add_vprintf(buf, fmt, ap);
	va_end(ap);
	return res;
}

/* Copy the first len bytes into a new string and drain drain bytes. */
static char *
take_line(struct evbuffer *buf, size_t len, size_t drain, size_t *n_out)
{
	char *line;

	if ((line = ev__malloc(len + 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return NULL;
	}
	if (len > 0)
		memcpy(line, buf->buffer, len);
	line[len] = '\0';
	evbuffer_drain(buf, drain);
	if (n_out != NULL)
		*n_out = len;
	return line;
}

#ifdef __SSE2__
/* Bit i set where p[i] (of 16 bytes) is CR or LF. */
static inline unsigned
cr_lf_mask(const u_char *p)
{
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);

	return (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
}

/*
 * Index of the first CR or LF in p[0..len), or len.  32 bytes at a time
 * are compared with both at once, so a line costs one pass over its bytes
 * and the scan never reads more than 31 bytes past the line's end (and
 * never past len): reading many short lines stays linear.
 */
static size_t
find_cr_or_lf(const u_char *p, size_t len)
{
	size_t i;
	unsigned lo, hi;

	for (i = 0; i + 32 <= len; i += 32) {
		lo = cr_lf_mask(p + i);
		hi = cr_lf_mask(p + i + 16);
		if ((lo | hi) != 0)
			return i + (size_t)__builtin_ctz(lo | hi << 16);
	}
	if (i + 16 <= len) {
		if ((lo = cr_lf_mask(p + i)) != 0)
			return i + (size_t)__builtin_ctz(lo);
		i += 16;
	}
	for (; i < len; i++)
		if (p[i] == '\r' || p[i] == '\n')
			return i;
	return len;
}
#else
/*
 * Index of the first CR or LF in p[0..len), or len.  memchr runs on
 * blocks that double in size up to a cap, so a short line costs little
 * and a long one is scanned at memchr speed, never past the line's end
 * by more than the last block.
 */
static size_t
find_cr_or_lf(const u_char *p, size_t len)
{
	size_t pos = 0, block = 128, n;
	const u_char *lf, *cr;

	while (pos < len) {
		n = len - pos < block ? len - pos : block;
		lf = memchr(p + pos, '\n', n);
		if (lf != NULL)
			n = (size_t)(lf - (p + pos));
		cr = memchr(p + pos, '\r', n);
		if (cr != NULL)
			return (size_t)(cr - p);
		if (lf != NULL)
			return (size_t)(lf - p);
		pos += n;
		if (block < 16384)
			block *= 2;
	}
	return len;
}
#endif

char *
evbuffer_readline(struct evbuffer *buf)
{
	const u_char *data = buf->buffer;
	size_t len = buf->off, i, drain;

	if (len == 0)
		return NULL;
	if ((i = find_cr_or_lf(data, len)) == len)
		return NULL;
	/* As in 1.4: a CR or LF ends the line, "\r\n" or "\n\r" as one. */
	drain = i + 1;
	if (drain < len && (data[drain] == '\r' || data[drain] == '\n') &&
	    data[drain] != data[i])
		drain++;
	return take_line(buf, i, drain, NULL);
}

/* Find the end of the first line for readln; 0 if there is none. */
static int
find_eol(const u_char *data, size_t len, enum evbuffer_eol_style style,
    size_t *start, size_t *end)
{
	const u_char *p;
	size_t i;

	switch (style) {
	case EVBUFFER_EOL_ANY:
		if ((i = find_cr_or_lf(data, len)) == len)
			return 0;
		*start = i;
		while (i < len && (data[i] == '\r' || data[i] == '\n'))
			i++;
		*end = i;
		return 1;
	case EVBUFFER_EOL_CRLF:
		if ((p = memchr(data, '\n', len)) == NULL)
			return 0;
		i = (size_t)(p - data);
		*start = (i > 0 && data[i - 1] == '\r') ? i - 1 : i;
		*end = i + 1;
		return 1;
	case EVBUFFER_EOL_CRLF_STRICT:
		for (i = 0; i + 1 < len; i++) {
			if ((p = memchr(data + i, '\r', len - 1 - i)) == NULL)
				return 0;
			i = (size_t)(p - data);
			if (data[i + 1] == '\n') {
				*start = i;
				*end = i + 2;
				return 1;
			}
		}
		return 0;
	case EVBUFFER_EOL_LF:
		if ((p = memchr(data, '\n', len)) == NULL)
			return 0;
		*start = (size_t)(p - data);
		*end = *start + 1;
		return 1;
	}
	return 0;
}

char *
evbuffer_readln(struct evbuffer *buf, size_t *n_read_out,
    enum evbuffer_eol_style eol_style)
{
	size_t start, end;

	if (n_read_out != NULL)
		*n_read_out = 0;
	if (buf->off == 0)
		return NULL;
	if (!find_eol(buf->buffer, buf->off, eol_style, &start, &end))
		return NULL;
	return take_line(buf, start, end, n_read_out);
}

u_char *
evbuffer_find(struct evbuffer *buf, const u_char *what, size_t len)
{
	/* The bytes are the buffer's own; only the search treats them const. */
	return (u_char *)(uintptr_t)ev__buffer_search(buf->buffer, buf->off,
	    what, len);
}

/*
 * How much evbuffer_read() should ask the kernel for, given what FIONREAD
 * said is waiting (avail <= 0: it could not tell) and the most this call
 * may still take (limit, at most EVBUFFER_READ_MAX).
 */
static size_t
read_size(struct evbuffer *buf, int avail, size_t limit)
{
	size_t n;

	if (avail <= 0) {
		n = EVBUFFER_READ_DEFAULT;
	} else {
		n = (size_t)avail;
		/*
		 * A lot may be waiting; do not let one read balloon a small
		 * buffer before its reader has had a chance to act.
		 */
		if (n > EVBUFFER_READ_DEFAULT && n > buf->totallen * 4)
			n = buf->totallen * 4;
		if (n < EVBUFFER_READ_DEFAULT)
			n = EVBUFFER_READ_DEFAULT;
	}
	return n < limit ? n : limit;
}

/*
 * What a read straight into the free space after the data may take, or 0
 * if that space is too small to be worth it.  Such a read needs no
 * FIONREAD call first, which saves a system call per read.
 */
static size_t
direct_size(const struct evbuffer *buf, size_t limit)
{
	size_t room = tail_space(buf);

	if (limit <= room)
		return limit;
	return room < EVBUFFER_READ_DEFAULT ? 0 : room;
}

/* Append up to want bytes from fd; the buffer has room for them. */
static ssize_t
read_tail(struct evbuffer *buf, int fd, size_t want)
{
	ssize_t n = read(fd, buf->buffer + buf->off, want);

	if (n > 0)
		buf->off += (size_t)n;
	return n;
}

/*
 * Take up to limit more bytes of what is waiting after a read that
 * filled the buffer.  An error or EOF here is left for the next call.
 */
static void
read_more(struct evbuffer *buf, int fd, size_t limit)
{
	int avail = 0;
	size_t want;

	if (ioctl(fd, FIONREAD, &avail) == -1 || avail <= 0)
		return;
	want = read_size(buf, avail, limit);
	if (evbuffer_expand(buf, want) == 0)
		(void)read_tail(buf, fd, want);
}

int
evbuffer_read(struct evbuffer *buf, int fd, int howmuch)
{
	size_t oldoff = buf->off, want, limit, got;
	ssize_t n;
	int avail = 0;

	if (howmuch == 0)
		return 0;
	/* However much is waiting or asked for, one call takes READ_MAX. */
	limit = howmuch < 0 || (size_t)howmuch > EVBUFFER_READ_MAX ?
	    EVBUFFER_READ_MAX :
	    (size_t)howmuch;
	if ((want = direct_size(buf, limit)) > 0) {
		if ((n = read_tail(buf, fd, want)) <= 0)
			return (int)n;
		/* Filled to the brim: more may be waiting. */
		if ((size_t)n == want && want < limit)
			read_more(buf, fd, limit - want);
	} else {
		/* A small buffer reads READ_DEFAULT whatever is waiting. */
		if (buf->totallen > EVBUFFER_READ_DEFAULT / 4 &&
		    ioctl(fd, FIONREAD, &avail) == -1)
			avail = 0;
		want = read_size(buf, avail, limit);
		if (evbuffer_expand(buf, want) == -1)
			return -1;
		if ((n = read_tail(buf, fd, want)) <= 0)
			return (int)n;
	}
	/* Counted before the callback, which may drain or free buf. */
	got = buf->off - oldoff;
	notify(buf, oldoff);
	return (int)got;
}

int
evbuffer_write(struct evbuffer *buf, int fd)
{
	size_t len = buf->off;
	ssize_t n;

	if (len == 0)
		return 0;
	if (len > INT_MAX)
		len = INT_MAX;
	/*
	 * A socket whose peer has gone would raise SIGPIPE and kill a
	 * program that did not ignore it; report EPIPE instead.
	 */
	n = send(fd, buf->buffer, len, MSG_NOSIGNAL);
	if (n == -1 && errno == ENOTSOCK)
		n = write(fd, buf->buffer, len);
	if (n <= 0)
		return (int)n;
	evbuffer_drain(buf, (size_t)n);
	return (int)n;
}
