/*
 * echo-server.c: the classic libevent 1.4 tutorial server, on bufferevents.
 * It answers every line a client sends with "You said <line>".
 *
 *	usage: echo-server [port]	(default 8080; 0 lets the kernel pick)
 *
 * It listens on 127.0.0.1 and, once ready, prints
 * "echo-server: listening on 127.0.0.1:PORT" on standard output, so a
 * script can start it on port 0 and learn which port it got.  SIGINT or
 * SIGTERM stops it cleanly.
 *
 * Things worth copying: a read high watermark bounds what a client can
 * make us buffer; a client that closes its side still gets every reply
 * before we close; nothing here blocks.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

/* The longest line we accept; a longer one ends the connection. */
#define MAX_LINE (64 * 1024)

struct client {
	int fd;
	struct bufferevent *bev;
	struct client *prev, *next; /* all clients, to free them at exit */
};

static struct client *clients;

static void
client_free(struct client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	close(c->fd);
	free(c);
}

/* Called once the output has drained after the client closed its side. */
static void
on_flushed(struct bufferevent *bev, void *arg)
{
	client_free(arg);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	size_t len;
	char *line;

	while ((line = evbuffer_readln(EVBUFFER_INPUT(bev), &len,
		    EVBUFFER_EOL_CRLF)) != NULL) {
		bufferevent_write(bev, "You said ", 9);
		bufferevent_write(bev, line, len);
		bufferevent_write(bev, "\n", 1);
		free(line);
	}
	/* A full input with no line end in it: the line is too long. */
	if (EVBUFFER_LENGTH(EVBUFFER_INPUT(bev)) >= MAX_LINE) {
		fprintf(stderr, "echo-server: line too long, closing\n");
		client_free(c);
	}
}

static void
on_error(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if ((what & EVBUFFER_EOF) && (what & EVBUFFER_READ) &&
	    EVBUFFER_LENGTH(EVBUFFER_OUTPUT(bev)) > 0) {
		/* The client is done sending; finish answering first. */
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(bev, NULL, on_flushed, on_error, c);
		return;
	}
	if (what & EVBUFFER_ERROR)
		fprintf(stderr, "echo-server: client error: %s\n",
		    strerror(errno));
	client_free(c);
}

static void
on_accept(int lfd, short what, void *arg)
{
	struct client *c;
	int fd;

	fd = accept(lfd, NULL, NULL);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			perror("echo-server: accept");
		return;
	}
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->bev = bufferevent_new(fd, on_read, NULL, on_error, c);
	if (c->bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_READ, 0, MAX_LINE);
	bufferevent_enable(c->bev, EV_READ);
	c->next = clients;
	if (clients != NULL)
		clients->prev = c;
	clients = c;
}

static void
on_signal(int sig, short what, void *arg)
{
	event_loopexit(NULL);
}

/* A non-blocking listening socket on 127.0.0.1:port; -1 on failure. */
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

int
main(int argc, char **argv)
{
	struct event ev_accept, ev_int, ev_term;
	struct event_base *base;
	unsigned short port = 8080;
	char *end;
	long l;
	int fd;

	if (argc > 2) {
		fprintf(stderr, "usage: echo-server [port]\n");
		return 2;
	}
	if (argc == 2) {
		l = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || l < 0 || l > 65535) {
			fprintf(stderr, "echo-server: bad port: %s\n", argv[1]);
			return 2;
		}
		port = (unsigned short)l;
	}
	/* Writing to a client that went away must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	base = event_init();
	if ((fd = listen_on(port, &port)) == -1) {
		perror("echo-server: listen");
		return 1;
	}
	event_set(&ev_accept, fd, EV_READ | EV_PERSIST, on_accept, NULL);
	event_add(&ev_accept, NULL);
	signal_set(&ev_int, SIGINT, on_signal, NULL);
	signal_add(&ev_int, NULL);
	signal_set(&ev_term, SIGTERM, on_signal, NULL);
	signal_add(&ev_term, NULL);

	printf("echo-server: listening on 127.0.0.1:%u\n", port);
	fflush(stdout);

	event_dispatch();

	while (clients != NULL)
		client_free(clients);
	event_del(&ev_accept);
	signal_del(&ev_int);
	signal_del(&ev_term);
	close(fd);
	event_base_free(base);
	return 0;
}
