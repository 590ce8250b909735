/*
 * buffer-big.c: the storage of large evbuffers, a ring mapped twice.
 *
 * An evbuffer's data must be contiguous at `buffer` (1.4 programs read it
 * in place), so a buffer that always holds a backlog (the output of a slow
 * reader: add at the tail, drain at the head) must now and then slide its
 * data back to the front.  With at most twice the backlog allocated, that
 * moves one byte per byte that passes through: twice the cost of the copy
 * in.  Moving pages instead of bytes (mremap) costs as much here as the
 * copy, in page-table work (measured: 20-40 us to rotate 1 MiB of pages
 * of a 2 MiB mapping, against 25-45 us for memmove of 1 MiB).
 *
 * So storage of EV_BIG_MIN bytes or more is a ring: `size` bytes of a
 * memfd mapped twice, back to back, so data that runs off the end of the
 * first view continues in the second and reads as one block.  Draining
 * moves `buffer` forward; when the data has moved wholly into the second
 * view, the next expand moves `buffer` back by `size` (the same bytes, in
 * the first view).  Nothing is ever copied to realign.
 *
 * Fields of struct evbuffer for a ring: orig_buffer is the first view,
 * misalign is buffer - orig_buffer (below 2 * size), and totallen is
 * size + misalign, so that totallen - misalign - off, the free space 1.4
 * programs compute before writing after evbuffer_expand(), is exactly
 * size - off.  Draining leaves totallen alone, which only understates the
 * free space until the next expand recomputes it.
 *
 * Every storage of EV_BIG_MIN bytes or more (totallen >= EV_BIG_MIN)
 * carries a header just before orig_buffer saying what it is: a ring, or
 * plain memory from ev__malloc when a ring cannot be had (no memfd, no
 * file descriptor left) or when the program installed its own allocator
 * with event_set_mem_functions(), which must see every allocation.
 * Smaller storage comes from ev__malloc without a header.
 *
 * Fork: a ring is shared memory, so a child would write into its
 * parent's buffers.  A fork handler gives the child a private copy of
 * every ring (both views) and marks it "copied": still readable and
 * writable as before, but no longer mirrored, so its next expand moves the
 * data into new storage instead of wrapping.
 */
#define _GNU_SOURCE
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "buffer-internal.h"
#include "log.h"
#include "mm-internal.h"

enum big_kind { BIG_RING = 0x52494e47, BIG_COPIED, BIG_HEAP };

/* Just before orig_buffer; its size keeps the data 64-byte aligned. */
struct big_header {
	uint32_t kind;			/* enum big_kind */
	size_t size;			/* bytes of data space (one view) */
	void *map;			/* ring: start of the whole mapping */
	size_t maplen;			/* ring: its length */
	struct big_header *next, *prev; /* every ring, for fork */
	char pad[16];
};

static struct big_header *
header_of(const u_char *orig)
{
	return (
	    struct big_header *)(uintptr_t)(orig - sizeof(struct big_header));
}

/* ---------------------------------------------------------------- rings */

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct big_header *rings;

#if defined(HAVE_MEMFD_CREATE) && defined(HAVE_MREMAP)
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int fork_handler_ok;

static void
rings_prepare(void)
{
	pthread_mutex_lock(&rings_lock);
}

static void
rings_parent(void)
{
	pthread_mutex_unlock(&rings_lock);
}

/* In the child: replace both views of every ring by a private copy. */
static void
rings_child(void)
{
	struct big_header *h;
	u_char *view, *copy;
	size_t len;

	for (h = rings; h != NULL; h = h->next) {
		view = (u_char *)h + sizeof(*h);
		len = 2 * h->size;
		copy = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (copy == MAP_FAILED) {
			event_warn("%s: cannot copy a buffer after fork",
			    __func__);
			continue;
		}
		memcpy(copy, view, h->size);
		memcpy(copy + h->size, view, h->size);
		if (mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			view) == MAP_FAILED) {
			event_warn("%s: mremap", __func__);
			munmap(copy, len);
			continue;
		}
		h->kind = BIG_COPIED;
	}
	/* The copies are in no list: they are freed like rings. */
	rings = NULL;
	pthread_mutex_unlock(&rings_lock);
}

