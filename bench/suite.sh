# shellcheck shell=bash disable=SC2154
# bench/suite.sh: what "make bench" measures, with which parameters, and
# the targets from issues 6 and 18.  Sourced by bench/run.sh, which provides the
# machinery (series, median, cg_ir, strace_calls, row, section).
#
# Sizes are chosen so a full run takes a few minutes on a 2-core machine;
# BENCH_QUICK=1 divides the work for a smoke run of about a minute.

if [ "$quick" = 1 ]; then
	RUNS=1 RUNS_DISPATCH=1 RUNS_FEW=1 SCALE=4 HTTP_SECS=1
	TIMERS=200000 TIMEOUT=200000
	CG_TIMERS=20000 BUF_TOTAL=$((256 << 20)) LINE_TOTAL=$((64 << 20))
else
	RUNS=5 RUNS_DISPATCH=9 RUNS_FEW=3 SCALE=1 HTTP_SECS=3
	TIMERS=1000000 TIMEOUT=1000000
	CG_TIMERS=100000 BUF_TOTAL=$((1 << 30)) LINE_TOTAL=$((256 << 20))
fi

# derive NAME KEY AWK-EXPR: add KEY=value, computed from the named fields of
# each run's line, to every run of NAME (so medians pair within one run).
derive() {
	local name=$1 key=$2 expr=$3 f v line
	for f in "$out/$name".*; do
		[ -f "$f" ] || continue
		line=$(cat "$f")
		v=$(echo "$line" | tr ' ' '\n' | awk -F= '{ x[$1] = $2 }
		    END { printf "%.6g\n", '"$expr"' }')
		printf '%s %s=%s\n' "$line" "$key" "$v" > "$f"
	done
}

# ---------------------------------------------------------------- dispatch

bench_dispatch() {
	local n a w r name impl o l e f fo fl fe
	say "dispatch: N = 100, 1000, 10000; 1 and 100 in flight"
	section "Dispatch: N sockets with persistent read events, A bytes in flight,\
 W forwards per round"
	for n in 100 1000 10000; do
		for a in 1 100; do
			if [ "$a" = 1 ]; then
				w=1000 r=$((60 / SCALE))
			else
				w=10000 r=$((8 / SCALE))
			fi
			name=disp.$n.$a
			series "$name" "$RUNS_DISPATCH" "ours le21 ev floor" \
			    bench_dispatch -n "$n" -a "$a" -w "$w" -r "$r" -m plain
			o=$(median "$name" ours plain_usec)
			l=$(median "$name" le21 plain_usec)
			e=$(median "$name" ev plain_usec)
			f=$(median "$name" floor plain_usec)
			row "dispatch N=$n A=$a W=$w: us/round" "$o" "$l" "$e" "-" "-"
			row "  raw epoll floor (no library): us/round" "$f" "" "" \
			    "-" "-" noratio
			fo=$(ratio "$o" "$f") fl=$(ratio "$l" "$f") fe=$(ratio "$e" "$f")
			row "  time / floor" "$fo" "$fl" "$fe" "<= 1.1" \
			    "o <= 1.1" noratio
			[ "$n" = 1000 ] || continue
			dispatch_ir "$a" "$w"
		done
	done
}

# Library instructions per event at N=1000, from callgrind.
dispatch_ir() {
	local a=$1 w=$2 r=5 impl ir o l e target check
	[ "$a" = 1 ] || r=3
	for impl in $IMPLS; do
		ir=$(cg_ir "$impl" run_plain bench_dispatch -n 1000 -a "$a" \
		    -w "$w" -r "$r" -m plain)
		RES[dir.$impl]=$(ratio "$ir" $((r * (a + w))))
	done
	o=${RES[dir.ours]} l=${RES[dir.le21]} e=${RES[dir.ev]}
	if [ "$a" = 1 ]; then
		target="<= 0.33x 2.1" check="o <= 0.33 * l"
	else
		target="<= 80" check="o <= 80"
	fi
	row "  library Ir/event (callgrind)" "$o" "$l" "$e" "$target" "$check"
}

# ---------------------------------------------------------------- re-arm

bench_rearm() {
	local n r name impl o l e p q
	say "re-arm: event_del + event_set + event_add of every fd each round"
	section "Re-arm: every event deleted, set and added again before each\
 round (A=1, W=1000)"
	for n in 1000 10000; do
		if [ "$n" = 1000 ]; then r=$((40 / SCALE)); else r=$((12 / SCALE)); fi
		name=rearm.$n
		series "$name" "$RUNS_DISPATCH" "ours le21 ev" bench_dispatch \
		    -n "$n" -a 1 -w 1000 -r "$r" -m both
		derive "$name" per "(x[\"rearm_usec\"] - x[\"plain_usec\"]) / x[\"n\"]"
		o=$(median "$name" ours per)
		l=$(median "$name" le21 per)
		e=$(median "$name" ev per)
		row "re-arm N=$n: us/re-arm" "$o" "$l" "$e" "<= 0.4x 2.1" \
		    "o <= 0.4 * l"
	done
	# Instructions and system calls: a re-arm run minus a plain one with
	# the same parameters, per re-arm (deterministic with one in flight).
	n=1000 r=5
	for impl in $IMPLS; do
		p=$(cg_ir "$impl" run_rearm bench_dispatch -n $n -a 1 -w 100 \
		    -r $r -m rearm)
		q=$(cg_ir "$impl" run_plain bench_dispatch -n $n -a 1 -w 100 \
		    -r $r -m plain)
		RES[rir.$impl]=$(diffper "$p" "$q" $((n * r)))
		p=$(strace_calls "$impl" total bench_dispatch -n $n -a 1 -w 100 \
		    -r $r -m rearm)
		q=$(strace_calls "$impl" total bench_dispatch -n $n -a 1 -w 100 \
		    -r $r -m plain)
		RES[rsc.$impl]=$(diffper "$p" "$q" $((n * r)))
		p=$(strace_calls "$impl" epoll_ctl bench_dispatch -n $n -a 1 \
		    -w 100 -r $r -m rearm)
		q=$(strace_calls "$impl" epoll_ctl bench_dispatch -n $n -a 1 \
		    -w 100 -r $r -m plain)
		RES[rec.$impl]=$(diffper "${p:-0}" "${q:-0}" $((n * r)))
		[ -x "$work/$impl/bench_dispatch" ] && command -v strace \
		    > /dev/null || RES[rec.$impl]=""
	done
	row "re-arm N=$n: library Ir/re-arm (callgrind)" "${RES[rir.ours]}" \
	    "${RES[rir.le21]}" "${RES[rir.ev]}" "<= 0.2x 2.1" "o <= 0.2 * l"
	row "re-arm N=$n: syscalls/re-arm (strace -c)" "${RES[rsc.ours]}" \
	    "${RES[rsc.le21]}" "${RES[rsc.ev]}" "-" "-"
	# One epoll_ctl per re-arm is the floor that keeps an fd closed and
	# reused between the del and the add watched (README, Performance).
	row "re-arm N=$n: epoll_ctl/re-arm (strace -c)" "${RES[rec.ours]}" \
	    "${RES[rec.le21]}" "${RES[rec.ev]}" "-" "-"
}

# ---------------------------------------------------------------- timers

bench_timers() {
	local impl ir k
	say "timers: $TIMERS timers, delete half, reschedule a quarter, run"
	section "Timers: $TIMERS timers, random timeouts up to\
 $((TIMEOUT / 1000)) ms; delete 1/2, reschedule 1/4, run until all fire"
	series timers "$RUNS_FEW" "ours le21 ev" bench_timers \
	    -n "$TIMERS" -t "$TIMEOUT"
	for k in add del resched run; do
		row "timers: $k phase CPU ms" "$(median timers ours ${k}_cpu_ms)" \
		    "$(median timers le21 ${k}_cpu_ms)" \
		    "$(median timers ev ${k}_cpu_ms)" "-" "-"
	done
	row "timers: total CPU ms" "$(median timers ours total_cpu_ms)" \
	    "$(median timers le21 total_cpu_ms)" \
	    "$(median timers ev total_cpu_ms)" "<= 0.5x 2.1" "o <= 0.5 * l"
	for impl in $IMPLS; do
		ir=$(cg_ir "$impl" run_phases bench_timers -n "$CG_TIMERS" \
		    -t "$TIMEOUT")
		RES[tir.$impl]=$(ratio "$ir" "$CG_TIMERS")
	done
	row "timers: library Ir/timer (callgrind, $CG_TIMERS)" \
	    "${RES[tir.ours]}" "${RES[tir.le21]}" "${RES[tir.ev]}" "-" "-"
}

# ---------------------------------------------------------------- evbuffer

bench_buffer() {
	local c impl ir t ops name
	say "evbuffer: add+drain with 1 MiB queued; readline"
	section "evbuffer: $((BUF_TOTAL >> 20)) MiB through add+drain with 1 MiB\
 queued (CPU time); evbuffer_readline of 100-byte lines"
	for c in 4096 65536; do
		name=buf.$c
		series "$name" "$RUNS" "ours le21 ev memcpy" bench_buffer \
		    -m adddrain -c "$c" -t "$BUF_TOTAL"
		row "evbuffer add+drain $((c / 1024)) KiB chunks: ms/GiB" \
		    "$(median "$name" ours ms_per_gib)" \
		    "$(median "$name" le21 ms_per_gib)" \
		    "$(median "$name" ev ms_per_gib)" "<= 1.0x 2.1" "o <= l"
		row "  memcpy floor (no library): ms/GiB" \
		    "$(median "$name" memcpy ms_per_gib)" "" "" "-" "-" noratio
		row "  time / floor" \
		    "$(ratio "$(median "$name" ours ms_per_gib)" \
			"$(median "$name" memcpy ms_per_gib)")" \
		    "$(ratio "$(median "$name" le21 ms_per_gib)" \
			"$(median "$name" memcpy ms_per_gib)")" "" "-" "-" noratio
		# 1 MiB queued: at most twice that, plus a little of the rest.
		row "  memory held, KiB (Pss growth; 1024 queued)" \
		    "$(median "$name" ours held_kib)" \
		    "$(median "$name" le21 held_kib)" \
		    "$(median "$name" ev held_kib)" "<= 2x queued" \
		    "o <= 2 * 1024 * 1.1"
		# Callgrind: a smaller total; the warm-up pass adds total/16.
		t=$((c == 4096 ? 64 << 20 : 256 << 20))
		ops=$(( (t / 16 + c - 1) / c + t / c ))
		for impl in $IMPLS; do
			ir=$(cg_ir "$impl" run_adddrain bench_buffer -m adddrain \
			    -c "$c" -t "$t")
			RES[bir.$impl]=$(ratio "$ir" "$ops")
		done
		row "  library Ir per add+drain (callgrind)" "${RES[bir.ours]}" \
		    "${RES[bir.le21]}" "${RES[bir.ev]}" "-" "-"
	done
	series readline "$RUNS" "ours le21 ev" bench_buffer -m readline \
	    -t "$LINE_TOTAL"
	row "evbuffer_readline 100-byte lines: ns/line" \
	    "$(median readline ours ns_per_line)" \
	    "$(median readline le21 ns_per_line)" \
	    "$(median readline ev ns_per_line)" "<= 0.5x 2.1" "o <= 0.5 * l"
	t=$((32 << 20))
	for impl in $IMPLS; do
		ir=$(cg_ir "$impl" run_readline bench_buffer -m readline -t "$t")
		RES[lir.$impl]=$(ratio "$ir" $((t / 100)))
	done
	row "  library Ir/line, adds included (callgrind)" "${RES[lir.ours]}" \
	    "${RES[lir.le21]}" "${RES[lir.ev]}" "-" "-"
	bench_find
}

# evbuffer_find: the needle that is quadratic for a first-byte search, and
# the usual case of words (no loss allowed there).
bench_find() {
	local k l name target check rep
	say "evbuffer_find: long needles and words in 8 MiB"
	for k in long text; do
		for l in 16 4096; do
			name=find.$k.$l
			# 2.1 takes half a second per quadratic search.
			rep=5
			if [ "$k" = long ] && [ "$l" = 4096 ]; then
				target="<= 0.1x 2.1" check="o <= 0.1 * l" rep=1
			else
				target="<= 1.0x 2.1" check="o <= l"
			fi
			series "$name" "$RUNS" "ours le21 ev" bench_buffer -m find \
			    -k "$k" -l "$l" -r "$rep"
			row "evbuffer_find $l-byte needle, $k: us/find" \
			    "$(median "$name" ours us_per_find)" \
			    "$(median "$name" le21 us_per_find)" \
			    "$(median "$name" ev us_per_find)" "$target" "$check"
		done
	done
}

# ---------------------------------------------------------------- HTTP

# System calls per Connection: close request: the server under strace -c
# -f while wrk runs; the breakdown of each goes to $out/strace.http.IMPL.
http_syscalls() {
	local impl f n tot
	if ! have strace || ! have wrk || [ -z "$PIN_SRV" ]; then
		row "  server syscalls/request (close, strace -c)" "" "" "" "-" "-"
		return
	fi
	for impl in $IMPLS; do
		RES[hsc.$impl]=""
		[ -x "$work/$impl/bench_http" ] || continue
		f=$out/strace.http.$impl
		start_server "$impl" "$out/http.st" strace -f -c -o "$f" ||
		    { stop_server; continue; }
		$PIN_LOAD wrk -t1 -c10 -d2s -H "Connection: close" \
		    "http://127.0.0.1:$srv_port/" >> "$log" 2>&1
		stop_server
		n=$(sed -n 's/^requests=//p' "$out/http.st")
		tot=$(awk '$NF == "total" { print $4 }' "$f")
		RES[hsc.$impl]=$(ratio "$tot" "$n")
		echo "-- strace -c of the $impl server, $n requests:" >> "$log"
		cat "$f" >> "$log"
	done
	row "  server syscalls/request (close, strace -c)" "${RES[hsc.ours]}" \
	    "${RES[hsc.le21]}" "${RES[hsc.ev]}" "-" "-"
}

# start_server IMPL FILE [WRAPPER...]: start bench_http, wait for its port.
start_server() {
	local impl=$1 f=$2 i
	shift 2
	: > "$f"
	# shellcheck disable=SC2086
	$PIN_SRV "$@" "$work/$impl/bench_http" -t 300 > "$f" 2>> "$log" &
	srv_pid=$!
	PIDS="$PIDS $srv_pid"
	for ((i = 0; i < 600; i++)); do
		srv_port=$(sed -n 's/^port=//p' "$f")
		[ -n "$srv_port" ] && return 0
		kill -0 "$srv_pid" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_server() {
	kill "$srv_pid" 2> /dev/null
	wait "$srv_pid" 2> /dev/null
	forget "$srv_pid"
}

# wrk_rps PORT [HEADER]: requests per second from a wrk run; the number
# of requests goes to $out/wrk.reqs.
wrk_rps() {
	local port=$1 res
	shift
	# shellcheck disable=SC2086
	res=$($PIN_LOAD wrk -t1 -c50 -d"${HTTP_SECS}s" "$@" \
	    "http://127.0.0.1:$port/" 2>&1)
	echo "$res" >> "$log"
	echo "$res" | awk '/ requests in / { print $1 }' > "$out/wrk.reqs"
	echo "$res" | awk '/^Requests\/sec:/ { print $2 }'
}

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null
}

# cpu_per_req T0 T1: microseconds of server CPU per request of the last
# wrk run, from the server's CPU ticks before and after it.
cpu_per_req() {
	awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" \
	    -v n="$(cat "$out/wrk.reqs" 2> /dev/null)" \
	    'BEGIN { if (a != "" && b != "" && n > 0)
		printf "%.2f\n", (b - a) * 1e6 / hz / n }'
}

