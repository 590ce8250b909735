#!/bin/bash
# bench/dns.sh BUILDDIR: DNS lookups per second, ours against Debian's
# libevent 2.1, over UDP and over TCP ("make bench-dns"; never part of
# "make check").
#
# bench/bench_dns.c is built against our build in BUILDDIR and against
# libevent 2.1 unpacked (never installed) from its Debian packages into
# BENCH_PEERS (default BUILDDIR/bench/peers, the cache bench/run.sh uses
# too).  Each runs against its own dnsmasq on loopback with 64 lookups in
# flight: "udp" asks names with one address; "tcp" asks names with 100
# addresses, whose answers do not fit in a datagram, so each lookup is a
# truncated UDP reply and the full answer over TCP.  libevent 2.1 has no
# TCP fallback: it reports those lookups as truncated, shown as
# "0 (truncated)".  "vc" asks the "udp" names with every query over TCP
# (option tcp-only:, glibc's use-vc), which only ours can do.  Runs alternate (ours, 2.1, ours, ...) pinned to one
# CPU, and the table shows the median of BENCH_ROUNDS (default 3) runs of
# BENCH_SECS (default 3) seconds each.
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
builddir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")/.." && pwd)
work=$builddir/bench/dns
peers=${BENCH_PEERS:-$builddir/bench/peers}
rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECS:-3}
log=$work/dns.log
arch=$(gcc -print-multiarch 2> /dev/null ||
    dpkg-architecture -qDEB_HOST_MULTIARCH)
mkdir -p "$work"
: > "$log"

# The libevent 2.1 peer, as bench/run.sh fetches it.
le21=$peers/libevent21
if [ ! -f "$le21/.complete" ]; then
	rm -rf "$le21"
	mkdir -p "$le21/debs" "$le21/root"
	if (cd "$le21/debs" && apt-get download libevent-dev \
	    libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7) \
	    >> "$log" 2>&1; then
		for f in "$le21"/debs/*.deb; do
			dpkg -x "$f" "$le21/root"
		done
		touch "$le21/.complete"
	fi
fi
lib21=$le21/root/usr/lib/$arch

cc -O2 -Wall -I"$srcdir/include" -I"$builddir/include" \
    "$srcdir/bench/bench_dns.c" -o "$work/bench_dns.ours" \
    -L"$builddir/.libs" -Wl,-rpath,"$builddir/.libs" -levent >> "$log" 2>&1 ||
    { echo "bench-dns: cannot build against $builddir" >&2; exit 1; }
have21=0
if [ -f "$lib21/libevent.so" ] && cc -O2 -Wall -I"$le21/root/usr/include" \
    "$srcdir/bench/bench_dns.c" -o "$work/bench_dns.le21" \
    -L"$lib21" -Wl,-rpath,"$lib21" -levent >> "$log" 2>&1; then
	have21=1
else
	echo "bench-dns: libevent 2.1 unavailable (see $log)" >&2
fi

pin=""
if command -v taskset > /dev/null && taskset -c 0 true 2> /dev/null; then
	pin="taskset -c $(($(nproc) - 1))"
fi

# run IMPL MODE: one run's answered lookups per second (0 if none).
run() {
	local flags="" line
	[ "$2" = tcp ] && flags=-T
	[ "$2" = vc ] && flags=-V
	line=$($pin "$work/bench_dns.$1" -n 64 -t "$secs" $flags 2>> "$log")
	echo "$1 $2: $line" >> "$log"
	echo "$line" | sed -n 's/.* \([0-9][0-9]*\) queries\/s$/\1/p'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# skip IMPL MODE: whether that run cannot be made.
skip() {
	[ "$1" = le21 ] && { [ $have21 = 0 ] || [ "$2" = vc ]; }
}

declare -A R
for mode in udp tcp vc; do
	for impl in ours le21; do
		skip "$impl" "$mode" && continue
		: > "$work/$impl.$mode"
	done
	for ((i = 0; i < rounds; i++)); do
		for impl in ours le21; do
			skip "$impl" "$mode" && continue
			echo "bench-dns: $impl $mode round $((i + 1))" >&2
			run "$impl" "$mode" >> "$work/$impl.$mode"
		done
	done
	for impl in ours le21; do
		if skip "$impl" "$mode"; then
			R[$impl.$mode]=n/a
			continue
		fi
		R[$impl.$mode]=$(median < "$work/$impl.$mode")
		[ -z "${R[$impl.$mode]}" ] && R[$impl.$mode]="0"
	done
done
[ "${R[le21.tcp]}" = 0 ] && R[le21.tcp]="0 (truncated)"

printf '%-44s %12s %16s\n' "DNS lookups/s, 64 in flight, dnsmasq" ours \
    "libevent 2.1"
printf '%-44s %12s %16s\n' "udp: one address per name" "${R[ours.udp]}" \
    "${R[le21.udp]}"
printf '%-44s %12s %16s\n' "tcp: 100 addresses (truncated, then TCP)" \
    "${R[ours.tcp]}" "${R[le21.tcp]}"
printf '%-44s %12s %16s\n' "vc: one address, every query over TCP" \
    "${R[ours.vc]}" "${R[le21.vc]}"
