/*
 * evrpc-pool.c: the client side of evrpc, a pool of HTTP connections that
 * requests go out on.
 *
 * Each connection carries at most one request at a time; requests that
 * find every connection busy wait in the pool's queue, oldest first, and
 * go out as connections come ev__free (so replies on one connection come in
 * the order the requests were made).  A request's timeout starts when it
 * is sent; when it fires the connection is failed, which ends the request
 * with EVRPC_STATUS_ERR_TIMEOUT and leaves the connection ready for the
 * next one.
 *
 * User callbacks may free the pool.  Every entry point that can run one
 * holds pool->busy, and evrpc_pool_free() only marks a busy pool; the
 * entry point that drops busy to zero frees it (pool_release()).
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "evhttp.h"
#include "evrpc.h"
#include "evrpc-internal.h"
#include "http-internal.h"
#include "log.h"
#include "mm-internal.h"

struct evrpc_pool *
evrpc_pool_new(struct event_base *base)
{
	struct evrpc_pool *pool;

	if ((pool = ev__calloc(1, sizeof(*pool))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	TAILQ_INIT(&pool->common.input_hooks);
	TAILQ_INIT(&pool->common.output_hooks);
	TAILQ_INIT(&pool->connections);
	TAILQ_INIT(&pool->requests);
	pool->base = base;
	pool->timeout = -1;
	return pool;
}

static void
request_wrapper_free(struct evrpc_request_wrapper *ctx)
{
	ev__rpc_user_free(ctx->name);
	ev__rpc_user_free(ctx);
}

/* Drop a hold on pool; returns 1 (and frees it) if it is gone. */
static int
pool_release(struct evrpc_pool *pool)
{
	if (--pool->busy > 0 || !pool->freed)
		return pool->freed;
	ev__free(pool);
	return 1;
}

void
evrpc_pool_free(struct evrpc_pool *pool)
{
	struct evrpc_request_wrapper *ctx;
	struct ev__rpc_conn *conn;

	if (pool == NULL || pool->freed)
		return;
	while ((ctx = TAILQ_FIRST(&pool->requests)) != NULL) {
		TAILQ_REMOVE(&pool->requests, ctx, next);
		request_wrapper_free(ctx);
	}
	while ((conn = TAILQ_FIRST(&pool->connections)) != NULL) {
		TAILQ_REMOVE(&pool->connections, conn, next);
		if (conn->ctx != NULL) {
			/* In flight: the connection frees its HTTP request. */
			event_del(&conn->ctx->ev_timeout);
			request_wrapper_free(conn->ctx);
		}
		evhttp_connection_free(conn->evcon);
		ev__free(conn);
	}
	ev__rpc_hooks_free(&pool->common);
	if (pool->busy > 0)
		pool->freed = 1; /* a callback of ours is running */
	else
		ev__free(pool);
}

/* Run ctx's callback; the caller holds the pool. */
static void
run_cb(struct evrpc_request_wrapper *ctx, struct evrpc_status *status)
{
	(*ctx->cb)(status, ctx->request, ctx->reply, ctx->cb_arg);
}

static void reply_done(struct evhttp_request *req, void *arg);

/*
 * Send ctx on conn: marshal, run the output hooks, start the timeout.  If
 * it cannot be sent its callback gets EVRPC_STATUS_ERR_UNSTARTED.  The
 * caller holds the pool.
 */
static void
schedule_request(struct evrpc_pool *pool, struct ev__rpc_conn *conn,
    struct evrpc_request_wrapper *ctx)
{
	struct evhttp_request *req;
	struct evrpc_status status;
	struct timeval tv;
	char *uri = NULL;

	if ((req = evhttp_request_new(reply_done, ctx)) == NULL)
		goto fail;
	if (ev__rpc_marshal(req->output_buffer, ctx->request_marshal,
		ctx->request) == -1)
		goto fail;
	if ((uri = ev__rpc_uri(ctx->name)) == NULL)
		goto fail;
	ctx->evcon = conn->evcon;
	if (ev__rpc_process_hooks(&pool->common.output_hooks, req,
		req->output_buffer) == -1)
		goto fail;
	if (pool->timeout > 0) {
		tv.tv_sec = pool->timeout;
		tv.tv_usec = 0;
		/* Without its timer the request could wait forever. */
		if (evtimer_add(&ctx->ev_timeout, &tv) == -1)
			goto fail;
	}
	conn->ctx = ctx;
	/* From here on reply_done owns ctx (and may run at once). */
	if (evhttp_make_request(conn->evcon, req, EVHTTP_REQ_POST, uri) == 0) {
		ev__free(uri);
		return;
	}
	conn->ctx = NULL;
	event_del(&ctx->ev_timeout);
fail:
	ev__free(uri);
	if (req != NULL)
		evhttp_request_free(req);
	memset(&status, 0, sizeof(status));
	status.error = EVRPC_STATUS_ERR_UNSTARTED;
	run_cb(ctx, &status);
	request_wrapper_free(ctx);
}

