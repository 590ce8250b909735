/*
 * evdns.c: the requests of the asynchronous DNS resolver of evdns.h: their
 * IDs, sending and retries, the resolve calls, suspend and shutdown.
 * Replies are handled in evdns-reply.c, nameservers in evdns-ns.c, the
 * TCP transport in evdns-tcp.c, EDNS0 records in evdns-edns.c, the search
 * list, options and resolv.conf in evdns-conf.c,
 * the wire format in evdns-parse.c, the server port in evdns-server.c;
 * evdns-resolv-internal.h lists what the resolver's files share.
 *
 * Requests wait in a queue until a nameserver and an in-flight slot are
 * free, then live in a table keyed by transaction ID until answered,
 * timed out or cancelled.
 *
 * Against spoofed answers (which 1.4 accepted easily): transaction IDs
 * come from the system's random source (random16() below), each
 * nameserver has its own socket on a random source port, the letters of
 * the question are randomly cased (0x20), and a reply is used only if it
 * comes from that nameserver's address and port, carries an ID we are
 * waiting for from it, and repeats our question with its case.  Anything
 * malformed is dropped and logged; the request keeps waiting for a
 * genuine reply or its timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event-config.h>
#ifdef _EVENT_HAVE_SYS_RANDOM_H
#include <sys/random.h>
#endif

#include "event.h"
#include "evutil.h"
#include "evdns.h"
#include "evdns-internal.h"
#include "evdns-resolv-internal.h"
#include "log.h"
#include "mm-internal.h"

struct ev__dns_state ev__dns;

#define BUCKET(id) (&ev__dns.buckets[(id) % EV__DNS_NBUCKETS])

void
ev__dns_set_defaults(void)
{
	ev__dns.timeout.tv_sec = 5;
	ev__dns.timeout.tv_usec = 0;
	ev__dns.max_attempts = 3;
	ev__dns.max_timeouts = 3;
	ev__dns.max_inflight = 64;
	ev__dns.probe_initial.tv_sec = 10;
	ev__dns.probe_initial.tv_usec = 0;
	ev__dns.tcp_fallback = 1;
	ev__dns.tcp_only = 0;
	ev__dns.tcp_idle.tv_sec = 10;
	ev__dns.tcp_idle.tv_usec = 0;
	ev__dns.edns_size = 1232;
	ev__dns.randomize_case = 1;
}

/* The state starts empty on first use; there is no explicit constructor. */
void
ev__dns_setup(void)
{
	int i;

	if (ev__dns.ready)
		return;
	TAILQ_INIT(&ev__dns.servers);
	TAILQ_INIT(&ev__dns.waiting);
	for (i = 0; i < EV__DNS_NBUCKETS; i++)
		TAILQ_INIT(&ev__dns.buckets[i]);
	ev__dns_set_defaults();
	ev__dns.ready = 1;
}
/* Read up to n bytes from fd, retrying after EINTR; returns how many. */
static size_t
read_full(int fd, void *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/*
 * Random bytes from the OS (getrandom, else /dev/urandom), kept in a small
 * pool that is refilled, and thrown away in a forked child.  The pool is
 * process-wide, so a spin lock (no thread library is linked) keeps two
 * threads from handing out the same bytes.
 */
static int
fill_random(uint8_t *p, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int fd;

#ifdef _EVENT_HAVE_GETRANDOM
	while (got < n) {
		r = getrandom(p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == n)
		return 0;
#endif
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	got = read_full(fd, p, n);
	close(fd);
	return got == n ? 0 : -1;
}

static uint16_t
random16(void)
{
	static uint8_t pool[128];
	static size_t avail;
	static pid_t owner;

	static uint32_t weak;
	static int lock;
	size_t i;
	uint16_t r;

	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	if (avail < 2 || owner != getpid()) {
		owner = getpid();
		avail = sizeof(pool);
		if (fill_random(pool, sizeof(pool)) < 0) {
			/* Never seen on Linux; guessable IDs beat no DNS. */
			event_warnx("evdns: no random source; weak DNS IDs");
			weak ^= (uint32_t)time(NULL) ^ ((uint32_t)owner << 16);
			for (i = 0; i < sizeof(pool); i++) {
				weak = weak * 1103515245U + 12345U;
				pool[i] = (uint8_t)(weak >> 16);
			}
		}
	}
	avail -= 2;
	r = (uint16_t)((pool[avail] << 8) | pool[avail + 1]);
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	return r;
}

uint16_t
ev__dns_random16(void)
{
	return random16();
}

size_t
ev__dns_read_full(int fd, void *p, size_t n)
{
	return read_full(fd, p, n);
}

struct request *
ev__dns_find_request(uint16_t id)
{
	struct request *req;

	TAILQ_FOREACH(req, BUCKET(id), next)
		if (req->id == id)
			return req;
	return NULL;
}

/* An ID no request in flight uses: the program's function, or random. */
static uint16_t
choose_id(void)
{
	uint16_t id;
	unsigned i;

	for (i = 0; i < 16; i++) {
		id = ev__dns.txid_fn != NULL ? ev__dns.txid_fn() : random16();
		if (ev__dns_find_request(id) == NULL)
			return id;
	}
	/* A poor ID function: walk on from the last one to a free ID. */
	for (i = 0; i < 65536; i++, id++)
		if (ev__dns_find_request(id) == NULL)
			break;
	return id;
}

/* ---- requests ---- */

void
ev__dns_request_detach(struct request *req)
{
	if (req->where == WAITING)
		TAILQ_REMOVE(&ev__dns.waiting, req, next);
	else if (req->where == INFLIGHT) {
		TAILQ_REMOVE(BUCKET(req->id), req, next);
		if (!req->is_probe)
			ev__dns.ninflight--;
	}
	req->where = NOWHERE;
	event_del(&req->timeout_ev);
	ev__dns_tcp_release(req);
}

void
ev__dns_request_free(struct request *req)
{
	ev__dns_request_detach(req);
	ev__dns_search_unref(req->search);
	ev__free(req->base_name);
	ev__free(req);
}

/*
 * Send the request's query to req->ns: over TCP once an answer came
 * truncated, else over UDP with an OPT record unless EDNS is off or the
 * nameserver refused one.  A failure to send is left to the timeout,
 * which moves the request on to another nameserver.
 */
void
ev__dns_request_transmit(struct request *req)
{
	static const struct timeval now = { 0, 0 };
	uint8_t pkt[EV__DNS_UDP_MAX + 16];
	struct nameserver *ns = req->ns;
	char buf[64];
	int len;

	ev__dns_tcp_release(req);
	if (ns->no_case && req->cased) {
		strcpy(req->sent, req->name);
		req->cased = 0;
	}
	req->tx_count++;
	evtimer_add(&req->timeout_ev, &ev__dns.timeout);
	len = ev__dns_query_build(pkt, sizeof(pkt), req->id, req->sent,
	    req->qtype);
	if (len < 0)
		return; /* names are checked before; cannot happen */
	req->edns = 0;
	if (!req->tcp && ev__dns.edns_size > 0 && !ns->no_edns &&
	    (len = ev__dns_opt_append(pkt, sizeof(pkt), (size_t)len,
		 (uint16_t)ev__dns.edns_size)) > 0)
		req->edns = 1;
	if (len < 0)
		return;
	if (req->tcp) {
		if (ev__dns_tcp_send(ns, req, pkt, (size_t)len) < 0) {
			/* No connection: the timeout, at once. */
			req->fail_err = DNS_ERR_TRUNCATED;
			evtimer_add(&req->timeout_ev, &now);
		}
		return;
	}
	if (send(ns->fd, pkt, (size_t)len, 0) < 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR) {
		ev__dns_log(1, "send to %s: %s",
		    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)),
		    strerror(errno));
		ev__dns_ns_failed(ns, strerror(errno));
	}
}