static void
install_fork_handler(void)
{
	fork_handler_ok = pthread_atfork(rings_prepare, rings_parent,
			      rings_child) == 0;
}

/*
 * A new ring of size bytes (a multiple of the page size): a header page
 * whose last bytes are the header, then the two views.  NULL if the
 * system cannot give one (the caller falls back to the heap).
 */
static struct big_header *
ring_new(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), maplen;
	u_char *map, *view;
	struct big_header *h;
	int fd;

	pthread_once(&fork_once, install_fork_handler);
	if (!fork_handler_ok || size > (SIZE_MAX - page) / 2)
		return NULL;
	maplen = page + 2 * size;
	/* Reserve the address range, then map into it. */
	map = mmap(NULL, maplen, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	view = map + page;
	if (mmap(map, page, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		goto fail;
	if ((fd = memfd_create("evbuffer", MFD_CLOEXEC)) == -1)
		goto fail;
	if (ftruncate(fd, (off_t)size) == -1 ||
	    mmap(view, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		0) == MAP_FAILED ||
	    mmap(view + size, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		close(fd);
		goto fail;
	}
	/* The mappings keep the memory; the descriptor is not needed. */
	close(fd);
	h = header_of(view);
	h->kind = BIG_RING;
	h->size = size;
	h->map = map;
	h->maplen = maplen;
	h->prev = NULL;
	pthread_mutex_lock(&rings_lock);
	h->next = rings;
	if (rings != NULL)
		rings->prev = h;
	rings = h;
	pthread_mutex_unlock(&rings_lock);
	return h;
fail:
	munmap(map, maplen);
	return NULL;
}
#else
/* Without memfd_create and mremap, big storage is always heap memory. */
static struct big_header *
ring_new(size_t size)
{
	(void)size;
	return NULL;
}
#endif

static void
ring_free(struct big_header *h)
{
	if (h->kind == BIG_RING) {
		pthread_mutex_lock(&rings_lock);
		if (h->prev != NULL)
			h->prev->next = h->next;
		else
			rings = h->next;
		if (h->next != NULL)
			h->next->prev = h->prev;
		pthread_mutex_unlock(&rings_lock);
	}
	munmap(h->map, h->maplen);
}

/* ---------------------------------------------------------------- API */

int
ev__big_alloc(struct evbuffer *buf, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct big_header *h = NULL;
	u_char *p;

	if (size < EV_BIG_MIN)
		size = EV_BIG_MIN;
	if (size <= SIZE_MAX - page)
		size = (size + page - 1) & ~(page - 1);
	if (!ev__mm_is_custom())
		h = ring_new(size);
	if (h == NULL) {
		if (size > SIZE_MAX - sizeof(*h) ||
		    (p = ev__malloc(sizeof(*h) + size)) == NULL) {
			event_warn("%s: cannot allocate %zu bytes", __func__,
			    size);
			return -1;
		}
		h = (struct big_header *)(void *)p;
		h->kind = BIG_HEAP;
		h->size = size;
	}
	p = (u_char *)h + sizeof(*h);
	if (buf->off > 0)
		memcpy(p, buf->buffer, buf->off);
	ev__big_release(buf);
	buf->orig_buffer = buf->buffer = p;
	buf->misalign = 0;
	buf->totallen = size;
	return 0;
}

void
ev__big_release(struct evbuffer *buf)
{
	struct big_header *h;

	if (buf->orig_buffer == NULL)
		return;
	if (buf->totallen < EV_BIG_MIN) {
		ev__free(buf->orig_buffer);
		return;
	}
	h = header_of(buf->orig_buffer);
	if (h->kind == BIG_HEAP)
		ev__free(h);
	else
		ring_free(h);
}

size_t
ev__big_ring_size(const struct evbuffer *buf)
{
	const struct big_header *h = header_of(buf->orig_buffer);

	return h->kind == BIG_RING ? h->size : 0;
}
