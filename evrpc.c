/*
 * evrpc.c: the server side of evrpc, and the hooks both sides share.
 *
 * Each registered RPC is an evhttp callback on "/.rpc.NAME".  A POST to
 * it runs the server's input hooks over the body, unmarshals the request
 * and hands a struct evrpc_req_generic to the RPC's callback, which fills
 * in the reply and calls done (EVRPC_REQUEST_DONE()), now or later.  done
 * checks the reply is complete, marshals it, runs the output hooks and
 * sends it.  Anything that goes wrong is answered with 503, as in 1.4.
 *
 * Unlike 1.4, a request a callback still holds stays valid when its RPC is
 * unregistered or the whole server is freed: the RPC (and the server's
 * struct) live on until the last such request is done.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "evhttp.h"
#include "evrpc.h"
#include "evrpc-internal.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

#define RPC_URI_PREFIX "/.rpc."

char *
ev__rpc_uri(const char *name)
{
	size_t len = strlen(name);
	char *uri;

	if ((uri = ev__malloc(sizeof(RPC_URI_PREFIX) + len)) == NULL) {
		event_warn("%s: malloc", __func__);
		return NULL;
	}
	memcpy(uri, RPC_URI_PREFIX, sizeof(RPC_URI_PREFIX) - 1);
	memcpy(uri + sizeof(RPC_URI_PREFIX) - 1, name, len + 1);
	return uri;
}

/*
 * What 1.4's macros allocate in the user's program (EVRPC_REGISTER()'s
 * struct evrpc and name, EVRPC_GENERATE()'s request wrapper and name)
 * comes from the C library's malloc, so it goes back to the C library,
 * not to the functions of event_set_mem_functions().
 */
void
ev__rpc_user_free(void *p)
{
	free(p); /* alloc-seam: user memory */
}

/*
 * Marshal obj into out, which is empty.  The generated marshal functions
 * return nothing, and one whose buffer could not grow leaves a field (or
 * an element of an array) out and goes on: the bytes would still
 * unmarshal, into the wrong message.  So the message is marshalled a
 * second time and the two must agree; -1 (with out empty) if they do not.
 */
int
ev__rpc_marshal(struct evbuffer *out,
    void (*marshal)(struct evbuffer *, void *), void *obj)
{
	struct evbuffer *check;
	size_t len;
	int ok;

	if ((check = evbuffer_new()) == NULL) {
		event_warn("%s: evbuffer_new", __func__);
		return -1;
	}
	marshal(out, obj);
	marshal(check, obj);
	len = EVBUFFER_LENGTH(check);
	ok = EVBUFFER_LENGTH(out) == len &&
	    (len == 0 ||
		memcmp(EVBUFFER_DATA(out), EVBUFFER_DATA(check), len) == 0);
	evbuffer_free(check);
	if (ok)
		return 0;
	event_warnx("%s: out of memory while marshalling", __func__);
	evbuffer_drain(out, EVBUFFER_LENGTH(out));
	return -1;
}

/* Hooks */

static struct ev__rpc_hook_list *
hook_list(void *vbase, enum EVRPC_HOOK_TYPE hook_type)
{
	struct ev__rpc_hooks *hooks = vbase;

	switch (hook_type) {
	case EVRPC_INPUT: return &hooks->input_hooks;
	case EVRPC_OUTPUT: return &hooks->output_hooks;
	}
	event_warnx("%s: bad hook type %d", __func__, (int)hook_type);
	return NULL;
}

