/*
 * threaded-echo.c: an echo server in the design threaded libevent 1.4
 * programs use (memcached's): one dispatcher thread accepts connections
 * and hands each to a worker thread that runs its own event_base.  Every
 * byte a client sends comes back to it unchanged.
 *
 *	usage: threaded-echo PORT [WORKERS]
 *
 * PORT 0 lets the kernel pick; WORKERS defaults to the number of CPUs.
 * Once ready it prints "threaded-echo: listening on 127.0.0.1:PORT".
 * SIGINT or SIGTERM stops it cleanly: every worker's loop exits, every
 * connection is closed and everything is freed.
 *
 * The hand-off, and who owns what:
 *  - Each worker has a queue of accepted sockets under a mutex, and a
 *    notify pipe.  The dispatcher pushes a socket and writes one byte to
 *    the pipe; the pipe's read end is an event in the worker's base, so
 *    the byte wakes the worker, which pops the queue and makes each socket
 *    a bufferevent in its own base.  Only the worker ever touches its base.
 *  - The queue is bounded.  When every live worker's queue is full the
 *    dispatcher stops accepting for a moment: new clients wait in the
 *    kernel's listen backlog (back-pressure) instead of in our memory.
 *  - The dispatcher owns each pipe's write end; closing it is how a
 *    worker is told to stop.  The worker sees end-of-file, closes its
 *    connections and leaves its loop.
 *  - A worker that stops early (its loop failed) marks itself dead under
 *    the queue's lock and closes whatever was queued; the dispatcher skips
 *    dead workers, and the pipe is non-blocking, so it never waits on one.
 *
 * For the tests, two environment variables inject faults:
 * THREADED_ECHO_QUEUE=N bounds each queue at N sockets, and
 * THREADED_ECHO_FAULT=exit0 makes worker 0 stop at once, =stall0 makes
 * worker 0 stop taking sockets from its queue (a stuck worker).
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#define DEFAULT_QUEUE 256	  /* sockets waiting for one worker, at most */
#define HIGH_WATER    (64 * 1024) /* unsent bytes before we stop reading */

struct conn {
	int fd;
	struct bufferevent *bev;
	struct worker *w;
	struct conn *prev, *next;
};

struct worker {
	int id;
	pthread_t thread;
	struct event_base *base;
	int notify[2]; /* [0] read end (worker), [1] write end */
	struct event ev_notify;

	pthread_mutex_t lock; /* guards the fields up to the blank line */
	int *queue;	      /* ring of accepted sockets */
	int qhead, qlen, qcap;
	int dead; /* the worker has left its loop */

	int fault;	    /* injected by the tests: see below */
	struct conn *conns; /* the worker's own connections */
};

enum { FAULT_NONE, FAULT_EXIT, FAULT_STALL };

static struct worker *workers;
static int nworkers, next_worker;
static struct event_base *dbase; /* the dispatcher's base */
static struct event ev_accept, ev_retry;
static int paused;
static int no_workers; /* every worker stopped: exit status 1 */

/* ---- Worker side: runs in the worker's thread, on its own base ------- */

