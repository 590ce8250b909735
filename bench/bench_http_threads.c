/*
 * bench_http_threads.c: bench_http's hello-world evhttp server on N
 * threads, each running its own event_base and struct evhttp on a dup()
 * of one shared listening socket (the design of sample/threaded-http.c),
 * for measuring how the one-base-per-thread design scales.
 *
 *	bench_http_threads [-n threads] [-t max_seconds]
 *
 * It prints "port=N" once listening.  SIGTERM or SIGINT (handled by the
 * main thread's own base, the only base with signal events, as libevent
 * 2.1 allows signals on one base at a time) makes the main thread write a
 * byte to each server's notify pipe, whose callback ends that server's
 * loop; it then prints "requests=N threads=T".  Written against the 1.4
 * API, so the same source builds against our library and against
 * libevent 2.1, which needs no thread setup for bases that are never
 * shared (but whose event_base_loopbreak() cannot wake another thread's
 * loop without it, hence the pipe).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "bench_util.h"

#define USAGE	    "usage: bench_http_threads [-n threads] [-t max_seconds]"
#define MAX_THREADS 64

struct server {
	pthread_t thread;
	struct event_base *base;
	struct evhttp *http;
	int notify[2];
	struct event ev_notify;
	long requests; /* read by main only after the join */
};

static struct event_base *main_base;

static void
hello_cb(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	struct evbuffer *body = evbuffer_new();

	if (body == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "Out of memory");
		return;
	}
	evbuffer_add(body, "Hello, world!\n", 14);
	evhttp_add_header(req->output_headers, "Content-Type", "text/plain");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
	s->requests++;
}

static void
stop_cb(int fd, short which, void *arg)
{
	(void)fd;
	(void)which;
	(void)arg;
	event_base_loopbreak(main_base);
}

static void
notify_cb(int fd, short which, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)which;
	event_base_loopbreak(s->base);
}

static void *
serve(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static int
listen_loopback(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	printf("port=%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

int
main(int argc, char **argv)
{
	struct server servers[MAX_THREADS];
	struct event sigterm, sigint, deadline;
	struct timeval tv = { 600, 0 };
	sigset_t set, old;
	long total = 0;
	int c, i, fd, n = 1;

	while ((c = getopt(argc, argv, "n:t:")) != -1) {
		switch (c) {
		case 'n': n = (int)bu_arg(optarg, USAGE); break;
		case 't': tv.tv_sec = bu_arg(optarg, USAGE); break;
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "%s\n", USAGE);
		return 2;
	}
	bu_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if ((main_base = event_base_new()) == NULL ||
	    (fd = listen_loopback()) == -1) {
		perror("setup");
		return 1;
	}
	/* Server threads leave SIGTERM and SIGINT to the main thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	memset(servers, 0, sizeof(servers));
	for (i = 0; i < n; i++) {
		struct server *s = &servers[i];

		if ((s->base = event_base_new()) == NULL ||
		    (s->http = evhttp_new(s->base)) == NULL ||
		    evhttp_accept_socket(s->http, dup(fd)) == -1) {
			perror("server");
			return 1;
		}
		evhttp_set_gencb(s->http, hello_cb, s);
		if (pipe(s->notify) == -1) {
			perror("pipe");
			return 1;
		}
		event_set(&s->ev_notify, s->notify[0], EV_READ, notify_cb, s);
		event_base_set(s->base, &s->ev_notify);
		event_add(&s->ev_notify, NULL);
		if (pthread_create(&s->thread, NULL, serve, s) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fd);

	signal_set(&sigterm, SIGTERM, stop_cb, NULL);
	event_base_set(main_base, &sigterm);
	signal_add(&sigterm, NULL);
	signal_set(&sigint, SIGINT, stop_cb, NULL);
	event_base_set(main_base, &sigint);
	signal_add(&sigint, NULL);
	evtimer_set(&deadline, stop_cb, NULL);
	event_base_set(main_base, &deadline);
	evtimer_add(&deadline, &tv);
	event_base_dispatch(main_base);

	for (i = 0; i < n; i++) {
		if (write(servers[i].notify[1], "", 1) != 1)
			perror("notify");
		pthread_join(servers[i].thread, NULL);
		close(servers[i].notify[0]);
		close(servers[i].notify[1]);
		total += servers[i].requests;
		evhttp_free(servers[i].http);
		event_base_free(servers[i].base);
	}
	printf("requests=%ld threads=%d\n", total, n);
	fflush(stdout);
	event_del(&deadline);
	signal_del(&sigterm);
	signal_del(&sigint);
	event_base_free(main_base);
	return 0;
}
