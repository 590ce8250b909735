#!/bin/bash
# bench/run.sh BUILDDIR: the benchmark suite ("make bench"; never part of
# "make check").
#
# Every program in bench/ is written against the libevent 1.4 API and is
# built three times: against our build in BUILDDIR, against Debian's
# libevent 2.1 (through its 1.4-compatible event.h) and against libev's
# libevent emulation.  The peers are never installed: their Debian packages
# are fetched with "apt-get download" and unpacked into a private folder
# (BENCH_PEERS, default BUILDDIR/bench/peers), because libev-libevent-dev
# conflicts with libevent-dev and either would shadow our own event.h in
# /usr.  A peer that cannot be had shows as "n/a".
#
# The programs run in turn (ours, 2.1, libev, ours, 2.1, libev ...) pinned
# to one CPU, and the table shows medians.  Where a figure must not depend
# on the machine's noise it comes from callgrind: instructions executed
# inside the library's own .so (not in libc or the kernel) per event,
# counted only inside the benchmark's timed function (--toggle-collect).
#
# The programs: bench_dispatch (dispatch and re-arm), bench_floor (the same
# on raw epoll), bench_timers, bench_buffer, bench_http with bench_idle,
# bench_http_threads (evhttp on 1 and 2 bases in threads);
# what each row measures and its target are in bench/suite.sh.
#
# BENCH_QUICK=1 makes a smoke run of about half a minute with fewer rounds.
# BENCH_ONLY="http http_threads" runs only those benchmarks (the names of
# suite.sh's bench_* functions, without the prefix).
# Output: progress on stderr, one table on stdout; the programs, their raw
# output lines and a log of every command go to BUILDDIR/bench/build.
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
builddir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")/.." && pwd)
bench=$builddir/bench
work=$bench/build
out=$work/out
peers=${BENCH_PEERS:-$bench/peers}
log=$work/bench.log
quick=${BENCH_QUICK:-0}
CC=${CC:-cc}
BENCH_CFLAGS="-O2 -g -pthread -Wall -Werror=implicit-function-declaration"
arch=$(gcc -print-multiarch 2> /dev/null ||
    dpkg-architecture -qDEB_HOST_MULTIARCH)

IMPLS="ours le21 ev"
declare -A INC LIBS LIBDIR LIBRE HAVE
declare -A RES	# RES[row.impl] = value

