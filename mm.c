/*
 * mm.c: the allocator seam (mm-internal.h) and event_set_mem_functions().
 *
 * Without replacement functions each call is the C library's own.  With
 * them, calloc and strdup are built on the replacement malloc, so a
 * program sees every byte the library allocates through its three
 * functions.  The functions are process-wide: a program sets them once,
 * before it calls anything else in the library.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "mm-internal.h"

static void *(*mm_malloc)(size_t);
static void *(*mm_realloc)(void *, size_t);
static void (*mm_free)(void *);

void
event_set_mem_functions(void *(*malloc_fn)(size_t sz),
    void *(*realloc_fn)(void *ptr, size_t sz), void (*free_fn)(void *ptr))
{
	mm_malloc = malloc_fn;
	mm_realloc = realloc_fn;
	mm_free = free_fn;
}

void *
ev__malloc(size_t size)
{
	return mm_malloc != NULL ? mm_malloc(size) : malloc(size);
}

void *
ev__calloc(size_t n, size_t size)
{
	void *p;

	if (mm_malloc == NULL)
		return calloc(n, size);
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p = mm_malloc(n * size)) != NULL)
		memset(p, 0, n * size);
	return p;
}

void *
ev__realloc(void *p, size_t size)
{
	return mm_realloc != NULL ? mm_realloc(p, size) : realloc(p, size);
}

char *
ev__strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy;

	if ((copy = ev__malloc(len)) != NULL)
		memcpy(copy, s, len);
	return copy;
}

void
ev__free(void *p)
{
	if (mm_free != NULL)
		mm_free(p);
	else
		free(p);
}
