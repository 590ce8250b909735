/*
 * evdns-ns.c: the resolver's nameservers.  Each has its own UDP socket,
 * bound to a random source port and connected to the nameserver, so the
 * kernel filters other senders; ev__dns_ns_datagram() checks the sender
 * again.  Requests go to nameservers in turn; a failed one (too many
 * timeouts, or a socket error) is skipped while others work, and probed
 * with a small query on a growing interval until it answers again.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "evutil.h"
#include "evdns.h"
#include "evdns-internal.h"
#include "evdns-resolv-internal.h"
#include "log.h"
#include "mm-internal.h"

#define READ_BATCH    32   /* datagrams read per callback */
#define MAX_PROBE_SEC 3600 /* longest wait between probes */

static uint8_t rbuf[65536]; /* one datagram at a time, never nested */

static void ns_read_cb(int, short, void *);
static void probe_timer_cb(int, short, void *);

int
ev__dns_same_addr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
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
		port = (uint16_t)(1024 + ev__dns_random16() % (65536 - 1024));
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
	ev__dns_tcp_close(ns);
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

	ev__dns_setup();
	if (current_base == NULL) {
		ev__dns_log(1, "nameserver added before event_init()");
		return 1;
	}
	TAILQ_FOREACH(ns, &ev__dns.servers, next)
		if (ev__dns_same_addr(&ns->addr, sa))
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
		    ev__dns_addr_str(sa, buf, sizeof(buf)));
		goto fail;
	}
	if ((ns = ev__calloc(1, sizeof(*ns))) == NULL) {
		event_warn("evdns: calloc");
		ev__dns.nomem++;
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
	TAILQ_INSERT_TAIL(&ev__dns.servers, ns, next);
	ev__dns.nservers++;
	ev__dns.ngood++;
	ev__dns_log(0, "added nameserver %s",
	    ev__dns_addr_str(sa, buf, sizeof(buf)));
	ev__dns_pump_waiting();
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
		port = end + 1; /* one colon: IPv4 with a port */
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
	ev__dns_setup();
	return ev__dns.nservers;
}

/*
 * The next nameserver in turn, preferring working ones and, when there is
 * a choice, one other than avoid.
 */
struct nameserver *
ev__dns_pick_ns(const struct nameserver *avoid)
{
	struct nameserver *ns;
	int pass, i;

	if (ev__dns.nservers == 0)
		return NULL;
	for (pass = 0; pass < 4; pass++) {
		ns = ev__dns.rr_next != NULL ? ev__dns.rr_next :
					       TAILQ_FIRST(&ev__dns.servers);
		for (i = 0; i < ev__dns.nservers; i++) {
			struct nameserver *cand = ns;

			if ((ns = TAILQ_NEXT(ns, next)) == NULL)
				ns = TAILQ_FIRST(&ev__dns.servers);
			if ((pass < 2 && cand->failed) ||
			    (pass % 2 == 0 && cand == avoid))
				continue;
			ev__dns.rr_next = ns;
			return cand;
		}
	}
	return NULL;
}

struct timeval
ev__dns_probe_delay(int step)
{
	struct timeval tv = ev__dns.probe_initial;
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

void
ev__dns_ns_failed(struct nameserver *ns, const char *why)
{
	struct timeval tv;
	char buf[64];

	if (ns->failed)
		return;
	ns->failed = 1;
	ns->probe_step = 0;
	ev__dns.ngood--;
	ev__dns_log(1, "nameserver %s is down: %s",
	    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)), why);
	if (ev__dns.ngood == 0)
		ev__dns_log(1, "all nameservers are down");
	tv = ev__dns_probe_delay(0);
	evtimer_add(&ns->probe_ev, &tv);
}

void
ev__dns_ns_up(struct nameserver *ns)
{
	char buf[64];

	ns->timeouts = 0;
	if (!ns->failed)
		return;
	ns->failed = 0;
	ev__dns.ngood++;
	event_del(&ns->probe_ev);
	if (ns->probe != NULL) {
		ev__dns_request_free(ns->probe);
		ns->probe = NULL;
	}
	ev__dns_log(1, "nameserver %s is back up",
	    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
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
		tv = ev__dns_probe_delay(ns->probe_step);
		evtimer_add(&ns->probe_ev, &tv);
		return;
	}
	req->is_probe = 1;
	req->qtype = EVDNS_TYPE_NS;
	req->ns = ns;
	evtimer_set(&req->timeout_ev, ev__dns_request_timeout_cb, req);
	ns->probe = req;
	ev__dns_request_go(req);
}

/* Free every nameserver; in-flight requests are moved to 'to' (or freed). */
void
ev__dns_drop_nameservers(struct request_list *to)
{
	struct nameserver *ns;
	struct request *req;
	int i;

	for (i = 0; i < EV__DNS_NBUCKETS; i++) {
		while ((req = TAILQ_FIRST(&ev__dns.buckets[i])) != NULL) {
			ev__dns_request_detach(req);
			if (req->is_probe) {
				ev__dns_request_free(req);
				continue;
			}
			req->ns = NULL;
			TAILQ_INSERT_TAIL(to, req, next);
		}
	}
	while ((ns = TAILQ_FIRST(&ev__dns.servers)) != NULL) {
		TAILQ_REMOVE(&ev__dns.servers, ns, next);
		ns_free(ns);
	}
	ev__dns.nservers = ev__dns.ngood = 0;
	ev__dns.rr_next = NULL;
	ev__dns.epoch++;
}

int
ev__dns_ns_datagram(struct nameserver *ns, const struct sockaddr_storage *from,
    const uint8_t *pkt, size_t len)
{
	char buf[64];

	if (!ev__dns_same_addr(from, &ns->addr)) {
		ev__dns_log(1, "dropped a reply from unexpected %s",
		    ev__dns_addr_str(from, buf, sizeof(buf)));
		return 0;
	}
	ev__dns_handle_reply(ns, pkt, len, 0);
	return 1;
}

struct nameserver *
ev__dns_nameserver(int index)
{
	struct nameserver *ns;

	TAILQ_FOREACH(ns, &ev__dns.servers, next)
		if (index-- == 0)
			return ns;
	return NULL;
}

static void
ns_read_cb(int fd, short what, void *arg)
{
	struct nameserver *ns = arg;
	struct sockaddr_storage from;
	socklen_t fromlen;
	unsigned epoch = ev__dns.epoch;
	ssize_t r;
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		fromlen = sizeof(from);
		memset(&from, 0, sizeof(from));
		r = recvfrom(fd, rbuf, sizeof(rbuf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				ev__dns_ns_failed(ns, strerror(errno));
			return;
		}
		ev__dns_ns_datagram(ns, &from, rbuf, (size_t)r);
		/* A callback may have removed every nameserver. */
		if (ev__dns.epoch != epoch)
			return;
	}
}
