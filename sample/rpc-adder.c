/*
 * rpc-adder.c: an RPC server and a client in one program.
 *
 * The server answers the RPC "Add" (POST /.rpc.Add) on 127.0.0.1; the
 * client sends it the numbers given on the command line through an
 * evrpc_pool and prints the sum.  The messages are declared in
 * rpc-adder.rpc, from which event_rpcgen.py makes rpc-adder.gen.[ch].
 *
 *   rpc-adder 1 2 3        prints "sum 6: hello, rpc-adder"
 *
 * Build by hand:
 *   event_rpcgen.py rpc-adder.rpc
 *   cc rpc-adder.c rpc-adder.gen.c -levent
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>
#include <evrpc.h>

#include "rpc-adder.gen.h"

/* A listening socket on 127.0.0.1, on a port the kernel picks. */
static int
listen_loopback(u_short *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	evutil_make_socket_nonblocking(fd);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The server and client stubs of the RPC "Add". */
EVRPC_HEADER(Add, add_request, add_reply)
EVRPC_GENERATE(Add, add_request, add_reply)

/* The server: add the terms, greet whoever asked. */
static void
add_cb(EVRPC_STRUCT(Add) * rpc, void *arg)
{
	struct add_request *req = rpc->request;
	struct add_reply *reply = rpc->reply;
	ev_uint32_t sum = 0, term;
	char message[128], stranger[] = "stranger", *who = stranger;
	int i;

	(void)arg;
	for (i = 0; i < EVTAG_LEN(req, terms); i++) {
		EVTAG_GET(req, terms, i, &term);
		sum += term;
	}
	if (EVTAG_HAS(req, who))
		EVTAG_GET(req, who, &who);
	snprintf(message, sizeof(message), "hello, %s", who);
	EVTAG_ASSIGN(reply, sum, sum);
	EVTAG_ASSIGN(reply, message, message);
	EVRPC_REQUEST_DONE(rpc);
}

/* The client: print the reply, then stop the loop. */
static void
reply_cb(struct evrpc_status *status, struct add_request *req,
    struct add_reply *reply, void *arg)
{
	int *failed = (int *)arg;
	ev_uint32_t sum;
	char *message;

	(void)req;
	if (status->error != EVRPC_STATUS_ERR_NONE) {
		fprintf(stderr, "rpc failed: error %d\n", status->error);
		*failed = 1;
	} else {
		EVTAG_GET(reply, sum, &sum);
		EVTAG_GET(reply, message, &message);
		printf("sum %u: %s\n", (unsigned)sum, message);
	}
	event_loopexit(NULL);
}

int
main(int argc, char **argv)
{
	struct evhttp *http;
	struct evrpc_base *rpc_base;
	struct evrpc_pool *pool;
	struct evhttp_connection *evcon;
	struct add_request *req;
	struct add_reply *reply;
	u_short port;
	int fd, i, failed = 0;

	event_init();

	/* The server, on a port the kernel picks. */
	http = evhttp_new(NULL);
	if ((fd = listen_loopback(&port)) == -1 ||
	    evhttp_accept_socket(http, fd) == -1) {
		perror("listen");
		return 1;
	}
	rpc_base = evrpc_init(http);
	EVRPC_REGISTER(rpc_base, Add, add_request, add_reply, add_cb, NULL);

	/* The client: a pool with one connection to the server. */
	pool = evrpc_pool_new(NULL);
	evcon = evhttp_connection_new("127.0.0.1", port);
	evrpc_pool_add_connection(pool, evcon);
	evrpc_pool_set_timeout(pool, 10);

	req = add_request_new();
	reply = add_reply_new();
	for (i = 1; i < argc; i++)
		*EVTAG_ADD(req, terms) = (ev_uint32_t)strtoul(argv[i], NULL, 0);
	EVTAG_ASSIGN(req, who, "rpc-adder");
	EVRPC_MAKE_REQUEST(Add, pool, req, reply, reply_cb, &failed);

	event_dispatch();

	add_request_free(req);
	add_reply_free(reply);
	evrpc_pool_free(pool);
	EVRPC_UNREGISTER(rpc_base, Add);
	evrpc_free(rpc_base);
	evhttp_free(http);
	return failed;
}
