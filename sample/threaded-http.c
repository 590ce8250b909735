/*
 * threaded-http.c: a hello-world HTTP server on several threads, each
 * running its own event_base and its own struct evhttp, all serving one
 * listening socket.
 *
 *	usage: threaded-http PORT [THREADS]
 *
 * PORT 0 lets the kernel pick; THREADS defaults to the number of CPUs.
 * Once ready it prints "threaded-http: listening on 127.0.0.1:PORT".
 * SIGINT or SIGTERM stops it cleanly: the main thread, which does nothing
 * but wait for those signals, calls event_base_loopbreak() on every
 * server's base (the one call the thread contract allows from any
 * thread), joins the threads and frees everything.
 *
 * Why one shared socket handed to every evhttp with evhttp_accept_socket()
 * rather than one SO_REUSEPORT socket per thread:
 *  - it is the libevent 1.4 API as it stands and works on every system;
 *    SO_REUSEPORT balances connections only on Linux (3.9 and later), and
 *    elsewhere means something else or nothing;
 *  - a connection waits in one backlog that every thread drains, so a
 *    busy or stopped thread never strands connections the kernel has
 *    already hashed to its own socket (with SO_REUSEPORT they wait for
 *    that one thread, or are reset when its socket closes);
 *  - no other program can bind the same port beside us, which
 *    SO_REUSEPORT allows to any process of the same user.
 * The price is that every idle thread wakes for each new connection and
 * all but one find accept() empty (EAGAIN); with keep-alive clients
 * connections are rare next to requests, so this costs little.  Each
 * evhttp gets its own dup() of the socket because evhttp_free() closes
 * the sockets it accepts on.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

struct server {
	pthread_t thread;
	struct event_base *base;
	struct evhttp *http;
};

static struct event_base *main_base;

static void
hello(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "Out of memory");
		return;
	}
	evhttp_add_header(req->output_headers, "Content-Type", "text/plain");
	evbuffer_add(buf, "Hello, world!\n", 14);
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

static void *
server_main(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static void
on_signal(int sig, short what, void *arg)
{
	event_base_loopbreak(main_base);
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
	    listen(fd, 1024) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    evutil_make_socket_nonblocking(fd) == -1) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

/* A base and an evhttp serving a dup() of lfd, then its thread. */
static int
server_start(struct server *s, int lfd)
{
	sigset_t set, old;
	int fd, res;

	if ((s->base = event_base_new()) == NULL ||
	    (s->http = evhttp_new(s->base)) == NULL)
		return -1;
	if ((fd = dup(lfd)) == -1)
		return -1;
	if (evhttp_accept_socket(s->http, fd) == -1) {
		close(fd);
		return -1;
	}
	evhttp_set_gencb(s->http, hello, NULL);
	/* SIGINT and SIGTERM are the main thread's to handle. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	res = pthread_create(&s->thread, NULL, server_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return res == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct event ev_int, ev_term;
	struct server *servers;
	unsigned short port;
	long l, n;
	char *end;
	int i, fd;

	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (argc == 3) {
		n = strtol(argv[2], &end, 10);
		if (*argv[2] == '\0' || *end != '\0' || n < 1 || n > 1024)
			argc = 0;
	}
	if (argc == 2 || argc == 3) {
		l = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || l < 0 || l > 65535)
			argc = 0;
	}
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: threaded-http PORT [THREADS]\n");
		return 2;
	}
	port = (unsigned short)l;
	if (n < 1)
		n = 1;
	signal(SIGPIPE, SIG_IGN);

	if ((main_base = event_base_new()) == NULL ||
	    (fd = listen_on(port, &port)) == -1 ||
	    (servers = calloc((size_t)n, sizeof(*servers))) == NULL) {
		perror("threaded-http: setup");
		return 1;
	}
	signal_set(&ev_int, SIGINT, on_signal, NULL);
	event_base_set(main_base, &ev_int);
	signal_add(&ev_int, NULL);
	signal_set(&ev_term, SIGTERM, on_signal, NULL);
	event_base_set(main_base, &ev_term);
	signal_add(&ev_term, NULL);
	for (i = 0; i < n; i++) {
		if (server_start(&servers[i], fd) == -1) {
			perror("threaded-http: server thread");
			return 1;
		}
	}
	close(fd); /* each evhttp holds its own dup() */

	printf("threaded-http: listening on 127.0.0.1:%u with %ld threads\n",
	    port, n);
	fflush(stdout);

	event_base_dispatch(main_base);

	for (i = 0; i < n; i++) {
		event_base_loopbreak(servers[i].base);
		pthread_join(servers[i].thread, NULL);
		evhttp_free(servers[i].http);
		event_base_free(servers[i].base);
	}
	free(servers);
	signal_del(&ev_int);
	signal_del(&ev_term);
	event_base_free(main_base);
	return 0;
}
