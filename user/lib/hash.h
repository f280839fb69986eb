/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hash.h - the one non-cryptographic hash of user space: 64-bit FNV-1a
 * (Fowler/Noll/Vo, draft-eastlake-fnv-21: offset basis 0xcbf29ce484222325,
 * prime 0x100000001b3).  Stable across builds and hosts, so pod ids stored
 * in pinned maps (pod_id_from_uid) stay valid across agent restarts.  Hash
 * tables use uthash's own function.
 */
#ifndef TCPRIO_HASH_H
#define TCPRIO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A64_INIT 0xcbf29ce484222325ULL

/* Continue the FNV-1a hash h over len bytes at p; start with
 * HASH_FNV1A64_INIT.  Returns the new hash. */
uint64_t hash_fnv1a64(uint64_t h, const void *p, size_t len);

#endif
