/*
 * buffer-internal.h: what buffer.c shares with its helper files.
 */
#ifndef BUFFER_INTERNAL_H
#define BUFFER_INTERNAL_H

#include <sys/types.h>
#include <stddef.h>

/*
 * The first occurrence of needle[0..m) in hay[0..n), or NULL (also for
 * m == 0).  Linear time in n + m whatever the bytes (buffer-search.c).
 */
const u_char *
ev__buffer_search(const u_char *hay, size_t n, const u_char *needle, size_t m);

/* The same by the two-way algorithm alone (for the tests). */
const u_char *
ev__buffer_two_way(const u_char *hay, size_t n, const u_char *needle, size_t m);

struct evbuffer;

/*
 * Storage of this many bytes or more (totallen >= EV_BIG_MIN) is "big":
 * a ring mapped twice, or heap memory with a header (buffer-big.c).
 */
#define EV_BIG_MIN ((size_t)256 * 1024)

/*
 * Give buf new big storage of at least size bytes holding its data at the
 * start, and release the old storage; -1 (buf unchanged) on failure.
 */
int ev__big_alloc(struct evbuffer *buf, size_t size);

/* Release buf's storage, big or not (the fields are left as they are). */
void ev__big_release(struct evbuffer *buf);

/* The size of one view of buf's ring, or 0 if its big storage is not one. */
size_t ev__big_ring_size(const struct evbuffer *buf);

#endif /* BUFFER_INTERNAL_H */
