/* SPDX-License-Identifier: BSD-2-Clause */
/* test_prefix_list.c - prefix_list_build (user/dp/prefix_list.c): the list
 * the programs scan instead of a small LPM trie.  Longest prefix first, host
 * bits cleared, masks in network byte order, the prefixes that change no
 * answer left out, too many -> invalid; and, for random prefix sets, the
 * first entry that holds an address gives the same answer as the longest
 * match over the whole set (cmocka; unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp/prefix_list.h"

/* "a.b.c.d/n" (IPv4 mapped: 96 + n bits) or an IPv6 CIDR. */
static struct prefix_entry E(const char *cidr, __u32 value)
{
	struct prefix_entry e = { .value = value };
	char addr[64];
	const char *slash = strchr(cidr, '/');
	unsigned int len = (unsigned int)atoi(slash + 1);

	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - cidr), cidr);
	if (inet_pton(AF_INET, addr, e.addr + 12) == 1) {
		e.addr[10] = e.addr[11] = 0xff;
		e.prefix_len = 96 + len;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, e.addr), 1);
		e.prefix_len = len;
	}
	return e;
}

/* The answer of the list for address text, by the programs' rule (first
 * entry that holds it, 0 if none). */
static __u32 list_answer(const struct tcprio_prefix_list *l, const __u8 a16[16])
{
	__u32 a[4];

	memcpy(a, a16, 16);
	for (__u32 i = 0; i < l->count; i++) {
		const struct tcprio_prefix *p = &l->entries[i];

		if ((a[0] & p->mask[0]) == p->addr[0] && (a[1] & p->mask[1]) == p->addr[1] &&
		    (a[2] & p->mask[2]) == p->addr[2] && (a[3] & p->mask[3]) == p->addr[3])
			return p->value;
	}
	return 0;
}

/* Longest-prefix match over in[0..n) (the trie's answer), 0 if none. */
static __u32 lpm_answer(const struct prefix_entry *in, size_t n, const __u8 a[16])
{
	int best = -1;
	__u32 v = 0;

	for (size_t i = 0; i < n; i++) {
		__u32 bits = in[i].prefix_len, b;

		for (b = 0; b < bits; b++)
			if (((a[b / 8] ^ in[i].addr[b / 8]) >> (7 - b % 8)) & 1)
				break;
		if (b == bits && (int)bits > best) {
			best = (int)bits;
			v = in[i].value;
		}
	}
	return v;
}

static void test_empty(void **state)
{
	struct tcprio_prefix_list l;

	(void)state;
	memset(&l, 0xaa, sizeof(l));
	prefix_list_build(NULL, 0, &l);
	assert_int_equal(l.valid, 1);
	assert_int_equal(l.count, 0);
}

/* Order, masks, host bits: a LAN /16 with a WAN /24 inside and a LAN /32
 * inside that (each changes answers, so all stay). */
static void test_order_and_masks(void **state)
{
	struct prefix_entry in[] = {
		E("198.18.0.0/16", 1), E("198.18.5.77/24", 0), E("198.18.5.7/32", 1),
	};
	struct tcprio_prefix_list l;

	(void)state;
	prefix_list_build(in, 3, &l);
	assert_int_equal(l.valid, 1);
	assert_int_equal(l.count, 3);
	assert_int_equal(l.entries[0].value, 1);
	assert_int_equal(ntohl(l.entries[0].addr[3]), 0xc6120507u);  /* 198.18.5.7 */
	assert_int_equal(l.entries[0].mask[3], 0xffffffffu);
	assert_int_equal(ntohl(l.entries[1].addr[3]), 0xc6120500u);  /* host bits cleared */
	assert_int_equal(ntohl(l.entries[1].mask[3]), 0xffffff00u);
	assert_int_equal(l.entries[1].value, 0);
	assert_int_equal(ntohl(l.entries[2].mask[3]), 0xffff0000u);
	for (int i = 0; i < 3; i++) {  /* IPv4 mapped: ::ffff: in the top 96 bits */
		assert_int_equal(l.entries[i].mask[0], 0xffffffffu);
		assert_int_equal(l.entries[i].mask[2], 0xffffffffu);
		assert_int_equal(ntohl(l.entries[i].addr[2]), 0x0000ffffu);
	}
}

