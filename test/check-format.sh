#!/bin/sh
# test/check-format.sh [SRCDIR]: fails, showing the difference, when a C
# source or header of ours is not formatted as .clang-format says.  The
# tree was formatted once as a whole, so checking every file checks every
# changed line.  Generated code (*.gen.[ch]) and the BSD compat/ header are
# left out.  Needs clang-format (Debian: apt-get install clang-format).
set -eu
cd "${1:-.}"
command -v clang-format >/dev/null 2>&1 || {
	echo "check-format: clang-format not found" >&2
	exit 1
}
if git rev-parse --git-dir >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find . -name '*.[ch]' | sed 's|^\./||')
fi
files=$(echo "$files" | grep -v -e '\.gen\.[ch]$' -e '^compat/' \
    -e '^include/event-config\.h$' || true)
bad=0
for f in $files; do
	if ! clang-format --style=file "$f" | diff -u "$f" - >/dev/null; then
		echo "check-format: $f is not formatted (clang-format -i $f):"
		clang-format --style=file "$f" | diff -u "$f" - | head -20
		bad=$((bad + 1))
	fi
done
n=$(echo "$files" | wc -w)
if [ "$bad" -ne 0 ]; then
	echo "check-format: $bad of $n files need clang-format" >&2
	exit 1
fi
echo "check-format: $n files formatted as .clang-format says"
