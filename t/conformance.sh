#!/usr/bin/env bash
# The conformance table: every MUST, MUST NOT, SHOULD and SHOULD NOT sentence
# of the enforcement draft (quoted in t/conformance.tsv), each with the tests
# that prove it.
#   t/conformance.sh TSV              run the tests the table names, print the
#                                     table with each test's result; exit 1
#                                     when a sentence has no passing test
#   t/conformance.sh --man TSV        the table as a man page (enf-conformance(7))
#   t/conformance.sh --check-draft DRAFT TSV
#                                     the table quotes exactly the draft's
#                                     keyword sentences, each once
# TSV: id, level (MUST or SHOULD), section, sentence, tests; tests are
# separated by " | ", each "FILE.bats: test name" or "unit NAME: description"
# (a line "ok N - description" of build/t/unit/NAME).  A skipped test proves
# nothing.  ENF_BIN and ENF_UNIT as for t/run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${ENF_BIN:=$here/../bin}" "${ENF_UNIT:=$here/../build/t/unit}"
export ENF_BIN ENF_UNIT

rows() { grep -v '^#' "$1" | grep -v '^$'; }

# The draft's sentences with MUST or SHOULD, one a line, in order, each once:
# page furniture dropped, paragraphs joined, split after ". " before a capital.
draft_sentences() { # DRAFT
	awk '
		/^(Zinn|Internet-Draft) / || /\f/ { next }
		/^[ \t]*$/ { if (p != "") emit(p); p = ""; next }
		{ sub(/^[ \t]+/, ""); sub(/[ \t]+$/, ""); p = p == "" ? $0 : p " " $0 }
		END { if (p != "") emit(p) }
		function emit(s,   out, i) {
			gsub(/[ \t]+/, " ", s)
			while (match(s, /\. [A-Z\047]/)) {
				one(substr(s, 1, RSTART))
				s = substr(s, RSTART + 2)
			}
			one(s)
		}
		function one(s) {
			if (s ~ /(^|[^A-Za-z])(MUST|SHOULD)([^A-Za-z]|$)/ && !(s in seen)) {
				seen[s] = 1
				print s
			}
		}' "$1"
}

check_draft() { # DRAFT TSV
	local draft=$1 tsv=$2 want got
	if [ ! -f "$draft" ]; then
		echo "conformance: no draft at $draft: cannot compare"
		return 1
	fi
	want=$(draft_sentences "$draft")
	got=$(rows "$tsv" | cut -f4)
	if [ "$want" = "$got" ]; then
		echo "conformance: the table quotes all $(wc -l <<<"$want") keyword sentences of the draft ($(grep -c MUST <<<"$want") with MUST, $(grep -c SHOULD <<<"$want") with SHOULD), in order"
		return 0
	fi
	echo "conformance: the table and the draft differ (< draft, > table):"
	diff <(echo "$want") <(echo "$got") | grep '^[<>]'
	return 1
}

# Runs what the table names; results as "ok|not ok<TAB>REF" in $work/results.
run_tests() { # TSV
	local f names re
	rows "$1" | cut -f5 | sed 's/ | /\n/g' | sort -u >"$work/refs"
	for f in $(sed -n 's/^\([a-z0-9_-]*\.bats\): .*/\1/p' "$work/refs" | sort -u); do
		names=$(sed -n "s/^$f: //p" "$work/refs")
		re=$(sed 's/[][\\.^$*+?(){}|/]/\\&/g; s/.*/^&$/' <<<"$names" | paste -sd '|')
		bats --tap --filter "$re" "$here/$f" </dev/null 2>&1 |
			sed -n "s/^\(ok\|not ok\) [0-9]* \(.*\)/\1\t$f: \2/p" |
			sed 's/^\(ok\)\t\(.*\) # skip.*/not ok\t\2/' >>"$work/results"
	done
	for f in $(sed -n 's/^unit \([a-z0-9_-]*\): .*/\1/p' "$work/refs" | sort -u); do
		[ -x "$ENF_UNIT/$f" ] || continue
		"$ENF_UNIT/$f" 2>/dev/null | sed -n "s/^\(ok\|not ok\) [0-9]* - \(.*\)/\1\tunit $f: \2/p" >>"$work/results"
	done
}

result_of() { # REF -> ok | FAILED | MISSING
	local r
	r=$(awk -F'\t' -v ref="$1" '$2 == ref { print $1; exit }' "$work/results")
	case $r in
	ok) echo ok ;;
	"not ok") echo FAILED ;;
	*) echo MISSING ;;
	esac
}

