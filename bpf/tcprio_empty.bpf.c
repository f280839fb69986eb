/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcprio_empty.bpf.c - the benchmark baseline: a TC program that does
 * nothing and returns TC_ACT_UNSPEC (-1, linux/pkt_cls.h), so that
 * tests/bench/bench_datapath.c can measure what tcprio_pod_edge and
 * tcprio_uplink cost on top of running any TC program at all.
 * It has no maps (in particular none pinned), so loading it never touches
 * the agent's pin folder.  The agent never attaches it; the benchmarks run
 * it with bpf_prog_test_run, and scripts/bench_traffic.py attaches it at
 * both hooks (its "empty" variant) to measure what any TC program costs.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tcprio_empty(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