# idle_rss IMPL [-k]: the server's peak RSS (KiB) holding 5,000 idle
# connections (-k: each kept alive after one request).
idle_rss() {
	local impl=$1 f=$out/idle.srv idle_pid i nfd
	start_server "$impl" "$f" || { stop_server; return 0; }
	# shellcheck disable=SC2086
	$PIN_LOAD "$work/tool/bench_idle" -p "$srv_port" -n 5000 -t 120 ${2:-} \
	    >> "$log" 2>&1 &
	idle_pid=$!
	PIDS="$PIDS $idle_pid"
	for ((i = 0; i < 200; i++)); do
		# shellcheck disable=SC2012
		nfd=$(ls "/proc/$srv_pid/fd" 2> /dev/null | wc -l)
		[ "$nfd" -ge 5000 ] && break
		sleep 0.1
	done
	sleep 0.5
	[ "$nfd" -ge 5000 ] &&
	    awk '/^VmHWM:/ { print $2 }' "/proc/$srv_pid/status"
	kill "$idle_pid" 2> /dev/null
	wait "$idle_pid" 2> /dev/null
	forget "$idle_pid"
	stop_server
}

bench_http() {
	local r impl v ir n f t0 t1
	say "HTTP: hello-world evhttp server under wrk; 5,000 idle connections"
	section "HTTP: hello-world evhttp server on CPU 0, wrk -t1 -c50\
 -d${HTTP_SECS}s on the other CPU"
	if ! have wrk || [ -z "$PIN_SRV" ]; then
		say "HTTP rates skipped: need wrk and two CPUs"
	else
		for ((r = 1; r <= RUNS; r++)); do
			for impl in $IMPLS; do
				[ -x "$work/$impl/bench_http" ] || continue
				if start_server "$impl" "$out/http.srv"; then
					v=$(wrk_rps "$srv_port")
					[ -n "$v" ] && echo "rps=$v" > "$out/ka.$impl.$r"
					t0=$(cpu_ticks "$srv_pid")
					v=$(wrk_rps "$srv_port" -H "Connection: close")
					t1=$(cpu_ticks "$srv_pid")
					[ -n "$v" ] && echo "rps=$v" > "$out/close.$impl.$r"
					v=$(cpu_per_req "$t0" "$t1")
					[ -n "$v" ] && echo "us=$v" > "$out/closecpu.$impl.$r"
				fi
				stop_server
			done
		done
	fi
	row "http keep-alive: requests/s" "$(median ka ours rps)" \
	    "$(median ka le21 rps)" "$(median ka ev rps)" ">= 2.0x 2.1" \
	    "o >= 2.0 * l"
	row "http Connection: close: requests/s" "$(median close ours rps)" \
	    "$(median close le21 rps)" "$(median close ev rps)" ">= 1.1x 2.1" \
	    "o >= 1.1 * l"
	# Close mode is often bound by wrk and the kernel's connection work
	# on the other CPU; the server's own CPU per request shows its cost.
	row "  server CPU us/request (close)" "$(median closecpu ours us)" \
	    "$(median closecpu le21 us)" "$(median closecpu ev us)" \
	    "<= 0.6x 2.1" "o <= 0.6 * l"
	http_syscalls
	for ((r = 1; r <= RUNS_FEW; r++)); do
		for impl in $IMPLS; do
			[ -x "$work/$impl/bench_http" ] || continue
			v=$(idle_rss "$impl")
			[ -n "$v" ] && echo "kb=$v" > "$out/idle.$impl.$r"
		done
	done
	row "http 5,000 idle conns: server peak RSS KiB" \
	    "$(median idle ours kb)" "$(median idle le21 kb)" \
	    "$(median idle ev kb)" "<= 0.4x 2.1" "o <= 0.4 * l"
	for ((r = 1; r <= RUNS_FEW; r++)); do
		for impl in $IMPLS; do
			[ -x "$work/$impl/bench_http" ] || continue
			v=$(idle_rss "$impl" -k)
			[ -n "$v" ] && echo "kb=$v" > "$out/idlek.$impl.$r"
		done
	done
	row "  the same, kept alive after one request each" \
	    "$(median idlek ours kb)" "$(median idlek le21 kb)" \
	    "$(median idlek ev kb)" "-" "-"
	# Instructions per keep-alive request, the server under callgrind.
	for impl in $IMPLS; do
		RES[hir.$impl]=""
		if [ ! -x "$work/$impl/bench_http" ] ||
		    ! command -v valgrind > /dev/null ||
		    ! command -v wrk > /dev/null; then
			continue
		fi
		f=$out/cg.http.$impl
		start_server "$impl" "$out/http.cg" valgrind --tool=callgrind \
		    --callgrind-out-file="$f" --collect-atstart=no \
		    --toggle-collect=serve || { stop_server; continue; }
		$PIN_LOAD wrk -t1 -c10 -d2s "http://127.0.0.1:$srv_port/" \
		    >> "$log" 2>&1
		stop_server
		n=$(sed -n 's/^requests=//p' "$out/http.cg")
		ir=$(cg_sum "$impl" "$f")
		RES[hir.$impl]=$(ratio "$ir" "$n")
	done
	row "http keep-alive: Ir/request (callgrind)" \
	    "${RES[hir.ours]}" "${RES[hir.le21]}" "${RES[hir.ev]}" "-" "-"
}