table() { # TSV
	local id level section sentence tests t r proven n=0 bad=0 must=0 should=0
	run_tests "$1"
	while IFS=$'\t' read -r id level section sentence tests; do
		n=$((n + 1))
		case $level in *MUST*) must=$((must + 1)) ;; esac
		case $level in *SHOULD*) should=$((should + 1)) ;; esac
		proven=0
		printf '\n%s %s (%s)\n' "$id" "$level" "$section"
		printf '%s\n' "$sentence" | fold -s -w 92 | sed 's/^/  /'
		while IFS= read -r t; do
			[ -n "$t" ] || continue
			r=$(result_of "$t")
			[ "$r" = ok ] && proven=1
			printf '    %-7s %s\n' "$r" "$t"
		done < <(sed 's/ | /\n/g' <<<"$tests")
		if [ "$proven" -eq 0 ]; then
			bad=$((bad + 1))
			echo "not ok - conformance: sentence $id has no passing test" >>"$work/tap"
		fi
	done < <(rows "$1")
	# A sentence with one passing test but another failing or missing is
	# not proven as the table claims: count those too.
	while IFS=$'\t' read -r id level section sentence tests; do
		while IFS= read -r t; do
			[ -n "$t" ] || continue
			r=$(result_of "$t")
			if [ "$r" != ok ]; then
				bad=$((bad + 1))
				echo "not ok - conformance: sentence $id: $r: $t" >>"$work/tap"
			fi
		done < <(sed 's/ | /\n/g' <<<"$tests")
	done < <(rows "$1")
	echo
	echo "conformance: $n sentences ($must MUST, $should SHOULD), $(sort -u "$work/results" | wc -l) test results"
	[ -f "$work/tap" ] && cat "$work/tap"
	if [ "$bad" -eq 0 ]; then
		echo "ok - conformance: all $n sentences of the draft ($must MUST, $should SHOULD) proven by passing tests"
	fi
	[ "$bad" -eq 0 ]
}

# roff-safe text: backslashes, leading dots and quotes.
roff() { sed 's/\\/\\e/g; s/^[.'"'"']/\\\&&/'; }

man_page() { # TSV
	local id level section sentence tests t must should
	must=$(rows "$1" | cut -f2 | grep -c MUST)
	should=$(rows "$1" | cut -f2 | grep -c SHOULD)
	cat <<-EOF
	.\\" Generated from t/conformance.tsv by t/conformance.sh --man (make conformance-man).
	.TH ENF-CONFORMANCE 7 "" "enf $(sed -n 's/^#define ENF_VERSION "\(.*\)"/\1/p' "$here/../lib/enf.h")" "enf"
	.SH NAME
	enf-conformance \\- each requirement of the enforcement draft and the tests that prove it
	.SH DESCRIPTION
	The enforcement draft
	.RI ( "SoftHSM Enforcement Rules" ,
	draft-xzinn-softhsm-enforcement-rules-00) states its requirements in
	$must sentences with MUST or MUST NOT and $should with SHOULD or SHOULD NOT
	(sentences repeated in the draft are listed once).
	Each is quoted below with the tests of enf's suite that fail when enf
	stops doing what it says:
	.B "FILE.bats: name"
	is a test in
	.BR t/FILE.bats ,
	.B "unit NAME: description"
	a C unit test in
	.BR t/unit/NAME.c .
	.PP
	.B make conformance
	runs these tests and prints this table with each result;
	.B make check
	fails when a sentence has no passing test.
	EOF
	while IFS=$'\t' read -r id level section sentence tests; do
		printf '.SS "%s. %s (%s)"\n' "$id" "$level" "$section"
		printf '%s\n' "$sentence" | roff
		printf '.RS\n.PD 0\n'
		while IFS= read -r t; do
			[ -n "$t" ] || continue
			printf '.IP \\(bu 2\n'
			printf '%s\n' "$t" | roff
		done < <(sed 's/ | /\n/g' <<<"$tests")
		printf '.PD\n.RE\n'
	done < <(rows "$1")
	cat <<-EOF
	.SH SEE ALSO
	.BR enf (7),
	.BR enf-sign (1),
	.BR enf-audit (1),
	.BR enf-seal (1)
	EOF
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case ${1:-} in
--man) man_page "$2" ;;
--check-draft) check_draft "$2" "$3" ;;
*) table "$1" ;;
esac
