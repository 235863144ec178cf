# The same suite, through enf-agent.  t/sign-agent.bats and
# t/seal-agent.bats are symlinks to t/sign.bats and t/seal.bats: run under
# a name ending in -agent.bats, a suite starts an agent on its instance in
# setup (agent_mode_start) and every enf-sign / enf-seal call on that
# instance goes through it, so each assertion of the suite — output bytes,
# stderr lines, exit codes, audit records — is checked both ways.  Calls
# on another instance (-H, or ENF_HOME pointing elsewhere) stay in process.

agent_mode() { [[ $BATS_TEST_FILENAME == *-agent.bats ]]; }

if agent_mode; then
	enf-sign() { through_agent enf-sign "$@"; }
	enf-seal() { through_agent enf-seal "$@"; }
fi

through_agent() {
	local prog=$1 a
	shift
	for a in "$@"; do
		if [ "$a" = -H ] || [[ $a == --home* ]]; then
			command "$prog" "$@"
			return
		fi
	done
	if [ -n "${AGENT_SOCK:-}" ] && [ "${ENF_HOME:-}" = "$AGENT_HOME" ]; then
		ENF_AGENT_SOCK=$AGENT_SOCK command "$prog" "$@"
	else
		command "$prog" "$@"
	fi
}

# start_agent [enf-agent options]: an agent (forked, as eval "$(enf-agent)"
# starts it, so it is no job of the test's shell) on
# $BATS_TEST_TMPDIR/agent/sock; its pid in AGENT_PID.
start_agent() {
	local line
	mkdir -p "$BATS_TEST_TMPDIR/agent"
	chmod 0700 "$BATS_TEST_TMPDIR/agent"
	AGENT_SOCK="$BATS_TEST_TMPDIR/agent/sock"
	# AGENT_RUN: a command (function) to start it through, e.g. with limits.
	line=$(${AGENT_RUN:-} enf-agent -a "$AGENT_SOCK" "$@") || return 1
	[[ $line =~ Agent\ pid\ ([0-9]+) ]] || return 1
	AGENT_PID=${BASH_REMATCH[1]}
	[ -S "$AGENT_SOCK" ]
}

stop_agent() {
	if [ -n "${AGENT_PID:-}" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$AGENT_PID" 2>/dev/null || break
			sleep 0.05
		done
		AGENT_PID=
	fi
}

agent_mode_start() {
	agent_mode || return 0
	AGENT_HOME=$ENF_HOME
	start_agent
}

agent_mode_stop() { stop_agent; }
