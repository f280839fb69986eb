// SPDX-License-Identifier: BSD-2-Clause
/* hash.c - 64-bit FNV-1a (hash.h). */
#include "lib/hash.h"

#define FNV64_PRIME 0x00000100000001b3ULL

uint64_t hash_fnv1a64(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++) {
		h ^= c[i];
		h *= FNV64_PRIME;
	}
	return h;
}
