/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cni_standin.bpf.c - tiny TC programs that stand in for a CNI's own
 * programs in the coexistence tests (tests/e2e/test_cni_coexist.py,
 * tests/node/test_datapath.c).  Each returns what a CNI's program returns
 * at the end of its work; none looks at the packet.  Attached by
 * tests/cni/cni_attach as a tcx link or a clsact filter.
 *
 *   cni_ok          TC_ACT_OK (= TCX_PASS): ends the hook, as Cilium's and
 *                   Calico's programs do for traffic they allow;
 *   cni_next        TC_ACT_UNSPEC (= TCX_NEXT): lets the next program run;
 *   cni_redir_neigh bpf_redirect_neigh(redirect_ifindex): Cilium's host
 *                   routing (pod -> uplink, skipping the host stack);
 *   cni_redir_peer  bpf_redirect_peer(redirect_ifindex): into a pod's
 *                   namespace through its veth peer.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

/* Set by cni_attach before loading (the .rodata initial value). */
const volatile __u32 redirect_ifindex = 0;

SEC("tc")
int cni_ok(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int cni_next(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

SEC("tc")
int cni_redir_neigh(struct __sk_buff *skb)
{
	return bpf_redirect_neigh(redirect_ifindex, NULL, 0, 0);
}

SEC("tc")
int cni_redir_peer(struct __sk_buff *skb)
{
	return bpf_redirect_peer(redirect_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
