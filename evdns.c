/*
 * evdns.c: the asynchronous DNS resolver of evdns.h, on top of the public
 * event API.  The wire format lives in evdns-parse.c, the server port in
 * evdns-server.c.
 *
 * The resolver is one process-wide state, as libevent 1.4's API implies:
 * its events are made with event_set() and so belong to the global
 * current_base.  Requests wait in a queue until a nameserver and an
 * in-flight slot are free, then live in a table keyed by transaction ID
 * until answered, timed out or cancelled.
 *
 * Against spoofed answers (which 1.4 accepted easily): transaction IDs
 * come from the system's random source, each nameserver has its own
 * socket on a random source port, connected so the kernel filters other
 * senders, and a reply is used only if it comes from that nameserver's
 * address and port, carries an ID we are waiting for from it, and repeats
 * our question.  Anything malformed is dropped and logged; the request
 * keeps waiting for a genuine reply or its timeout.
 *
 * A failed nameserver (too many timeouts, or a socket error) is skipped
 * while others work, and probed with a small query on a growing interval
 * until it answers again.
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
#include "log.h"
#include "mm-internal.h"

#define NBUCKETS	256	/* in-flight requests, hashed by ID */
#define MAX_CONF_NS	32	/* nameservers taken from one resolv.conf */
#define MAX_SEARCH	32	/* domains in the search list */
#define MAX_CONF_SIZE	65535	/* largest resolv.conf read */
#define READ_BATCH	32	/* datagrams read per callback */
#define MAX_PROBE_SEC	3600	/* longest wait between probes */

struct nameserver {
	TAILQ_ENTRY(nameserver) next;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
	struct event read_ev;
	struct event probe_ev;
	int failed;		/* down: skipped, and probed */
	int timeouts;		/* consecutive timeouts */
	int probe_step;		/* probes that failed so far */
	struct request *probe;	/* the probe in flight, if any */
};
TAILQ_HEAD(ns_list, nameserver);

/* The search list; requests hold a reference so changes do not bite. */
struct search_list {
	int refcnt;
	int ndots;
	int n;
	char *domains[MAX_SEARCH];
};

enum where { NOWHERE, WAITING, INFLIGHT };

struct request {
	TAILQ_ENTRY(request) next;	/* waiting list or ID bucket */
	enum where where;
	uint16_t id;
	uint16_t qtype;
	char name[EV__DNS_NAME_BUF];	/* the name asked now */
	struct nameserver *ns;
	int tx_count;			/* transmissions to date */
	int reissued;			/* sent elsewhere after an error */
	struct event timeout_ev;
	evdns_callback_type cb;
	void *arg;
	int is_probe;
	/* The search: the name given, the next domain, raw name pending. */
	struct search_list *search;
	char *base_name;
	int next_domain;
	int raw_pending;
};
TAILQ_HEAD(request_list, request);

static struct {
	int ready;
	struct ns_list servers;
	struct nameserver *rr_next;	/* round-robin position */
	int nservers, ngood;
	unsigned epoch;			/* bumped when nameservers are freed */
	struct request_list waiting;
	struct request_list buckets[NBUCKETS];
	int ninflight;			/* user requests in flight */
	int suspended;
	struct search_list *search;
	struct timeval timeout;
	int max_attempts, max_timeouts, max_inflight;
	struct timeval probe_initial;
	evdns_debug_log_fn_type log_fn;
	ev_uint16_t (*txid_fn)(void);
	unsigned nomem; /* allocations failed, ever */
} dns;

static uint8_t rbuf[65536];	/* one datagram at a time, never nested */

static void ns_read_cb(int, short, void *);
static void probe_timer_cb(int, short, void *);
static void request_timeout_cb(int, short, void *);
static void request_go(struct request *);
static void pump_waiting(void);

/* Messages go to evdns_set_log_fn()'s callback, or to the library log. */
void
ev__dns_log(int warn, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	evutil_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (dns.log_fn != NULL)
		dns.log_fn(warn, buf);
	else if (warn)
		event_warnx("evdns: %s", buf);
	else
		event_debug(("evdns: %s", buf));
}

static const char *
addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		evutil_snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		evutil_snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	}
	return buf;
}

