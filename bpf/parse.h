/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing helpers for the XDP program, in the style of xdp-tutorial's
 * parsing_helpers.h.
 *
 * Contract, for every parse_* helper:
 *  - it parses exactly one header, at the cursor;
 *  - it checks the header lies inside the frame before reading any byte of
 *    it, and inside the packet the cursor is in (cur->limit: the frame, then
 *    the IP packet once an IP header has set its length), so that an L4 or
 *    extension header is never read from the frame's padding after the IP
 *    packet;
 *  - it validates every length field in its header: a header that claims to
 *    be shorter than its fixed part is malformed (IPv4 IHL below 5, an IPv4
 *    total length below the IHL, an Authentication Header below 12 bytes, a
 *    TCP data offset below 5, a UDP length below 8), and so is one that
 *    claims to run past the frame or past the IP packet;
 *  - on success it stores a pointer to the header in *hdr (when asked),
 *    advances the cursor past the header, and returns the next protocol: an
 *    EtherType after an L2 header, an IP protocol / IPv6 next-header number
 *    after an L3 header, 0 after an L4 header (there is no next protocol);
 *  - on failure (truncated or inconsistent) it returns -1 and the cursor is
 *    unspecified: the caller stops parsing and counts the frame as malformed.
 *
 * Protocol numbers and IDs returned or stored are in host byte order; the
 * headers behind *hdr are left as they are in the frame.
 */
#ifndef ATO_PARSE_H
#define ATO_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * Where parsing stands. The position is an offset from the start of the
 * frame rather than a pointer, so that it can be handed to a global function
 * as a plain number (see parse_l4() in xdp_audit.c): the verifier checks a
 * global function once, instead of once for every path that reaches it.
 * Whoever builds a cursor keeps `off` provably small: the verifier refuses a
 * packet pointer whose variable offset might reach 64 KiB.
 */
struct hdr_cursor {
	void *data;   /* first byte of the frame */
	void *end;    /* one past its last byte */
	__u32 off;    /* offset of the next unparsed byte */
	/*
	 * Offset one past the last byte a header may use: the frame's length,
	 * until an IP header narrows it to the end of its IP packet. Never more
	 * than the frame's length. A plain number: the verifier learns packet
	 * bounds only from comparisons with `end`, so helpers check both.
	 */
	__u32 limit;
};

static __always_inline void cursor_init(struct hdr_cursor *cur, struct xdp_md *ctx, __u32 off,
					__u32 limit)
{
	cur->data = (void *)(long)ctx->data;
	cur->end = (void *)(long)ctx->data_end;
	cur->off = off;
	cur->limit = limit;
}

/* The frame's length, the first limit of a cursor. */
static __always_inline __u32 frame_len(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

/* Whether `len` bytes from the cursor stay inside the packet it is in (the pointer check is the caller's). */
static __always_inline int cursor_fits(const struct hdr_cursor *cur, __u32 len)
{
	return cur->off + len <= cur->limit;
}

static __always_inline void *cursor_pos(const struct hdr_cursor *cur)
{
	return cur->data + cur->off;
}

/* An 802.1Q / 802.1ad tag after the MAC addresses (not in the UAPI headers). */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

#define VLAN_VID_MASK 0x0fff

/*
 * The fixed part of an ICMP header (RFC 792). <linux/icmp.h> is not used: it
 * pulls in <linux/if.h> and with it glibc's <sys/socket.h>, which does not
 * build for the BPF target.
 */
struct icmp4_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;   /* id and sequence, gateway, or unused, by type */
};

/* IPv4 frag_off bits (include/net/ip.h, not in the UAPI headers). */
#define IPV4_MF     0x2000
#define IPV4_OFFSET 0x1fff

/* IPv6 fragment header frag_off bits, host order (RFC 8200 section 4.5). */
#define IPV6_FRAG_OFFSET 0xfff8
#define IPV6_FRAG_MF     0x0001

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == ETH_P_8021Q || h_proto == ETH_P_8021AD;
}

/* The extension headers the IPv6 walk steps over (RFC 8200 section 4, AH RFC 4302). */
static __always_inline int ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_FRAGMENT || nexthdr == IPPROTO_DSTOPTS ||
	       nexthdr == IPPROTO_AH;
}

static __always_inline int parse_ethhdr(struct hdr_cursor *cur, struct ethhdr **hdr)
{
	struct ethhdr *eth = cursor_pos(cur);

	if ((void *)(eth + 1) > cur->end)
		return -1;
	cur->off += sizeof(*eth);
	*hdr = eth;
	return bpf_ntohs(eth->h_proto);
}

/* One VLAN tag: stores its VLAN ID (priority and DEI bits dropped) in *vid. */
static __always_inline int parse_vlanhdr(struct hdr_cursor *cur, __u16 *vid)
{
	struct vlan_hdr *vh = cursor_pos(cur);

	if ((void *)(vh + 1) > cur->end)
		return -1;
	cur->off += sizeof(*vh);
	*vid = bpf_ntohs(vh->h_vlan_TCI) & VLAN_VID_MASK;
	return bpf_ntohs(vh->h_vlan_encapsulated_proto);
}

/*
 * IPv4 with options. A version other than 4, an IHL below 5 words, a header
 * running past the frame, a total length shorter than the header, or one
 * longer than the frame holds are malformed. On success cur->limit becomes
 * the end of the IP packet: what follows it in the frame is padding.
 *
 * Why a packet longer than the frame is malformed: the program is loaded
 * without BPF_F_XDP_HAS_FRAGS, so the kernel hands it whole packets in one
 * buffer (a driver refuses to attach it where packets would not fit, skb
 * mode linearizes). A packet that claims more is truncated or lying, and
 * Linux's ip_rcv() drops it as truncated: counting its claimed length as
 * bytes would count bytes that never arrived.
 */
