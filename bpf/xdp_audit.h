/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Structures shared by the XDP program (bpf/xdp_audit.c) and user space.
 *
 * The TypeScript side mirrors every layout here in src/kernel/layout.ts, and
 * test/kernel/layout.test.ts checks sizes and offsets against this object's
 * BTF, so a change here that is not mirrored fails the tests.
 *
 * Conventions:
 *  - addresses are 16-byte slots: IPv6 as is, IPv4 in the first 4 bytes and
 *    the remaining 12 bytes zero (the masking routine works on whole slots);
 *  - ports, VLAN IDs and lengths are stored in host byte order;
 *  - times are CLOCK_MONOTONIC nanoseconds: a flow's first seen (on each
 *    CPU) from the fine clock, bpf_ktime_get_ns(); its later packets from
 *    the coarse one, bpf_ktime_get_coarse_ns() (as of the last tick, a tick
 *    or so behind), never earlier than the flow's previous time, and
 *    from the fine clock again while the timing audit is on;
 *  - "bytes" is the IP packet from its header on (IPv4 total length, IPv6
 *    40 + payload length), as IPFIX octetDeltaCount counts: no Ethernet
 *    header, no VLAN tags, no frame padding. A packet claiming more than
 *    the frame holds is malformed, so bytes never exceeds what arrived.
 */
#ifndef XDP_AUDIT_H
#define XDP_AUDIT_H

#define ATO_FAMILY_IPV4 4
#define ATO_FAMILY_IPV6 6

struct flow_key {
	__u8  src[16];
	__u8  dst[16];
	__u32 ifindex;    /* ingress interface */
	__u16 sport;      /* 0 where the protocol has none, and for non-first fragments */
	__u16 dport;      /* for ICMP/ICMPv6: type << 8 | code in dport, sport 0 */
	__u16 vlan;       /* outer VLAN ID (802.1ad or 802.1Q), 0 when untagged */
	__u16 vlan_inner; /* inner VLAN ID of a QinQ frame, 0 when absent */
	__u8  family;     /* ATO_FAMILY_IPV4 or ATO_FAMILY_IPV6 */
	__u8  proto;      /* IP protocol number of the L4 header (after IPv6 extension headers;
	                   * for a non-first fragment, the protocol its header names) */
	__u16 pad;        /* always 0, so keys compare bytewise */
};                        /* 48 bytes */

/*
 * One flow's counters on one CPU. User space sums packets/bytes/fragments/
 * timing_flags/spikes over CPUs, takes min(first_seen) / max(last_seen) and
 * ORs tcp_flags. The timing and window fields are per-CPU working state.
 */
struct flow_value {
	__u64 packets;
	__u64 bytes;
	__u64 first_seen_ns;
	__u64 last_seen_ns;
	__u32 tcp_flags;     /* OR of the TCP flag byte (FIN=0x01 ... CWR=0x80) */
	__u32 fragments;     /* IPv4/IPv6 fragments counted in this flow */
	/* timing audit: Welford over inter-arrival times in microseconds (gaps capped at 2^32-1) */
	__u64 iat_n;         /* samples (inter-arrival gaps) seen */
	__s64 iat_mean_us;   /* running mean, microseconds */
	__u64 iat_m2;        /* running sum of squared deviations, us^2 (saturating) */
	/* spike guard: packets in the current window */
	__u64 win_start_ns;
	__u32 win_packets;
	__u32 win_flagged;   /* 1 once the window has produced its spike event */
	__u32 timing_flags;  /* packets flagged by the timing audit */
	__u32 spikes;        /* windows flagged by the spike guard */
};                           /* 88 bytes */

/*
 * Program-wide per-CPU counters: one entry of a BPF_MAP_TYPE_PERCPU_ARRAY.
 * Every frame counts in exactly one of ipv4, ipv6, non_ip and malformed, so
 * on each CPU packets == ipv4 + ipv6 + non_ip + malformed.
 */
struct audit_counters {
	__u64 packets;         /* every frame the program saw */
	__u64 bytes;           /* frame bytes (data_end - data) of every frame seen */
	__u64 ipv4;            /* well-formed IPv4 packets: each was counted in a flow or in map_full */
	__u64 ipv6;            /* the same for IPv6 */
	__u64 non_ip;          /* neither IPv4 nor IPv6 (ARP, LLDP, ...), or more than two VLAN
	                        * tags: passed, not a flow */
	__u64 malformed;       /* truncated or inconsistent headers, an IP length longer than the
	                        * frame, an L4 header outside the IP packet: passed, not a flow */
	__u64 fragments;       /* IPv4/IPv6 fragments, first or later, among ipv4 + ipv6 */
	__u64 map_full;        /* flows that could not be inserted into flow_map */
	__u64 ringbuf_full;    /* events the ring buffer had no room for (lost) */
	/* events raised, sent or not: those that found no room are also in ringbuf_full */
	__u64 spike_events;
	__u64 timing_events;
	__u64 overflow_events;
	__u64 last_overflow_ns;/* rate limit for overflow events on this CPU */
	__u64 ext_hdr_limit;   /* IPv6 chains longer than the walk (also counted malformed) */
	__u64 vlan_tagged;     /* frames with at least one VLAN tag, whatever follows it */
	__u64 reserved[1];
};                             /* 128 bytes */

/*
 * Thresholds and switches: entry 0 of a BPF_MAP_TYPE_ARRAY that `ato run`
 * writes. A zero where zero means nothing takes the default: window 1 s,
 * min samples 32, t-score 4, overflow interval 1 s. spike_threshold and
 * timing_enabled are off at 0.
 */
struct audit_config {
	__u64 spike_window_ns;    /* length of a spike-guard window */
	__u32 spike_threshold;    /* packets per flow per window that make a spike; 0 = off */
	__u32 timing_enabled;     /* 0 = timing audit off */
	__u32 timing_min_samples; /* gaps needed before a packet can be flagged */
	__u32 tscore_threshold;   /* flag when |t| >= this (tested as d^2 >= t^2 * var); capped at 65535 */
	__u64 overflow_interval_ns; /* at most one overflow event per CPU per interval */
};                                /* 32 bytes */

#define ATO_EVENT_SPIKE    1
#define ATO_EVENT_TIMING   2
#define ATO_EVENT_OVERFLOW 3

/* A ring-buffer record: low-rate events only, never one per packet. */
struct audit_event {
	__u64 ts_ns;
	struct flow_key key;  /* zero for overflow events, except key.ifindex */
	__u32 kind;           /* ATO_EVENT_* */
	__u32 cpu;
	__u64 value;          /* spike: packets in window; timing: |deviation| us; overflow: map_full so far on this CPU */
	__s64 mean_us;        /* timing: mean inter-arrival time before this packet */
	__u64 var_us2;        /* timing: variance (us^2) before this packet */
	__u64 samples;        /* timing: gaps seen; spike: window length ns */
};                            /* 96 bytes */

#endif /* XDP_AUDIT_H */
