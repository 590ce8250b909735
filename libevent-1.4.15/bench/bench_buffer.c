/*
 * bench_buffer.c: evbuffer throughput on the 1.4 API.
 *
 * -m adddrain  TOTAL bytes (default 1 GiB) go through one evbuffer that
 *              always holds QUEUED bytes (default 1 MiB): add a CHUNK at
 *              the tail, drain a CHUNK from the head, again and again.
 * -m readline  a stream of 100-byte lines arrives in 4 KiB pieces, 1 MiB at
 *              a time (so lines straddle the pieces, as they do when read
 *              from a socket), and evbuffer_readline takes every complete
 *              line out; TOTAL bytes of lines in all.  Only the readline
 *              calls are timed.
 *
 * The work runs inside run_adddrain()/run_readline(), which bench/run.sh
 * names to callgrind's --toggle-collect.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "bench_util.h"

#define USAGE	"usage: bench_buffer [-m adddrain|readline] [-c chunk] " \
		"[-q queued] [-t total]"
#define LINELEN		100
#define PIECE		4096
#define BATCH		(1024 * 1024)
/* The line stream repeats every lcm(LINELEN, PIECE) bytes. */
#define PERIOD		102400

static long chunk = 4096, queued = 1024 * 1024, total = 1024L * 1024 * 1024;
static long nlines, nops;
static double readline_us;

static void
die(const char *what)
{
	fprintf(stderr, "%s failed\n", what);
	exit(1);
}

static void __attribute__((noinline))
run_adddrain(struct evbuffer *buf, const char *data, long amount)
{
	long done;

	for (done = 0; done < amount; done += chunk) {
		if (evbuffer_add(buf, data, (size_t)chunk) == -1)
			die("evbuffer_add");
		evbuffer_drain(buf, (size_t)chunk);
		nops++;
	}
}

static void __attribute__((noinline))
run_readline(struct evbuffer *buf, const char *stream)
{
	long done = 0, pos = 0, i;
	double t;
	char *line;

	while (done < total) {
		for (i = 0; i < BATCH; i += PIECE) {
			if (evbuffer_add(buf, stream + pos, PIECE) == -1)
				die("evbuffer_add");
			pos = (pos + PIECE) % PERIOD;
		}
		done += BATCH;
		t = bu_now_usec();
		while ((line = evbuffer_readline(buf)) != NULL) {
			if (line[0] == '\0')
				die("evbuffer_readline");
			free(line);
			nlines++;
		}
		readline_us += bu_now_usec() - t;
	}
}

int
main(int argc, char **argv)
{
	const char *mode = "adddrain";
	struct evbuffer *buf;
	char *data;
	double t;
	long i;
	int c;

	while ((c = getopt(argc, argv, "m:c:q:t:")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'c': chunk = bu_arg(optarg, USAGE); break;
		case 'q': queued = bu_arg(optarg, USAGE); break;
		case 't': total = bu_arg(optarg, USAGE); break;
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	if ((buf = evbuffer_new()) == NULL)
		die("evbuffer_new");
	data = malloc((size_t)(chunk > PERIOD + PIECE ? chunk : PERIOD + PIECE));
	if (data == NULL)
		die("malloc");
	if (strcmp(mode, "adddrain") == 0) {
		memset(data, 'x', (size_t)chunk);
		for (i = 0; i < queued; i += chunk)
			if (evbuffer_add(buf, data, (size_t)chunk) == -1)
				die("evbuffer_add");
		/* A short pass to warm up, then the timed one. */
		run_adddrain(buf, data, total / 16);
		nops = 0;
		t = bu_now_usec();
		run_adddrain(buf, data, total);
		t = bu_now_usec() - t;
		printf("chunk=%ld queued=%ld total=%ld ops=%ld "
		    "ms_per_gib=%.2f mb_per_s=%.0f\n", chunk, queued, total,
		    nops, t / 1e3 * (1073741824.0 / (double)total),
		    (double)total / t);
	} else if (strcmp(mode, "readline") == 0) {
		for (i = 0; i < PERIOD + PIECE; i++)
			data[i] = i % LINELEN == LINELEN - 1 ? '\n' :
			    (char)('a' + i % 26);
		run_readline(buf, data);
		printf("lines=%ld total=%ld ns_per_line=%.1f\n", nlines, total,
		    readline_us * 1e3 / (double)nlines);
	} else {
		fprintf(stderr, "%s\n", USAGE);
		return 2;
	}
	evbuffer_free(buf);
	free(data);
	return 0;
}
