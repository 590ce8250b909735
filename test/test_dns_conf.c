/*
 * test_dns_conf.c: configuring the evdns resolver.
 *
 * resolv.conf files (good, missing, partial, hostile, with NUL bytes, not
 * a file at all), the options evdns_set_option() takes and the values it
 * refuses, and nameserver addresses in every form evdns_nameserver_ip_add()
 * accepts, IPv6 included where the machine has it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#include "evdns-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

static char tmpdir[64];

/* Write a file called name in a fresh temporary directory; its path. */
static const char *
write_file(const char *name, const char *data, size_t len)
{
	static char path[128];
	FILE *f;

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dns.XXXXXX");
		assert_non_null(mkdtemp(tmpdir));
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void
test_resolv_conf(void **state)
{
	struct tserver ts;
	struct result r;
	char conf[512];
	const char *path;
	int n;

	tserver_start(&ts);
	n = snprintf(conf, sizeof(conf),
	    "# a comment\n\n"
	    "domain ignored.test\n"
	    "search nosuch.test search1.test ; a comment\n"
	    "nameserver 127.0.0.1:%u\n"
	    "nameserver not-an-address\n"
	    "options rotate ndots:1 timeout:0.5 attempts:2 bogus:1\n"
	    "sortlist 10.0.0.0\n",
	    ts.portnum);
	path = write_file("resolv.conf", conf, (size_t)n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 0);
	assert_int_equal(evdns_count_nameservers(), 1);
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_string_equal(ts.names[0], "host.nosuch.test");
	unlink(path);
	evdns_close_server_port(ts.port);
	evdns_shutdown(0);

	/* Only the parts asked for are applied. */
	path = write_file("resolv.conf", conf, (size_t)n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTION_SEARCH, path), 0);
	assert_int_equal(evdns_count_nameservers(), 0);
	unlink(path);
}

static void
test_resolv_conf_defaults(void **state)
{
	const char *path;

	/* A missing file: a local nameserver. */
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL,
			     "/nonexistent/resolv.conf"),
	    1);
	assert_int_equal(evdns_count_nameservers(), 1);
	evdns_shutdown(0);
	/* No nameserver line: the same default, and error 6. */
	path = write_file("empty.conf", "search x.test\n", 14);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 6);
	assert_int_equal(evdns_count_nameservers(), 1);
	unlink(path);
	evdns_shutdown(0);
	/* The system's file, as evdns_init() reads it. */
	assert_true(evdns_init() >= 0);
	assert_true(evdns_count_nameservers() >= 1);
}

static void
test_resolv_conf_hostile(void **state)
{
	char *big;
	const char *path;
	size_t i, n;
	unsigned seed = 12345;

	big = malloc(70000);
	assert_non_null(big);
	/* 100 nameservers: only the first few are used. */
	for (i = 0, n = 0; i < 100; i++)
		n += (size_t)sprintf(big + n, "nameserver 127.0.0.1:%zu\n",
		    20000 + i);
	path = write_file("many.conf", big, n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 0);
	assert_int_equal(evdns_count_nameservers(), 32);
	unlink(path);
	evdns_shutdown(0);
	/* Very long lines: a huge search list and a huge address. */
	n = (size_t)sprintf(big, "search");
	for (i = 0; i < 3000; i++)
		n += (size_t)sprintf(big + n, " d%zu.test", i);
	n += (size_t)sprintf(big + n, "\nnameserver ");
	memset(big + n, '1', 20000);
	n += 20000;
	n += (size_t)sprintf(big + n, "\noptions ndots:99999999999999999\n");
	path = write_file("long.conf", big, n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 6);
	unlink(path);
	evdns_shutdown(0);
	/* Garbage, NUL bytes included. */
	for (i = 0; i < 8192; i++) {
		seed = seed * 1103515245U + 12345U;
		big[i] = (char)(seed >> 16);
	}
	path = write_file("garbage.conf", big, 8192);
	n = (size_t)evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path);
	assert_true(n == 0 || n == 6);
	unlink(path);
	evdns_shutdown(0);
	/* Too large. */
	memset(big, '#', 70000);
	path = write_file("huge.conf", big, 70000);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 3);
	unlink(path);
	free(big);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static void
test_resolv_conf_nul(void **state)
{
	static const char conf[] =
	    "nameserver 127.0.0.1:1111\n\0junk\n"
	    "options timeout:-1 attempts:x ndots:99999999999999 "
	    "max-inflight:0\n"
	    "nameserver 127.0.0.1:2222"; /* no final newline */
	char path[] = "/tmp/test_dns_edge.XXXXXX";
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, sizeof(conf) - 1),
	    (ssize_t)sizeof(conf) - 1);
	close(fd);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, path), 0);
	unlink(path);
	assert_int_equal(evdns_count_nameservers(), 2);
}

