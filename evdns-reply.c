/*
 * evdns-reply.c: what the resolver does with a reply.  It must come from
 * the nameserver asked (evdns-ns.c checked the address and port), carry
 * the ID of a request in flight to it over the same transport, and repeat
 * the question with the case it was sent in (0x20).  Then: a truncated
 * UDP answer is asked again over TCP; FORMERR or NOTIMP to a query with
 * an OPT record is asked again without one; other errors move on to
 * another nameserver or search domain; an answer goes to the callback.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <string.h>

#include "event.h"
#include "evdns.h"
#include "evdns-internal.h"
#include "evdns-resolv-internal.h"

/* Case losses before a nameserver is asked without 0x20. */
#define CASE_FALLBACKS 3

/*
 * An error reply: another nameserver for errors that may be the server's,
 * then the next search domain, then the callback.
 */
static void
request_failed(struct request *req, int err)
{
	struct nameserver *other;

	if ((err == DNS_ERR_SERVERFAILED || err == DNS_ERR_REFUSED ||
		err == DNS_ERR_NOTIMPL) &&
	    !req->reissued && (other = ev__dns_pick_ns(req->ns)) != req->ns &&
	    !other->failed) {
		req->reissued = 1;
		req->ns = other;
		ev__dns_request_transmit(req);
		return;
	}
	if (err != DNS_ERR_TRUNCATED && ev__dns_search_next(req) == 0) {
		req->reissued = 0;
		ev__dns_request_go(req);
		return;
	}
	ev__dns_request_finish(req, err, NULL);
}

/*
 * The question came back in another case than we sent it.  Either a
 * spoofer who guessed ID and port but not the case, or a nameserver that
 * does not preserve case: ask once more without 0x20 under a new ID (a
 * spoofer must guess again), and stop randomizing for a nameserver that
 * keeps doing it.
 */
static void
case_mismatch(struct nameserver *ns, struct request *req)
{
	char buf[64];

	ev__dns_log(1,
	    "dropped a reply that lost the case of the question "
	    "from %s",
	    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
	if (++ns->case_fallbacks >= CASE_FALLBACKS && !ns->no_case) {
		ns->no_case = 1;
		ev__dns_log(1,
		    "nameserver %s does not preserve case; its "
		    "questions are no longer randomized",
		    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
	}
	req->no_case = 1;
	req->cased = 0;
	strcpy(req->sent, req->name);
	ev__dns_request_resend(req);
}

/* FORMERR or NOTIMP to a query with an OPT: no EDNS for ns from now. */
static void
edns_refused(struct nameserver *ns, struct request *req)
{
	char buf[64];

	ns->no_edns = 1;
	ev__dns_log(1, "nameserver %s refuses EDNS; asking it without",
	    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
	ev__dns_request_resend(req);
}

/*
 * Some servers without EDNS answer an OPT with FORMERR and no question.
 * Whether pkt is such an answer to a request of ours with an OPT (then
 * handled).
 */
static int
edns_formerr(struct nameserver *ns, const uint8_t *pkt, size_t len, int tcp)
{
	struct ev__dns_header h;
	struct request *req;
	int rcode;

	if (ev__dns_header_parse(pkt, len, &h) < 0 || h.qdcount != 0 ||
	    !(h.flags & EV__DNS_QR))
		return 0;
	rcode = EV__DNS_RCODE(h.flags);
	if ((rcode != DNS_ERR_FORMAT && rcode != DNS_ERR_NOTIMPL) ||
	    (req = ev__dns_find_request(h.id)) == NULL || req->ns != ns ||
	    req->tcp != tcp || !req->edns)
		return 0;
	edns_refused(ns, req);
	return 1;
}

/* The request the reply r answers, or NULL (and logged) if none. */
static struct request *
reply_request(struct nameserver *ns, const struct ev__dns_reply *r, int tcp)
{
	struct request *req;
	char buf[64];

	if ((req = ev__dns_find_request(r->hdr.id)) == NULL || req->ns != ns ||
	    req->tcp != tcp) {
		ev__dns_log(0, "dropped a reply with unknown ID %u", r->hdr.id);
		return NULL;
	}
	if (r->qtype != req->qtype || r->qclass != EVDNS_CLASS_INET ||
	    !ev__dns_name_equal(r->qname, req->sent)) {
		ev__dns_log(1, "dropped a reply to another question from %s",
		    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
		return NULL;
	}
	return req;
}

void
ev__dns_handle_reply(struct nameserver *ns, const uint8_t *pkt, size_t len,
    int tcp)
{
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	struct request *req;
	char buf[64];
	int rcode, res;

	if (ev__dns_reply_parse(pkt, len, &r) < 0) {
		if (edns_formerr(ns, pkt, len, tcp))
			return;
		ev__dns_log(1, "dropped a malformed reply from %s",
		    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
		return;
	}
	if ((req = reply_request(ns, &r, tcp)) == NULL)
		return;
	if (req->is_probe) {
		ev__dns_ns_up(ns); /* any answer will do; frees it */
		return;
	}
	/* Only a randomly cased question must come back exactly: a name
	 * asked as given may come back in any case. */
	if (req->cased && strcmp(r.qname, req->sent) != 0) {
		case_mismatch(ns, req);
		return;
	}
	if (req->cased)
		ns->case_fallbacks = 0; /* case kept */
	rcode = EV__DNS_RCODE(r.hdr.flags);
	if ((rcode == DNS_ERR_FORMAT || rcode == DNS_ERR_NOTIMPL) &&
	    req->edns) {
		edns_refused(ns, req);
		return;
	}
	if ((r.hdr.flags & EV__DNS_TC) && !tcp) {
		ev__dns_ns_up(ns);
		if (!ev__dns.tcp_fallback) {
			request_failed(req, DNS_ERR_TRUNCATED);
			return;
		}
		/* RFC 7766: the same question to the same server over TCP. */
		req->tcp = 1;
		ev__dns_request_resend(req);
		return;
	}
	if (rcode != 0) {
		if (rcode != DNS_ERR_SERVERFAILED && rcode != DNS_ERR_REFUSED)
			ev__dns_ns_up(ns);
		request_failed(req,
		    rcode <= DNS_ERR_REFUSED ? rcode : DNS_ERR_UNKNOWN);
		return;
	}
	if ((res = ev__dns_reply_answers(pkt, len, &r, req->qtype, &a)) < 0) {
		ev__dns_log(1, "dropped a reply with malformed answers from %s",
		    ev__dns_addr_str(&ns->addr, buf, sizeof(buf)));
		return;
	}
	ev__dns_ns_up(ns);
	if (res == 0)
		request_failed(req, DNS_ERR_UNKNOWN);
	else
		ev__dns_request_finish(req, DNS_ERR_NONE, &a);
}
