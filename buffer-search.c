/*
 * buffer-search.c: the needle search behind evbuffer_find().
 *
 * libevent 1.4 (and 2.1) look for the needle's first byte with memchr and
 * compare the whole needle there.  That is the fastest way for the needles
 * programs really use (a line ending, a boundary, a keyword), but it is
 * quadratic when the candidates are dense and the compares long: a 4 KiB
 * needle "aaa...ab" at the end of 8 MiB of 'a' takes a third of a second.
 *
 * So the search starts the 1.4 way and keeps an account of its work: each
 * candidate costs a little plus the bytes compared, a compare that runs
 * past the first few bytes the needle's whole length.
 * Once the work outruns the bytes passed over (plus a fixed allowance),
 * the rest of the haystack is searched with the two-way algorithm of
 * Crochemore and Perrin, which never compares a haystack byte more than
 * twice and needs no memory beyond a few integers.  Short needles in
 * ordinary data never reach the switch, so they cost what they did.
 *
 * Two-way, briefly: split the needle x = u v at a "critical position" (the
 * start of the larger of its two maximal suffixes, under the byte order and
 * its reverse).  At each window, compare v left to right; a mismatch at v's
 * i-th byte allows a shift of i + 1.  When v matches, compare u right to
 * left; a mismatch or a match shifts by the needle's period.  If u is a
 * suffix of the period's prefix ("periodic" needle), the part of the
 * window that the shift keeps is known to match and is not compared again
 * (the "memory"); otherwise the shift can be at least max(|u|, |v|) + 1.
 */
#include <sys/types.h>
#include <stddef.h>
#include <string.h>

#include "buffer-internal.h"

/*
 * The start of the maximal suffix of x[0..m) (m >= 1), under the byte order
 * if reverse is 0 or the reverse order otherwise; *period gets the period
 * of that suffix.
 */
static size_t
max_suffix(const u_char *x, size_t m, int reverse, size_t *period)
{
	/*
	 * best: start of the best suffix so far; cand + k: the byte of the
	 * candidate suffix starting at cand being compared with best + k.
	 */
	size_t best = 0, cand = 1, k = 0, p = 1;
	u_char a, b;

	while (cand + k < m) {
		a = x[cand + k];
		b = x[best + k];
		if (a == b) {
			/* Still a repetition of the period; go on. */
			if (++k == p) {
				cand += p;
				k = 0;
			}
		} else if ((a < b) != (reverse != 0)) {
			/* The candidate is smaller: skip past it. */
			cand += k + 1;
			k = 0;
			p = cand - best;
		} else {
			/* The candidate is larger: it becomes the best. */
			best = cand;
			cand = best + 1;
			k = 0;
			p = 1;
		}
	}
	*period = p;
	return best;
}

/* The two-way search of x[0..m) in y[0..n); NULL if absent. */
const u_char *
ev__buffer_two_way(const u_char *y, size_t n, const u_char *x, size_t m)
{
	size_t s1, s2, p1, p2, crit, per, j, i, mem, right;

	if (m == 0 || m > n)
		return NULL;
	s1 = max_suffix(x, m, 0, &p1);
	s2 = max_suffix(x, m, 1, &p2);
	/* crit: the length of u, the part left of the critical position. */
	if (s1 > s2) {
		crit = s1;
		per = p1;
	} else {
		crit = s2;
		per = p2;
	}

	if (crit + per <= m && memcmp(x, x + per, crit) == 0) {
		/*
		 * Periodic: after a shift by per, the first m - per bytes of
		 * the window are known to match (mem of them).
		 */
		mem = 0;
		for (j = 0; j <= n - m;) {
			i = crit > mem ? crit : mem;
			while (i < m && x[i] == y[j + i])
				i++;
			if (i < m) {
				j += i - crit + 1;
				mem = 0;
				continue;
			}
			for (i = crit; i > mem && x[i - 1] == y[j + i - 1]; i--)
				;
			if (i <= mem)
				return y + j;
			j += per;
			mem = m - per;
		}
		return NULL;
	}

	/* Not periodic: a full right match allows a long shift. */
	right = m - crit;
	per = (crit > right ? crit : right) + 1;
	for (j = 0; j <= n - m;) {
		i = crit;
		while (i < m && x[i] == y[j + i])
			i++;
		if (i < m) {
			j += i - crit + 1;
			continue;
		}
		for (i = crit; i > 0 && x[i - 1] == y[j + i - 1]; i--)
			;
		if (i == 0)
			return y + j;
		j += per;
	}
	return NULL;
}

/*
 * Work units the first-byte scan may spend beyond twice the bytes it
 * passed over before it hands over to two-way: enough for a handful of
 * full compares of a long needle, so a match near the start costs no
 * set-up.
 */
#define SCAN_ALLOWANCE 4096

/* What one candidate (a memchr hit) costs, in work units (bytes). */
#define CANDIDATE_COST 4

/*
 * A candidate's first bytes are compared one by one, so that the usual
 * early mismatch is charged what it cost; past this many, memcmp takes
 * the rest and the candidate is charged the needle's whole length.
 */
#define PREFIX_BYTES 16

/* Whether the m-byte needle is at p; *work grows by what it cost. */
static int
matches(const u_char *p, const u_char *needle, size_t m, size_t *work)
{
	size_t i, k = m < PREFIX_BYTES ? m : PREFIX_BYTES;

	/* The last byte first: a cheap filter before a long compare. */
	if (p[m - 1] != needle[m - 1]) {
		*work += CANDIDATE_COST;
		return 0;
	}
	for (i = 1; i < k; i++) {
		if (p[i] != needle[i]) {
			*work += CANDIDATE_COST + i;
			return 0;
		}
	}
	*work += CANDIDATE_COST + m;
	return k == m || memcmp(p + k, needle + k, m - k) == 0;
}

const u_char *
ev__buffer_search(const u_char *hay, size_t n, const u_char *needle, size_t m)
{
	const u_char *p, *pos = hay, *end;
	size_t work = 0;

	if (m == 0 || m > n)
		return NULL;
	end = hay + (n - m + 1); /* the windows start before end */
	while (pos < end) {
		p = memchr(pos, needle[0], (size_t)(end - pos));
		if (p == NULL)
			return NULL;
		if (matches(p, needle, m, &work))
			return p;
		pos = p + 1;
		/* Twice the bytes passed over, then linear time for sure. */
		if (work > 2 * (size_t)(pos - hay) + SCAN_ALLOWANCE)
			return ev__buffer_two_way(pos, (size_t)(hay + n - pos),
			    needle, m);
	}
	return NULL;
}
