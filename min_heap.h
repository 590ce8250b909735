/*
 * min_heap.h: the timer heap.
 *
 * An array-backed binary heap of (expiry, sequence, event) entries.  The
 * expiry is copied into the entry so a sift compares array neighbours
 * without touching the events themselves; the sequence number breaks ties
 * so that timers with equal expiry fire in the order they were added.
 * Each event remembers its slot in ev->min_heap_idx (-1 when not in the
 * heap), which makes deletion O(log n).
 *
 * Sifts move a hole rather than swapping: the entry being placed is held
 * aside while parents (or children) slide into the hole, then written once.
 */
#ifndef MIN_HEAP_H
#define MIN_HEAP_H

#include <stdint.h>
#include <stdlib.h>

#include "event.h"
#include "mm-internal.h"

struct min_heap_entry {
	int64_t when; /* expiry, microseconds on the base's clock */
	uint64_t seq; /* insertion order, for equal expiries */
	struct event *ev;
};

struct min_heap {
	struct min_heap_entry *p;
	unsigned n, a; /* entries used, entries allocated */
	uint64_t next_seq;
};

#define MIN_HEAP_NONE ((unsigned)-1)

static inline int
min_heap_greater(const struct min_heap_entry *a, const struct min_heap_entry *b)
{
	return a->when > b->when || (a->when == b->when && a->seq > b->seq);
}

static inline void
min_heap_ctor(struct min_heap *s)
{
	s->p = NULL;
	s->n = s->a = 0;
	s->next_seq = 0;
}

static inline void
min_heap_dtor(struct min_heap *s)
{
	ev__free(s->p);
	min_heap_ctor(s);
}

static inline void
min_heap_elem_init(struct event *e)
{
	e->min_heap_idx = MIN_HEAP_NONE;
}

static inline int
min_heap_empty(const struct min_heap *s)
{
	return s->n == 0;
}

static inline unsigned
min_heap_size(const struct min_heap *s)
{
	return s->n;
}

static inline struct min_heap_entry *
min_heap_top(struct min_heap *s)
{
	return s->n ? &s->p[0] : NULL;
}

static inline void
min_heap_place(struct min_heap *s, unsigned idx, struct min_heap_entry e)
{
	s->p[idx] = e;
	e.ev->min_heap_idx = idx;
}

static inline void
min_heap_shift_up(struct min_heap *s, unsigned hole, struct min_heap_entry e)
{
	while (hole) {
		unsigned parent = (hole - 1) / 2;
		if (!min_heap_greater(&s->p[parent], &e))
			break;
		min_heap_place(s, hole, s->p[parent]);
		hole = parent;
	}
	min_heap_place(s, hole, e);
}

static inline void
min_heap_shift_down(struct min_heap *s, unsigned hole, struct min_heap_entry e)
{
	for (;;) {
		unsigned child = 2 * hole + 2;
		if (child > s->n)
			break;
		/* Pick the smaller child; the right one may not exist. */
		if (child == s->n ||
		    min_heap_greater(&s->p[child], &s->p[child - 1]))
			child--;
		if (!min_heap_greater(&e, &s->p[child]))
			break;
		min_heap_place(s, hole, s->p[child]);
		hole = child;
	}
	min_heap_place(s, hole, e);
}

static inline int
min_heap_reserve(struct min_heap *s, unsigned n)
{
	if (s->a < n) {
		unsigned a = s->a ? s->a * 2 : 8;
		struct min_heap_entry *p;
		if (a < n)
			a = n;
		if (a > UINT32_MAX / 2 / sizeof(*p))
			return -1;
		p = ev__realloc(s->p, a * sizeof(*p));
		if (p == NULL)
			return -1;
		s->p = p;
		s->a = a;
	}
	return 0;
}

/* Insert ev expiring at when.  Returns 0, or -1 if memory runs out. */
static inline int
min_heap_push(struct min_heap *s, struct event *ev, int64_t when)
{
	struct min_heap_entry e;
	if (s->n == (unsigned)-2 || min_heap_reserve(s, s->n + 1) == -1)
		return -1;
	e.when = when;
	e.seq = s->next_seq++;
	e.ev = ev;
	min_heap_shift_up(s, s->n++, e);
	return 0;
}

/* Remove ev from wherever it sits.  Returns 0, or -1 if it is not here. */
static inline int
min_heap_erase(struct min_heap *s, struct event *ev)
{
	unsigned idx = ev->min_heap_idx;
	struct min_heap_entry last;
	if (idx == MIN_HEAP_NONE || idx >= s->n || s->p[idx].ev != ev)
		return -1;
	ev->min_heap_idx = MIN_HEAP_NONE;
	last = s->p[--s->n];
	if (idx == s->n)
		return 0;
	/* The last entry fills the hole and moves whichever way it must. */
	if (idx > 0 && min_heap_greater(&s->p[(idx - 1) / 2], &last))
		min_heap_shift_up(s, idx, last);
	else
		min_heap_shift_down(s, idx, last);
	return 0;
}

/* Remove and return the earliest event, or NULL when empty. */
static inline struct event *
min_heap_pop(struct min_heap *s)
{
	struct event *ev;
	if (s->n == 0)
		return NULL;
	ev = s->p[0].ev;
	min_heap_erase(s, ev);
	return ev;
}

#endif /* MIN_HEAP_H */
