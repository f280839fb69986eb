#!/bin/sh
# Fail if a file in a layer of user/ includes what that layer must not
# (the layers and their direction: docs/architecture.md).  Run by `make`.
set -u
cd "$(dirname "$0")/.."
bad=0
# layer folder | extended regex of forbidden include paths
rule() {
	hits=$(grep -nE "^#[[:space:]]*include[[:space:]]*[<\"]($2)" "user/$1"/*.[ch] 2>/dev/null)
	if [ -n "$hits" ]; then
		echo "check-layers: user/$1/ must not include $2:" >&2
		echo "$hits" >&2
		bad=1
	fi
}
bpf='bpf/|netlink/|linux/(bpf|pkt_cls|rtnetlink|if_link)\.h|tcprio\.skel\.h'
rule lib    "kube/|policy/|sync/|dp/|agent/|cli/|$bpf"
rule kube   "policy/|sync/|dp/|agent/|cli/|$bpf"
rule policy "kube/kube_|sync/|dp/|agent/|cli/|$bpf"
rule sync   "kube/kube_|dp/|agent/|cli/|$bpf"
rule dp     "kube/kube_|agent/|cli/"
rule cli    "agent/|kube/kube_"
exit $bad
