#!/usr/bin/env bash
# run-fuzzers.sh SRCDIR SECONDS [BUILDDIR]
# Builds every libFuzzer target test/fuzz/fuzz_*.c together with the
# library's sources (clang, -fsanitize=fuzzer,address,undefined) and runs
# each for SECONDS, starting from its seed corpus test/fuzz/corpus/NAME/
# (NAME is the file name without "fuzz_" and ".c").  BUILDDIR is a
# configured build tree holding config.h and include/event-config.h
# (default: SRCDIR).  Exits non-zero if a target fails to build or finds a
# crash, a leak or undefined behaviour.
set -euo pipefail
src=$(cd "${1:?usage: run-fuzzers.sh SRCDIR SECONDS [BUILDDIR]}" && pwd)
secs=${2:?seconds per target}
build=$(cd "${3:-$src}" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cc=${CLANG:-clang}
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-I"$src/include" -I"$build/include" -I"$build" -I"$src" -I"$src/compat")
# The library's sources, less the backends this system's config.h lacks
# (kqueue.c, devpoll.c and evport.c build only where their OS API exists).
lib=
for f in "$src"/*.c; do
	case $(basename "$f") in
	kqueue.c) macro=HAVE_WORKING_KQUEUE ;;
	devpoll.c) macro=HAVE_DEVPOLL ;;
	evport.c) macro=HAVE_EVENT_PORTS ;;
	*) macro= ;;
	esac
	if [ -n "$macro" ] && ! grep -q "^#define $macro 1" "$build/config.h"; then
		continue
	fi
	lib="$lib $f"
done
status=0
for target in "$src"/test/fuzz/fuzz_*.c; do
	[ -e "$target" ] || continue
	name=$(basename "$target" .c)
	short=${name#fuzz_}
	echo "== $name: building"
	if ! $cc "${flags[@]}" "$target" $lib -o "$out/$name" 2>"$out/$name.err"; then
		cat "$out/$name.err"
		status=1
		continue
	fi
	mkdir -p "$out/corpus-$short"
	seeds="$src/test/fuzz/corpus/$short"
	[ -d "$seeds" ] || seeds=
	echo "== $name: running ${secs}s"
	if ! ASAN_OPTIONS=detect_leaks=1 "$out/$name" -max_total_time="$secs" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    "$out/corpus-$short" $seeds >"$out/$name.log" 2>&1; then
		tail -60 "$out/$name.log"
		status=1
		continue
	fi
	grep -E "stat::number_of_executed_units|Done" "$out/$name.log" | tail -2
done
exit $status