void *
evrpc_add_hook(void *vbase, enum EVRPC_HOOK_TYPE hook_type,
    int (*cb)(struct evhttp_request *, struct evbuffer *, void *), void *cb_arg)
{
	struct ev__rpc_hook_list *list;
	struct ev__rpc_hook *hook;

	if (vbase == NULL || cb == NULL) {
		event_warnx("%s: bad arguments", __func__);
		return NULL;
	}
	if ((list = hook_list(vbase, hook_type)) == NULL)
		return NULL;
	if ((hook = ev__calloc(1, sizeof(*hook))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	hook->process = cb;
	hook->process_arg = cb_arg;
	TAILQ_INSERT_TAIL(list, hook, next);
	return hook;
}

int
evrpc_remove_hook(void *vbase, enum EVRPC_HOOK_TYPE hook_type, void *handle)
{
	struct ev__rpc_hook_list *list;
	struct ev__rpc_hook *hook;

	if (vbase == NULL || (list = hook_list(vbase, hook_type)) == NULL)
		return 0;
	TAILQ_FOREACH(hook, list, next) {
		if (hook == handle) {
			TAILQ_REMOVE(list, hook, next);
			ev__free(hook);
			return 1;
		}
	}
	return 0;
}

int
ev__rpc_process_hooks(struct ev__rpc_hook_list *list,
    struct evhttp_request *req, struct evbuffer *buf)
{
	struct ev__rpc_hook *hook;

	TAILQ_FOREACH(hook, list, next) {
		if (hook->process(req, buf, hook->process_arg) == -1)
			return -1;
	}
	return 0;
}

void
ev__rpc_hooks_free(struct ev__rpc_hooks *hooks)
{
	struct ev__rpc_hook *hook;

	while ((hook = TAILQ_FIRST(&hooks->input_hooks)) != NULL) {
		TAILQ_REMOVE(&hooks->input_hooks, hook, next);
		ev__free(hook);
	}
	while ((hook = TAILQ_FIRST(&hooks->output_hooks)) != NULL) {
		TAILQ_REMOVE(&hooks->output_hooks, hook, next);
		ev__free(hook);
	}
}

/* The server */

struct evrpc_base *
evrpc_init(struct evhttp *http_server)
{
	struct evrpc_base *base;

	if (http_server == NULL) {
		event_warnx("%s: no HTTP server", __func__);
		return NULL;
	}
	if ((base = ev__calloc(1, sizeof(*base))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	base->http_server = http_server;
	TAILQ_INIT(&base->common.input_hooks);
	TAILQ_INIT(&base->common.output_hooks);
	TAILQ_INIT(&base->registered_rpcs);
	TAILQ_INIT(&base->retired_rpcs);
	TAILQ_INIT(&base->pending);
	return base;
}

/* Free an RPC and the name EVRPC_REGISTER_OBJECT() strdup'ed. */
static void
rpc_free(struct evrpc *rpc)
{
	ev__rpc_user_free((char *)(uintptr_t)rpc->uri);
	ev__rpc_user_free(rpc);
}

/* Whether a request a callback holds still uses rpc. */
static int
rpc_in_use(struct evrpc_base *base, const struct evrpc *rpc)
{
	struct ev__rpc_reqstate *st;

	TAILQ_FOREACH(st, &base->pending, next) {
		if (st->g.rpc == rpc)
			return 1;
	}
	return 0;
}

void
evrpc_free(struct evrpc_base *base)
{
	struct evrpc *rpc;

	if (base == NULL)
		return;
	while ((rpc = TAILQ_FIRST(&base->registered_rpcs)) != NULL)
		(void)evrpc_unregister_rpc(base, rpc->uri);
	ev__rpc_hooks_free(&base->common);
	base->http_server = NULL;
	/*
	 * A retired RPC lives only as long as a pending request uses it
	 * (reqstate_free()), so with none pending there is none.  Else the
	 * last pending request frees base.
	 */
	if (TAILQ_EMPTY(&base->pending))
		ev__free(base);
}

static struct evrpc *
rpc_find(struct evrpc_base *base, const char *name)
{
	struct evrpc *rpc;

	TAILQ_FOREACH(rpc, &base->registered_rpcs, next) {
		if (strcmp(rpc->uri, name) == 0)
			return rpc;
	}
	return NULL;
}

static void request_cb(struct evhttp_request *req, void *arg);

/*
 * The HTTP server's callback for rpc.  It is found by what it calls, not
 * by its URI, which a plain evhttp callback may use as well.
 */
static struct evhttp_cb *
rpc_http_cb(struct evhttp *http, const struct evrpc *rpc)
{
	struct evhttp_cb *hcb;

	TAILQ_FOREACH(hcb, &http->callbacks, next) {
		if (hcb->cb == request_cb && hcb->cbarg == rpc)
			return hcb;
	}
	return NULL;
}

/*
 * The server owns rpc from the call on, also when registering fails:
 * EVRPC_REGISTER() ignores the result, so nobody else could free it.
 */
int
evrpc_register_rpc(struct evrpc_base *base, struct evrpc *rpc,
    void (*cb)(struct evrpc_req_generic *, void *), void *cb_arg)
{
	char *uri;

	if (base == NULL || rpc == NULL || rpc->uri == NULL || cb == NULL ||
	    base->http_server == NULL) {
		event_warnx("%s: bad arguments", __func__);
		goto fail;
	}
	if (rpc_find(base, rpc->uri) != NULL) {
		event_warnx("%s: %s is already registered", __func__, rpc->uri);
		goto fail;
	}
	if ((uri = ev__rpc_uri(rpc->uri)) == NULL)
		goto fail;
	/* evhttp_set_cb() returns nothing: look for what it added. */
	evhttp_set_cb(base->http_server, uri, request_cb, rpc);
	ev__free(uri);
	if (rpc_http_cb(base->http_server, rpc) == NULL) {
		event_warnx("%s: %s: cannot add the HTTP callback", __func__,
		    rpc->uri);
		goto fail;
	}
	rpc->base = base;
	rpc->cb = cb;
	rpc->cb_arg = cb_arg;
	TAILQ_INSERT_TAIL(&base->registered_rpcs, rpc, next);
	return 0;
fail:
	if (rpc != NULL)
		rpc_free(rpc);
	return -1;
}

int
evrpc_unregister_rpc(struct evrpc_base *base, const char *name)
{
	struct evrpc *rpc;
	struct evhttp_cb *hcb;

	if (base == NULL || name == NULL ||
	    (rpc = rpc_find(base, name)) == NULL) {
		event_warnx("%s: no RPC called %s", __func__,
		    name != NULL ? name : "(null)");
		return -1;
	}
	/*
	 * Removed by hand rather than with evhttp_del_cb(), which needs the
	 * URI built (an allocation that could fail, leaving the server to
	 * call a freed RPC) and would take the first callback on that URI,
	 * whoever set it.
	 */
	if (base->http_server != NULL &&
	    (hcb = rpc_http_cb(base->http_server, rpc)) != NULL) {
		TAILQ_REMOVE(&base->http_server->callbacks, hcb, next);
		ev__free(hcb->what);
		ev__free(hcb);
	}
	TAILQ_REMOVE(&base->registered_rpcs, rpc, next);
	if (rpc_in_use(base, rpc))
		TAILQ_INSERT_TAIL(&base->retired_rpcs, rpc, next);
	else
		rpc_free(rpc);
	return 0;
}

/* Free a request's state, and what only it kept alive. */
static void
reqstate_free(struct ev__rpc_reqstate *st, int pending)
{
	struct evrpc_base *base = st->base;
	struct evrpc *rpc = st->g.rpc, *r;

	if (pending)
		TAILQ_REMOVE(&base->pending, st, next);
	if (st->g.request != NULL)
		rpc->request_free(st->g.request);
	if (st->g.reply != NULL)
		rpc->reply_free(st->g.reply);
	ev__free(st);
	if (!pending)
		return;
	/* An unregistered RPC goes with the last request that used it. */
	TAILQ_FOREACH(r, &base->retired_rpcs, next) {
		if (r == rpc && !rpc_in_use(base, rpc)) {
			TAILQ_REMOVE(&base->retired_rpcs, rpc, next);
			rpc_free(rpc);
			break;
		}
	}
	if (base->http_server == NULL && TAILQ_EMPTY(&base->pending))
		evrpc_free(base);
}

/* done: marshal the reply, run the output hooks, send it. */
static void
request_done(struct evrpc_req_generic *g)
{
	struct ev__rpc_reqstate *st = (struct ev__rpc_reqstate *)g;
	struct evhttp_request *req = g->http_req;
	struct evrpc *rpc = g->rpc;
	struct evbuffer *data = NULL;

	if (rpc->reply_complete(g->reply) == -1) {
		event_warnx("%s: the reply to %s is incomplete", __func__,
		    rpc->uri);
		goto error;
	}
	if ((data = evbuffer_new()) == NULL) {
		event_warn("%s: evbuffer_new", __func__);
		goto error;
	}
	if (ev__rpc_marshal(data, rpc->reply_marshal, g->reply) == -1)
		goto error;
	if (ev__rpc_process_hooks(&st->base->common.output_hooks, req, data) ==
	    -1)
		goto error;
	reqstate_free(st, 1);
	evhttp_send_reply(req, HTTP_OK, "OK", data);
	evbuffer_free(data);
	return;
error:
	if (data != NULL)
		evbuffer_free(data);
	reqstate_free(st, 1);
	evhttp_send_error(req, HTTP_SERVUNAVAIL, "Service Error");
}

/* An HTTP request for a registered RPC. */
static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct evrpc *rpc = arg;
	struct evrpc_base *base = rpc->base;
	struct ev__rpc_reqstate *st;

	if (req->type != EVHTTP_REQ_POST) {
		event_warnx("%s: %s: not a POST", __func__, rpc->uri);
		goto refuse;
	}
	if ((st = ev__calloc(1, sizeof(*st))) == NULL) {
		event_warn("%s: calloc", __func__);
		goto refuse;
	}
	st->base = base;
	st->g.rpc = rpc;
	st->g.http_req = req;
	st->g.done = request_done;
	if (ev__rpc_process_hooks(&base->common.input_hooks, req,
		req->input_buffer) == -1)
		goto error;
	if ((st->g.request = rpc->request_new()) == NULL)
		goto error;
	if (rpc->request_unmarshal(st->g.request, req->input_buffer) == -1) {
		event_warnx("%s: %s: the request does not unmarshal", __func__,
		    rpc->uri);
		goto error;
	}
	if ((st->g.reply = rpc->reply_new()) == NULL)
		goto error;
	TAILQ_INSERT_TAIL(&base->pending, st, next);
	rpc->cb(&st->g, rpc->cb_arg);
	return;
error:
	reqstate_free(st, 0);
refuse:
	evhttp_send_error(req, HTTP_SERVUNAVAIL, "Service Error");
}
