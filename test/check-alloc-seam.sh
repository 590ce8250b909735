#!/bin/sh
# check-alloc-seam.sh [SRCDIR]: every allocation of the library goes
# through the seam of mm-internal.h (ev__malloc, ev__calloc, ev__realloc,
# ev__strdup, ev__free), so that event_set_mem_functions() sees all of it
# and test_alloc can fail any of it.  Lists each direct call of the C
# library's allocator in the library's sources (top-level *.c and *.h but
# mm.c, which implements the seam) and fails if there is one.  A line
# marked "alloc-seam: user memory" frees what the user's program
# allocated with the C library (evrpc's 1.4 macros) and is let through.
# Run by "make check" ($srcdir is set there).  Exit status: 0 clean, 1 not.
set -eu
src=${1:-${srcdir:-.}}
if [ ! -f "$src/mm-internal.h" ]; then
	echo "usage: $0 [SRCDIR] (SRCDIR holds the library's sources)" >&2
	exit 2
fi
found=$(
	for f in "$src"/*.c "$src"/*.h; do
		[ "$(basename "$f")" = mm.c ] && continue
		# A call: the name not preceded by a word character, "->",
		# "." or the ev__ prefix; comments are stripped first.
		sed -e 's:.*/\* alloc-seam\: user memory \*/.*::' \
		    -e 's://.*$::' -e 's:/\*.*\*/::g' "$f" |
		grep -nE '(^|[^A-Za-z0-9_>.])(malloc|calloc|realloc|reallocarray|strdup|strndup|free|asprintf|vasprintf)[[:space:]]*\(' |
		sed "s|^|$(basename "$f"):|"
	done || true
)
if [ -n "$found" ]; then
	echo "check-alloc-seam: allocate through mm-internal.h (ev__malloc...):"
	echo "$found"
	exit 1
fi
echo "check-alloc-seam: every allocation goes through mm-internal.h"