static __always_inline int parse_iphdr(struct hdr_cursor *cur, struct iphdr **hdr)
{
	struct iphdr *iph = cursor_pos(cur);
	__u32 hdrsize, totlen;

	if ((void *)(iph + 1) > cur->end)
		return -1;
	if (iph->version != 4)
		return -1;
	hdrsize = iph->ihl * 4;
	if (hdrsize < sizeof(*iph))
		return -1;
	if ((void *)iph + hdrsize > cur->end)
		return -1;
	totlen = bpf_ntohs(iph->tot_len);
	if (totlen < hdrsize || !cursor_fits(cur, totlen))
		return -1;
	cur->limit = cur->off + totlen;
	cur->off += hdrsize;
	*hdr = iph;
	return iph->protocol;
}

/*
 * IPv6: version 6, and 40 + payload length inside the frame (as for IPv4, a
 * longer claim is malformed). cur->limit becomes the end of the IP packet.
 * A payload length of 0 means 0: jumbograms (RFC 2675) do not fit an XDP
 * buffer, so an extension or L4 header after such a header is malformed.
 */
static __always_inline int parse_ip6hdr(struct hdr_cursor *cur, struct ipv6hdr **hdr)
{
	struct ipv6hdr *ip6h = cursor_pos(cur);
	__u32 pktlen;

	if ((void *)(ip6h + 1) > cur->end)
		return -1;
	/* The EtherType said IPv6; a header that disagrees is malformed. */
	if (ip6h->version != 6)
		return -1;
	pktlen = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	if (!cursor_fits(cur, pktlen))
		return -1;
	cur->limit = cur->off + pktlen;
	cur->off += sizeof(*ip6h);
	*hdr = ip6h;
	return ip6h->nexthdr;
}

/*
 * One IPv6 extension header of type `type` (one for which ipv6_is_ext() is
 * true). Lengths: AH counts 4-byte words minus 2 and is at least 12 bytes
 * (next header, length, reserved, SPI, sequence number: RFC 4302), so a
 * length field of 0 is malformed; the fragment header is a fixed 8 bytes;
 * the others count 8-byte units minus 1 (never below 8). For a fragment
 * header, its frag_off field (host order) is stored in *frag_off; other
 * headers leave *frag_off alone.
 */
static __always_inline int parse_ip6_exthdr(struct hdr_cursor *cur, __u8 type, __u16 *frag_off)
{
	struct ipv6_opt_hdr *oh = cursor_pos(cur);
	__u32 len;

	/* Every extension header is at least 8 bytes (AH 12, checked below). */
	if ((void *)oh + 8 > cur->end)
		return -1;
	if (type == IPPROTO_FRAGMENT) {
		/* struct frag_hdr is kernel-internal: bytes 2..3 are frag_off. */
		*frag_off = bpf_ntohs(*(__be16 *)((void *)oh + 2));
		len = 8;
	} else if (type == IPPROTO_AH) {
		if (oh->hdrlen == 0)	/* 8 bytes: shorter than AH's fixed 12 */
			return -1;
		len = ((__u32)oh->hdrlen + 2) * 4;
	} else {
		len = ((__u32)oh->hdrlen + 1) * 8;
	}
	if ((void *)oh + len > cur->end || !cursor_fits(cur, len))
		return -1;
	cur->off += len;
	return oh->nexthdr;
}

/* TCP with options: a data offset below 5 words, or past the frame or the IP packet, is malformed. */
static __always_inline int parse_tcphdr(struct hdr_cursor *cur, struct tcphdr **hdr)
{
	struct tcphdr *th = cursor_pos(cur);
	__u32 len;

	if ((void *)(th + 1) > cur->end)
		return -1;
	len = th->doff * 4;
	if (len < sizeof(*th))
		return -1;
	if ((void *)th + len > cur->end || !cursor_fits(cur, len))
		return -1;
	cur->off += len;
	*hdr = th;
	return 0;
}

static __always_inline int parse_udphdr(struct hdr_cursor *cur, struct udphdr **hdr)
{
	struct udphdr *uh = cursor_pos(cur);

	if ((void *)(uh + 1) > cur->end || !cursor_fits(cur, sizeof(*uh)))
		return -1;
	/*
	 * The length covers header and data, so below 8 is malformed. It is not
	 * held to the IP packet: a first fragment carries only part of the datagram.
	 */
	if (bpf_ntohs(uh->len) < sizeof(*uh))
		return -1;
	cur->off += sizeof(*uh);
	*hdr = uh;
	return 0;
}

/* ICMP: type, code, checksum and the 4-byte rest-of-header must be present. */
static __always_inline int parse_icmphdr(struct hdr_cursor *cur, struct icmp4_hdr **hdr)
{
	struct icmp4_hdr *ih = cursor_pos(cur);

	if ((void *)(ih + 1) > cur->end || !cursor_fits(cur, sizeof(*ih)))
		return -1;
	cur->off += sizeof(*ih);
	*hdr = ih;
	return 0;
}

/*
 * ICMPv6: type, code, checksum and 4 more bytes, as Linux's icmpv6_rcv()
 * requires; every message RFC 4443 defines has them.
 */
static __always_inline int parse_icmp6hdr(struct hdr_cursor *cur, struct icmp6hdr **hdr)
{
	struct icmp6hdr *ih = cursor_pos(cur);

	if ((void *)(ih + 1) > cur->end || !cursor_fits(cur, sizeof(*ih)))
		return -1;
	cur->off += sizeof(*ih);
	*hdr = ih;
	return 0;
}

#endif /* ATO_PARSE_H */
