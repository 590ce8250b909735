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
 * -m find     evbuffer_find of a needle of NEEDLE bytes (-l, default 4096)
 *              at the end of TOTAL bytes (default here 8 MiB), REPEAT times
 *              (-r, default 10): with -k long the needle is "aaa...ab" in a
 *              buffer of 'a' (quadratic for a first-byte search), with
 *              -k text it is NEEDLE bytes of words ending in '#', after
 *              words without '#' (the usual case: frequent first-byte
 *              candidates, compares that fail early).
 * -m memcpy    the floor under adddrain, no library: each chunk copied
 *              once with memcpy into a ring of twice QUEUED bytes.
 *
 * adddrain, memcpy and readline time CPU, not wall-clock time.  adddrain
 * and memcpy also print held_kib: how much the memory of the process (its
 * Pss, so that a page mapped twice counts once) grew from before the
 * buffer was filled to the end, what it holds once the queue is steady
 * (the target: at most twice the queued bytes).
 *
 * The work runs inside run_adddrain()/run_readline()/run_find(), which
 * bench/run.sh names to callgrind's --toggle-collect.
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

#define USAGE \
	"usage: bench_buffer [-m adddrain|readline|find|memcpy] " \
	"[-c chunk] [-q queued] [-t total] [-l needle] [-k long|text] " \
	"[-r repeat]"
#define LINELEN 100
#define PIECE	4096
#define BATCH	(1024 * 1024)
/* The line stream repeats every lcm(LINELEN, PIECE) bytes. */
#define PERIOD 102400

static long chunk = 4096, queued = 1024 * 1024, total = 1024L * 1024 * 1024;
static long needle_len = 4096, repeat = 10;
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
		t = bu_cpu_usec();
		while ((line = evbuffer_readline(buf)) != NULL) {
			if (line[0] == '\0')
				die("evbuffer_readline");
			free(line);
			nlines++;
		}
		readline_us += bu_cpu_usec() - t;
	}
}

static long __attribute__((noinline))
run_find(struct evbuffer *buf, const u_char *needle)
{
	long r, hits = 0;

	for (r = 0; r < repeat; r++)
		if (evbuffer_find(buf, needle, (size_t)needle_len) != NULL)
			hits++;
	return hits;
}

static void
bench_find(const char *kind)
{
	static const char *words[] = { "the ", "quick ", "brown ", "fox ",
		"jumps ", "over ", "a ", "lazy ", "dog ", "Host: ", "example",
		".org", "Content-Length: ", "1234", "\r\n" };
	struct evbuffer *buf;
	u_char *hay;
	size_t n = (size_t)total, i, w;
	uint64_t rs = 1;
	long hits;
	double t;

	if ((hay = malloc(n)) == NULL || (buf = evbuffer_new()) == NULL ||
	    needle_len > total)
		die("bench_find setup");
	if (strcmp(kind, "long") == 0) {
		memset(hay, 'a', n);
		hay[n - 1] = 'b';
	} else {
		for (i = 0; i < n; i += strlen(words[w])) {
			w = (size_t)(bu_random(&rs) % 15);
			memcpy(hay + i, words[w],
			    n - i < strlen(words[w]) ? n - i :
						       strlen(words[w]));
		}
		hay[n - 1] = '#';
	}
	if (evbuffer_add(buf, hay, n) == -1)
		die("evbuffer_add");
	t = bu_cpu_usec();
	hits = run_find(buf, hay + n - needle_len);
	t = bu_cpu_usec() - t;
	printf("kind=%s needle=%ld total=%ld repeat=%ld hits=%ld "
	       "us_per_find=%.1f\n",
	    kind, needle_len, total, repeat, hits, t / (double)repeat);
	evbuffer_free(buf);
	free(hay);
}

/*
 * The memcpy floor of adddrain: each chunk copied once into a ring of
 * twice the queued bytes (draining copies nothing, as in adddrain).
 */
static void __attribute__((noinline))
run_memcpy(char *ring, const char *data, long amount)
{
	long done, tail = queued;

	for (done = 0; done < amount; done += chunk) {
		memcpy(ring + tail, data, (size_t)chunk);
		tail = (tail + chunk) % (2 * queued);
		nops++;
	}
}

int
main(int argc, char **argv)
{
	const char *mode = "adddrain", *kind = "long";
	char *ring;
	int total_set = 0;
	struct evbuffer *buf;
	char *data;
	double t;
	long i, rss0;
	int c;

	while ((c = getopt(argc, argv, "m:c:q:t:l:k:r:")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'c': chunk = bu_arg(optarg, USAGE); break;
		case 'q': queued = bu_arg(optarg, USAGE); break;
		case 't':
			total = bu_arg(optarg, USAGE);
			total_set = 1;
			break;
		case 'l': needle_len = bu_arg(optarg, USAGE); break;
		case 'k': kind = optarg; break;
		case 'r': repeat = bu_arg(optarg, USAGE); break;
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	if (strcmp(mode, "find") == 0) {
		if (!total_set)
			total = 8L << 20;
		bench_find(kind);
		return 0;
	}
	if ((buf = evbuffer_new()) == NULL)
		die("evbuffer_new");
	data = malloc(
	    (size_t)(chunk > PERIOD + PIECE ? chunk : PERIOD + PIECE));
	if (data == NULL)
		die("malloc");
	/* What the buffer holds is counted from here. */
	memset(data, 'x', (size_t)chunk);
	rss0 = bu_proc_kib("smaps_rollup", "Pss");
	if (strcmp(mode, "adddrain") == 0) {
		for (i = 0; i < queued; i += chunk)
			if (evbuffer_add(buf, data, (size_t)chunk) == -1)
				die("evbuffer_add");
		/* A short pass to warm up, then the timed one. */
		run_adddrain(buf, data, total / 16);
		nops = 0;
		t = bu_cpu_usec();
		run_adddrain(buf, data, total);
		t = bu_cpu_usec() - t;
		printf("chunk=%ld queued=%ld total=%ld ops=%ld "
		       "ms_per_gib=%.2f mb_per_s=%.0f held_kib=%ld\n",
		    chunk, queued, total, nops,
		    t / 1e3 * (1073741824.0 / (double)total), (double)total / t,
		    bu_proc_kib("smaps_rollup", "Pss") - rss0);
	} else if (strcmp(mode, "memcpy") == 0) {
		/* Queued bytes are a multiple of the chunk in the ring. */
		queued = (queued + chunk - 1) / chunk * chunk;
		if ((ring = malloc((size_t)(2 * queued))) == NULL)
			die("malloc");
		memset(ring, 'x', (size_t)(2 * queued));
		run_memcpy(ring, data, total / 16);
		nops = 0;
		t = bu_cpu_usec();
		run_memcpy(ring, data, total);
		t = bu_cpu_usec() - t;
		printf("chunk=%ld queued=%ld total=%ld ops=%ld "
		       "ms_per_gib=%.2f mb_per_s=%.0f held_kib=%ld\n",
		    chunk, queued, total, nops,
		    t / 1e3 * (1073741824.0 / (double)total), (double)total / t,
		    bu_proc_kib("smaps_rollup", "Pss") - rss0);
		free(ring);
	} else if (strcmp(mode, "readline") == 0) {
		for (i = 0; i < PERIOD + PIECE; i++)
			data[i] = i % LINELEN == LINELEN - 1 ?
			    '\n' :
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