/* Prefixes that change no answer are left out. */
static void test_pruning(void **state)
{
	struct prefix_entry in[] = {
		E("198.18.0.0/16", 1),
		E("198.18.1.1/32", 1),     /* LAN inside LAN: redundant */
		E("198.19.0.0/16", 0),     /* WAN inside ::/0 WAN: redundant */
		E("198.18.9.0/24", 0),     /* WAN inside LAN: kept */
		E("198.18.9.9/32", 0),     /* WAN inside that WAN: redundant */
		E("2001:db8::/32", 1),
		E("2001:db8:1::/48", 1),   /* redundant */
		E("::/0", 0),              /* WAN everywhere: redundant */
	};
	struct tcprio_prefix_list l;

	(void)state;
	prefix_list_build(in, sizeof(in) / sizeof(in[0]), &l);
	assert_int_equal(l.valid, 1);
	assert_int_equal(l.count, 3);
	assert_int_equal(ntohl(l.entries[0].addr[3]), 0xc6120900u);  /* /24 first */
	assert_int_equal(l.entries[0].value, 0);
	/* then 198.18.0.0/16 (112 bits) and 2001:db8::/32, both LAN */
	assert_int_equal(l.entries[1].value, 1);
	assert_int_equal(l.entries[2].value, 1);
}

/* More than TCPRIO_PREFIX_LIST_MAX that matter: invalid (the trie
 * answers); as many covered by one prefix: one entry. */
static void test_capacity(void **state)
{
	struct prefix_entry in[TCPRIO_PREFIX_LIST_MAX + 2];
	struct tcprio_prefix_list l;
	char c[64];
	int n;

	(void)state;
	for (n = 0; n < TCPRIO_PREFIX_LIST_MAX; n++) {
		snprintf(c, sizeof(c), "198.18.%d.1/32", n);
		in[n] = E(c, 1);
	}
	prefix_list_build(in, (size_t)n, &l);
	assert_int_equal(l.valid, 1);
	assert_int_equal(l.count, TCPRIO_PREFIX_LIST_MAX);
	in[n++] = E("198.19.0.1/32", 1);
	prefix_list_build(in, (size_t)n, &l);
	assert_int_equal(l.valid, 0);
	assert_int_equal(l.count, 0);
	in[n++] = E("198.18.0.0/15", 1);  /* covers them all, same answer */
	prefix_list_build(in, (size_t)n, &l);
	assert_int_equal(l.valid, 1);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.entries[0].value, 1);
	in[0].prefix_len = 129;  /* not a prefix of 128 bits */
	prefix_list_build(in, (size_t)n, &l);
	assert_int_equal(l.valid, 0);
}

/* Random nested sets (IPv4 and IPv6 around a few bases, random lengths and
 * answers): wherever the list is valid, it answers as the longest match. */
static void test_random_sets(void **state)
{
	static const char *const bases[] = { "198.18.0.0/32", "198.19.128.0/32",
					     "2001:db8::/128", "2001:db8:ff00::/128" };
	unsigned int seed = 20261202, valid = 0, checked = 0;

	(void)state;
	for (int set = 0; set < 2000; set++) {
		struct prefix_entry in[24];
		struct tcprio_prefix_list l;
		size_t n = 1 + (size_t)(rand_r(&seed) % 24);

		for (size_t i = 0; i < n; i++) {
			struct prefix_entry b = E(bases[rand_r(&seed) % 4], (__u32)(rand_r(&seed) % 2));
			int v4 = b.addr[10] == 0xff;
			__u32 len = v4 ? 96 + (__u32)(rand_r(&seed) % 33) : (__u32)(rand_r(&seed) % 129);

			for (int k = v4 ? 14 : 4; k < 16; k++)  /* vary the low bytes */
				b.addr[k] = (__u8)(rand_r(&seed) % 4);
			for (__u32 bit = len; bit < 128; bit++)  /* host bits 0, as in a trie */
				b.addr[bit / 8] &= (__u8)~(0x80u >> (bit % 8));
			b.prefix_len = len;
			in[i] = b;
			for (size_t j = 0; j < i; j++)  /* unique prefixes, as in a trie */
				if (in[j].prefix_len == len && !memcmp(in[j].addr, b.addr, 16)) {
					in[i].prefix_len = 128;
					in[i].addr[15] = (__u8)(200 + i);
				}
		}
		prefix_list_build(in, n, &l);
		if (!l.valid)
			continue;
		valid++;
		for (int t = 0; t < 64; t++) {
			__u8 a[16];

			memcpy(a, in[rand_r(&seed) % n].addr, 16);
			a[15] ^= (__u8)(rand_r(&seed) % 8);
			a[14] ^= (__u8)(rand_r(&seed) % 2);
			if (list_answer(&l, a) != lpm_answer(in, n, a)) {
				fail_msg("set %d (%zu prefixes): the list answers %u, the longest match %u",
					 set, n, list_answer(&l, a), lpm_answer(in, n, a));
			}
			checked++;
		}
	}
	print_message("%u valid lists of 2000 sets, %u addresses compared\n", valid, checked);
	assert_true(valid > 500);  /* the test must exercise lists */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order_and_masks),
		cmocka_unit_test(test_pruning),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_random_sets),
	};

	return cmocka_run_group_tests_name("prefix_list", tests, NULL, NULL);
}
