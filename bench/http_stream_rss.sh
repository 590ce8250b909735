#!/usr/bin/env bash
# http_stream_rss.sh BUILDDIR [MIB]: builds bench/http_stream_rss.c against
# BUILDDIR's static libevent and fetches a MIB MiB response (default 2048)
# close-delimited and chunked; fails if the client's peak resident size
# passes its body limit (256 MiB, plus 32 MiB of slack) or, for the
# chunked stream read through a chunk callback, 32 MiB.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: http_stream_rss.sh BUILDDIR [MIB]}" && pwd)
mib=${2:-2048}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
${CC:-cc} -O2 -I"$src/include" -I"$build/include" \
	"$src/bench/http_stream_rss.c" "$build/.libs/libevent.a" -o "$out/rss"
status=0
for mode in close chunked; do
	line=$("$out/rss" "$mib" "$mode")
	echo "$line"
	peak=$(echo "$line" | sed -n 's/.*peak RSS \([0-9]*\) MiB.*/\1/p')
	limit=$([ "$mode" = chunked ] && echo 32 || echo 288)
	if [ -z "$peak" ] || [ "$peak" -gt "$limit" ]; then
		echo "http_stream_rss: $mode: peak over $limit MiB" >&2
		status=1
	fi
done
exit $status
