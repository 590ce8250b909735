/*
 * test_threads.c: the thread contract under load.  K worker threads each
 * run their own base with timers, socketpair I/O (a persistent read event,
 * one-shot write events), a bufferevent pair and an evhttp server whose
 * client is another thread.  Meanwhile the test thread raises SIGUSR1
 * again and again (every long-lived base must see every one), a breaker
 * thread calls event_base_loopbreak() on random bases at random moments,
 * and churner threads create bases that watch SIGUSR1 too and free them
 * while everything else runs.  Every count is checked exactly at the end.
 * A second test changes the log callback while threads log.
 *
 * Threads other than the test's own never call cmocka: they record what
 * they saw and the test thread asserts.  Every thread blocks SIGALRM, the
 * harness's deadline signal.  Run under ThreadSanitizer by
 * test/tsan-check.sh.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"

#define K	  4	       /* worker threads, each with its own base */
#define NCHURN	  2	       /* threads creating and freeing bases */
#define NTIMERS	  20	       /* one-shot timers per worker */
#define NREARM	  30	       /* runs of a timer that re-adds itself */
#define NWRITES	  50	       /* one-shot write events on the socketpair */
#define CHUNK	  64	       /* bytes per write */
#define BEV_BYTES (256 * 1024) /* through the bufferevent pair */
#define NREQUESTS 20	       /* HTTP requests per worker's client */
#define NSIGNALS  20	       /* SIGUSR1 raised while all of this runs */

struct worker {
	pthread_t thread, client;
	struct event_base *base;
	int stop;   /* atomic: leave the loop */
	int errors; /* anything unexpected, in any thread */

	struct event timers[NTIMERS];
	int timers_fired;
	struct event rearm;
	int rearm_runs;

	int pair[2];
	struct event ev_read, ev_write;
	int writes, bytes_read;

	int bpair[2];
	struct bufferevent *bev_out, *bev_in;
	int bev_read;

	struct evhttp *http;
	int lfd;
	unsigned short port;
	int requests_served; /* by the server, in the worker */
	int replies_ok;	     /* by the client thread */

	struct event ev_sig;
	int signals; /* atomic: read by the test thread */
	int loops;   /* times event_base_dispatch returned */
	int done;    /* atomic: all but signals finished */
};

static struct worker workers[K];
static int all_stop; /* atomic: breaker and churners stop */
static int breaks_sent;
static int churn_rounds[NCHURN];
static int churn_errors;

static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sig_cv = PTHREAD_COND_INITIALIZER;

static void
oops(struct worker *w)
{
	__atomic_fetch_add(&w->errors, 1, __ATOMIC_RELAXED);
}

/* Threads this test starts leave SIGALRM to the test thread. */
static void
start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	assert_int_equal(pthread_create(t, NULL, fn, arg), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- What each worker's base runs ---------------------------------- */

/* Called by every callback: tell the test thread when the work is over. */
static void
check_done(struct worker *w)
{
	if (w->done || w->timers_fired < NTIMERS || w->rearm_runs < NREARM ||
	    w->bytes_read < NWRITES * CHUNK || w->bev_read < BEV_BYTES ||
	    w->requests_served < NREQUESTS)
		return;
	pthread_mutex_lock(&sig_mu);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&sig_cv);
	pthread_mutex_unlock(&sig_mu);
}

static void
timer_cb(int fd, short what, void *arg)
{
	struct worker *w = arg;

	if (what != EV_TIMEOUT)
		oops(w);
	w->timers_fired++;
	check_done(w);
}

static void
rearm_cb(int fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, 500 };

	if (++w->rearm_runs < NREARM)
		event_add(&w->rearm, &tv);
	check_done(w);
}

