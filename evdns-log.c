/*
 * evdns-log.c: the log of the resolver and of the server port.  Messages
 * go to evdns_set_log_fn()'s callback or, without one, warnings to the
 * library's log (log.c) and the rest to its debug log.  The server port
 * needs nothing else from the resolver, so it links without it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#include "evutil.h"
#include "evdns.h"
#include "evdns-internal.h"
#include "log.h"

static evdns_debug_log_fn_type log_fn;

void
evdns_set_log_fn(evdns_debug_log_fn_type fn)
{
	log_fn = fn;
}

void
ev__dns_log(int warn, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	evutil_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_fn != NULL)
		log_fn(warn, buf);
	else if (warn)
		event_warnx("evdns: %s", buf);
	else
		event_debug(("evdns: %s", buf));
}

const char *
ev__dns_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
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
