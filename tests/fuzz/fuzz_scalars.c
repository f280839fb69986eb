// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_scalars.c - libFuzzer harness: the scalar parsers (parse_rate_bps,
 * parse_dscp, parse_priority, ip_from_string) and the UTF-8 helpers over one
 * NUL-terminated copy of the input.  Checks their promises: a DSCP is
 * 0..63, a rate > 0, an IP prints back and parses to itself, a sanitised
 * text is valid UTF-8, a shortened text fits.  Seeds:
 * tests/fuzz/seeds/scalars.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kube/pod.h"
#include "lib/utf8.h"
#include "policy/class_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[96], text[64];
	struct tcprio_ip ip, again;
	uint64_t rate;
	uint32_t prio;
	uint8_t dscp;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (parse_dscp(s, &dscp) == 0 && dscp > 63)
		abort();
	if (parse_rate_bps(s, &rate) == 0 && rate == 0)
		abort();
	parse_priority(s, &prio);
	if (ip_from_string(s, &ip) == 0) {
		if (!ip_to_string(&ip, text, sizeof(text)) || ip_from_string(text, &again) ||
		    memcmp(&ip, &again, sizeof(ip)))
			abort();
	}
	utf8_shorten(out, sizeof(out), s, 64);
	if (strlen(out) >= sizeof(out))
		abort();
	utf8_sanitize(s);
	if (utf8_sanitize(s))
		abort(); /* a second pass finds nothing */
	free(s);
	return 0;
}

#include "fuzz_main.h"