static void
set_defaults(void)
{
	dns.timeout.tv_sec = 5;
	dns.timeout.tv_usec = 0;
	dns.max_attempts = 3;
	dns.max_timeouts = 3;
	dns.max_inflight = 64;
	dns.probe_initial.tv_sec = 10;
	dns.probe_initial.tv_usec = 0;
}

/* The state starts empty on first use; there is no explicit constructor. */
static void
setup(void)
{
	int i;

	if (dns.ready)
		return;
	TAILQ_INIT(&dns.servers);
	TAILQ_INIT(&dns.waiting);
	for (i = 0; i < NBUCKETS; i++)
		TAILQ_INIT(&dns.buckets[i]);
	set_defaults();
	dns.ready = 1;
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

static struct request *
find_request(uint16_t id)
{
	struct request *req;

	TAILQ_FOREACH(req, &dns.buckets[id % NBUCKETS], next)
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
		id = dns.txid_fn != NULL ? dns.txid_fn() : random16();
		if (find_request(id) == NULL)
			return id;
	}
	/* A poor ID function: walk on from the last one to a free ID. */
	for (i = 0; i < 65536; i++, id++)
		if (find_request(id) == NULL)
			break;
	return id;
}

/* ---- search list ---- */

static struct search_list *
search_ref(struct search_list *s)
{
	if (s != NULL)
		s->refcnt++;
	return s;
}

static void
search_unref(struct search_list *s)
{
	int i;

	if (s == NULL || --s->refcnt > 0)
		return;
	for (i = 0; i < s->n; i++)
		ev__free(s->domains[i]);
	ev__free(s);
}

/* The global list, copied first if a request still uses it. */
static struct search_list *
search_writable(void)
{
	struct search_list *s = dns.search, *copy;
	int i;

	if (s != NULL && s->refcnt == 1)
		return s;
	if ((copy = ev__calloc(1, sizeof(*copy))) == NULL)
		goto nomem;
	copy->refcnt = 1;
	copy->ndots = 1;
	if (s != NULL) {
		copy->ndots = s->ndots;
		for (i = 0; i < s->n; i++) {
			copy->domains[i] = ev__strdup(s->domains[i]);
			if (copy->domains[i] == NULL)
				goto nomem;
			copy->n++;
		}
		search_unref(s);
	}
	dns.search = copy;
	return copy;
nomem:
	/* The list stays as it was rather than losing domains. */
	event_warn("evdns: no memory to change the search list");
	dns.nomem++;
	search_unref(copy);
	return NULL;
}

void
evdns_search_clear(void)
{
	struct search_list *s;

	setup();
	if ((s = search_writable()) == NULL)
		return;
	while (s->n > 0)
		ev__free(s->domains[--s->n]);
}

void
evdns_search_add(const char *domain)
{
	struct search_list *s;
	char *copy;
	size_t n;

	setup();
	if (domain == NULL)
		return;
	while (*domain == '.')
		domain++;
	if (*domain == '\0' || ev__dns_name_check(domain) < 0) {
		ev__dns_log(1, "ignoring invalid search domain");
		return;
	}
	if (dns.search != NULL && dns.search->n >= MAX_SEARCH) {
		ev__dns_log(1, "search list full; ignoring %s", domain);
		return;
	}
	/* The copy first: a failure then changes nothing at all. */
	if ((copy = ev__strdup(domain)) == NULL) {
		event_warn("evdns: no memory for search domain %s", domain);
		dns.nomem++;
		return;
	}
	if ((s = search_writable()) == NULL) {
		ev__free(copy);
		return;
	}
	n = strlen(copy);
	if (copy[n - 1] == '.')
		copy[n - 1] = '\0';
	s->domains[s->n++] = copy;
}

void
evdns_search_ndots_set(const int ndots)
{
	struct search_list *s;

	setup();
	if ((s = search_writable()) != NULL)
		s->ndots = ndots < 0 ? 0 : ndots;
}

/* The next name a search tries: name.domain for each domain, or name. */
static int
search_next(struct request *req)
{
	struct search_list *s = req->search;
	char buf[EV__DNS_NAME_BUF * 2];

	if (s == NULL)
		return -1;
	while (req->next_domain < s->n) {
		evutil_snprintf(buf, sizeof(buf), "%s.%s", req->base_name,
		    s->domains[req->next_domain++]);
		if (strlen(buf) < EV__DNS_NAME_BUF &&
		    ev__dns_name_check(buf) == 0) {
			strcpy(req->name, buf);
			return 0;
		}
	}
	if (req->raw_pending) {
		req->raw_pending = 0;
		strcpy(req->name, req->base_name);
		return 0;
	}
	return -1;
}