static void
conn_free(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	close(c->fd);
	free(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (bufferevent_write_buffer(bev, EVBUFFER_INPUT(bev)) == -1) {
		conn_free(c);
		return;
	}
	/* A client that does not read its echo stops being read. */
	if (EVBUFFER_LENGTH(EVBUFFER_OUTPUT(bev)) >= HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	bufferevent_enable(bev, EV_READ); /* drained: read again */
}

static void
on_error(struct bufferevent *bev, short what, void *arg)
{
	conn_free(arg);
}

static void
conn_start(struct worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL || evutil_make_socket_nonblocking(fd) == -1 ||
	    (c->bev = bufferevent_new(fd, on_read, on_write, on_error, c)) ==
		NULL) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->w = w;
	bufferevent_base_set(w->base, c->bev);
	bufferevent_enable(c->bev, EV_READ);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
}

/* The notify pipe is readable: take the queued sockets, or stop at EOF. */
static void
on_notify(int fd, short what, void *arg)
{
	struct worker *w = arg;
	char buf[64];
	ssize_t n;
	int sock;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n == 0) {
		/* The dispatcher closed the write end: we are done. */
		event_base_loopbreak(w->base);
		return;
	}
	for (;;) {
		pthread_mutex_lock(&w->lock);
		if (w->qlen == 0 || w->fault == FAULT_STALL) {
			pthread_mutex_unlock(&w->lock);
			return;
		}
		sock = w->queue[w->qhead];
		w->qhead = (w->qhead + 1) % w->qcap;
		w->qlen--;
		pthread_mutex_unlock(&w->lock);
		conn_start(w, sock);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->fault != FAULT_EXIT)
		event_base_dispatch(w->base);

	/* Mark ourselves dead first, so the dispatcher queues no more. */
	pthread_mutex_lock(&w->lock);
	w->dead = 1;
	while (w->qlen > 0) {
		close(w->queue[w->qhead]);
		w->qhead = (w->qhead + 1) % w->qcap;
		w->qlen--;
	}
	pthread_mutex_unlock(&w->lock);
	while (w->conns != NULL)
		conn_free(w->conns);
	event_del(&w->ev_notify);
	close(w->notify[0]);
	return NULL;
}

/* ---- Dispatcher side: the main thread ------------------------------- */

/* Queue fd on a live worker with room, round robin; -1 if there is none. */
static int
hand_off(int fd)
{
	int i, ok;
	struct worker *w;

	for (i = 0; i < nworkers; i++) {
		w = &workers[(next_worker + i) % nworkers];
		pthread_mutex_lock(&w->lock);
		ok = !w->dead && w->qlen < w->qcap;
		if (ok) {
			w->queue[(w->qhead + w->qlen) % w->qcap] = fd;
			w->qlen++;
		}
		pthread_mutex_unlock(&w->lock);
		if (!ok)
			continue;
		/*
		 * fd is the worker's now.  The write cannot block (a full
		 * pipe already holds a wake-up) and cannot lose fd: a worker
		 * gone since we queued it closed the queue's sockets.
		 */
		if (write(w->notify[1], "", 1) == -1 && errno != EAGAIN &&
		    errno != EPIPE)
			perror("threaded-echo: notify");
		next_worker = (next_worker + i + 1) % nworkers;
		return 0;
	}
	return -1;
}

/* Whether some live worker could take a socket now. */
static int
any_room(int *alive)
{
	int i, room = 0;

	*alive = 0;
	for (i = 0; i < nworkers; i++) {
		pthread_mutex_lock(&workers[i].lock);
		if (!workers[i].dead) {
			(*alive)++;
			if (workers[i].qlen < workers[i].qcap)
				room = 1;
		}
		pthread_mutex_unlock(&workers[i].lock);
	}
	return room;
}

static void
pause_accepting(void)
{
	struct timeval tv = { 0, 10 * 1000 };

	if (!paused)
		fprintf(stderr,
		    "threaded-echo: every worker's queue is full;"
		    " not accepting for now\n");
	paused = 1;
	event_del(&ev_accept);
	evtimer_add(&ev_retry, &tv);
}

static void
on_accept(int lfd, short what, void *arg)
{
	int fd, alive;

	/* Only we push, so room seen here is still there when we push. */
	while (any_room(&alive)) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				perror("threaded-echo: accept");
			return;
		}
		paused = 0;
		if (hand_off(fd) == -1)
			close(fd);
	}
	if (alive == 0) {
		fprintf(stderr, "threaded-echo: no worker left\n");
		no_workers = 1;
		event_base_loopbreak(dbase);
		return;
	}
	pause_accepting();
}

static void
on_retry(int fd, short what, void *arg)
{
	event_add(&ev_accept, NULL);
}

static void
on_signal(int sig, short what, void *arg)
{
	event_base_loopbreak(dbase);
}

static int
listen_on(unsigned short port, unsigned short *bound)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 128) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    evutil_make_socket_nonblocking(fd) == -1) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

