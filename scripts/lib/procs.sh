# shellcheck shell=bash
# procs.sh - start background processes and stop exactly those, by PID.
#
# proc_start NAME LOGFILE CMD...   run the program CMD in the background (its
#                                  output to LOGFILE), remember its PID as NAME.
# proc_pid NAME                    print the PID recorded for NAME.
# proc_stop NAME                   SIGTERM, then SIGKILL after 3 s, that PID.
# proc_stop_all                    proc_stop every process still recorded.
#
# Only PIDs this shell started are ever signalled (no pkill/killall).
declare -gA PROC_PIDS=()

proc_start() {
	local name=$1 log=$2
	shift 2
	# CMD must be a program that ends up as the recorded PID (ip netns
	# exec and nsenter exec their command): a shell function would run in
	# a subshell whose children survive proc_stop.
	if [ "$(type -t "$1")" != file ]; then
		echo "proc_start: '$1' is not a program" >&2
		return 1
	fi
	"$@" >"$log" 2>&1 &
	PROC_PIDS[$name]=$!
}

proc_pid() { echo "${PROC_PIDS[$1]:-}"; }

proc_stop() {
	local name=$1 pid=${PROC_PIDS[$1]:-} i
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	unset "PROC_PIDS[$name]"
	return 0
}

proc_stop_all() {
	local name
	for name in "${!PROC_PIDS[@]}"; do
		proc_stop "$name"
	done
}
