/*
 * evrpc-internal.h: the private state of an RPC server (struct
 * evrpc_base) and of a client pool (struct evrpc_pool).
 *
 * Both start with the same hook lists, so evrpc_add_hook() and
 * evrpc_remove_hook() take either one as a void *, as in 1.4.
 */
#ifndef EVRPC_INTERNAL_H
#define EVRPC_INTERNAL_H

#include <sys/queue.h>

#include "event.h"
#include "evhttp.h"
#include "evrpc.h"

/* One hook: a function run over the marshalled bytes. */
struct ev__rpc_hook {
	TAILQ_ENTRY(ev__rpc_hook) next;
	int (*process)(struct evhttp_request *, struct evbuffer *, void *);
	void *process_arg;
};

TAILQ_HEAD(ev__rpc_hook_list, ev__rpc_hook);

/* Must come first in struct evrpc_base and struct evrpc_pool. */
struct ev__rpc_hooks {
	struct ev__rpc_hook_list input_hooks;
	struct ev__rpc_hook_list output_hooks;
};

/*
 * A server-side request.  The user sees only the struct
 * evrpc_req_generic at its front (and casts it to EVRPC_STRUCT(NAME)).
 */
struct ev__rpc_reqstate {
	struct evrpc_req_generic g;
	TAILQ_ENTRY(ev__rpc_reqstate) next;
	struct evrpc_base *base; /* NULL once evrpc_free() ran */
};

TAILQ_HEAD(evrpc_list, evrpc);

struct evrpc_base {
	struct ev__rpc_hooks common;

	struct evhttp *http_server;

	/* the RPCs answered */
	struct evrpc_list registered_rpcs;

	/* requests whose callbacks have not called done yet */
	TAILQ_HEAD(, ev__rpc_reqstate) pending;

	/*
	 * Unregistered RPCs that pending requests still use; freed with
	 * the last of them.
	 */
	struct evrpc_list retired_rpcs;
};

/* A connection of a pool, and the request it carries (NULL: idle). */
struct ev__rpc_conn {
	TAILQ_ENTRY(ev__rpc_conn) next;
	struct evhttp_connection *evcon;
	struct evrpc_request_wrapper *ctx;
};

struct evrpc_pool {
	struct ev__rpc_hooks common;

	struct event_base *base;

	TAILQ_HEAD(, ev__rpc_conn) connections;

	/* requests waiting for a free connection, oldest first */
	TAILQ_HEAD(, evrpc_request_wrapper) requests;

	int timeout; /* seconds; -1: none */

	int busy;  /* entry points that may run callbacks */
	int freed; /* evrpc_pool_free() ran from one of them */
};

/* Run the hooks of list over buf; -1 if one of them refused. */
int ev__rpc_process_hooks(struct ev__rpc_hook_list *list,
    struct evhttp_request *req, struct evbuffer *buf);

/* Free the hooks of both lists. */
void ev__rpc_hooks_free(struct ev__rpc_hooks *hooks);

/* Free what the user's program allocated with the C library's malloc. */
void ev__rpc_user_free(void *p);

/*
 * Marshal obj into out (empty), checking that nothing was left out for
 * want of memory; -1 (with a log line) if something was.
 */
int ev__rpc_marshal(struct evbuffer *out,
    void (*marshal)(struct evbuffer *, void *), void *obj);

/* "/.rpc." followed by name, malloc'ed; NULL on failure. */
char *ev__rpc_uri(const char *name);

#endif /* EVRPC_INTERNAL_H */
