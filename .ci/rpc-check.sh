#!/usr/bin/env bash
# .ci/rpc-check.sh: after "make install", the RPC part as a 1.4 program
# uses it: the installed event_rpcgen.py (from PATH, under Python 3) turns
# sample/rpc-adder.rpc into C, which builds with "gcc ... -levent" and
# answers a call.  Run from the top of the tree, as root in CI.
set -euo pipefail
gen=$(command -v event_rpcgen.py) || { echo "event_rpcgen.py is not on PATH"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp sample/rpc-adder.rpc sample/rpc-adder.c "$tmp/"
(cd "$tmp" && "$gen" rpc-adder.rpc)
for f in "$tmp"/rpc-adder.gen.c; do
	gcc -Wall -Wextra -Werror -c "$f" -o "$tmp/gen-c.o"
	g++ -Wall -Wextra -Werror -x c++ -c "$f" -o "$tmp/gen-cxx.o"
done
gcc -Wall "$tmp/rpc-adder.c" "$tmp/rpc-adder.gen.c" -levent -o "$tmp/rpc-adder"
out=$("$tmp/rpc-adder" 1 2 3)
[ "$out" = "sum 6: hello, rpc-adder" ] || { echo "rpc-adder said: $out"; exit 1; }
echo "installed event_rpcgen.py: sample/rpc-adder builds and answers ($out)"
