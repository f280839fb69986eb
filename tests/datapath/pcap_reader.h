/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcap_reader.h - a tiny reader of classic libpcap capture files, the test
 * input of tests/datapath/test_pcap.c.  Header-only (static functions).
 *
 * Format (https://www.tcpdump.org/manpages/pcap-savefile.5.html and
 * draft-ietf-opsawg-pcap): a 24-byte file header
 *   u32 magic 0xa1b2c3d4 (us timestamps) or 0xa1b23c4d (ns timestamps), in
 *       the writer's byte order (so 0xd4c3b2a1 read here means "swap");
 *   u16 version_major, u16 version_minor, i32 thiszone, u32 sigfigs,
 *   u32 snaplen, u32 linktype (low 28 bits; upper bits: FCS info)
 * then per packet a 16-byte record header
 *   u32 ts_sec, u32 ts_frac, u32 incl_len (bytes stored), u32 orig_len
 * followed by incl_len bytes of packet data.
 * pcapng files (magic 0x0a0d0d0a) are recognised and refused (-EPROTONOSUPPORT).
 */
#ifndef TCPRIO_TESTS_PCAP_READER_H
#define TCPRIO_TESTS_PCAP_READER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_US      0xa1b2c3d4U
#define PCAP_MAGIC_NS      0xa1b23c4dU
#define PCAPNG_MAGIC       0x0a0d0d0aU
#define PCAP_LINKTYPE_ETHERNET 1       /* LINKTYPE_ETHERNET, tcpdump.org */
#define PCAP_MAX_RECORD    (256 * 1024) /* refuse incl_len above this */

/* An open capture.  linktype: low 28 bits of the header field. */
struct pcap_file {
	FILE *f;
	bool swap;         /* file written in the other byte order */
	uint32_t linktype;
	uint32_t snaplen;  /* bytes */
	uint8_t *buf;      /* PCAP_MAX_RECORD bytes, holds the current record */
};

/* One packet; data points into the reader's buffer, valid until the next
 * pcap_next() call.  caplen: bytes stored; origlen: bytes on the wire. */
struct pcap_record {
	const uint8_t *data;
	uint32_t caplen, origlen;
};

static inline uint32_t pcap_u32(const struct pcap_file *p, const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return p->swap ? __builtin_bswap32(v) : v;
}

/* Close p (safe on a zeroed or half-opened p). */
static inline void pcap_close(struct pcap_file *p)
{
	if (p->f)
		fclose(p->f);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* Open path and read its header.  Returns 0, -errno from fopen/malloc,
 * -EIO on a short header, -EPROTONOSUPPORT for pcapng, -EPROTO for an
 * unknown magic. */
static inline int pcap_open(struct pcap_file *p, const char *path)
{
	uint8_t hdr[24];
	uint32_t magic;
	int err;

	memset(p, 0, sizeof(*p));
	p->f = fopen(path, "rb");
	if (!p->f)
		return -errno;
	p->buf = malloc(PCAP_MAX_RECORD);
	if (!p->buf) {
		err = -ENOMEM;
		goto fail;
	}
	if (fread(hdr, 1, sizeof(hdr), p->f) != sizeof(hdr)) {
		err = -EIO;
		goto fail;
	}
	memcpy(&magic, hdr, 4);
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
		p->swap = false;
	} else if (magic == __builtin_bswap32(PCAP_MAGIC_US) ||
		   magic == __builtin_bswap32(PCAP_MAGIC_NS)) {
		p->swap = true;
	} else {
		err = magic == PCAPNG_MAGIC ? -EPROTONOSUPPORT : -EPROTO;
		goto fail;
	}
	p->snaplen = pcap_u32(p, hdr + 16);
	p->linktype = pcap_u32(p, hdr + 20) & 0x0fffffffU;
	return 0;
fail:
	pcap_close(p);
	return err;
}

/* Read the next record into r.  Returns 1, 0 at a clean end of file,
 * -EIO on a truncated record, -EFBIG if incl_len > PCAP_MAX_RECORD. */
static inline int pcap_next(struct pcap_file *p, struct pcap_record *r)
{
	uint8_t rh[16];
	size_t n;

	n = fread(rh, 1, sizeof(rh), p->f);
	if (n == 0 && feof(p->f))
		return 0;
	if (n != sizeof(rh))
		return -EIO;
	r->caplen = pcap_u32(p, rh + 8);
	r->origlen = pcap_u32(p, rh + 12);
	if (r->caplen > PCAP_MAX_RECORD)
		return -EFBIG;
	if (fread(p->buf, 1, r->caplen, p->f) != r->caplen)
		return -EIO;
	r->data = p->buf;
	return 1;
}

#endif /* TCPRIO_TESTS_PCAP_READER_H */