static int
worker_init(struct worker *w, int id, int qcap, const char *fault)
{
	w->id = id;
	if ((w->queue = calloc((size_t)qcap, sizeof(int))) == NULL ||
	    (w->base = event_base_new()) == NULL || pipe(w->notify) == -1)
		return -1;
	w->qcap = qcap;
	pthread_mutex_init(&w->lock, NULL);
	fcntl(w->notify[0], F_SETFL, O_NONBLOCK);
	fcntl(w->notify[1], F_SETFL, O_NONBLOCK);
	event_set(&w->ev_notify, w->notify[0], EV_READ | EV_PERSIST, on_notify,
	    w);
	event_base_set(w->base, &w->ev_notify);
	event_add(&w->ev_notify, NULL);
	if (id == 0 && fault != NULL && strcmp(fault, "exit0") == 0)
		w->fault = FAULT_EXIT;
	if (id == 0 && fault != NULL && strcmp(fault, "stall0") == 0)
		w->fault = FAULT_STALL;
	return 0;
}

/* Start a thread with the signals left to the dispatcher blocked. */
static int
start_worker(struct worker *w)
{
	sigset_t set, old;
	int res;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	res = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return res == 0 ? 0 : -1;
}

static int
parse(const char *s, long lo, long hi, long *out)
{
	char *end;

	*out = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct event ev_int, ev_term;
	const char *qenv = getenv("THREADED_ECHO_QUEUE");
	unsigned short port;
	long l, nw, qcap = DEFAULT_QUEUE;
	int i, fd, status = 0;

	nw = sysconf(_SC_NPROCESSORS_ONLN);
	if (argc < 2 || argc > 3 || parse(argv[1], 0, 65535, &l) == -1 ||
	    (argc == 3 && parse(argv[2], 1, 1024, &nw) == -1) ||
	    (qenv != NULL && parse(qenv, 1, 1 << 20, &qcap) == -1)) {
		fprintf(stderr, "usage: threaded-echo PORT [WORKERS]\n");
		return 2;
	}
	port = (unsigned short)l;
	nworkers = nw < 1 ? 1 : (int)nw;
	signal(SIGPIPE, SIG_IGN);

	if ((dbase = event_base_new()) == NULL ||
	    (fd = listen_on(port, &port)) == -1 ||
	    (workers = calloc((size_t)nworkers, sizeof(*workers))) == NULL) {
		perror("threaded-echo: setup");
		return 1;
	}
	for (i = 0; i < nworkers; i++) {
		if (worker_init(&workers[i], i, (int)qcap,
			getenv("THREADED_ECHO_FAULT")) == -1 ||
		    start_worker(&workers[i]) == -1) {
			perror("threaded-echo: worker");
			return 1;
		}
	}
	event_set(&ev_accept, fd, EV_READ | EV_PERSIST, on_accept, NULL);
	event_base_set(dbase, &ev_accept);
	event_add(&ev_accept, NULL);
	evtimer_set(&ev_retry, on_retry, NULL);
	event_base_set(dbase, &ev_retry);
	signal_set(&ev_int, SIGINT, on_signal, NULL);
	event_base_set(dbase, &ev_int);
	signal_add(&ev_int, NULL);
	signal_set(&ev_term, SIGTERM, on_signal, NULL);
	event_base_set(dbase, &ev_term);
	signal_add(&ev_term, NULL);

	printf("threaded-echo: listening on 127.0.0.1:%u with %d workers\n",
	    port, nworkers);
	fflush(stdout);

	if (event_base_dispatch(dbase) == -1 || no_workers)
		status = 1;

	/* Stop: close each notify pipe, then wait for the worker to finish. */
	for (i = 0; i < nworkers; i++) {
		close(workers[i].notify[1]);
		pthread_join(workers[i].thread, NULL);
		event_base_free(workers[i].base);
		pthread_mutex_destroy(&workers[i].lock);
		free(workers[i].queue);
	}
	free(workers);
	event_del(&ev_accept);
	event_del(&ev_retry);
	signal_del(&ev_int);
	signal_del(&ev_term);
	close(fd);
	event_base_free(dbase);
	return status;
}
