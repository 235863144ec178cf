#!/usr/bin/env bash
# Shared by t/fault/kill.sh and t/fault/full.sh (sourced): the template
# instance, the writing commands, and the checks of what a failure left.
# A command is one line in COMMANDS: NAME|COMMAND LINE, run in the trial's
# directory ($h is the home there; files named in setup()).  The batch
# commands sign $work/b/r*.req into outd/ (in process, and through an
# agent that is what kill.sh kills: t/fault/agent-batch.sh).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${ENF_BIN:=$here/../../bin}"
PATH="$ENF_BIN:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
export HOME="$work/home"
mkdir -p "$HOME"
unset ENF_HOME SSH_AUTH_SOCK ENF_AGENT_SOCK
export ENF_OFFICER_PASSPHRASE_FILE="$work/officer.pass" ENF_PASSPHRASE_FILE="$work/operator.pass"
printf 'officer correct horse\n' >"$ENF_OFFICER_PASSPHRASE_FILE"
printf 'operator battery staple\n' >"$ENF_PASSPHRASE_FILE"
printf 'operator new staple\n' >"$work/new.pass"
A2=1:8192:1

COMMANDS=(
	"init|enf-keygen -H new init --argon2 $A2"
	"new|enf-keygen -H h new -p release k2"
	"state|enf-keygen -H h state rel deactivated"
	"passwd|enf-keygen -H h passwd --role operator --new-passphrase-file $work/new.pass"
	"install|enf-policy -H h install $work/policy2"
	"sign|enf-sign -H h -o out $work/req"
	"batch|enf-sign -H h -d outd $work/b/r1.req $work/b/r2.req $work/b/r3.req $work/b/r4.req"
	"agent-batch|$here/agent-batch.sh $work/client.rc h $ENF_PASSPHRASE_FILE outd $work/b/r1.req $work/b/r2.req $work/b/r3.req $work/b/r4.req"
	"seal|enf-seal -H h seal -o out $work/data"
	"open|enf-seal -H h open -o out $work/sealed"
	"transfer|enf-seal -H h transfer --to $work/peer.pub -o out $work/sealed"
)

# The template instance every trial copies, and the files commands use.
setup() {
	local t=$work/tpl
	mkdir -p "$t"
	enf-keygen -H "$t/h" init --argon2 "$A2" >/dev/null &&
	enf-keygen -H "$t/h" new -p release rel >/dev/null &&
	enf-keygen -H "$work/peer" init --argon2 "$A2" >/dev/null &&
	enf-keygen -H "$work/peer" instance >"$work/peer.pub" &&
	ssh-keygen -q -t ed25519 -N '' -C ci -f "$work/ci" || return 1
	{
		echo "version 1"; echo "policy fault-1"; echo "purpose release"
		echo "identity ci $(cut -d' ' -f1,2 "$work/ci.pub")"
		echo "rule r1 key=rel identity=ci purpose=release scope=artifact:x"
	} >"$work/policy"
	sed 's/fault-1/fault-2/' "$work/policy" >"$work/policy2"
	enf-policy -H "$t/h" install "$work/policy" >/dev/null &&
	head -c 100000 /dev/urandom >"$work/data" &&
	enf-request -k rel -i ci -p release -s artifact:x -r r1 --ssh-key "$work/ci" \
		"$work/data" >"$work/req" 2>/dev/null &&
	mkdir -p "$work/b" &&
	for i in 1 2 3 4; do
		enf-request -k rel -i ci -p release -s artifact:x -r r1 --ssh-key "$work/ci" \
			"$work/data" >"$work/b/r$i.req" 2>/dev/null || return 1
	done &&
	enf-seal -H "$t/h" seal -o "$work/sealed" "$work/data" &&
	enf-keygen -H "$t/h" pubkey rel >"$work/rel.pub" &&
	printf 'x\n' >"$work/small"
}

fresh() { # DIR: a copy of the template
	rm -rf "$1" "$work/client.rc" "$work/client.rc.pid"
	mkdir -p "$1"
	cp -a "$work/tpl/h" "$1/h"
	mkdir "$1/outd"
}

# The request digest a permit records: SHA-256 of the request's 8-line body.
body_digest() { head -n 8 "$1" | sha256sum | cut -d' ' -f1; }

