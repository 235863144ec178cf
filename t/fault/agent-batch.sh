#!/usr/bin/env bash
# kill.sh's agent-batch command: t/fault/agent-batch.sh RCFILE HOME PASSFILE DIR REQUEST...
# Becomes the agent (exec, so that kill.sh's kill -9 hits the agent) on
# ./agent.sock, after starting in the background the client that signs
# the batch into DIR through it, writes its exit code to RCFILE (outside
# the trial's directory, which may be a full disk), and then stops the
# agent; the client's pid goes to RCFILE.pid.  The client waits for the
# socket only while the agent lives.
rcfile=$1 h=$2 pass=$3 dir=$4
shift 4
sock=$PWD/agent.sock
agent=$$
(
	for ((i = 0; i < 500; i++)); do
		[ -S "$sock" ] && break
		kill -0 "$agent" 2>/dev/null || break
		sleep 0.01
	done
	enf-sign --agent "$sock" -d "$dir" "$@" >/dev/null 2>&1
	echo $? >"$rcfile"
	ENF_AGENT_SOCK=$sock enf-agent -k >/dev/null 2>&1
) &
# The client exists: check_batch must see it finish.  A kill before this
# line (before the script even ran, at a delay of 0 ms on a busy machine)
# leaves no client to wait for.
echo $! >"$rcfile.pid"
exec enf-agent -D -H "$h" -a "$sock" --passphrase-file "$pass"