mkdir -p "$bench" "$work" "$out"
rm -f "$out"/*
: > "$log"
say() { echo "bench: $*" >&2; echo "== $(date +%T) $*" >> "$log"; }

# Background processes this script started and has not yet waited for;
# they are ended if the script is interrupted.
PIDS=""
forget() { PIDS=${PIDS/ $1/}; }
cleanup() {
	local p
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- peers

# fetch_peer DIR PACKAGE...: unpack the packages' files under DIR/root.
fetch_peer() {
	local dir=$1 p f
	shift
	[ -f "$dir/.complete" ] && return 0
	command -v apt-get > /dev/null || return 1
	rm -rf "$dir"
	mkdir -p "$dir/debs" "$dir/root"
	for p in "$@"; do
		(cd "$dir/debs" && apt-get download "$p") >> "$log" 2>&1 ||
		    return 1
	done
	for f in "$dir"/debs/*.deb; do
		dpkg -x "$f" "$dir/root" >> "$log" 2>&1 || return 1
	done
	touch "$dir/.complete"
}

# fetch_peer, retrying once after "apt-get update" when root may run it.
get_peer() {
	fetch_peer "$@" && return 0
	if [ "$(id -u)" = 0 ] && [ -z "${apt_updated:-}" ]; then
		apt_updated=1
		say "apt-get update (package lists needed to fetch peers)"
		apt-get update -qq >> "$log" 2>&1
		fetch_peer "$@" && return 0
	fi
	return 1
}

setup_impls() {
	local d l

	INC[ours]="-I$srcdir/include -I$builddir/include"
	LIBDIR[ours]=$builddir/.libs
	LIBS[ours]="-L$builddir/.libs -Wl,-rpath,$builddir/.libs -levent"
	LIBRE[ours]='/libevent-1\.4\.so[^/]*\]$'
	HAVE[ours]=0
	[ -f "$builddir/.libs/libevent.so" ] && HAVE[ours]=1

	d=$peers/libevent21
	l=$d/root/usr/lib/$arch
	HAVE[le21]=0
	if get_peer "$d" libevent-dev libevent-2.1-7 libevent-core-2.1-7 \
	    libevent-extra-2.1-7 && [ -f "$l/libevent.so" ] &&
	    [ -f "$d/root/usr/include/event.h" ]; then
		HAVE[le21]=1
	else
		say "libevent 2.1 peer unavailable (see $log)"
	fi
	INC[le21]="-I$d/root/usr/include"
	LIBDIR[le21]=$l
	LIBS[le21]="-L$l -Wl,-rpath,$l -levent"
	LIBRE[le21]='/libevent(_core|_extra)?-2\.1\.so[^/]*\]$'

	# libev's emulation: its event.h, ev.h, and libev.so, which carries
	# the event_* functions when built with the event API (Debian's is).
	d=$peers/libev
	l=$d/root/usr/lib/$arch
	HAVE[ev]=0
	if get_peer "$d" libev-libevent-dev libev4 libev-dev &&
	    [ -f "$l/libev.so" ] && [ -f "$d/root/usr/include/event.h" ] &&
	    nm -D "$l/libev.so" 2> /dev/null | grep -q ' T event_set$'; then
		HAVE[ev]=1
	else
		say "libev emulation peer unavailable (see $log)"
	fi
	INC[ev]="-I$d/root/usr/include"
	LIBDIR[ev]=$l
	LIBS[ev]="-L$l -Wl,-rpath,$l -lev"
	LIBRE[ev]='/libev\.so[^/]*\]$'
}

# ---------------------------------------------------------------- build

# build IMPL PROG: bench/PROG.c against IMPL into $work/IMPL/PROG.  A
# program that needs what the library lacks (libev has no evbuffer or
# evhttp) fails to build, and its results show as n/a.
build() {
	local impl=$1 prog=$2 bin=$work/$1/$2
	mkdir -p "$work/$impl"
	rm -f "$bin"
	[ "${HAVE[$impl]}" = 1 ] || return 1
	echo "-- build $impl/$prog" >> "$log"
	# shellcheck disable=SC2086
	if ! $CC $BENCH_CFLAGS ${INC[$impl]} "$srcdir/bench/$prog.c" \
	    -o "$bin" ${LIBS[$impl]} >> "$log" 2>&1; then
		echo "   (not built: $impl lacks what $prog needs)" >> "$log"
		rm -f "$bin"
		return 1
	fi
	# The system may hold another libevent; insist on the intended one.
	if ! ldd "$bin" | grep -q "=> ${LIBDIR[$impl]}/"; then
		echo "   $bin does not load ${LIBDIR[$impl]}" >> "$log"
		rm -f "$bin"
		return 1
	fi
}

build_all() {
	local impl prog
	for impl in $IMPLS; do
		for prog in bench_dispatch bench_timers bench_buffer bench_http \
		    bench_http_threads bench_dns
		do
			build "$impl" "$prog"
		done
	done
	mkdir -p "$work/tool"
	# shellcheck disable=SC2086
	$CC $BENCH_CFLAGS "$srcdir/bench/bench_floor.c" \
	    -o "$work/tool/bench_floor" >> "$log" 2>&1
	# shellcheck disable=SC2086
	$CC $BENCH_CFLAGS "$srcdir/bench/bench_idle.c" \
	    -o "$work/tool/bench_idle" >> "$log" 2>&1
}

# ---------------------------------------------------------------- running

# Pin single-process benchmarks to the last CPU; the HTTP server gets
# CPU 0 and the load generator the last one.
ncpu=$(nproc 2> /dev/null || echo 1)
PIN="" PIN_SRV="" PIN_LOAD=""
if command -v taskset > /dev/null && taskset -c 0 true 2> /dev/null; then
	last=$((ncpu - 1))
	PIN="taskset -c $last"
	if [ "$ncpu" -ge 2 ]; then
		PIN_SRV="taskset -c 0"
		PIN_LOAD="taskset -c $last"
	fi
fi

# bin IMPL PROG: the program's path ("floor" is the library-free loop;
# "memcpy" is bench_buffer's library-free mode, run from our build).
bin() {
	if [ "$1" = floor ]; then
		echo "$work/tool/bench_floor"
	elif [ "$1" = memcpy ]; then
		echo "$work/ours/$2"
	else
		echo "$work/$1/$2"
	fi
}

# series NAME RUNS "IMPLS" PROG ARGS...: RUNS rounds of running PROG for
# each of IMPLS in turn; each output line is kept as $out/NAME.IMPL.N.
series() {
	local name=$1 runs=$2 impls=$3 prog=$4 r impl b extra
	shift 4
	for ((r = 1; r <= runs; r++)); do
		for impl in $impls; do
			b=$(bin "$impl" "$prog")
			[ -x "$b" ] || continue
			extra=""
			[ "$impl" = memcpy ] && extra="-m memcpy"
			echo "-- $name $impl run $r: $* $extra" >> "$log"
			# shellcheck disable=SC2086
			if $PIN "$b" "$@" $extra > "$out/$name.$impl.$r" \
			    2>> "$log"
			then
				cat "$out/$name.$impl.$r" >> "$log"
			else
				rm -f "$out/$name.$impl.$r"
			fi
		done
	done
}

# field KEY: the value of KEY=value on stdin's line.
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1; }

# median NAME IMPL KEY: the median of KEY over NAME's runs for IMPL.
median() {
	local f
	for f in "$out/$1.$2".*; do
		[ -f "$f" ] && field "$3" < "$f"
	done | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) exit;
		if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A/B, or empty when either is missing or B is zero.
ratio() {
	[ -n "$1" ] && [ -n "$2" ] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { if (b != 0) printf "%.6g\n", a / b }'
}

# diffper A B D: (A - B) / D, or empty when an operand is missing.
diffper() {
	[ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] || return 0
	awk -v a="$1" -v b="$2" -v d="$3" \
	    'BEGIN { if (d != 0) printf "%.6g\n", (a - b) / d }'
}

# Callgrind: run PROG for IMPL under callgrind counting only inside
# function FN; print the instructions spent in IMPL's library.
cg_ir() {
	local impl=$1 fn=$2 prog=$3 f
	shift 3
	f=$out/cg.$impl.$prog.$$.$RANDOM
	[ -x "$work/$impl/$prog" ] || return 0
	command -v valgrind > /dev/null || return 0
	echo "-- callgrind $impl $prog $fn: $*" >> "$log"
	valgrind --tool=callgrind --callgrind-out-file="$f" \
	    --collect-atstart=no --toggle-collect="$fn" \
	    "$work/$impl/$prog" "$@" >> "$log" 2>&1 || return 0
	cg_sum "$impl" "$f"
}

# cg_sum IMPL FILE: the Ir of every function whose object is IMPL's .so.
cg_sum() {
	callgrind_annotate --inclusive=no --threshold=100 "$2" 2> /dev/null |
	    awk -v re="${LIBRE[$1]}" '$NF ~ re {
		gsub(",", "", $1); s += $1 } END { print s + 0 }'
}

# strace_calls IMPL SYSCALL PROG ARGS...: how many SYSCALL calls ("total"
# for all) the program made.
strace_calls() {
	local impl=$1 sc=$2 prog=$3 f
	shift 3
	f=$out/strace.$impl.$$.$RANDOM
	[ -x "$work/$impl/$prog" ] || return 0
	command -v strace > /dev/null || return 0
	strace -f -c -o "$f" "$work/$impl/$prog" "$@" > /dev/null 2>> "$log" ||
	    return 0
	awk -v sc="$sc" '$NF == sc { print $4 }' "$f"
}

# ---------------------------------------------------------------- table

ROWS=()
# row LABEL OURS LE21 EV TARGET CHECK [noratio]: CHECK is an awk condition
# on o, l, e (ours, libevent 2.1, libev), "-" for none; "noratio" leaves
# the ratio columns empty where they would mean nothing.
row() {
	ROWS+=("$1|$2|$3|$4|$5|$6|${7:-}")
}

fmt() {
	[ -n "$1" ] || { echo "n/a"; return; }
	awk -v v="$1" 'BEGIN { a = v < 0 ? -v : v;
	    if (a >= 1000) printf "%.0f", v; else if (a >= 100) printf "%.1f", v;
	    else if (a >= 1) printf "%.2f", v; else printf "%.3f", v }'
}

met() {
	local o=$1 l=$2 e=$3 check=$4
	[ "$check" = "-" ] && { echo "-"; return; }
	case "$check" in *o*) [ -n "$o" ] || { echo "n/a"; return; } ;; esac
	case "$check" in *l*) [ -n "$l" ] || { echo "n/a"; return; } ;; esac
	awk -v o="$o" -v l="$l" -v e="${e:-0}" \
	    "BEGIN { print ($check) ? \"yes\" : \"NO\" }"
}

print_table() {
	local r label o l e target check nr ro re
	printf '%-44s %9s %12s %10s %8s %9s  %-12s %s\n' benchmark ours \
	    "libevent2.1" libev-emul ours/2.1 libev/2.1 target "met?"
	printf '%s\n' "$(printf '%.0s-' {1..117})"
	for r in "${ROWS[@]}"; do
		IFS='|' read -r label o l e target check nr <<< "$r"
		if [ "$label" = "#" ]; then
			printf '%s\n' "$o"
			continue
		fi
		ro="" re=""
		if [ -z "$nr" ]; then
			ro=$(ratio "$o" "$l")
			re=$(ratio "$e" "$l")
		fi
		printf '%-44s %9s %12s %10s %8s %9s  %-12s %s\n' "$label" \
		    "$(fmt "$o")" "$(fmt "$l")" "$(fmt "$e")" \
		    "$( [ -n "$ro" ] && printf '%.2f' "$ro" || echo -)" \
		    "$( [ -n "$re" ] && printf '%.2f' "$re" || echo -)" \
		    "$target" "$(met "$o" "$l" "$e" "$check")"
	done
}

section() { row "#" "$1" "" "" "" ""; }

# notrun WHAT WHY: rows that could not be measured, listed under the table
# (their cells show n/a).
NOTRUN=()
notrun() {
	NOTRUN+=("$1: $2")
	say "not run: $1: $2"
}

# have TOOL: whether TOOL is installed.
have() { command -v "$1" > /dev/null; }

# check_tools: say up front which rows each missing tool costs.
check_tools() {
	local inst="apt-get install -y valgrind strace wrk dnsmasq-base util-linux"
	have valgrind || notrun "callgrind Ir rows" "valgrind not installed ($inst)"
	have strace || notrun "syscall rows" "strace not installed ($inst)"
	have wrk || notrun "HTTP request rates and CPU" "wrk not installed ($inst)"
	have taskset || notrun "pinning" "taskset not installed ($inst)"
	[ -x /usr/sbin/dnsmasq ] || have dnsmasq ||
	    notrun "DNS queries/s" "dnsmasq not installed ($inst)"
	[ "$ncpu" -ge 2 ] ||
	    notrun "HTTP rows" "one CPU: server and wrk need one each"
	[ "${HAVE[le21]}" = 1 ] || notrun "libevent 2.1 column" \
	    "its Debian packages could not be fetched (apt-get download)"
	[ "${HAVE[ev]}" = 1 ] || notrun "libev column" \
	    "its Debian packages could not be fetched (apt-get download)"
	if [ "${HAVE[ev]}" = 1 ] && [ ! -x "$work/ev/bench_buffer" ]; then
		notrun "libev column of evbuffer, HTTP and DNS rows" \
		    "libev's emulation has no evbuffer, evhttp or evdns"
	fi
}

# ---------------------------------------------------------------- benchmarks
# shellcheck source=bench/suite.sh
. "$srcdir/bench/suite.sh"

say "peers in $peers"
setup_impls
if [ "${HAVE[ours]}" != 1 ]; then
	echo "bench: $builddir/.libs/libevent.so not found; run make first" >&2
	exit 1
fi
say "building the programs (log: $log)"
build_all
check_tools
start=$(date +%s)
for b in ${BENCH_ONLY:-dispatch rearm timers buffer http http_threads dns}; do
	"bench_$b"
done
say "done in $(( $(date +%s) - start )) s"
echo
echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
    head -n 1), $ncpu CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "libevent 1.4 API benchmarks: medians of $RUNS_DISPATCH runs (dispatch," \
    "re-arm), $RUNS (evbuffer, HTTP rates), $RUNS_FEW (timers, idle memory);" \
    "pinned: ${PIN:-no}; Ir = instructions inside the library's .so (callgrind)"
print_table
if [ "${#NOTRUN[@]}" -gt 0 ]; then
	echo
	echo "Not measured (n/a above):"
	printf '  %s\n' "${NOTRUN[@]}"
fi
