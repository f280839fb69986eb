# shellcheck shell=bash
# cluster.sh - the control plane of the netns node: the test API server
# (tests/apiserver/fake_apiserver.py) serving the demo pods of
# deploy/examples/, and the tcprio agent, both inside the node namespace
# (the API server listens on the node namespace's own loopback).  Needs
# procs.sh and topology.sh sourced first, TCPRIO set to the tcprio binary.
#
# cluster_apiserver_start DIR   start it (state in DIR), wait until ready;
#                               sets CLUSTER_KUBECONFIG, CLUSTER_CTL_PORT
# cluster_ctl PATH JSON         POST JSON to the control API, print the answer
# cluster_set_class POD CLASS   set (or with CLASS "-" remove) the
#                               tcprio.io/class annotation of demo-POD
# agent_start DIR PIN_DIR RATE  run `tcprio agent` on the node (log DIR/agent.log)
#                               and wait until it has classified the pods
# agent_stop PIN_DIR            stop it, detach its programs, remove its pins
# agent_status [ARGS]           `tcprio status ARGS` against the agent's pins
CLUSTER_NODE_NAME=${CLUSTER_NODE_NAME:-tcprio-demo-node}
CLUSTER_ROOT=${CLUSTER_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CLUSTER_PODS="critical normal bulk"
CLUSTER_PIN_DIR=""
STATUS_QUERY=$CLUSTER_ROOT/scripts/lib/status_query.py

cluster_apiserver_start() {
	local dir=$1 pod args=() i
	mkdir -p "$dir"
	for pod in $CLUSTER_PODS; do
		args+=(--pods-file "$CLUSTER_ROOT/deploy/examples/demo-$pod.yaml"
		       --pod-ip "demo-$pod=$(topo_pod_ip "$pod" 4),$(topo_pod_ip "$pod" 6)")
	done
	rm -f "$dir/ports.json"
	proc_start apiserver "$dir/apiserver.log" ip netns exec "$(topo_ns node)" \
		/usr/bin/python3 "$CLUSTER_ROOT/tests/apiserver/fake_apiserver.py" \
		--state-dir "$dir" --write-kubeconfig "$dir/kubeconfig" \
		--node "$CLUSTER_NODE_NAME" "${args[@]}"
	for i in $(seq 100); do
		[ -s "$dir/ports.json" ] && break
		kill -0 "$(proc_pid apiserver)" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$dir/ports.json" ]; then
		echo "cluster: the test API server did not start; its log:" >&2
		sed 's/^/  /' "$dir/apiserver.log" >&2
		return 1
	fi
	CLUSTER_KUBECONFIG=$dir/kubeconfig
	CLUSTER_CTL_PORT=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_port"])' "$dir/ports.json")
}

cluster_ctl() {
	ip netns exec "$(topo_ns node)" /usr/bin/python3 - "$CLUSTER_CTL_PORT" "$1" "$2" <<'PYEOF'
import sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]),
                             data=sys.argv[3].encode(), method="POST",
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=5) as r:
    print(r.read().decode())
PYEOF
}

cluster_set_class() {
	local pod=$1 class=$2 value
	if [ "$class" = - ]; then value=null; else value="\"$class\""; fi
	cluster_ctl /ctl/modify "{\"namespace\": \"default\", \"name\": \"demo-$pod\", \"annotations\": {\"tcprio.io/class\": $value}}" >/dev/null
}

# The agent and the CLI enter only the node's network namespace (nsenter):
# `ip netns exec` would also give them a mount namespace of their own with
# a fresh /sys, so their bpffs pins would be invisible to each other.
_on_node() { nsenter --net="/run/netns/$(topo_ns node)" "$@"; }

agent_status() {
	_on_node "$TCPRIO" status --pin-dir "$CLUSTER_PIN_DIR" "$@"
}

agent_start() {
	local dir=$1 i
	if [ -n "$(proc_pid agent)" ]; then
		echo "cluster: an agent is already running (PID $(proc_pid agent))" >&2
		return 1
	fi
	CLUSTER_PIN_DIR=$2
	proc_start agent "$dir/agent.log" nsenter --net="/run/netns/$(topo_ns node)" "$TCPRIO" agent \
		--kubeconfig "$CLUSTER_KUBECONFIG" --node-name "$CLUSTER_NODE_NAME" \
		--uplink "$TOPO_UPLINK" --uplink-rate "$3" --pin-dir "$CLUSTER_PIN_DIR" \
		--metrics-address 127.0.0.1:9465
	# Ready: both addresses of the three pods known, uplink and pod edges attached.
	for i in $(seq 100); do
		if ! kill -0 "$(proc_pid agent)" 2>/dev/null; then
			echo "cluster: the agent exited; its log:" >&2
			sed 's/^/  /' "$dir/agent.log" >&2
			return 1
		fi
		agent_status --json 2>/dev/null | "$STATUS_QUERY" ready 6 2>/dev/null && return 0
		sleep 0.1
	done
	echo "cluster: the agent is not ready after 10 s; its log:" >&2
	sed 's/^/  /' "$dir/agent.log" >&2
	return 1
}

agent_stop() {
	proc_stop agent
	[ -n "$CLUSTER_PIN_DIR" ] || return 0
	_on_node "$TCPRIO" detach --pin-dir "$CLUSTER_PIN_DIR" >/dev/null 2>&1
	rm -rf "$CLUSTER_PIN_DIR"
	CLUSTER_PIN_DIR=""
STATUS_QUERY=$CLUSTER_ROOT/scripts/lib/status_query.py
}
