#!/bin/sh
# check-man.sh SRCDIR: the manual pages cover the public interface, and
# format cleanly.
#
#  1. Every public name declared in SRCDIR/include/*.h (functions, global
#     variables, function-like and constant macros, typedefs, struct, union
#     and enum tags, enum constants) must appear as a word in at least one
#     SRCDIR/*.3 page; the names that do not are listed and the check fails.
#     Headers and pages are found by wildcard, so a new header (evrpc.h)
#     and its page (evrpc.3) are checked as soon as they exist.
#     Every page must also be in Makefile.am's dist_man_MANS, so that
#     "make install" installs it.
#  2. Every page must format without a single warning through
#     "man --warnings -l" (groff, what users run), and, when mandoc is
#     installed, through "mandoc -Tlint -W warning", which also checks the
#     mdoc structure.
#
# "check-man.sh --names SRCDIR" only prints the extracted names, one per
# line, as "header name".  Exit status: 0 clean, 1 problems, 2 usage.
set -eu

list_only=0
if [ "${1:-}" = "--names" ]; then
	list_only=1
	shift
fi
if [ $# -ne 1 ] || [ ! -d "$1/include" ]; then
	echo "usage: $0 [--names] SRCDIR" >&2
	exit 2
fi
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The extraction, in Perl (always present on Debian: perl-base is
# essential).  It reads one header and prints its public names.
cat > "$tmp/names.pl" <<'PERL'
use strict;
use warnings;

local $/;
my $text = <STDIN>;
my %seen;
my @names;
sub add { my $n = shift; push @names, $n unless $seen{$n}++; }

# Names that the headers use but the system defines.
my %system = map { $_ => 1 } qw(in_addr in6_addr sockaddr timeval
    TAILQ_ENTRY TAILQ_HEAD);

$text =~ s{/\*.*?\*/}{ }gs;		# comments
$text =~ s{//[^\n]*}{}g;
$text =~ s{\\\n}{ }g;			# continued lines

# Macros.  Skipped: include guards (a bare #define of the name just
# tested by #ifndef), helper macros the header #undefs again, and macros
# it defines only when the system lacks them (#ifndef X / #define X).
my %undefined = map { $_ => 1 } ($text =~ /^\s*#\s*undef\s+(\w+)/mg);
my %guard = map { $_ => 1 } ($text =~ /^\s*#\s*ifndef\s+(\w+)/mg);
while ($text =~ /^\s*#\s*define\s+(\w+)(.*)$/mg) {
	my ($name, $rest) = ($1, $2);
	next if $undefined{$name} || $guard{$name} || $system{$name};
	add($name);
}

# C++-only branches hold just the extern "C" braces, which would
# unbalance the declarations.
$text =~ s{^\s*#\s*ifdef\s+__cplusplus\b.*?^\s*#\s*(?:else|endif)\b[^\n]*}{}gms;
$text =~ s{^\s*#[^\n]*}{}mg;		# other preprocessor lines

# Tags of structs, unions and enums: defined, declared or only used.
while ($text =~ /\b(?:struct|union|enum)\s+(\w+)/g) {
	add($1) unless $system{$1};
}
# Enum constants.
while ($text =~ /\benum\b[^{;]*\{([^}]*)\}/g) {
	my $body = $1;
	add($_) for ($body =~ /(?:^|,)\s*(\w+)/g);
}

# Flatten the bodies of structs, unions and enums (innermost first), so
# only top-level declarations are left between semicolons.
1 while $text =~ s/\{[^{}]*\}/\x01/g;
$text =~ s/\s+/ /g;
for my $decl (split /;/, $text) {
	$decl =~ s/^\s+|\s+$//g;
	next if $decl eq '';
	$decl =~ s/__attribute__\s*\(\(.*\)\)//;
	if ($decl =~ /^typedef\b/) {
		if ($decl =~ /\(\s*\*\s*(\w+)\s*\)/) {
			add($1);
		} elsif ($decl =~ /(\w+)\s*(?:\[[^\]]*\]\s*)*$/) {
			add($1);
		}
	} elsif ($decl =~ /^[A-Z_][A-Z0-9_]*\s*\(/) {
		next;			# a macro invocation, e.g. TAILQ_HEAD(...)
	} elsif ($decl =~ /^extern\b/ && $decl =~ /\(\s*\*\s*(\w+)\s*\)/) {
		add($1);		# a pointer-to-function variable
	} elsif ($decl =~ /^(?:extern\s+)?[^(]*?\b(\w+)\s*\(/) {
		add($1);		# a function
	} elsif ($decl =~ /^extern\b.*?\b(\w+)\s*(?:\[[^\]]*\]\s*)*$/) {
		add($1);		# a variable
	}
}
print "$_\n" for @names;
PERL

: > "$tmp/all"
for h in "$src"/include/*.h; do
	case $h in
	*/event-config.h) continue ;;	# generated from config.h
	esac
	perl "$tmp/names.pl" < "$h" | sed "s|^|$(basename "$h") |" >> "$tmp/all"
done
# A name several headers mention (struct evbuffer...) is listed once.
awk '!seen[$2]++' "$tmp/all" > "$tmp/names"
if [ "$list_only" = 1 ]; then
	cat "$tmp/names"
	exit 0
fi

set -- "$src"/*.3
if [ ! -e "$1" ]; then
	echo "check-man: no *.3 pages in $src" >&2
	exit 1
fi
status=0

# 1. Coverage: a name counts when any page has it as a whole word, outside
# roff comments.
cat "$@" | grep -v '^\.\\"' > "$tmp/pages"
missing=0
while read -r header name; do
	if ! grep -qw -e "$name" "$tmp/pages"; then
		echo "check-man: $header: $name is in no manual page"
		missing=$((missing + 1))
	fi
done < "$tmp/names"
total=$(wc -l < "$tmp/names")
echo "check-man: $((total - missing)) of $total public names documented" \
    "($(ls "$src"/include/*.h | grep -v event-config.h | wc -l) headers," \
    "$# pages)"
[ "$missing" = 0 ] || status=1

# Every page is installed: listed in Makefile.am's dist_man_MANS.
if [ -f "$src/Makefile.am" ]; then
	installed=$(awk '/^dist_man_MANS[ \t]*\+?=/ { on = 1; sub(/^[^=]*=/, "") }
	    on { more = sub(/\\$/, ""); print; if (!more) on = 0 }' \
	    "$src/Makefile.am")
	for page in "$@"; do
		case " $(echo $installed) " in
		*" $(basename "$page") "*) ;;
		*)	echo "check-man: $(basename "$page") is not in" \
			    "dist_man_MANS (Makefile.am): make install skips it"
			status=1 ;;
		esac
	done
fi

# 2. Formatting.  man-db exits 0 even when groff warns, so any output on
# stderr is the failure.  The width is fixed so results do not depend on
# the terminal.
if ! command -v man > /dev/null 2>&1; then
	echo "check-man: man not found: install man-db (Debian) to check the pages"
	exit 1
fi
for page in "$@"; do
	MANWIDTH=80 man --warnings -l -Tutf8 "$page" \
	    > /dev/null 2> "$tmp/warnings" || true
	if [ -s "$tmp/warnings" ]; then
		sed "s|^|check-man: $(basename "$page"): |" "$tmp/warnings"
		status=1
	fi
	if command -v mandoc > /dev/null 2>&1; then
		if ! mandoc -Tlint -W warning "$page" > "$tmp/lint" 2>&1; then
			sed 's|^|check-man: |' "$tmp/lint"
			status=1
		fi
	fi
done
if ! command -v mandoc > /dev/null 2>&1; then
	echo "check-man: mandoc not installed; mdoc lint skipped"
fi
[ "$status" = 0 ] && echo "check-man: all pages format without warnings"
exit "$status"
