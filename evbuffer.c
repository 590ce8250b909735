/*
 * evbuffer.c: struct bufferevent, an fd with an input and an output
 * evbuffer and callbacks around them, with libevent 1.4.15's semantics:
 *
 * - a new bufferevent has only EV_WRITE enabled; programs enable EV_READ;
 * - each readable event does one evbuffer_read(), never filling the input
 *   past the read high watermark; readcb runs when the input holds at
 *   least the low watermark;
 * - at the high watermark reading stops and a callback on the input
 *   evbuffer resumes it once the program drains the input below it (read
 *   pressure), so a peer that sends without pause cannot grow memory;
 * - the write event is pending while output has data and EV_WRITE is
 *   enabled; writecb runs when output drops to the write low watermark;
 * - EOF, errors and timeouts reach errorcb with EVBUFFER_READ or
 *   EVBUFFER_WRITE plus EVBUFFER_EOF, EVBUFFER_ERROR or EVBUFFER_TIMEOUT;
 *   the event that failed stays deleted until the program re-enables it.
 *
 * Every user callback is the last thing its event handler does, so a
 * callback may free its own bufferevent.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "mm-internal.h"

/* Add ev, with a timeout of seconds if non-zero. */
static int
bufferevent_add(struct event *ev, int seconds)
{
	struct timeval tv;

	if (seconds <= 0)
		return event_add(ev, NULL);
	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	return event_add(ev, &tv);
}

static void
report_error(struct bufferevent *bufev, short what)
{
	if (bufev->errorcb != NULL)
		(*bufev->errorcb)(bufev, what, bufev->cbarg);
}

/*
 * The input's callback while reading is paused at the high watermark:
 * once the program has drained the input below it (or removed the
 * watermark), resume reading if the program still wants it.
 */
static void
read_pressure_cb(struct evbuffer *buf, size_t oldlen, size_t newlen, void *arg)
{
	struct bufferevent *bufev = arg;

	if (bufev->wm_read.high == 0 || newlen < bufev->wm_read.high) {
		evbuffer_setcb(buf, NULL, NULL);
		if (bufev->enabled & EV_READ)
			bufferevent_add(&bufev->ev_read, bufev->timeout_read);
	}
}

static void
pause_reading(struct bufferevent *bufev)
{
	event_del(&bufev->ev_read);
	evbuffer_setcb(bufev->input, read_pressure_cb, bufev);
}

static void
bufferevent_readcb(int fd, short event, void *arg)
{
	struct bufferevent *bufev = arg;
	short what = EVBUFFER_READ;
	int howmuch = -1, res;
	size_t len;

	if (event == EV_TIMEOUT) {
		report_error(bufev, what | EVBUFFER_TIMEOUT);
		return;
	}

	/* Read no more than what brings the input to the high watermark. */
	if (bufev->wm_read.high != 0) {
		len = EVBUFFER_LENGTH(bufev->input);
		if (len >= bufev->wm_read.high) {
			/* The watermark was lowered under us. */
			pause_reading(bufev);
			return;
		}
		if (bufev->wm_read.high - len < INT_MAX)
			howmuch = (int)(bufev->wm_read.high - len);
	}

	res = evbuffer_read(bufev->input, fd, howmuch);
	if (res == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			bufferevent_add(&bufev->ev_read, bufev->timeout_read);
			return;
		}
		report_error(bufev, what | EVBUFFER_ERROR);
		return;
	}
	if (res == 0) {
		report_error(bufev, what | EVBUFFER_EOF);
		return;
	}

	bufferevent_add(&bufev->ev_read, bufev->timeout_read);

	len = EVBUFFER_LENGTH(bufev->input);
	if (bufev->wm_read.low != 0 && len < bufev->wm_read.low)
		return;
	if (bufev->wm_read.high != 0 && len >= bufev->wm_read.high)
		pause_reading(bufev);

	/* Last: the callback may free bufev. */
	if (bufev->readcb != NULL)
		(*bufev->readcb)(bufev, bufev->cbarg);
}

static void
bufferevent_writecb(int fd, short event, void *arg)
{
	struct bufferevent *bufev = arg;
	short what = EVBUFFER_WRITE;
	int res;

	if (event == EV_TIMEOUT) {
		report_error(bufev, what | EVBUFFER_TIMEOUT);
		return;
	}

	if (EVBUFFER_LENGTH(bufev->output) != 0) {
		res = evbuffer_write(bufev->output, fd);
		if (res == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == EINPROGRESS) {
				bufferevent_add(&bufev->ev_write,
				    bufev->timeout_write);
				return;
			}
			report_error(bufev, what | EVBUFFER_ERROR);
			return;
		}
		if (res == 0) {
			report_error(bufev, what | EVBUFFER_EOF);
			return;
		}
	}

	if (EVBUFFER_LENGTH(bufev->output) != 0)
		bufferevent_add(&bufev->ev_write, bufev->timeout_write);

	/* Last: the callback may free bufev. */
	if (bufev->writecb != NULL &&
	    EVBUFFER_LENGTH(bufev->output) <= bufev->wm_write.low)
		(*bufev->writecb)(bufev, bufev->cbarg);
}