static void
write_cb(int fd, short what, void *arg)
{
	struct worker *w = arg;
	char buf[CHUNK];

	memset(buf, 'x', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		oops(w);
	/* One-shot: re-added for each chunk, so each write is one event. */
	if (++w->writes < NWRITES)
		event_add(&w->ev_write, NULL);
}

static void
read_cb(int fd, short what, void *arg)
{
	struct worker *w = arg;
	char buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		w->bytes_read += (int)n;
	if (n == 0 || (n == -1 && errno != EAGAIN))
		oops(w);
	check_done(w);
}

static void
bev_read_cb(struct bufferevent *bev, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *in = EVBUFFER_INPUT(bev);

	w->bev_read += (int)EVBUFFER_LENGTH(in);
	evbuffer_drain(in, EVBUFFER_LENGTH(in));
	check_done(w);
}

static void
bev_error_cb(struct bufferevent *bev, short what, void *arg)
{
	oops(arg);
}

static void
sig_cb(int sig, short what, void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&sig_mu);
	__atomic_fetch_add(&w->signals, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&sig_cv);
	pthread_mutex_unlock(&sig_mu);
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *body = evbuffer_new();

	w->requests_served++;
	evbuffer_add_printf(body, "hello %s", evhttp_request_uri(req));
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
	check_done(w);
}

static void
worker_setup(struct worker *w)
{
	static const char block[4096];
	struct timeval tv;
	int i;

	w->base = event_base_new();
	assert_non_null(w->base);
	for (i = 0; i < NTIMERS; i++) {
		evtimer_set(&w->timers[i], timer_cb, w);
		event_base_set(w->base, &w->timers[i]);
		tv.tv_sec = 0;
		tv.tv_usec = 1000 * (i % 7);
		assert_int_equal(evtimer_add(&w->timers[i], &tv), 0);
	}
	evtimer_set(&w->rearm, rearm_cb, w);
	event_base_set(w->base, &w->rearm);
	tv.tv_usec = 0;
	assert_int_equal(evtimer_add(&w->rearm, &tv), 0);

	tu_socketpair(w->pair);
	event_set(&w->ev_read, w->pair[1], EV_READ | EV_PERSIST, read_cb, w);
	event_base_set(w->base, &w->ev_read);
	assert_int_equal(event_add(&w->ev_read, NULL), 0);
	event_set(&w->ev_write, w->pair[0], EV_WRITE, write_cb, w);
	event_base_set(w->base, &w->ev_write);
	assert_int_equal(event_add(&w->ev_write, NULL), 0);

	tu_socketpair(w->bpair);
	w->bev_out = bufferevent_new(w->bpair[0], NULL, NULL, bev_error_cb, w);
	w->bev_in = bufferevent_new(w->bpair[1], bev_read_cb, NULL,
	    bev_error_cb, w);
	assert_non_null(w->bev_out);
	assert_non_null(w->bev_in);
	assert_int_equal(bufferevent_base_set(w->base, w->bev_out), 0);
	assert_int_equal(bufferevent_base_set(w->base, w->bev_in), 0);
	assert_int_equal(bufferevent_enable(w->bev_in, EV_READ), 0);
	for (i = 0; i < BEV_BYTES / (int)sizeof(block); i++)
		assert_int_equal(bufferevent_write(w->bev_out, block,
				     sizeof(block)),
		    0);

	w->http = evhttp_new(w->base);
	assert_non_null(w->http);
	w->lfd = tu_listen_loopback(&w->port);
	assert_int_equal(evhttp_accept_socket(w->http, w->lfd), 0);
	evhttp_set_gencb(w->http, http_cb, w);

	signal_set(&w->ev_sig, SIGUSR1, sig_cb, w);
	event_base_set(w->base, &w->ev_sig);
	assert_int_equal(signal_add(&w->ev_sig, NULL), 0);
}

static void
worker_teardown(struct worker *w)
{
	int i;

	for (i = 0; i < NTIMERS; i++)
		event_del(&w->timers[i]);
	event_del(&w->rearm);
	event_del(&w->ev_read);
	event_del(&w->ev_write);
	signal_del(&w->ev_sig);
	bufferevent_free(w->bev_out);
	bufferevent_free(w->bev_in);
	evhttp_free(w->http); /* closes lfd */
	close(w->pair[0]);
	close(w->pair[1]);
	close(w->bpair[0]);
	close(w->bpair[1]);
	event_base_free(w->base);
	w->base = NULL;
}

/* The base's thread: loop until told to stop; a loopbreak only restarts. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (event_base_dispatch(w->base) == -1) {
			oops(w);
			break;
		}
		w->loops++;
	}
	return NULL;
}

/* ---- The other threads --------------------------------------------- */

