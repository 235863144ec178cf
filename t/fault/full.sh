#!/usr/bin/env bash
# Disk full and read-only home: t/fault/full.sh
# Every writing command of t/fault/lib.sh runs with its home (and outputs)
# on a small tmpfs, mounted by this script inside its own mount namespace
# (unshare -m, as root: nothing leaks into the host):
#   - read-only: every write fails; the command must exit 3 with a message,
#     and leave every file of the home byte-identical, no output;
#   - full, with 0, 4, 8, ... 256 KiB left ($FAULT_FREE_KIB): each free size fails a different
#     write, or none; the command must exit 0 or 3 (a message then), never
#     crash, and once the space is back, what it left must pass the same
#     checks as after a kill (lib.sh check): nothing lost.
# One TAP line per command and condition.
set -u
if [ -z "${ENF_FAULT_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
		echo "not ok 1 - disk-full trials need root and unshare -m"
		echo "1..1"
		exit 1
	fi
	exec unshare -m env ENF_FAULT_NS=1 "$0" "$@"
fi
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
mount --make-rprivate / 2>/dev/null
# FAULT_FREE_KIB: the free sizes tried (make fault-smoke takes fewer).
FREE_KIB=${FAULT_FREE_KIB:-0 4 8 12 16 24 32 48 64 96 128 256}

# FAULT_SKIP: command names left out (make fault-smoke, see the Makefile).
SKIP=" ${FAULT_SKIP:-} "
mnt=$work/mnt
mkdir -p "$mnt"

# A fresh tmpfs at $mnt holding a copy of the template (fresh does the copy).
fresh_fs() {
	umount "$mnt" 2>/dev/null
	mount -t tmpfs -o size=2m,mode=0700 tmpfs "$mnt" && fresh "$mnt/d"
}

sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# Exit 3 with a message and nothing changed.
readonly_trial() { # NAME CMD -> problems on stdout
	local name=$1 cmd=$2 rc before after
	fresh_fs || { echo "cannot mount"; return; }
	before=$(sums "$mnt/d")
	mount -o remount,ro "$mnt"
	(cd "$mnt/d" && eval "$cmd") >/dev/null 2>"$work/err"
	rc=$?
	mount -o remount,rw "$mnt"
	after=$(sums "$mnt/d")
	[ "$rc" -eq 3 ] || echo "exit $rc, not 3"
	grep -q '^enf-[a-z]*: ' "$work/err" || echo "no message on stderr"
	[ "$before" = "$after" ] || echo "files changed on a read-only home"
	[ ! -e "$mnt/d/out" ] || echo "an output was written"
}

# Fill the tmpfs, give back FREE KiB, run; then free it all and check.
full_trial() { # NAME CMD FREE -> problems on stdout
	local name=$1 cmd=$2 free=$3 rc
	fresh_fs || { echo "cannot mount"; return; }
	dd if=/dev/zero of="$mnt/fill" bs=4096 2>/dev/null
	[ "$free" -eq 0 ] || truncate -s "-${free}K" "$mnt/fill"
	(cd "$mnt/d" && eval "$cmd") >/dev/null 2>"$work/err"
	rc=$?
	rm -f "$mnt/fill"
	case $rc in
	0) ;;
	3) grep -q '^enf-[a-z]*: ' "$work/err" || echo "${free} KiB free: exit 3 without a message" ;;
	*) echo "${free} KiB free: exit $rc ($(head -c 200 "$work/err" | tr '\n' ' '))" ;;
	esac
	check "$name" "$mnt/d" "$work/err" 4>>"$work/notes" | sed "s/^/${free} KiB free: /"
}

n=0 bad=0 trials=0 failures=0
: >"$work/notes"
if ! setup >"$work/setup.log" 2>&1; then
	echo "not ok 1 - disk-full trials: setup failed"
	sed 's/^/#   /' "$work/setup.log"
	echo "1..1"
	exit 1
fi
for c in "${COMMANDS[@]}"; do
	name=${c%%|*} cmd=${c#*|}
	case $SKIP in *" $name "*) continue ;; esac
	n=$((n + 1))
	p=$(readonly_trial "$name" "$cmd")
	trials=$((trials + 1))
	if [ -z "$p" ]; then
		echo "ok $n - read-only home: $name exits 3 and changes nothing"
	else
		bad=$((bad + 1)) failures=$((failures + 1))
		echo "not ok $n - read-only home: $name: $(echo "$p" | paste -sd ';')"
	fi
	n=$((n + 1)) probs=""
	for k in $FREE_KIB; do
		trials=$((trials + 1))
		p=$(full_trial "$name" "$cmd" "$k")
		[ -z "$p" ] && continue
		failures=$((failures + 1))
		probs="$probs$p"$'\n'
	done
	if [ -z "$probs" ]; then
		echo "ok $n - disk full: $name at $(echo "$FREE_KIB" | wc -w) free sizes exits 0 or 3, nothing lost"
	else
		bad=$((bad + 1))
		echo "not ok $n - disk full: $name"
		printf '%s' "$probs" | sed 's/^/#   /'
	fi
done
umount "$mnt" 2>/dev/null
echo "# disk-full and read-only trials: $trials, failures: $failures"
if [ -s "$work/notes" ]; then
	sort "$work/notes" | uniq -c | sed 's/^ */# /'
fi
echo "1..$n"
[ "$bad" -eq 0 ]