/*
 * The name as sent: with 0x20, each letter upper or lower case at random,
 * so a spoofer must guess the case too; an answer must repeat it.
 */
static void
choose_case(struct request *req)
{
	uint16_t bits = 0;
	size_t i;
	int nbits = 0;
	char c;

	strcpy(req->sent, req->name);
	req->cased = 0;
	if (!ev__dns.randomize_case || req->no_case ||
	    (req->ns != NULL && req->ns->no_case))
		return;
	req->cased = 1;
	for (i = 0; req->sent[i] != '\0'; i++) {
		c = req->sent[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			continue;
		if (nbits == 0) {
			bits = random16();
			nbits = 16;
		}
		req->sent[i] = (char)((bits & 1) ? (c & ~0x20) : (c | 0x20));
		bits >>= 1;
		nbits--;
	}
}

/* Give the request a fresh ID and send it to a nameserver. */
void
ev__dns_request_go(struct request *req)
{
	ev__dns_request_detach(req);
	req->id = choose_id();
	TAILQ_INSERT_TAIL(BUCKET(req->id), req, next);
	req->where = INFLIGHT;
	if (!req->is_probe) {
		ev__dns.ninflight++;
		req->ns = ev__dns_pick_ns(NULL);
	}
	req->tx_count = 0;
	req->tcp = ev__dns.tcp_only && !req->is_probe;
	req->fail_err = 0;
	choose_case(req);
	ev__dns_request_transmit(req);
}

void
ev__dns_pump_waiting(void)
{
	struct request *req;

	while (!ev__dns.suspended && ev__dns.nservers > 0 &&
	    ev__dns.ninflight < ev__dns.max_inflight &&
	    (req = TAILQ_FIRST(&ev__dns.waiting)) != NULL)
		ev__dns_request_go(req);
}

/* Report the outcome, free the request, let a waiting one in. */
void
ev__dns_request_finish(struct request *req, int err, struct ev__dns_answer *a)
{
	evdns_callback_type cb = req->cb;
	void *arg = req->arg, *data;
	uint16_t qtype = req->qtype;
	char *ptr;

	ev__dns_request_free(req);
	ev__dns_pump_waiting();
	if (err != DNS_ERR_NONE) {
		cb(err, 0, 0, 0, NULL, arg);
		return;
	}
	if (qtype == EVDNS_TYPE_PTR) {
		ptr = a->ptr;
		data = &ptr;
	} else
		data = a->addrs;
	cb(DNS_ERR_NONE,
	    qtype == EVDNS_TYPE_A	 ? DNS_IPv4_A :
		qtype == EVDNS_TYPE_AAAA ? DNS_IPv6_AAAA :
					   DNS_PTR,
	    a->count, (int)a->ttl, data, arg);
}

void
ev__dns_request_timeout_cb(int fd, short what, void *arg)
{
	struct request *req = arg;
	struct nameserver *ns = req->ns;
	struct timeval tv;
	int err;

	if (req->is_probe) {
		ns->probe = NULL;
		ev__dns_request_free(req);
		tv = ev__dns_probe_delay(++ns->probe_step);
		evtimer_add(&ns->probe_ev, &tv);
		return;
	}
	err = req->fail_err != 0 ? req->fail_err : DNS_ERR_TIMEOUT;
	req->fail_err = 0;
	if (err == EV__DNS_RESEND) {
		req->tx_count--; /* the server's doing, not the try's */
		ev__dns_request_transmit(req);
		return;
	}
	ev__dns_request_retry(req, err);
}

void
ev__dns_request_retry(struct request *req, int err)
{
	struct nameserver *ns = req->ns;

	if (req->is_probe) {
		event_del(&req->timeout_ev);
		ev__dns_request_timeout_cb(-1, EV_TIMEOUT, req);
		return;
	}
	/* A broken TCP connection counted once, not per request. */
	if (err == DNS_ERR_TIMEOUT && ++ns->timeouts >= ev__dns.max_timeouts)
		ev__dns_ns_failed(ns, "too many timeouts");
	if (req->tx_count >= ev__dns.max_attempts) {
		ev__dns_request_finish(req, err, NULL);
		return;
	}
	req->ns = ev__dns_pick_ns(ns);
	ev__dns_request_transmit(req);
}

/* Send again to the same nameserver under a fresh ID. */
void
ev__dns_request_resend(struct request *req)
{
	TAILQ_REMOVE(BUCKET(req->id), req, next);
	req->id = choose_id();
	TAILQ_INSERT_TAIL(BUCKET(req->id), req, next);
	ev__dns_request_transmit(req);
}

/* ---- the resolve calls ---- */

static int
count_dots(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

static int
resolve(const char *name, int flags, uint16_t qtype, evdns_callback_type cb,
    void *arg)
{
	struct request *req;
	size_t n;

	ev__dns_setup();
	if (name == NULL || cb == NULL)
		return -1;
	n = strlen(name);
	if (n == 0 || n >= EV__DNS_NAME_BUF || strcmp(name, ".") == 0 ||
	    ev__dns_name_check(name) < 0) {
		ev__dns_log(1, "cannot resolve invalid name \"%.64s\"", name);
		return -1;
	}
	if ((req = ev__calloc(1, sizeof(*req))) == NULL) {
		event_warn("evdns: no memory to resolve %.64s", name);
		return -1;
	}
	req->qtype = qtype;
	req->cb = cb;
	req->arg = arg;
	evtimer_set(&req->timeout_ev, ev__dns_request_timeout_cb, req);
	memcpy(req->name, name, n + 1);
	if (name[n - 1] == '.')
		req->name[n - 1] = '\0'; /* absolute: no search */
	else if (!(flags & DNS_QUERY_NO_SEARCH) && qtype != EVDNS_TYPE_PTR &&
	    ev__dns.search != NULL && ev__dns.search->n > 0) {
		if ((req->base_name = ev__strdup(name)) == NULL) {
			event_warn("evdns: no memory to resolve %.64s", name);
			ev__free(req);
			return -1;
		}
		req->search = ev__dns_search_ref(ev__dns.search);
		/* Few dots: domains first, then the name; else the reverse. */
		if (count_dots(name) < req->search->ndots) {
			req->raw_pending = 1;
			ev__dns_search_next(req);
		}
	}
	req->where = WAITING;
	TAILQ_INSERT_TAIL(&ev__dns.waiting, req, next);
	ev__dns_pump_waiting();
	return 0;
}

int
evdns_resolve_ipv4(const char *name, int flags, evdns_callback_type callback,
    void *ptr)
{
	return resolve(name, flags, EVDNS_TYPE_A, callback, ptr);
}

int
evdns_resolve_ipv6(const char *name, int flags, evdns_callback_type callback,
    void *ptr)
{
	return resolve(name, flags, EVDNS_TYPE_AAAA, callback, ptr);
}

int
evdns_resolve_reverse(const struct in_addr *in, int flags,
    evdns_callback_type callback, void *ptr)
{
	char buf[32];
	const uint8_t *b;

	if (in == NULL)
		return -1;
	b = (const uint8_t *)&in->s_addr;
	evutil_snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa", b[3],
	    b[2], b[1], b[0]);
	return resolve(buf, flags | DNS_QUERY_NO_SEARCH, EVDNS_TYPE_PTR,
	    callback, ptr);
}

int
evdns_resolve_reverse_ipv6(const struct in6_addr *in, int flags,
    evdns_callback_type callback, void *ptr)
{
	static const char hex[] = "0123456789abcdef";
	char buf[80], *p = buf;
	int i;

	if (in == NULL)
		return -1;
	for (i = 15; i >= 0; i--) {
		*p++ = hex[in->s6_addr[i] & 0x0f];
		*p++ = '.';
		*p++ = hex[in->s6_addr[i] >> 4];
		*p++ = '.';
	}
	strcpy(p, "ip6.arpa");
	return resolve(buf, flags | DNS_QUERY_NO_SEARCH, EVDNS_TYPE_PTR,
	    callback, ptr);
}
/* ---- suspend, resume, shutdown ---- */

int
evdns_clear_nameservers_and_suspend(void)
{
	struct request_list moved;
	struct request *req;

	ev__dns_setup();
	TAILQ_INIT(&moved);
	ev__dns_drop_nameservers(&moved);
	ev__dns.suspended = 1;
	/* Requests that were in flight go first when sending resumes. */
	while ((req = TAILQ_LAST(&moved, request_list)) != NULL) {
		TAILQ_REMOVE(&moved, req, next);
		req->where = WAITING;
		TAILQ_INSERT_HEAD(&ev__dns.waiting, req, next);
	}
	return 0;
}

int
evdns_resume(void)
{
	ev__dns_setup();
	ev__dns.suspended = 0;
	ev__dns_pump_waiting();
	return 0;
}

void
evdns_shutdown(int fail_requests)
{
	struct request_list doomed;
	struct request *req;

	if (!ev__dns.ready)
		return;
	TAILQ_INIT(&doomed);
	ev__dns_drop_nameservers(&doomed);
	while ((req = TAILQ_FIRST(&ev__dns.waiting)) != NULL) {
		ev__dns_request_detach(req);
		TAILQ_INSERT_TAIL(&doomed, req, next);
	}
	ev__dns_search_unref(ev__dns.search);
	ev__dns.search = NULL;
	ev__dns.suspended = 0;
	ev__dns.ninflight = 0;
	ev__dns_set_defaults();
	/* The state is clean before any callback runs, so they may use it. */
	while ((req = TAILQ_FIRST(&doomed)) != NULL) {
		TAILQ_REMOVE(&doomed, req, next);
		if (fail_requests)
			req->cb(DNS_ERR_SHUTDOWN, 0, 0, 0, NULL, req->arg);
		ev__dns_request_free(req);
	}
}

int
evdns_init(void)
{
	return evdns_resolv_conf_parse(DNS_OPTIONS_ALL, "/etc/resolv.conf");
}

const char *
evdns_err_to_string(int err)
{
	switch (err) {
	case DNS_ERR_NONE: return "no error";
	case DNS_ERR_FORMAT: return "the query was misformatted";
	case DNS_ERR_SERVERFAILED: return "the server failed";
	case DNS_ERR_NOTEXIST: return "no such name";
	case DNS_ERR_NOTIMPL: return "query not implemented";
	case DNS_ERR_REFUSED: return "the server refused the query";
	case DNS_ERR_TRUNCATED: return "the reply was truncated";
	case DNS_ERR_UNKNOWN: return "unknown error or no answer";
	case DNS_ERR_TIMEOUT: return "no reply before the timeout";
	case DNS_ERR_SHUTDOWN: return "the resolver was shut down";
	default: return "unknown error code";
	}
}

void
evdns_set_transaction_id_fn(ev_uint16_t (*fn)(void))
{
	ev__dns.txid_fn = fn;
}