struct bufferevent *
bufferevent_new(int fd, evbuffercb readcb, evbuffercb writecb,
    everrorcb errorcb, void *cbarg)
{
	struct bufferevent *bufev;

	if ((bufev = ev__calloc(1, sizeof(*bufev))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	if ((bufev->input = evbuffer_new()) == NULL ||
	    (bufev->output = evbuffer_new()) == NULL) {
		evbuffer_free(bufev->input);
		ev__free(bufev);
		return NULL;
	}

	event_set(&bufev->ev_read, fd, EV_READ, bufferevent_readcb, bufev);
	event_set(&bufev->ev_write, fd, EV_WRITE, bufferevent_writecb, bufev);
	bufferevent_setcb(bufev, readcb, writecb, errorcb, cbarg);

	/*
	 * As in 1.4: writing is enabled so bufferevent_write() schedules
	 * itself; reading waits for bufferevent_enable(EV_READ).
	 */
	bufev->enabled = EV_WRITE;
	return bufev;
}

void
bufferevent_setcb(struct bufferevent *bufev, evbuffercb readcb,
    evbuffercb writecb, everrorcb errorcb, void *cbarg)
{
	bufev->readcb = readcb;
	bufev->writecb = writecb;
	bufev->errorcb = errorcb;
	bufev->cbarg = cbarg;
}

void
bufferevent_setfd(struct bufferevent *bufev, int fd)
{
	event_del(&bufev->ev_read);
	event_del(&bufev->ev_write);

	event_set(&bufev->ev_read, fd, EV_READ, bufferevent_readcb, bufev);
	event_set(&bufev->ev_write, fd, EV_WRITE, bufferevent_writecb, bufev);
	if (bufev->ev_base != NULL) {
		event_base_set(bufev->ev_base, &bufev->ev_read);
		event_base_set(bufev->ev_base, &bufev->ev_write);
	}
	/* As in 1.4, the program re-enables what it wants on the new fd. */
}

int
bufferevent_base_set(struct event_base *base, struct bufferevent *bufev)
{
	const short any = EV_READ | EV_WRITE | EV_TIMEOUT;

	/*
	 * A pending event cannot change bases (1.4 moved it anyway and
	 * corrupted both bases).  Check both first, so a refusal leaves
	 * the bufferevent wholly on its old base.
	 */
	if (base == NULL || event_pending(&bufev->ev_read, any, NULL) ||
	    event_pending(&bufev->ev_write, any, NULL)) {
		event_warnx("%s: disable the bufferevent before moving it",
		    __func__);
		return -1;
	}
	if (event_base_set(base, &bufev->ev_read) == -1 ||
	    event_base_set(base, &bufev->ev_write) == -1)
		return -1;
	bufev->ev_base = base;
	return 0;
}

int
bufferevent_priority_set(struct bufferevent *bufev, int priority)
{
	if (event_priority_set(&bufev->ev_read, priority) == -1)
		return -1;
	return event_priority_set(&bufev->ev_write, priority);
}

void
bufferevent_free(struct bufferevent *bufev)
{
	if (bufev == NULL)
		return;
	event_del(&bufev->ev_read);
	event_del(&bufev->ev_write);
	evbuffer_free(bufev->input);
	evbuffer_free(bufev->output);
	ev__free(bufev);
}

int
bufferevent_write(struct bufferevent *bufev, const void *data, size_t size)
{
	if (evbuffer_add(bufev->output, data, size) == -1)
		return -1;
	if (size > 0 && (bufev->enabled & EV_WRITE))
		bufferevent_add(&bufev->ev_write, bufev->timeout_write);
	return 0;
}

int
bufferevent_write_buffer(struct bufferevent *bufev, struct evbuffer *buf)
{
	size_t size = EVBUFFER_LENGTH(buf);

	if (evbuffer_add_buffer(bufev->output, buf) == -1)
		return -1;
	if (size > 0 && (bufev->enabled & EV_WRITE))
		bufferevent_add(&bufev->ev_write, bufev->timeout_write);
	return 0;
}

size_t
bufferevent_read(struct bufferevent *bufev, void *data, size_t size)
{
	struct evbuffer *buf = bufev->input;

	if (size > buf->off)
		size = buf->off;
	if (size > 0) {
		memcpy(data, buf->buffer, size);
		evbuffer_drain(buf, size);
	}
	return size;
}

int
bufferevent_enable(struct bufferevent *bufev, short event)
{
	if ((event & EV_READ) &&
	    bufferevent_add(&bufev->ev_read, bufev->timeout_read) == -1)
		return -1;
	if ((event & EV_WRITE) &&
	    bufferevent_add(&bufev->ev_write, bufev->timeout_write) == -1)
		return -1;
	bufev->enabled |= event;
	return 0;
}

int
bufferevent_disable(struct bufferevent *bufev, short event)
{
	if ((event & EV_READ) && event_del(&bufev->ev_read) == -1)
		return -1;
	if ((event & EV_WRITE) && event_del(&bufev->ev_write) == -1)
		return -1;
	bufev->enabled &= ~event;
	return 0;
}

void
bufferevent_settimeout(struct bufferevent *bufev, int timeout_read,
    int timeout_write)
{
	bufev->timeout_read = timeout_read;
	bufev->timeout_write = timeout_write;

	/* Re-arm what is pending so the new timeouts apply now. */
	if (event_pending(&bufev->ev_read, EV_READ, NULL))
		bufferevent_add(&bufev->ev_read, timeout_read);
	if (event_pending(&bufev->ev_write, EV_WRITE, NULL))
		bufferevent_add(&bufev->ev_write, timeout_write);
}

void
bufferevent_setwatermark(struct bufferevent *bufev, short events,
    size_t lowmark, size_t highmark)
{
	if (events & EV_READ) {
		bufev->wm_read.low = lowmark;
		bufev->wm_read.high = highmark;
	}
	if (events & EV_WRITE) {
		bufev->wm_write.low = lowmark;
		bufev->wm_write.high = highmark;
	}

	/* A raised or removed high watermark may let reading resume. */
	if (bufev->input->cb == read_pressure_cb)
		read_pressure_cb(bufev->input, 0, EVBUFFER_LENGTH(bufev->input),
		    bufev);
}
