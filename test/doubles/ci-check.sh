#!/bin/sh
# test/doubles/ci-check.sh BUILDDIR: after "make check", confirm from the
# test logs that every core test program that runs per backend ran on the
# three doubled backends (evport, kqueue, devpoll) as well as on this
# system's own, so a configure that silently dropped the doubles fails CI.
# Usage: make check && sh test/doubles/ci-check.sh .
b=${1:-.}
status=0
for t in test_event test_timer test_signal test_buffer test_bufferevent \
    test_echo_sample test_alloc test_base; do
	real=$b/test/$t.log
	dbl=$b/test/doubles/$t.log
	if [ ! -f "$real" ]; then
		echo "ci-check: $real missing (did make check run?)"; status=1
		continue
	fi
	seen=$(grep -h '^\[ BACKEND  \]' "$real" "$dbl" 2>/dev/null |
	    sed 's/.* on //' | sort -u | tr '\n' ' ')
	nreal=$(grep -h '^\[ BACKEND  \]' "$real" | sed 's/.* on //' |
	    sort -u | wc -l)
	# A program whose tests all need no backend runs once: nothing to do.
	if [ "$nreal" -le 1 ]; then
		echo "ci-check: $t runs once (no backend): $seen"
		continue
	fi
	for want in evport kqueue devpoll; do
		case " $seen" in
		*" $want "*) ;;
		*) echo "ci-check: $t did not run on $want"; status=1 ;;
		esac
	done
	echo "ci-check: $t ran on: $seen"
done
exit $status