# ---------------------------------------------------------------- DNS

# Queries/s through each resolver to one local dnsmasq (bench_dns starts
# it), 64 in flight.  Both resolvers may be bound by dnsmasq's speed.
bench_dns() {
	local f
	say "DNS: queries/s to a local dnsmasq, 64 in flight"
	section "DNS: evdns resolver against a local dnsmasq, 64 queries in\
 flight, ${HTTP_SECS}s"
	if [ -x /usr/sbin/dnsmasq ] || have dnsmasq; then
		series dns "$RUNS_FEW" "ours le21 ev" bench_dns -n 64 \
		    -t "$HTTP_SECS"
		# Its one line ends "N queries/s"; make that qps=N.
		for f in "$out"/dns.*; do
			[ -f "$f" ] || continue
			sed -E -i 's|.* ([0-9.]+) queries/s.*|qps=\1|' "$f"
		done
	fi
	row "dns A queries/s" "$(median dns ours qps)" "$(median dns le21 qps)" \
	    "$(median dns ev qps)" "-" "-"
}

# ---------------------------------------------------------------- HTTP threads

# start_threads_server IMPL N FILE: bench_http_threads on N bases, unpinned.
start_threads_server() {
	local impl=$1 n=$2 f=$3 i
	: > "$f"
	"$work/$impl/bench_http_threads" -n "$n" -t 300 > "$f" 2>> "$log" &
	srv_pid=$!
	PIDS="$PIDS $srv_pid"
	for ((i = 0; i < 600; i++)); do
		srv_port=$(sed -n 's/^port=//p' "$f")
		[ -n "$srv_port" ] && return 0
		kill -0 "$srv_pid" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}