# After a batch: every signature in outd/ has its permit record and
# verifies; through the agent, the client (unless the kill came before
# agent-batch.sh started one) exited 0 (all signed) or 3 (the
# agent went away), and said so; then a next batch into outd/ (which
# removes what a killed one staged) signs.
check_batch() { # NAME DIR
	local name=$1 d=$2 s r rc i
	for s in "$d"/outd/*.sig; do
		[ -e "$s" ] || continue
		r=$work/b/$(basename "$s" .sig).req
		grep ' outcome=permit ' "$d/h/audit.log" | grep -q " request_digest=$(body_digest "$r") " ||
			echo "$(basename "$s"): a signature without its permit record"
		enf-verify -p release -k "$work/rel.pub" -s "$s" "$work/data" >/dev/null 2>&1 ||
			echo "$(basename "$s"): does not verify"
	done
	if [ "$name" = agent-batch ] && [ -s "$work/client.rc.pid" ]; then
		for ((i = 0; i < 500; i++)); do [ -s "$work/client.rc" ] && break; sleep 0.02; done
		rc=$(cat "$work/client.rc" 2>/dev/null)
		case $rc in
		0) [ "$(ls "$d"/outd/*.sig 2>/dev/null | wc -l)" -eq 4 ] ||
			echo "the client exited 0 without every signature" ;;
		3) ;;
		'') echo "the client did not finish (hangs on a dead agent)" ;;
		*) echo "the client exited $rc, not 0 or 3, when the agent died" ;;
		esac
	fi
	enf-sign -H "$d/h" -d "$d/outd" "$work/b/r1.req" >/dev/null 2>&1 ||
		echo "the next batch into outd/ does not sign"
}

ms() { date +%s%3N; }

# recorded OP WHAT (inside check, whose $h and $errf it reads): the output
# that exists has its OP record, unless the command said on stderr that the
# record could not be written (SPEC: a gap).
recorded() {
	grep -q " op=$1 " "$h/audit.log" || grep -qi 'audit' "$errf" ||
		echo "$2 exists without its record"
}

# Whatever a failure left must satisfy what SPEC promises (kill.sh's header);
# prints one reason per problem, nothing when all is well.  ERRFILE, when
# given, is the command's stderr: an output without its record is allowed
# only when the command said the record could not be written (SPEC, Audit:
# failing to write a record never changes a decision).  Signatures and
# enf-seal's outputs alike are recorded before they are published, so an
# output left without its record is a failure.
check() { # NAME DIR [ERRFILE]
	local name=$1 d=$2 h=$2/h errf=${3:-/dev/null} permits0 v1 v1out unlocked=0 left
	cd "$d" || return
	left=$(find "$d" \( -name '*.tmp*' -o -name '*.new' \) -print | sed "s|^$d/||")
	[ -z "$left" ] || echo "note: temporary file right after the failure, removed by the next writer: ${left//$'\n'/ }" >&4
	if [ "$name" = init ]; then
		if [ -e new/keystore ]; then
			enf-keygen -H new list >/dev/null 2>&1 || echo "init: the new keystore does not open"
		else
			enf-keygen -H new init --argon2 "$A2" >/dev/null 2>&1 || echo "init: cannot init again after the kill"
		fi
		h=$d/new
	fi
	enf-keygen -H "$h" list >/dev/null 2>&1 || echo "keystore does not open"
	permits0=$(grep -c ' outcome=permit ' "$h/audit.log" 2>/dev/null)
	v1out=$(enf-audit -H "$h" verify -q 2>&1)
	v1=$?
	# A refusal recorded without the key (say, an unlock whose attempt
	# could not be counted on a full disk) stands unsigned until the next
	# signed record: verify says so by design, and nothing needs repair.
	case $v1out in *"not signed, and no signed record follows"*) v1=0 ;; esac
	[ -s "$h/audit.log" ] || v1=0	# an empty log: nothing to repair
	# The next append (an operator unlock and a seal) repairs a torn tail.
	for p in "$ENF_PASSPHRASE_FILE" "$work/new.pass"; do
		if enf-seal -H "$h" seal --passphrase-file "$p" -o "$d/follow" "$work/small" 2>/dev/null; then
			unlocked=1
			break
		fi
	done
	[ "$unlocked" -eq 1 ] || echo "the operator unlocks with neither the old nor the new passphrase"
	# The next writers remove what an instant between naming and renaming
	# may have left: the next holder of the keystore's lock keystore.new
	# (lib/store.c), the next writer of a file of the instance a dead
	# process's NAME.tmpPID.N (lib/io.c).
	enf-keygen -H "$h" reset-lockout >/dev/null 2>&1 || echo "the officer cannot write the keystore"
	enf-audit -H "$h" verify -q >/dev/null 2>&1 || echo "the log does not verify after the next append"
	# Otherwise, right after the failure the log may not verify for two
	# reasons, each of which the next append must record: a torn tail
	# (op=repair) or a decision whose record could not be written
	# (audit.gap, op=gap).
	if [ "$v1" -ne 0 ] && ! grep -qE ' op=(repair|gap) ' "$h/audit.log"; then
		echo "the log did not verify after the failure and the next append recorded neither a repair nor a gap"
	fi
	case $name in batch | agent-batch) check_batch "$name" "$d" ;; esac
	if [ -e out ]; then
		case $name in
		sign)
			[ "$permits0" -ge 1 ] || grep -qi 'audit' "$errf" ||
				echo "a signature exists without its permit record"
			enf-verify -p release -k "$work/rel.pub" -s out "$work/data" >/dev/null 2>&1 ||
				echo "the signature that exists does not verify" ;;
		seal)
			recorded seal "a sealed file"
			enf-seal -H "$h" open "$d/out" 2>/dev/null | cmp -s - "$work/data" ||
				echo "the sealed file that exists does not open to the data" ;;
		open)
			recorded open "an opened file"
			cmp -s out "$work/data" || echo "the opened file that exists is not the data" ;;
		transfer)
			recorded transfer "a transferred file"
			enf-seal -H "$work/peer" open "$d/out" 2>/dev/null | cmp -s - "$work/data" ||
				echo "the transferred file does not open at the peer" ;;
		esac
	fi
	left=$(find "$d" \( -name '*.tmp*' -o -name '*.new' \) -print | sed "s|^$d/||")
	[ -z "$left" ] && return
	echo "temporary files left: $left"
}

