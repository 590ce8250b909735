/*
 * evdns-conf.c: the resolver's configuration: the search list (which
 * requests hold a reference to, so a change does not bite them), the
 * options of evdns_set_option() and the resolv.conf reader.
 */
#include <sys/types.h>
#include <sys/stat.h>
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

#define MAX_CONF_NS   32    /* nameservers taken from one resolv.conf */
#define MAX_CONF_SIZE 65535 /* largest resolv.conf read */

struct search_list *
ev__dns_search_ref(struct search_list *s)
{
	if (s != NULL)
		s->refcnt++;
	return s;
}

void
ev__dns_search_unref(struct search_list *s)
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
	struct search_list *s = ev__dns.search, *copy;
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
		ev__dns_search_unref(s);
	}
	ev__dns.search = copy;
	return copy;
nomem:
	/* The list stays as it was rather than losing domains. */
	event_warn("evdns: no memory to change the search list");
	ev__dns.nomem++;
	ev__dns_search_unref(copy);
	return NULL;
}

void
evdns_search_clear(void)
{
	struct search_list *s;

	ev__dns_setup();
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

	ev__dns_setup();
	if (domain == NULL)
		return;
	while (*domain == '.')
		domain++;
	if (*domain == '\0' || ev__dns_name_check(domain) < 0) {
		ev__dns_log(1, "ignoring invalid search domain");
		return;
	}
	if (ev__dns.search != NULL && ev__dns.search->n >= EV__DNS_MAX_SEARCH) {
		ev__dns_log(1, "search list full; ignoring %s", domain);
		return;
	}
	/* The copy first: a failure then changes nothing at all. */
	if ((copy = ev__strdup(domain)) == NULL) {
		event_warn("evdns: no memory for search domain %s", domain);
		ev__dns.nomem++;
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

	ev__dns_setup();
	if ((s = search_writable()) != NULL)
		s->ndots = ndots < 0 ? 0 : ndots;
}

/* The next name a search tries: name.domain for each domain, or name. */
int
ev__dns_search_next(struct request *req)
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

	ev__dns_setup();
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
			ev__dns.timeout = tv;
	} else if (strncmp(option, "initial-probe-timeout:", 22) == 0) {
		if (parse_seconds(val, &tv) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.probe_initial = tv;
	} else if (strncmp(option, "attempts:", 9) == 0) {
		if ((v = parse_int(val, 1, 255)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.max_attempts = v;
	} else if (strncmp(option, "max-timeouts:", 13) == 0) {
		if ((v = parse_int(val, 1, 255)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.max_timeouts = v;
	} else if (strncmp(option, "max-inflight:", 13) == 0) {
		if ((v = parse_int(val, 1, 65000)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC) {
			ev__dns.max_inflight = v;
			ev__dns_pump_waiting();
		}
	} else if (strncmp(option, "tcp-fallback:", 13) == 0) {
		if ((v = parse_int(val, 0, 1)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.tcp_fallback = v;
	} else if (strncmp(option, "tcp-only:", 9) == 0) {
		if ((v = parse_int(val, 0, 1)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.tcp_only = v;
	} else if (strncmp(option, "tcp-idle-timeout:", 17) == 0) {
		if (parse_seconds(val, &tv) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.tcp_idle = tv;
	} else if (strncmp(option, "edns-udp-size:", 14) == 0) {
		/* 0 turns EDNS off; below 512 is no size at all. */
		if ((v = parse_int(val, 0, 65535)) < 0 ||
		    (v > 0 && v < EV__DNS_UDP_MAX))
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.edns_size = v;
	} else if (strncmp(option, "randomize-case:", 15) == 0) {
		if ((v = parse_int(val, 0, 1)) < 0)
			return -1;
		if (flags & DNS_OPTION_MISC)
			ev__dns.randomize_case = v;
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
				ev__dns_log(1,
				    "resolv.conf: only the first %d "
				    "nameservers are used",
				    MAX_CONF_NS);
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
			/* glibc's "use-vc": every query over TCP. */
			if (strcmp(tok, "use-vc") == 0)
				evdns_set_option("tcp-only:", "1", flags);
			if ((val = strchr(tok, ':')) == NULL)
				continue; /* "rotate", "edns0"... */
			if (evdns_set_option(tok, val + 1, flags) < 0)
				ev__dns_log(1,
				    "resolv.conf: bad value "
				    "in %.32s",
				    tok);
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
	got = ev__dns_read_full(fd, buf, (size_t)st.st_size);
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
	unsigned nomem = ev__dns.nomem;

	ev__dns_setup();
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
	if (ev__dns.nomem != nomem)
		err = 4; /* what could be applied was */
	if ((flags & DNS_OPTION_NAMESERVERS) && ev__dns.nservers == 0) {
		evdns_nameserver_ip_add("127.0.0.1");
		if (err == 0)
			err = 6;
	}
	if ((flags & DNS_OPTION_SEARCH) &&
	    (ev__dns.search == NULL || ev__dns.search->n == 0))
		search_from_hostname();
	return err;
}
