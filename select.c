/*
 * select.c: the select(2) backend.
 *
 * The fd sets are our own arrays of bit words, grown as fds grow, so fds at
 * or above FD_SETSIZE work (Linux's select() takes sets of any size; the
 * FD_SET macros do not, and fortified builds abort on them).  We keep the
 * sets we want and copy them into scratch sets before each call, since
 * select() overwrites its arguments.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "event-internal.h"
#include "log.h"
#include "mm-internal.h"

typedef unsigned long word_t;
#define WORD_BITS (sizeof(word_t) * CHAR_BIT)

struct select_watch {
	struct event *evread;
	struct event *evwrite;
};

struct selectop {
	int maxfd;		    /* highest fd watched, or -1 */
	int nwords;		    /* words in each set */
	word_t *want_r, *want_w;    /* what we watch */
	word_t *got_r, *got_w;	    /* scratch for select() */
	struct select_watch *watch; /* by fd */
	int nwatch;
};

static int
bit_isset(const word_t *set, int fd)
{
	return (set[fd / WORD_BITS] >> (fd % WORD_BITS)) & 1;
}

static void
bit_set(word_t *set, int fd)
{
	set[fd / WORD_BITS] |= (word_t)1 << (fd % WORD_BITS);
}

static void
bit_clear(word_t *set, int fd)
{
	set[fd / WORD_BITS] &= ~((word_t)1 << (fd % WORD_BITS));
}

static void *
select_init(struct event_base *base)
{
	struct selectop *op = ev__calloc(1, sizeof(*op));

	if (op == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	op->maxfd = -1;
	return op;
}

/* Make every set hold at least fd + 1 bits. */
static int
select_resize(struct selectop *op, int fd)
{
	int need = fd / (int)WORD_BITS + 1, n = op->nwords, n2;

	if (need <= op->nwords)
		return 0;
	n2 = n;
	if (ev__grow_array(&op->want_r, &n2, need, sizeof(word_t)) == -1)
		return -1;
	n2 = n;
	if (ev__grow_array(&op->want_w, &n2, need, sizeof(word_t)) == -1)
		return -1;
	n2 = n;
	if (ev__grow_array(&op->got_r, &n2, need, sizeof(word_t)) == -1)
		return -1;
	n2 = n;
	if (ev__grow_array(&op->got_w, &n2, need, sizeof(word_t)) == -1)
		return -1;
	op->nwords = n2;
	return 0;
}

static int
select_add(void *arg, struct event *ev)
{
	struct selectop *op = arg;
	int fd = ev->ev_fd;

	if (select_resize(op, fd) == -1 ||
	    (fd >= op->nwatch &&
		ev__grow_array(&op->watch, &op->nwatch, fd + 1,
		    sizeof(*op->watch)) == -1))
		return -1;
	if (ev->ev_events & EV_READ) {
		bit_set(op->want_r, fd);
		op->watch[fd].evread = ev;
	}
	if (ev->ev_events & EV_WRITE) {
		bit_set(op->want_w, fd);
		op->watch[fd].evwrite = ev;
	}
	if (fd > op->maxfd)
		op->maxfd = fd;
	return 0;
}

static int
select_del(void *arg, struct event *ev)
{
	struct selectop *op = arg;
	int fd = ev->ev_fd;

	if (fd < 0 || fd >= op->nwatch)
		return 0;
	if ((ev->ev_events & EV_READ) && op->watch[fd].evread == ev) {
		bit_clear(op->want_r, fd);
		op->watch[fd].evread = NULL;
	}
	if ((ev->ev_events & EV_WRITE) && op->watch[fd].evwrite == ev) {
		bit_clear(op->want_w, fd);
		op->watch[fd].evwrite = NULL;
	}
	while (op->maxfd >= 0 && op->watch[op->maxfd].evread == NULL &&
	    op->watch[op->maxfd].evwrite == NULL)
		op->maxfd--;
	return 0;
}

static int
select_dispatch(struct event_base *base, void *arg, struct timeval *tv)
{
	struct selectop *op = arg;
	struct timeval t;
	size_t bytes = (size_t)(op->maxfd / (int)WORD_BITS + 1) *
	    sizeof(word_t);
	int fd, n;

	if (op->maxfd >= 0) {
		memcpy(op->got_r, op->want_r, bytes);
		memcpy(op->got_w, op->want_w, bytes);
	}
	/* select() may modify the timeout; and it rejects huge ones. */
	if (tv != NULL) {
		t = *tv;
		if (t.tv_sec > 100000000)
			t.tv_sec = 100000000;
	}
	n = select(op->maxfd + 1, (fd_set *)(void *)op->got_r,
	    (fd_set *)(void *)op->got_w, NULL, tv ? &t : NULL);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		event_warn("select");
		return -1;
	}
	for (fd = 0; fd <= op->maxfd && n > 0; fd++) {
		int r = bit_isset(op->got_r, fd), w = bit_isset(op->got_w, fd);

		if (!r && !w)
			continue;
		n -= r + w;
		if (r && op->watch[fd].evread != NULL)
			ev__activate(op->watch[fd].evread, EV_READ, 1);
		if (w && op->watch[fd].evwrite != NULL)
			ev__activate(op->watch[fd].evwrite, EV_WRITE, 1);
	}
	return 0;
}

static void
select_dealloc(struct event_base *base, void *arg)
{
	struct selectop *op = arg;

	ev__free(op->want_r);
	ev__free(op->want_w);
	ev__free(op->got_r);
	ev__free(op->got_w);
	ev__free(op->watch);
	ev__free(op);
}

/* eventop.foreach: each watched event once (one may read and write). */
static void
select_foreach(void *arg, void (*fn)(struct event *, void *), void *fnarg)
{
	struct selectop *op = arg;

	ev__foreach_rw(op->watch, op->nwatch, sizeof(*op->watch),
	    offsetof(struct select_watch, evread),
	    offsetof(struct select_watch, evwrite), fn, fnarg);
}

const struct eventop ev__selectops = { "select", select_init, select_add,
	select_del, select_dispatch, select_dealloc, 0, /* need_reinit */
	NULL, NULL, /* signals go through signal.c */
	select_foreach };
