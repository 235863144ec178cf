# Sourced by the bench scripts that sign through an instance of their own
# (bench/agent.sh, bench/token.sh): the tool check and that instance.

# bench_needs SCRIPT TOOL...: stop, naming the tool, unless every TOOL is here.
bench_needs() {
	local who=$1 t
	shift
	for t; do
		command -v "$t" >/dev/null || { echo "$who: needs $t (make bench-deps)" >&2; exit 1; }
	done
}

# bench_instance NAME: $dir, a temporary directory removed at exit together
# with the agent $agent_pid if one was started; officer and operator
# passphrase files in the environment; ENF_HOME=$dir/enf (not created); a
# 1 KiB artifact $dir/data; the requester's SSH key $dir/ci.
bench_instance() {
	dir=$(mktemp -d "${TMPDIR:-/tmp}/enf-$1-bench.XXXXXX")
	[ -d "$dir" ] || exit 1
	agent_pid=
	trap bench_cleanup EXIT
	umask 077
	printf 'bench officer passphrase\n' >"$dir/off"
	printf 'bench operator passphrase\n' >"$dir/op"
	export ENF_OFFICER_PASSPHRASE_FILE="$dir/off" ENF_PASSPHRASE_FILE="$dir/op"
	export ENF_HOME="$dir/enf"
	head -c 1024 /dev/urandom >"$dir/data"
	ssh-keygen -q -t ed25519 -N '' -C ci -f "$dir/ci"
}

bench_cleanup() {
	if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