/* One HTTP/1.0 request per connection; the reply must be exactly ours. */
static void *
client_main(void *arg)
{
	struct worker *w = arg;
	char req[64], want[64], buf[1024];
	size_t len;
	ssize_t n;
	int i, fd;

	for (i = 0; i < NREQUESTS; i++) {
		if ((fd = tu_try_connect_loopback(w->port)) == -1) {
			oops(w);
			continue;
		}
		snprintf(req, sizeof(req), "GET /r%d HTTP/1.0\r\n\r\n", i);
		if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
			oops(w);
		len = 0;
		while (len < sizeof(buf) - 1 &&
		    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
		close(fd);
		snprintf(want, sizeof(want), "\r\n\r\nhello /r%d", i);
		if (strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) == 0 &&
		    strstr(buf, want) != NULL)
			w->replies_ok++;
	}
	return NULL;
}

static void
pause_usec(unsigned usec)
{
	struct timespec ts = { 0, (long)usec * 1000 };

	nanosleep(&ts, NULL);
}

/* Loopbreak a random worker at random moments until told to stop. */
static void *
breaker_main(void *arg)
{
	unsigned seed = 17;

	while (!__atomic_load_n(&all_stop, __ATOMIC_ACQUIRE)) {
		event_base_loopbreak(workers[rand_r(&seed) % K].base);
		breaks_sent++;
		pause_usec(rand_r(&seed) % 2000);
	}
	return NULL;
}

static void
churn_sig_cb(int sig, short what, void *arg)
{
}

static void
churn_timer_cb(int fd, short what, void *arg)
{
	(*(int *)arg)++;
}

/*
 * Bases that come and go while the others run: each watches SIGUSR1 (so
 * the shared signal table changes under the handler), runs a few timers
 * and is freed.
 */
static void *
churn_main(void *arg)
{
	int *rounds = arg;
	struct event_base *base;
	struct event ev_sig, ev_t[3];
	struct timeval tv = { 0, 200 };
	int i, fired;

	while (!__atomic_load_n(&all_stop, __ATOMIC_ACQUIRE)) {
		if ((base = event_base_new()) == NULL) {
			__atomic_fetch_add(&churn_errors, 1, __ATOMIC_RELAXED);
			break;
		}
		signal_set(&ev_sig, SIGUSR1, churn_sig_cb, NULL);
		event_base_set(base, &ev_sig);
		signal_add(&ev_sig, NULL);
		fired = 0;
		for (i = 0; i < 3; i++) {
			evtimer_set(&ev_t[i], churn_timer_cb, &fired);
			event_base_set(base, &ev_t[i]);
			evtimer_add(&ev_t[i], &tv);
		}
		while (fired < 3)
			event_base_loop(base, EVLOOP_ONCE);
		signal_del(&ev_sig);
		/* Freed with the signal still watched, on odd rounds. */
		if (*rounds % 2)
			signal_add(&ev_sig, NULL);
		event_base_free(base);
		(*rounds)++;
	}
	return NULL;
}

/* ---- The test ------------------------------------------------------ */

/* Wait (bounded) until pred(n) holds; pred reads under sig_mu. */
static int
wait_for(int (*pred)(int), int n)
{
	struct timespec until;
	int ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&sig_mu);
	while (!(ok = pred(n)) &&
	    pthread_cond_timedwait(&sig_cv, &sig_mu, &until) == 0)
		;
	pthread_mutex_unlock(&sig_mu);
	return ok;
}

static int
all_done(int unused)
{
	int i;

	for (i = 0; i < K; i++)
		if (!__atomic_load_n(&workers[i].done, __ATOMIC_ACQUIRE))
			return 0;
	return 1;
}

static int
signals_seen_by_all(int n)
{
	int i;

	for (i = 0; i < K; i++)
		if (__atomic_load_n(&workers[i].signals, __ATOMIC_RELAXED) < n)
			return 0;
	return 1;
}

