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

#endif /* BUFFER_INTERNAL_H */