# thr_wrk PORT THREADS: like wrk_rps, with THREADS load threads, unpinned.
thr_wrk() {
	local res
	res=$(wrk -t"$2" -c50 -d"${HTTP_SECS}s" "http://127.0.0.1:$1/" 2>&1)
	echo "$res" >> "$log"
	echo "$res" | awk '/ requests in / { print $1 }' > "$out/wrk.reqs"
	echo "$res" | awk '/^Requests\/sec:/ { print $2 }'
}

# The hello-world server on 1 and on 2 bases, one thread each (issue 17),
# ours against libevent 2.1 (libev's emulation has no evhttp).  Nothing is
# pinned: the server's threads and wrk share this machine's CPUs, so
# requests/s mostly shows how the scheduler splits two CPUs between wrk's
# W threads and the server's N; it is given for wrk -t1 and -t2.  The
# server's CPU time per request (all its threads, from /proc) is the
# figure that shows what a second base costs or saves.
bench_http_threads() {
	local r n w impl v t0 t1
	say "HTTP scaling: hello-world on 1 and 2 bases (threads), keep-alive"
	section "HTTP scaling: N bases in N threads on one socket, wrk -tW\
 -c50 -d${HTTP_SECS}s keep-alive, nothing pinned (wrk shares the 2 CPUs)"
	if ! command -v wrk > /dev/null; then
		say "HTTP scaling skipped: needs wrk"
		return 0
	fi
	for ((r = 1; r <= RUNS; r++)); do
		for w in 1 2; do
			for n in 1 2; do
				for impl in ours le21; do
					thr_run "$impl" "$n" "$w" "$r"
				done
			done
		done
	done
	for w in 1 2; do
		for n in 1 2; do
			row "http N=$n bases, wrk -t$w: requests/s" \
			    "$(median "thr$n.$w" ours rps)" \
			    "$(median "thr$n.$w" le21 rps)" "" "-" "-"
			row "  server CPU us/request" \
			    "$(median "thr$n.$w" ours us)" \
			    "$(median "thr$n.$w" le21 us)" "" "-" "-"
		done
		row "  requests/s, 2 bases / 1 base" \
		    "$(ratio "$(median "thr2.$w" ours rps)" \
		    "$(median "thr1.$w" ours rps)")" \
		    "$(ratio "$(median "thr2.$w" le21 rps)" \
		    "$(median "thr1.$w" le21 rps)")" "" "-" "-" noratio
	done
}

# thr_run IMPL N W RUN: one measurement into $out/thrN.W.IMPL.RUN.
thr_run() {
	local impl=$1 n=$2 w=$3 r=$4 v t0 t1
	[ -x "$work/$impl/bench_http_threads" ] || return 0
	if start_threads_server "$impl" "$n" "$out/thr.srv"; then
		t0=$(cpu_ticks "$srv_pid")
		v=$(thr_wrk "$srv_port" "$w")
		t1=$(cpu_ticks "$srv_pid")
		[ -n "$v" ] && echo "rps=$v us=$(cpu_per_req "$t0" "$t1")" \
		    > "$out/thr$n.$w.$impl.$r"
	fi
	stop_server
}