/* ---- nameservers ---- */

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a;
		const struct sockaddr_in6 *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}

/* Bind fd to a random port of our own choosing, else the kernel's. */
static void
bind_random_port(int fd, int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;
	int i;

	for (i = 0; i < 10; i++) {
		memset(&ss, 0, sizeof(ss));
		port = (uint16_t)(1024 + random16() % (65536 - 1024));
		if (family == AF_INET6) {
			struct sockaddr_in6 *s6 = (void *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			len = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (void *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			len = sizeof(*s4);
		}
		if (bind(fd, (struct sockaddr *)&ss, len) == 0)
			return;
	}
}

static void
ns_free(struct nameserver *ns)
{
	event_del(&ns->read_ev);
	event_del(&ns->probe_ev);
	close(ns->fd);
	ev__free(ns);
}

static int
ns_add(const struct sockaddr_storage *sa, socklen_t len)
{
	struct nameserver *ns;
	char buf[64];
	int fd;

	setup();
	if (current_base == NULL) {
		ev__dns_log(1, "nameserver added before event_init()");
		return 1;
	}
	TAILQ_FOREACH(ns, &dns.servers, next)
		if (same_addr(&ns->addr, sa))
			return 3;
	if ((fd = socket(sa->ss_family, SOCK_DGRAM, 0)) < 0) {
		event_warn("evdns: socket");
		return 1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (evutil_make_socket_nonblocking(fd) < 0)
		goto fail;
	bind_random_port(fd, sa->ss_family);
	if (connect(fd, (const struct sockaddr *)sa, len) < 0) {
		event_warn("evdns: connect to %s",
		    addr_str(sa, buf, sizeof(buf)));
		goto fail;
	}
	if ((ns = ev__calloc(1, sizeof(*ns))) == NULL) {
		event_warn("evdns: calloc");
		dns.nomem++;
		goto fail;
	}
	memcpy(&ns->addr, sa, len);
	ns->addrlen = len;
	ns->fd = fd;
	event_set(&ns->read_ev, fd, EV_READ | EV_PERSIST, ns_read_cb, ns);
	evtimer_set(&ns->probe_ev, probe_timer_cb, ns);
	if (event_add(&ns->read_ev, NULL) < 0) {
		ev__free(ns);
		goto fail;
	}
	TAILQ_INSERT_TAIL(&dns.servers, ns, next);
	dns.nservers++;
	dns.ngood++;
	ev__dns_log(0, "added nameserver %s", addr_str(sa, buf, sizeof(buf)));
	pump_waiting();
	return 0;
fail:
	close(fd);
	return 2;
}

int
evdns_nameserver_add(unsigned long int address)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (void *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53);
	sin->sin_addr.s_addr = (in_addr_t)address;
	return ns_add(&ss, sizeof(*sin));
}

/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]", "[::1]:53". */
static int
parse_addr_port(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;
	size_t n;
	long p = 53;
	char *e;

	if (*s == '[') {
		if ((end = strchr(++s, ']')) == NULL)
			return -1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((end = strchr(s, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL)
		port = end + 1;		/* one colon: IPv4 with a port */
	else
		end = s + strlen(s);
	if ((n = (size_t)(end - s)) == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (port != NULL) {
		if (!isdigit((unsigned char)*port))
			return -1;
		errno = 0;
		p = strtol(port, &e, 10);
		if (*e != '\0' || errno != 0 || p < 1 || p > 65535)
			return -1;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
	} else
		return -1;
	return 0;
}

int
evdns_nameserver_ip_add(const char *ip_as_string)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (ip_as_string == NULL ||
	    parse_addr_port(ip_as_string, &ss, &len) < 0) {
		ev__dns_log(1, "cannot parse nameserver address \"%.64s\"",
		    ip_as_string != NULL ? ip_as_string : "(null)");
		return 4;
	}
	return ns_add(&ss, len);
}

int
evdns_count_nameservers(void)
{
	setup();
	return dns.nservers;
}

/*
 * The next nameserver in turn, preferring working ones and, when there is
 * a choice, one other than avoid.
 */
static struct nameserver *
pick_ns(const struct nameserver *avoid)
{
	struct nameserver *ns;
	int pass, i;

	if (dns.nservers == 0)
		return NULL;
	for (pass = 0; pass < 4; pass++) {
		ns = dns.rr_next != NULL ? dns.rr_next :
		    TAILQ_FIRST(&dns.servers);
		for (i = 0; i < dns.nservers; i++) {
			struct nameserver *cand = ns;

			if ((ns = TAILQ_NEXT(ns, next)) == NULL)
				ns = TAILQ_FIRST(&dns.servers);
			if ((pass < 2 && cand->failed) ||
			    (pass % 2 == 0 && cand == avoid))
				continue;
			dns.rr_next = ns;
			return cand;
		}
	}
	return NULL;
}

static struct timeval
probe_delay(int step)
{
	struct timeval tv = dns.probe_initial;
	int i;

	for (i = 0; i < step && tv.tv_sec < MAX_PROBE_SEC; i++) {
		tv.tv_sec = tv.tv_sec * 3 + (tv.tv_usec * 3) / 1000000;
		tv.tv_usec = (tv.tv_usec * 3) % 1000000;
	}
	if (tv.tv_sec >= MAX_PROBE_SEC) {
		tv.tv_sec = MAX_PROBE_SEC;
		tv.tv_usec = 0;
	}
	return tv;
}

static void
ns_failed(struct nameserver *ns, const char *why)
{
	struct timeval tv;
	char buf[64];

	if (ns->failed)
		return;
	ns->failed = 1;
	ns->probe_step = 0;
	dns.ngood--;
	ev__dns_log(1, "nameserver %s is down: %s",
	    addr_str(&ns->addr, buf, sizeof(buf)), why);
	if (dns.ngood == 0)
		ev__dns_log(1, "all nameservers are down");
	tv = probe_delay(0);
	evtimer_add(&ns->probe_ev, &tv);
}

static void request_free(struct request *);

static void
ns_up(struct nameserver *ns)
{
	char buf[64];

	ns->timeouts = 0;
	if (!ns->failed)
		return;
	ns->failed = 0;
	dns.ngood++;
	event_del(&ns->probe_ev);
	if (ns->probe != NULL) {
		request_free(ns->probe);
		ns->probe = NULL;
	}
	ev__dns_log(1, "nameserver %s is back up",
	    addr_str(&ns->addr, buf, sizeof(buf)));
}

/* ---- requests ---- */

static void
request_detach(struct request *req)
{
	if (req->where == WAITING)
		TAILQ_REMOVE(&dns.waiting, req, next);
	else if (req->where == INFLIGHT) {
		TAILQ_REMOVE(&dns.buckets[req->id % NBUCKETS], req, next);
		if (!req->is_probe)
			dns.ninflight--;
	}
	req->where = NOWHERE;
	event_del(&req->timeout_ev);
}

static void
request_free(struct request *req)
{
	request_detach(req);
	search_unref(req->search);
	ev__free(req->base_name);
	ev__free(req);
}

static void
request_transmit(struct request *req)
{
	uint8_t pkt[EV__DNS_UDP_MAX];
	char buf[64];
	int len;

	req->tx_count++;
	evtimer_add(&req->timeout_ev, &dns.timeout);
	len = ev__dns_query_build(pkt, sizeof(pkt), req->id, req->name,
	    req->qtype);
	if (len < 0)
		return;		/* names are checked before; cannot happen */
	if (send(req->ns->fd, pkt, (size_t)len, 0) < 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR) {
		/* The timeout moves the request on to another nameserver. */
		ev__dns_log(1, "send to %s: %s",
		    addr_str(&req->ns->addr, buf, sizeof(buf)),
		    strerror(errno));
		ns_failed(req->ns, strerror(errno));
	}
}

/* Give the request a fresh ID and send it to a nameserver. */
static void
request_go(struct request *req)
{
	request_detach(req);
	req->id = choose_id();
	TAILQ_INSERT_TAIL(&dns.buckets[req->id % NBUCKETS], req, next);
	req->where = INFLIGHT;
	if (!req->is_probe) {
		dns.ninflight++;
		req->ns = pick_ns(NULL);
	}
	req->tx_count = 0;
	request_transmit(req);
}

static void
pump_waiting(void)
{
	struct request *req;

	while (!dns.suspended && dns.nservers > 0 &&
	    dns.ninflight < dns.max_inflight &&
	    (req = TAILQ_FIRST(&dns.waiting)) != NULL)
		request_go(req);
}

/* Report the outcome, free the request, let a waiting one in. */
static void
request_finish(struct request *req, int err, struct ev__dns_answer *a)
{
	evdns_callback_type cb = req->cb;
	void *arg = req->arg, *data;
	uint16_t qtype = req->qtype;
	char *ptr;

	request_free(req);
	pump_waiting();
	if (err != DNS_ERR_NONE) {
		cb(err, 0, 0, 0, NULL, arg);
		return;
	}
	if (qtype == EVDNS_TYPE_PTR) {
		ptr = a->ptr;
		data = &ptr;
	} else
		data = a->addrs;
	cb(DNS_ERR_NONE, qtype == EVDNS_TYPE_A ? DNS_IPv4_A :
	    qtype == EVDNS_TYPE_AAAA ? DNS_IPv6_AAAA : DNS_PTR,
	    a->count, (int)a->ttl, data, arg);
}

static void
request_timeout_cb(int fd, short what, void *arg)
{
	struct request *req = arg;
	struct nameserver *ns = req->ns;
	struct timeval tv;

	if (req->is_probe) {
		ns->probe = NULL;
		request_free(req);
		tv = probe_delay(++ns->probe_step);
		evtimer_add(&ns->probe_ev, &tv);
		return;
	}
	if (++ns->timeouts >= dns.max_timeouts)
		ns_failed(ns, "too many timeouts");
	if (req->tx_count >= dns.max_attempts) {
		request_finish(req, DNS_ERR_TIMEOUT, NULL);
		return;
	}
	req->ns = pick_ns(ns);
	request_transmit(req);
}

/* Send a small query ("." NS) to a failed nameserver to see if it is back. */
static void
probe_timer_cb(int fd, short what, void *arg)
{
	struct nameserver *ns = arg;
	struct request *req;
	struct timeval tv;

	if (ns->probe != NULL || !ns->failed)
		return;
	if ((req = ev__calloc(1, sizeof(*req))) == NULL) {
		event_warn("evdns: no memory to probe a nameserver");
		tv = probe_delay(ns->probe_step);
		evtimer_add(&ns->probe_ev, &tv);
		return;
	}
	req->is_probe = 1;
	req->qtype = EVDNS_TYPE_NS;
	req->ns = ns;
	evtimer_set(&req->timeout_ev, request_timeout_cb, req);
	ns->probe = req;
	request_go(req);
}

/*
 * An error reply: another nameserver for errors that may be the server's,
 * then the next search domain, then the callback.
 */
static void
request_failed(struct request *req, int err)
{
	struct nameserver *other;

	if ((err == DNS_ERR_SERVERFAILED || err == DNS_ERR_REFUSED ||
	    err == DNS_ERR_NOTIMPL) && !req->reissued &&
	    (other = pick_ns(req->ns)) != req->ns && !other->failed) {
		req->reissued = 1;
		req->ns = other;
		request_transmit(req);
		return;
	}
	if (err != DNS_ERR_TRUNCATED && search_next(req) == 0) {
		req->reissued = 0;
		request_go(req);
		return;
	}
	request_finish(req, err, NULL);
}

static void
handle_reply(struct nameserver *ns, const uint8_t *pkt, size_t len)
{
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	struct request *req;
	char buf[64];
	int rcode, res;

	if (ev__dns_reply_parse(pkt, len, &r) < 0) {
		ev__dns_log(1, "dropped a malformed reply from %s",
		    addr_str(&ns->addr, buf, sizeof(buf)));
		return;
	}
	if ((req = find_request(r.hdr.id)) == NULL || req->ns != ns) {
		ev__dns_log(0, "dropped a reply with unknown ID %u", r.hdr.id);
		return;
	}
	if (r.qtype != req->qtype || r.qclass != EVDNS_CLASS_INET ||
	    !ev__dns_name_equal(r.qname, req->name)) {
		ev__dns_log(1, "dropped a reply to another question from %s",
		    addr_str(&ns->addr, buf, sizeof(buf)));
		return;
	}
	if (req->is_probe) {
		ns_up(ns);	/* any answer will do; frees the probe */
		return;
	}
	rcode = EV__DNS_RCODE(r.hdr.flags);
	if (r.hdr.flags & EV__DNS_TC) {
		ns_up(ns);
		request_failed(req, DNS_ERR_TRUNCATED);
		return;
	}
	if (rcode != 0) {
		if (rcode != DNS_ERR_SERVERFAILED && rcode != DNS_ERR_REFUSED)
			ns_up(ns);
		request_failed(req, rcode <= DNS_ERR_REFUSED ? rcode :
		    DNS_ERR_UNKNOWN);
		return;
	}
	if ((res = ev__dns_reply_answers(pkt, len, &r, req->qtype, &a)) < 0) {
		ev__dns_log(1, "dropped a reply with malformed answers from %s",
		    addr_str(&ns->addr, buf, sizeof(buf)));
		return;
	}
	ns_up(ns);
	if (res == 0)
		request_failed(req, DNS_ERR_UNKNOWN);
	else
		request_finish(req, DNS_ERR_NONE, &a);
}

static void
ns_read_cb(int fd, short what, void *arg)
{
	struct nameserver *ns = arg;
	struct sockaddr_storage from;
	socklen_t fromlen;
	unsigned epoch = dns.epoch;
	char buf[64];
	ssize_t r;
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		fromlen = sizeof(from);
		r = recvfrom(fd, rbuf, sizeof(rbuf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				ns_failed(ns, strerror(errno));
			return;
		}
		if (!same_addr(&from, &ns->addr)) {
			ev__dns_log(1, "dropped a reply from unexpected %s",
			    addr_str(&from, buf, sizeof(buf)));
			continue;
		}
		handle_reply(ns, rbuf, (size_t)r);
		/* A callback may have removed every nameserver. */
		if (dns.epoch != epoch)
			return;
	}
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
resolve(const char *name, int flags, uint16_t qtype,
    evdns_callback_type cb, void *arg)
{
	struct request *req;
	size_t n;

	setup();
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
	evtimer_set(&req->timeout_ev, request_timeout_cb, req);
	memcpy(req->name, name, n + 1);
	if (name[n - 1] == '.')
		req->name[n - 1] = '\0';	/* absolute: no search */
	else if (!(flags & DNS_QUERY_NO_SEARCH) && qtype != EVDNS_TYPE_PTR &&
	    dns.search != NULL && dns.search->n > 0) {
		if ((req->base_name = ev__strdup(name)) == NULL) {
			event_warn("evdns: no memory to resolve %.64s", name);
			ev__free(req);
			return -1;
		}
		req->search = search_ref(dns.search);
		/* Few dots: domains first, then the name; else the reverse. */
		if (count_dots(name) < req->search->ndots) {
			req->raw_pending = 1;
			search_next(req);
		}
	}
	req->where = WAITING;
	TAILQ_INSERT_TAIL(&dns.waiting, req, next);
	pump_waiting();
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
	evutil_snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa",
	    b[3], b[2], b[1], b[0]);
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

/* Free every nameserver; in-flight requests are moved to 'to' (or freed). */
static void
drop_nameservers(struct request_list *to)
{
	struct nameserver *ns;
	struct request *req;
	int i;

	for (i = 0; i < NBUCKETS; i++) {
		while ((req = TAILQ_FIRST(&dns.buckets[i])) != NULL) {
			request_detach(req);
			if (req->is_probe) {
				request_free(req);
				continue;
			}
			req->ns = NULL;
			TAILQ_INSERT_TAIL(to, req, next);
		}
	}
	while ((ns = TAILQ_FIRST(&dns.servers)) != NULL) {
		TAILQ_REMOVE(&dns.servers, ns, next);
		ns_free(ns);
	}
	dns.nservers = dns.ngood = 0;
	dns.rr_next = NULL;
	dns.epoch++;
}

int
evdns_clear_nameservers_and_suspend(void)
{
	struct request_list moved;
	struct request *req;

	setup();
	TAILQ_INIT(&moved);
	drop_nameservers(&moved);
	dns.suspended = 1;
	/* Requests that were in flight go first when sending resumes. */
	while ((req = TAILQ_LAST(&moved, request_list)) != NULL) {
		TAILQ_REMOVE(&moved, req, next);
		req->where = WAITING;
		TAILQ_INSERT_HEAD(&dns.waiting, req, next);
	}
	return 0;
}

int
evdns_resume(void)
{
	setup();
	dns.suspended = 0;
	pump_waiting();
	return 0;
}

void
evdns_shutdown(int fail_requests)
{
	struct request_list doomed;
	struct request *req;

	if (!dns.ready)
		return;
	TAILQ_INIT(&doomed);
	drop_nameservers(&doomed);
	while ((req = TAILQ_FIRST(&dns.waiting)) != NULL) {
		request_detach(req);
		TAILQ_INSERT_TAIL(&doomed, req, next);
	}
	search_unref(dns.search);
	dns.search = NULL;
	dns.suspended = 0;
	dns.ninflight = 0;
	set_defaults();
	/* The state is clean before any callback runs, so they may use it. */
	while ((req = TAILQ_FIRST(&doomed)) != NULL) {
		TAILQ_REMOVE(&doomed, req, next);
		if (fail_requests)
			req->cb(DNS_ERR_SHUTDOWN, 0, 0, 0, NULL, req->arg);
		request_free(req);
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
	case DNS_ERR_NONE:		return "no error";
	case DNS_ERR_FORMAT:		return "the query was misformatted";
	case DNS_ERR_SERVERFAILED:	return "the server failed";
	case DNS_ERR_NOTEXIST:		return "no such name";
	case DNS_ERR_NOTIMPL:		return "query not implemented";
	case DNS_ERR_REFUSED:		return "the server refused the query";
	case DNS_ERR_TRUNCATED:		return "the reply was truncated";
	case DNS_ERR_UNKNOWN:		return "unknown error or no answer";
	case DNS_ERR_TIMEOUT:		return "no reply before the timeout";
	case DNS_ERR_SHUTDOWN:		return "the resolver was shut down";
	default:			return "unknown error code";
	}
}

void
evdns_set_log_fn(evdns_debug_log_fn_type fn)
{
	dns.log_fn = fn;
}

void
evdns_set_transaction_id_fn(ev_uint16_t (*fn)(void))
{
	dns.txid_fn = fn;
}

/* ---- options and resolv.conf ---- */

/* A non-negative integer, clipped to [lo, hi]; -1 if not a number. */
static int
parse_int(const char *s, int lo, int hi)
{
	long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE || v > hi)
		v = hi;
	return v < lo ? lo : (int)v;
}

/* Seconds with an optional fraction ("5", "0.25"), above 0, at most a day. */
static int
parse_seconds(const char *s, struct timeval *tv)
{
	long sec = 0, usec = 0, scale = 100000;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	for (; isdigit((unsigned char)*s); s++)
		if ((sec = sec * 10 + (*s - '0')) > 86400)
			return -1;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
			usec += (*s - '0') * scale;
	if (*s != '\0' || (sec == 0 && usec == 0))
		return -1;
	tv->tv_sec = sec;
	tv->tv_usec = usec;
	return 0;
}

int
evdns_set_option(const char *option, const char *val, int flags)
{
	struct timeval tv;
	int v;

	setup();
	if (option == NULL || val == NULL)
		return -1;
	if (strncmp(option, "ndots:", 6) == 0) {
		if ((v = parse_int(val, 0, 255)) < 0)
			return -1;
		if (flags & DNS_OPTION_SEARCH)
			evdns_search_ndots_set(v);
	} else if (strncmp(option, "timeout:", 8) == 0) {
		if (parse_seconds(val, &tv) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			dns.timeout = tv;
	} else if (strncmp(option, "initial-probe-timeout:", 22) == 0) {
		if (parse_seconds(val, &tv) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			dns.probe_initial = tv;
	} else if (strncmp(option, "attempts:", 9) == 0) {
		if ((v = parse_int(val, 1, 255)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			dns.max_attempts = v;
	} else if (strncmp(option, "max-timeouts:", 13) == 0) {
		if ((v = parse_int(val, 1, 255)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			dns.max_timeouts = v;
	} else if (strncmp(option, "max-inflight:", 13) == 0) {
		if ((v = parse_int(val, 1, 65000)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC) {
			dns.max_inflight = v;
			pump_waiting();
		}
	} else
		ev__dns_log(0, "ignoring unknown option \"%.32s\"", option);
	return 0;
}

/* The domain part of our host name, as the search list of last resort. */
static void
search_from_hostname(void)
{
	char host[256], *dot;

	if (gethostname(host, sizeof(host)) != 0)
		return;
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL && dot[1] != '\0')
		evdns_search_add(dot + 1);
}

static void
conf_line(char *line, int flags, int *nadded)
{
	static const char sep[] = " \t\r\f\v";
	char *save, *key, *tok, *val;

	line[strcspn(line, "#;")] = '\0';
	if ((key = strtok_r(line, sep, &save)) == NULL)
		return;
	if (strcmp(key, "nameserver") == 0) {
		if (!(flags & DNS_OPTION_NAMESERVERS) ||
		    (tok = strtok_r(NULL, sep, &save)) == NULL)
			return;
		if (*nadded >= MAX_CONF_NS) {
			if (*nadded == MAX_CONF_NS)
				ev__dns_log(1, "resolv.conf: only the first %d "
				    "nameservers are used", MAX_CONF_NS);
			++*nadded;
			return;
		}
		if (evdns_nameserver_ip_add(tok) == 0)
			++*nadded;
	} else if (strcmp(key, "domain") == 0 || strcmp(key, "search") == 0) {
		if (!(flags & DNS_OPTION_SEARCH))
			return;
		evdns_search_clear();
		while ((tok = strtok_r(NULL, sep, &save)) != NULL)
			evdns_search_add(tok);
	} else if (strcmp(key, "options") == 0) {
		while ((tok = strtok_r(NULL, sep, &save)) != NULL) {
			if ((val = strchr(tok, ':')) == NULL)
				continue;	/* "rotate", "edns0"... */
			if (evdns_set_option(tok, val + 1, flags) < 0)
				ev__dns_log(1, "resolv.conf: bad value "
				    "in %.32s", tok);
		}
	}
}

/* Read the whole file: 0, or the evdns_resolv_conf_parse() error. */
static int
conf_read(const char *filename, char **out, size_t *outlen)
{
	struct stat st;
	size_t got = 0;
	char *buf = NULL;
	int fd, err = 0;

	if ((fd = open(filename, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;
	if (fstat(fd, &st) < 0)
		err = 2;
	else if (st.st_size > MAX_CONF_SIZE)
		err = 3;
	else if ((buf = ev__malloc((size_t)st.st_size + 1)) == NULL) {
		event_warn("evdns: no memory to read %s", filename);
		err = 4;
	}
	if (err != 0) {
		close(fd);
		return err;
	}
	got = read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	if (got < (size_t)st.st_size) {
		ev__free(buf);
		return 5;
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	return 0;
}

int
evdns_resolv_conf_parse(int flags, const char *const filename)
{
	char *buf = NULL, *line, *save;
	size_t len = 0, i;
	int err, nadded = 0;
	unsigned nomem = dns.nomem;

	setup();
	if (filename == NULL)
		return 1;
	if ((err = conf_read(filename, &buf, &len)) != 0) {
		if (err == 1) {
			/* No file: our host's domain and a local server. */
			if (flags & DNS_OPTION_SEARCH) {
				evdns_search_clear();
				search_from_hostname();
			}
			if (flags & DNS_OPTION_NAMESERVERS)
				evdns_nameserver_ip_add("127.0.0.1");
		}
		return err;
	}
	/* A NUL byte separates lines; it does not end the file. */
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = '\n';
	/* strtok_r skips empty lines, which carry nothing anyway. */
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		conf_line(line, flags, &nadded);
	ev__free(buf);
	if (dns.nomem != nomem)
		err = 4; /* what could be applied was */
	if ((flags & DNS_OPTION_NAMESERVERS) && dns.nservers == 0) {
		evdns_nameserver_ip_add("127.0.0.1");
		if (err == 0)
			err = 6;
	}
	if ((flags & DNS_OPTION_SEARCH) &&
	    (dns.search == NULL || dns.search->n == 0))
		search_from_hostname();
	return err;
}
