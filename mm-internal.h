/*
 * mm-internal.h: the library's one way to allocate memory.
 *
 * Every allocation and free in the library goes through these, so that
 * event_set_mem_functions() (mm.c) can replace the allocator, and so that
 * the tests can make any chosen allocation fail.  They behave like the C
 * library functions they are named after; ev__calloc() and ev__strdup()
 * allocate through the malloc function, and ev__calloc() returns NULL
 * when n * size overflows.
 */
#ifndef MM_INTERNAL_H
#define MM_INTERNAL_H

#include <stddef.h>

void *ev__malloc(size_t size);
void *ev__calloc(size_t n, size_t size);
void *ev__realloc(void *p, size_t size);
char *ev__strdup(const char *s);
void ev__free(void *p);

#endif /* MM_INTERNAL_H */
