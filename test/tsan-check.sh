#!/bin/sh
# tsan-check.sh SRCDIR: build a separate copy of the library with clang's
# ThreadSanitizer and run the thread stress test and the threaded samples'
# test under it.  Any ThreadSanitizer report fails the run (non-zero exit).
#
# The sources are copied from SRCDIR's working tree (files git tracks or
# would track, so uncommitted edits are checked too) into a temporary
# directory, and built there out of tree (a VPATH build), so SRCDIR's own
# build is left alone.  Needs clang and libclang-rt-14-dev (Debian).
# About two minutes on two cores.
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/configure.ac" ]; then
	echo "usage: $0 SRCDIR" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsan-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

mkdir "$tmp/src" "$tmp/build"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$src" && git ls-files -co --exclude-standard -z |
	    xargs -0 tar cf -) | (cd "$tmp/src" && tar xf -)
else
	cp -R "$src/." "$tmp/src"
fi
cd "$tmp/src"
./autogen.sh >/dev/null 2>&1
cd "$tmp/build"
"$tmp/src/configure" -q CC=clang \
    CFLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" \
    LDFLAGS="-fsanitize=thread"
progs="test/test_threads test/test_threaded_samples"
# event-config.h is a BUILT_SOURCE, made before anything only by "make all".
make include/event-config.h >/dev/null
make -j"$jobs" libevent.la sample/threaded-echo sample/threaded-http \
    $progs >/dev/null

# halt_on_error stops at the first report; exitcode makes it a failure
# even where the report would otherwise let the program exit 0.
TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export TSAN_OPTIONS
# Instrumented code runs several times slower: widen each test's deadline.
TU_DEADLINE_SCALE=6
export TU_DEADLINE_SCALE
status=0
for p in $progs; do
	echo "== $p under ThreadSanitizer"
	if ! ./$p >"$tmp/out" 2>&1; then
		cat "$tmp/out"
		echo "tsan-check: $p FAILED" >&2
		status=1
	elif grep -q "WARNING: ThreadSanitizer" "$tmp/out"; then
		cat "$tmp/out"
		echo "tsan-check: $p: ThreadSanitizer report" >&2
		status=1
	else
		grep -E '^\[ *(PASSED|FAILED) *\]' "$tmp/out" | sort | uniq -c
	fi
done
exit $status
