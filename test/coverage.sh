#!/bin/sh
# test/coverage.sh: "make coverage".  Runs "make check" in a build tree
# configured with --enable-coverage, then prints gcovr's line and branch
# coverage of the library's own sources (the top-level *.c and *.h; not
# tests, samples or benchmarks), one line per file, and fails when the
# library's line coverage is below COVERAGE_FLOOR percent (default 92).
#
#   test/coverage.sh [SRCDIR [BUILDDIR]]     (both default to .)
#
# Works in a VPATH build: SRCDIR holds the sources, BUILDDIR the objects
# and the .gcno/.gcda files.  Needs gcovr (Debian: apt-get install gcovr).
# Exit status: 0 above the floor with every test passing, 1 otherwise.
set -eu

srcdir=$(cd "${1:-.}" && pwd -P)
builddir=$(cd "${2:-.}" && pwd -P)
floor=${COVERAGE_FLOOR:-92}
make=${MAKE:-make}

if ! command -v gcovr >/dev/null 2>&1; then
	echo "coverage: gcovr not found (Debian: apt-get install gcovr)" >&2
	exit 1
fi
if [ -z "$(find "$builddir" -name '*.gcno' -print | head -n 1)" ]; then
	echo "coverage: no .gcno files in $builddir:" \
	    "configure it with --enable-coverage and build it" >&2
	exit 1
fi

# Counts from an earlier run would inflate this one.
find "$builddir" -name '*.gcda' -exec rm -f {} +

status=0
(cd "$builddir" && $make check) || status=1

# gcov runs once into a JSON tracefile; both tables are drawn from it.
# The filter keeps files directly in SRCDIR (regex-escaped).
json=$builddir/coverage.json
esc=$(printf '%s\n' "$srcdir" | sed 's/[][\.*^$+?(){}|]/\\&/g')
gcovr --root "$srcdir" --filter "$esc/[^/]*\\.[ch]\$" \
    --gcov-ignore-parse-errors \
    --object-directory "$builddir" --json --output "$json" "$builddir"

echo "==== line coverage of the library (floor: $floor%)"
gcovr --root "$srcdir" --add-tracefile "$json"
echo "==== branch coverage of the library"
gcovr --root "$srcdir" --add-tracefile "$json" --branches
if ! gcovr --root "$srcdir" --add-tracefile "$json" \
    --fail-under-line "$floor" >/dev/null; then
	echo "coverage: library line coverage is below the floor of $floor%" >&2
	status=1
fi
[ "$status" -eq 0 ] || echo "coverage: FAILED" >&2
exit "$status"
