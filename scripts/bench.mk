# bench.mk - datapath benchmark (tests/bench/bench_datapath.c): ns per packet
# of tcprio_pod_edge / tcprio_uplink against an empty TC program
# (bpf/tcprio_empty.bpf.c), 10 / 10,000 / 100,000 endpoints.  Needs root;
# runs in about a minute; prints a table, verdicts and markdown.  Then
# tests/bench/bench_host.c: the uplink's cost for local sockets' packets
# (host rules: cgroup walk, destination trie) against forwarded ones.
.PHONY: bench-datapath
bench-datapath: $(BUILD)/tests/bench/bench_datapath $(BUILD)/tests/bench/bench_host ## run the datapath benchmark (root, ~1 min)
	$(BUILD)/tests/bench/bench_datapath
	$(BUILD)/tests/bench/bench_host
