/* SPDX-License-Identifier: BSD-2-Clause */
/* ep_filter.c - tcprio_ep_filter writers; see ep_filter.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "dp/ep_filter.h"
#include "dp/map_ops_bpf.h"

#define MAP_BYTES ((size_t)TCPRIO_EP_FILTER_ENTRIES * sizeof(__u64))

int ep_filter_map(int fd, __u64 **mem)
{
	void *p = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*mem = p;
	return 0;
}

void ep_filter_unmap(__u64 *mem)
{
	if (mem)
		munmap(mem, MAP_BYTES);
}

/* Set bit in buffer buf (atomic OR: other processes write too). */
static void set_bit(__u64 *mem, int buf, __u32 bit)
{
	__atomic_fetch_or(&mem[TCPRIO_EP_FILTER_WORD(buf, bit)], TCPRIO_EP_FILTER_MASK(bit),
			  __ATOMIC_SEQ_CST);
}

void ep_filter_off(int fd)
{
	__u64 off = 0;
	__u32 k = 0;

	bpf_map_update_elem(fd, &k, &off, BPF_ANY);
}

void ep_filter_add(__u64 *mem, int fd, const struct tcprio_ip *ip)
{
	__u32 bit;

	if (!mem) {
		ep_filter_off(fd);
		return;
	}
	bit = tcprio_ep_filter_bit(ip);
	set_bit(mem, 0, bit);
	set_bit(mem, 1, bit);
}

bool ep_filter_has(const __u64 *mem, const struct tcprio_ip *ip)
{
	__u32 bit = tcprio_ep_filter_bit(ip);
	int buf;

	if (!mem)
		return false;
	buf = TCPRIO_EP_FILTER_ACTIVE_BUF(__atomic_load_n(&mem[0], __ATOMIC_SEQ_CST));
	return __atomic_load_n(&mem[TCPRIO_EP_FILTER_WORD(buf, bit)], __ATOMIC_SEQ_CST) &
	       TCPRIO_EP_FILTER_MASK(bit);
}

long ep_filter_rebuild(__u64 *mem, int endpoints_fd)
{
	__u64 hdr = __atomic_load_n(&mem[0], __ATOMIC_SEQ_CST);
	int next = !TCPRIO_EP_FILTER_ACTIVE_BUF(hdr);
	void *keys = NULL;
	size_t n = 0;
	int err;

	for (__u32 w = 0; w < TCPRIO_EP_FILTER_WORDS; w++)
		__atomic_store_n(&mem[TCPRIO_EP_FILTER_WORD(next, w * 64)], 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);  /* cleared before the scan starts */
	err = datapath_map_keys(endpoints_fd, sizeof(struct tcprio_ip), &keys, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		set_bit(mem, next, tcprio_ep_filter_bit((const struct tcprio_ip *)keys + i));
	free(keys);
	if (!__atomic_compare_exchange_n(&mem[0], &hdr,
					 TCPRIO_EP_FILTER_VALID | (next ? TCPRIO_EP_FILTER_ACTIVE : 0),
					 false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return -EAGAIN;
	return (long)n;
}
