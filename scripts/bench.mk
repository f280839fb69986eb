# bench.mk - datapath benchmark (scripts/bench_datapath.sh): real traffic
# through a node in network namespaces with and without the programs
# (scripts/bench_traffic.py), then the programs' in-kernel cost against an
# empty TC program (tests/bench/bench_datapath.c), 10 / 10,000 / 100,000
# endpoints, then tests/bench/bench_host.c (the uplink's cost for local
# sockets' packets: host rules, cgroup walk, destination trie).  Needs root,
# iperf3 and cgroup v2; about 7 minutes; verdicts first.
.PHONY: bench-datapath
bench-datapath: $(BUILD)/tests/bench/bench_datapath $(BUILD)/tests/bench/bench_host $(BUILD)/tests/node/node_load $(BUILD)/tests/cni/cni_attach $(BUILD)/tcprio_empty.bpf.o $(BUILD)/tcprio_steps.bpf.o $(BUILD)/tcprio ## datapath cost: real traffic and in-kernel, verdicts first (root, ~7 min)
	BUILD=$(BUILD) ./scripts/bench_datapath.sh