static struct ev__rpc_conn *
idle_connection(struct evrpc_pool *pool)
{
	struct ev__rpc_conn *conn;

	TAILQ_FOREACH(conn, &pool->connections, next) {
		if (conn->ctx == NULL)
			return conn;
	}
	return NULL;
}

/* Send queued requests on idle connections.  The caller holds the pool. */
static void
pool_schedule(struct evrpc_pool *pool)
{
	struct evrpc_request_wrapper *ctx;
	struct ev__rpc_conn *conn;

	while (!pool->freed && (ctx = TAILQ_FIRST(&pool->requests)) != NULL &&
	    (conn = idle_connection(pool)) != NULL) {
		TAILQ_REMOVE(&pool->requests, ctx, next);
		schedule_request(pool, conn, ctx);
	}
}

void
evrpc_pool_add_connection(struct evrpc_pool *pool,
    struct evhttp_connection *evcon)
{
	struct ev__rpc_conn *conn;

	if (pool == NULL || evcon == NULL ||
	    (evcon->flags & EVHTTP_CON_INCOMING)) {
		event_warnx("%s: bad arguments", __func__);
		/* Ours all the same (a server's connection is the server's). */
		if (evcon != NULL && !(evcon->flags & EVHTTP_CON_INCOMING))
			evhttp_connection_free(evcon);
		return;
	}
	if ((conn = ev__calloc(1, sizeof(*conn))) == NULL) {
		event_warn("%s: calloc", __func__);
		evhttp_connection_free(evcon);
		return;
	}
	conn->evcon = evcon;
	if (pool->base != NULL)
		evhttp_connection_set_base(evcon, pool->base);
	/* As in 1.4, the pool's timeout unless the connection has its own. */
	if (evcon->timeout == -1 && pool->timeout > 0)
		evhttp_connection_set_timeout(evcon, pool->timeout);
	TAILQ_INSERT_TAIL(&pool->connections, conn, next);
	pool->busy++;
	pool_schedule(pool);
	(void)pool_release(pool);
}

void
evrpc_pool_set_timeout(struct evrpc_pool *pool, int timeout_in_secs)
{
	struct ev__rpc_conn *conn;

	if (pool == NULL) {
		event_warnx("%s: no pool", __func__);
		return;
	}
	TAILQ_FOREACH(conn, &pool->connections, next)
		evhttp_connection_set_timeout(conn->evcon, timeout_in_secs);
	pool->timeout = timeout_in_secs;
}

/* The request's timeout: fail its connection, which ends it. */
static void
request_timeout(int fd, short what, void *arg)
{
	struct evrpc_request_wrapper *ctx = arg;

	(void)fd;
	(void)what;
	evhttp_connection_fail(ctx->evcon, EVCON_HTTP_TIMEOUT);
}

int
evrpc_make_request(struct evrpc_request_wrapper *ctx)
{
	struct evrpc_pool *pool;
	struct evrpc_status status;

	if (ctx == NULL) {
		event_warnx("%s: no request", __func__);
		return -1;
	}
	pool = ctx->pool;
	if (pool == NULL || pool->freed) {
		event_warnx("%s: no pool", __func__);
		memset(&status, 0, sizeof(status));
		status.error = EVRPC_STATUS_ERR_UNSTARTED;
		run_cb(ctx, &status);
		request_wrapper_free(ctx);
		return -1;
	}
	evtimer_set(&ctx->ev_timeout, request_timeout, ctx);
	if (pool->base != NULL)
		event_base_set(pool->base, &ctx->ev_timeout);
	ctx->evcon = NULL;
	TAILQ_INSERT_TAIL(&pool->requests, ctx, next);
	pool->busy++;
	pool_schedule(pool);
	(void)pool_release(pool);
	return 0;
}

/* The HTTP reply to ctx came in (req), or the request failed (NULL). */
static void
reply_done(struct evhttp_request *req, void *arg)
{
	struct evrpc_request_wrapper *ctx = arg;
	struct evrpc_pool *pool = ctx->pool;
	struct evrpc_status status;
	struct ev__rpc_conn *conn;

	TAILQ_FOREACH(conn, &pool->connections, next) {
		if (conn->ctx == ctx)
			conn->ctx = NULL;
	}
	event_del(&ctx->ev_timeout);
	memset(&status, 0, sizeof(status));
	status.http_req = req;
	if (req == NULL)
		status.error = EVRPC_STATUS_ERR_TIMEOUT;
	else if (ev__rpc_process_hooks(&pool->common.input_hooks, req,
		     req->input_buffer) == -1)
		status.error = EVRPC_STATUS_ERR_HOOKABORTED;
	else if (req->response_code != HTTP_OK ||
	    ctx->reply_unmarshal(ctx->reply, req->input_buffer) == -1)
		status.error = EVRPC_STATUS_ERR_BADPAYLOAD;
	/* Nothing half-unmarshalled reaches the callback. */
	if (status.error != EVRPC_STATUS_ERR_NONE)
		ctx->reply_clear(ctx->reply);
	pool->busy++;
	run_cb(ctx, &status);
	request_wrapper_free(ctx);
	pool_schedule(pool);
	(void)pool_release(pool);
}