/* Whether this machine has an IPv6 loopback to connect to. */
static int
have_ipv6(void)
{
	struct sockaddr_in6 sin6;
	int fd, ok;

	if ((fd = socket(AF_INET6, SOCK_DGRAM, 0)) < 0)
		return 0;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons(5353);
	ok = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

static void
test_nameserver_add(void **state)
{
	assert_int_equal(evdns_nameserver_add(htonl(INADDR_LOOPBACK)), 0);
	assert_int_not_equal(evdns_nameserver_add(htonl(INADDR_LOOPBACK)), 0);
	assert_int_equal(evdns_nameserver_ip_add("127.0.0.1:5353"), 0);
	if (have_ipv6()) {
		assert_int_equal(evdns_nameserver_ip_add("[::1]:5353"), 0);
		assert_int_equal(evdns_nameserver_ip_add("::1"), 0);
		assert_int_equal(evdns_count_nameservers(), 4);
	}
	assert_int_not_equal(evdns_nameserver_ip_add("127.0.0.1:0"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("127.0.0.1:99999"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("127.0.0.1:"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("[::1"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add("nonsense"), 0);
	assert_int_not_equal(evdns_nameserver_ip_add(""), 0);
}

/* Only the parts asked for are read: here the nameservers, not search. */
static void
test_resolv_conf_flags(void **state)
{
	struct tserver ts;
	struct result r;
	char conf[256];
	const char *path;
	int n;

	tserver_start(&ts);
	n = snprintf(conf, sizeof(conf),
	    "search search1.test\n"
	    "nameserver 127.0.0.1:%u\n",
	    ts.portnum);
	path = write_file("flags.conf", conf, (size_t)n);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTION_NAMESERVERS, path),
	    0);
	assert_int_equal(evdns_count_nameservers(), 1);
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_string_equal(ts.names[0], "host");
	/* A directory is not a file to read; no name is no file. */
	evdns_shutdown(0);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, tmpdir), 5);
	assert_int_equal(evdns_count_nameservers(), 0);
	assert_int_equal(evdns_resolv_conf_parse(DNS_OPTIONS_ALL, NULL), 1);
	assert_int_equal(evdns_count_nameservers(), 0);
	unlink(path);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
	evdns_close_server_port(ts.port);
}

static void
test_set_option(void **state)
{
	assert_int_equal(evdns_set_option("timeout:", "x", 7), -1);
	assert_int_equal(evdns_set_option("timeout:", "0", 7), -1);
	assert_int_equal(evdns_set_option("timeout:", "1.5s", 7), -1);
	assert_int_equal(evdns_set_option("attempts:", "", 7), -1);
	assert_int_equal(evdns_set_option("ndots:", "-1", 7), -1);
	assert_int_equal(evdns_set_option("no-such-option:", "1", 7), 0);
	/* More values refused: each option checks its own. */
	assert_int_equal(evdns_set_option(NULL, "1", 7), -1);
	assert_int_equal(evdns_set_option("ndots:", NULL, 7), -1);
	assert_int_equal(evdns_set_option("ndots:", "5x", 7), -1);
	assert_int_equal(evdns_set_option("timeout:", "86401", 7), -1);
	assert_int_equal(evdns_set_option("initial-probe-timeout:", "-1", 7),
	    -1);
	assert_int_equal(evdns_set_option("max-timeouts:", "many", 7), -1);
	assert_int_equal(evdns_set_option("max-inflight:", "", 7), -1);
	/* Values out of range are clipped, not refused. */
	assert_int_equal(evdns_set_option("ndots:", "99999999999999999999", 7),
	    0);
	assert_int_equal(evdns_set_option("attempts:", "0", 7), 0);
	assert_int_equal(evdns_set_option("timeout:", ".25", 7), 0);
	assert_int_equal(evdns_set_option("initial-probe-timeout:", "86400", 7),
	    0);
}

/* An address the kernel will not connect to is refused at once. */
static void
test_nameserver_add_refused(void **state)
{
	assert_int_equal(evdns_nameserver_ip_add("255.255.255.255"), 2);
	assert_int_equal(evdns_nameserver_ip_add("[::1]x"), 4);
	assert_int_equal(evdns_nameserver_ip_add(NULL), 4);
	assert_int_equal(evdns_count_nameservers(), 0);
}

static int nv6;

static void
v6_server_cb(struct evdns_server_request *req, void *arg)
{
	struct sockaddr_in6 from;

	nv6++;
	assert_int_equal(evdns_server_request_get_requesting_addr(req,
			     (struct sockaddr *)&from, (int)sizeof(from)),
	    (int)sizeof(from));
	assert_int_equal(from.sin6_family, AF_INET6);
	tserver_answer(req, req->questions[0]);
}

/* A nameserver on ::1 answers, and replies from it are accepted. */
static void
test_ipv6_nameserver(void **state)
{
	struct evdns_server_port *port;
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);
	struct result r;
	char addr[64];
	int fd;

	if (!have_ipv6())
		skip();
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	assert_int_equal(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	nv6 = 0;
	port = evdns_add_server_port(fd, 0, v6_server_cb, NULL);
	assert_non_null(port);
	snprintf(addr, sizeof(addr), "[::1]:%u", ntohs(sin6.sin6_port));
	assert_int_equal(evdns_nameserver_ip_add(addr), 0);
	assert_int_equal(evdns_nameserver_ip_add(addr), 3); /* once */
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.0.0.1");
	assert_int_equal(nv6, 1);
	evdns_close_server_port(port);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_resolv_conf),
		DNS_TEST(test_resolv_conf_defaults),
		DNS_TEST(test_resolv_conf_hostile),
		DNS_TEST(test_resolv_conf_nul),
		DNS_TEST(test_resolv_conf_flags),
		DNS_TEST(test_nameserver_add),
		DNS_TEST(test_nameserver_add_refused),
		DNS_TEST(test_ipv6_nameserver),
	};
	const struct CMUnitTest once[] = {
		DNS_TEST(test_set_option),
	};

	return TU_RUN_PER_BACKEND("dns_conf", tests) +
	    TU_RUN_ONCE("dns_conf", once);
}