static void
test_threads_stress(void **state)
{
	pthread_t breaker, churners[NCHURN];
	int i, s;

	tu_deadline(60, "K threads with HTTP clients, signals and churn");
	memset(workers, 0, sizeof(workers));
	memset(churn_rounds, 0, sizeof(churn_rounds));
	all_stop = breaks_sent = churn_errors = 0;
	for (i = 0; i < K; i++)
		worker_setup(&workers[i]);
	for (i = 0; i < K; i++) {
		start_thread(&workers[i].thread, worker_main, &workers[i]);
		start_thread(&workers[i].client, client_main, &workers[i]);
	}
	start_thread(&breaker, breaker_main, NULL);
	for (i = 0; i < NCHURN; i++)
		start_thread(&churners[i], churn_main, &churn_rounds[i]);

	/*
	 * One signal at a time: the kernel merges a signal raised while the
	 * last is still pending, so the next waits until every base saw it.
	 */
	for (s = 1; s <= NSIGNALS; s++) {
		assert_int_equal(kill(getpid(), SIGUSR1), 0);
		assert_true(wait_for(signals_seen_by_all, s));
	}

	for (i = 0; i < K; i++)
		pthread_join(workers[i].client, NULL);
	assert_true(wait_for(all_done, 0));
	__atomic_store_n(&all_stop, 1, __ATOMIC_RELEASE);
	pthread_join(breaker, NULL);
	for (i = 0; i < NCHURN; i++)
		pthread_join(churners[i], NULL);

	/*
	 * The other work of each base finishes on its own; a loopbreak from
	 * this thread is then the only way out of its loop, so a lost wake-up
	 * would hang here and fail on the deadline.
	 */
	for (i = 0; i < K; i++) {
		__atomic_store_n(&workers[i].stop, 1, __ATOMIC_RELEASE);
		assert_int_equal(event_base_loopbreak(workers[i].base), 0);
		pthread_join(workers[i].thread, NULL);
	}

	for (i = 0; i < K; i++) {
		struct worker *w = &workers[i];

		assert_int_equal(w->errors, 0);
		assert_int_equal(w->timers_fired, NTIMERS);
		assert_int_equal(w->rearm_runs, NREARM);
		assert_int_equal(w->writes, NWRITES);
		assert_int_equal(w->bytes_read, NWRITES * CHUNK);
		assert_int_equal(w->bev_read, BEV_BYTES);
		assert_int_equal(w->requests_served, NREQUESTS);
		assert_int_equal(w->replies_ok, NREQUESTS);
		assert_int_equal(w->signals, NSIGNALS);
		assert_true(w->loops >= 1);
		worker_teardown(w);
	}
	assert_int_equal(churn_errors, 0);
	for (i = 0; i < NCHURN; i++)
		assert_true(churn_rounds[i] > 0);
	assert_true(breaks_sent > 0);
}

/* ---- The log callback, changed while threads log -------------------- */

#define NLOGGERS 4
#define NLOGS	 300

static int logged_a, logged_b;

static void
log_a(int severity, const char *msg)
{
	__atomic_fetch_add(&logged_a, 1, __ATOMIC_RELAXED);
}

static void
log_b(int severity, const char *msg)
{
	__atomic_fetch_add(&logged_b, 1, __ATOMIC_RELAXED);
}

static void *
logger_main(void *arg)
{
	int i;

	/* Each call warns "no event base" through the log callback. */
	for (i = 0; i < NLOGS; i++)
		event_base_loop(NULL, 0);
	return NULL;
}

/* Every message reaches exactly one of the two callbacks, never stderr. */
static void
test_threads_log_callback(void **state)
{
	pthread_t t[NLOGGERS];
	int i;

	logged_a = logged_b = 0;
	event_set_log_callback(log_a);
	for (i = 0; i < NLOGGERS; i++)
		start_thread(&t[i], logger_main, NULL);
	for (i = 0; i < 2000; i++)
		event_set_log_callback(i % 2 ? log_a : log_b);
	for (i = 0; i < NLOGGERS; i++)
		pthread_join(t[i], NULL);
	event_set_log_callback(NULL);
	assert_int_equal(logged_a + logged_b, NLOGGERS * NLOGS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_stress),
	};
	const struct CMUnitTest once[] = {
		cmocka_unit_test(test_threads_log_callback),
	};

	return TU_RUN_PER_BACKEND("threads", tests) +
	    TU_RUN_ONCE("threads", once);
}
