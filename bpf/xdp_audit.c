// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_audit: observe every frame, never filter one.
 *
 * Per frame: parse L2 (up to two VLAN tags), L3 (IPv4 with options, IPv6
 * with a bounded extension-header walk) and L4 (TCP, UDP, ICMP, ICMPv6)
 * into a flow key, then update that flow's per-CPU counters, the spike
 * guard and the timing audit. Frames that are not IP, or whose headers are
 * truncated or inconsistent, are only counted. Low-rate events (spike,
 * timing flag, map overflow) go to a ring buffer.
 *
 * Every frame lands in exactly one of the counters ipv4, ipv6, non_ip and
 * malformed, so their sum equals counters.packets.
 *
 * The program returns XDP_PASS on every path.
 */
#include <linux/errno.h>
#include "parse.h"
#include "xdp_audit.h"

/* Kept in flow_map until user space removes idle flows; resizable before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flow_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct audit_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} audit_counters SEC(".maps");

/* Written by `ato run`; read on every flow update, so changes need no reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct audit_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} audit_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} audit_events SEC(".maps");

/*
 * ATO_COMPAT_510 builds xdp_audit_compat.o, for kernels older than 5.12 (Debian 11's 5.10),
 * which the loader falls back to only when the kernel rejects this object's global parse_l4:
 * - global functions with pointer arguments need 5.12 ("Arg#2 type PTR in parse_l4() is not
 *   supported yet"), so parse_l4 is inlined: more verifier work (see parse_l4), same result;
 * - bpf_ktime_get_coarse_ns needs 5.11, so later packets take the fine clock instead: the same
 *   CLOCK_MONOTONIC, only dearer a call (jiffies would need a tick rate the program cannot know).
 * Every other helper and map type used here (ring buffer 5.8, per-CPU hash, array) is in 5.10.
 */
#ifdef ATO_COMPAT_510
#define PARSE_L4_LINKAGE static __always_inline
#define COARSE_NS() bpf_ktime_get_ns()
#else
#define PARSE_L4_LINKAGE __noinline
#define COARSE_NS() bpf_ktime_get_coarse_ns()
#endif

#define NSEC_PER_SEC 1000000000ULL
#define U64_MAX      (~0ULL)

/* How far parsing goes: deeper stacks and longer chains are not followed. */
#define VLAN_MAX     2
#define IPV6_EXT_MAX 6
/*
 * Where an L4 header can start at the latest: Ethernet, two VLAN tags, IPv6
 * and six extension headers of 2 KiB each end at byte 12,350. A bound the
 * verifier can see keeps packet pointers built from the offset valid.
 */
#define L4_OFF_MAX   0x3fff

/* Defaults for a missing config entry, or a zero in a field where 0 is meaningless. */
#define DEFAULT_SPIKE_WINDOW_NS      NSEC_PER_SEC
#define DEFAULT_MIN_SAMPLES          32
#define DEFAULT_TSCORE               4
#define DEFAULT_OVERFLOW_INTERVAL_NS NSEC_PER_SEC

/*
 * Inter-arrival gaps are capped at 2^32-1 us (about 71 minutes). Then the
 * mean and every deviation stay below 2^32 and a squared deviation fits in
 * 64 bits; a flow idle longer than that just records a 71-minute gap.
 */
#define IAT_MAX_US 0xffffffffULL
/* t-score thresholds are capped so that t^2 fits in 32 bits. */
#define TSCORE_MAX 0xffff

enum pkt_class {
	PKT_IPV4,
	PKT_IPV6,
	PKT_NON_IP,
	PKT_MALFORMED,
};

/* What parsing extracts from one frame besides its flow key. */
struct pkt_info {
	__u64 bytes;     /* IP packet length, as the header defines it */
	__u8 tcp_flags;
	__u8 fragment;   /* 1 for any IPv4/IPv6 fragment, first or not */
	__u8 nonfirst;   /* 1 for a fragment whose offset is not 0: no L4 header */
	__u8 ext_limit;  /* 1 when the IPv6 chain was longer than the walk */
};

/* Ethernet and up to VLAN_MAX tags, either TPID in either order. */
static __always_inline int parse_l2(struct hdr_cursor *cur, struct flow_key *key, int *tagged)
{
	struct ethhdr *eth;
	__u16 vid[VLAN_MAX] = {};
	int proto, i;

	proto = parse_ethhdr(cur, &eth);
#pragma unroll
	for (i = 0; i < VLAN_MAX; i++) {
		if (proto < 0 || !proto_is_vlan(proto))
			break;
		*tagged = 1;
		proto = parse_vlanhdr(cur, &vid[i]);
	}
	key->vlan = vid[0];
	key->vlan_inner = vid[1];
	return proto;
}

static __always_inline int parse_ipv4(struct hdr_cursor *cur, struct flow_key *key,
				      struct pkt_info *pi)
{
	struct iphdr *iph;
	__u16 frag;
	int proto;

	proto = parse_iphdr(cur, &iph);
	if (proto < 0)
		return -1;
	key->family = ATO_FAMILY_IPV4;
	__builtin_memcpy(key->src, &iph->saddr, 4);
	__builtin_memcpy(key->dst, &iph->daddr, 4);
	pi->bytes = bpf_ntohs(iph->tot_len);

	frag = bpf_ntohs(iph->frag_off);
	pi->fragment = (frag & (IPV4_MF | IPV4_OFFSET)) != 0;
	pi->nonfirst = (frag & IPV4_OFFSET) != 0;
	return proto;
}

/*
 * IPv6 and its extension headers, at most IPV6_EXT_MAX of them. Returns the
 * upper-layer protocol. After a fragment header with a nonzero offset the
 * walk stops: what follows is the middle of the payload, not a header.
 */
static __always_inline int parse_ipv6(struct hdr_cursor *cur, struct flow_key *key,
				      struct pkt_info *pi)
{
	struct ipv6hdr *ip6h;
	__u16 frag_off;
	int nexthdr, i;

	nexthdr = parse_ip6hdr(cur, &ip6h);
	if (nexthdr < 0)
		return -1;
	key->family = ATO_FAMILY_IPV6;
	__builtin_memcpy(key->src, &ip6h->saddr, 16);
	__builtin_memcpy(key->dst, &ip6h->daddr, 16);
	pi->bytes = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);

#pragma unroll
	for (i = 0; i < IPV6_EXT_MAX; i++) {
		if (!ipv6_is_ext(nexthdr))
			return nexthdr;
		frag_off = 0;
		nexthdr = parse_ip6_exthdr(cur, nexthdr, &frag_off);
		if (nexthdr < 0)
			return -1;
		if (frag_off & (IPV6_FRAG_OFFSET | IPV6_FRAG_MF))
			pi->fragment = 1;
		if (frag_off & IPV6_FRAG_OFFSET) {
			pi->nonfirst = 1;
			return nexthdr;
		}
	}
	if (ipv6_is_ext(nexthdr)) {
		pi->ext_limit = 1;
		return -1;
	}
	return nexthdr;
}

/*
 * Ports, ICMP type/code and TCP flags of the L4 header at offset `off`, in
 * the IP packet that ends at offset `limit` (the header must end by then).
 * Unknown protocols have none: their ports stay 0.
 *
 * A global function on purpose: the verifier checks it once, for any
 * arguments. Inlined, it was checked again for every way of reaching it (the
 * combinations of VLAN tags and IPv6 extension headers run to hundreds), and
 * the program took 22k verifier steps instead of 9k. Measured again (bench-kernel
 * and a load timer): inlined saves ~2-3 ns a packet and costs ~70 ms of
 * verification at every start; start to attached matters more.
 */
PARSE_L4_LINKAGE int parse_l4(struct xdp_md *ctx, __u64 off, __u32 limit, struct flow_key *key,
			     struct pkt_info *pi)
{
	struct hdr_cursor cur;
	struct tcphdr *th;
	struct udphdr *uh;
	struct icmp4_hdr *ih;
	struct icmp6hdr *i6h;

	/*
	 * Checked for any arguments, NULL and any offset included. `off` is 64-bit
	 * so that this bound holds for the register the pointer is built from: a
	 * 32-bit argument is zero-extended afresh at each use, and the verifier
	 * does not carry the bound across.
	 */
	if (!key || !pi || off > L4_OFF_MAX)
		return -1;
	cursor_init(&cur, ctx, off, limit);

	if (key->proto == IPPROTO_TCP) {
		if (parse_tcphdr(&cur, &th) < 0)
			return -1;
		key->sport = bpf_ntohs(th->source);
		key->dport = bpf_ntohs(th->dest);
		/* Byte 13 holds CWR..FIN; tcp_flag_byte() is kernel-internal. */
		pi->tcp_flags = ((__u8 *)th)[13];
	} else if (key->proto == IPPROTO_UDP) {
		if (parse_udphdr(&cur, &uh) < 0)
			return -1;
		key->sport = bpf_ntohs(uh->source);
		key->dport = bpf_ntohs(uh->dest);
	} else if (key->proto == IPPROTO_ICMP && key->family == ATO_FAMILY_IPV4) {
		if (parse_icmphdr(&cur, &ih) < 0)
			return -1;
		key->dport = (__u16)ih->type << 8 | ih->code;
	} else if (key->proto == IPPROTO_ICMPV6 && key->family == ATO_FAMILY_IPV6) {
		if (parse_icmp6hdr(&cur, &i6h) < 0)
			return -1;
		key->dport = (__u16)i6h->icmp6_type << 8 | i6h->icmp6_code;
	}
	return 0;
}

/* Fills *key and *pi from the frame and says which counter the frame belongs to. */
static __always_inline enum pkt_class parse_frame(struct xdp_md *ctx, struct flow_key *key,
						  struct pkt_info *pi, int *tagged)
{
	struct hdr_cursor cur;
	int eth_proto, proto;

	cursor_init(&cur, ctx, 0, frame_len(ctx));
	eth_proto = parse_l2(&cur, key, tagged);
	if (eth_proto < 0)
		return PKT_MALFORMED;
	if (eth_proto == ETH_P_IP)
		proto = parse_ipv4(&cur, key, pi);
	else if (eth_proto == ETH_P_IPV6)
		proto = parse_ipv6(&cur, key, pi);
	else
		return PKT_NON_IP;	/* a third VLAN tag lands here too */
	if (proto < 0)
		return PKT_MALFORMED;
	key->proto = proto;
	/* A later fragment starts mid-payload: there is no L4 header to read. */
	if (!pi->nonfirst && parse_l4(ctx, cur.off, cur.limit, key, pi) < 0)
		return PKT_MALFORMED;
	return key->family == ATO_FAMILY_IPV4 ? PKT_IPV4 : PKT_IPV6;
}

/*
 * The config entry is read in place (a copy cost more than its few reads). A
 * zero where zero means nothing takes the default at the point of use.
 */

static __always_inline __u64 spike_window_ns(const struct audit_config *cfg)
{
	return cfg->spike_window_ns ? cfg->spike_window_ns : DEFAULT_SPIKE_WINDOW_NS;
}

static __always_inline __u64 overflow_interval_ns(const struct audit_config *cfg)
{
	return cfg->overflow_interval_ns ? cfg->overflow_interval_ns : DEFAULT_OVERFLOW_INTERVAL_NS;
}

static __always_inline __u32 timing_min_samples(const struct audit_config *cfg)
{
	return cfg->timing_min_samples ? cfg->timing_min_samples : DEFAULT_MIN_SAMPLES;
}

static __always_inline __u64 tscore_threshold(const struct audit_config *cfg)
{
	__u32 t = cfg->tscore_threshold ? cfg->tscore_threshold : DEFAULT_TSCORE;

	return t > TSCORE_MAX ? TSCORE_MAX : t;
}

/* A zeroed event of `kind`, stamped now; the caller fills in the rest. */
static __always_inline void event_init(struct audit_event *e, __u32 kind, __u64 now)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->kind = kind;
}

/*
 * Copies an event into the ring buffer, or counts that there was no room:
 * user space is never told about a failed write. Callers count the events
 * they raise (spike_events, ...) whether or not they were sent.
 *
 * Deliberately not inlined: as a real function it keeps struct audit_event
 * in the object's BTF, where user space checks the record layout. Events are
 * rare, so the call and the 96-byte copy cost nothing that matters.
 */
static __noinline void event_send(struct audit_counters *cnt, struct audit_event *e)
{
	e->cpu = bpf_get_smp_processor_id();
	if (bpf_ringbuf_output(&audit_events, e, sizeof(*e), 0))
		cnt->ringbuf_full++;
}

/* A flow that could not be stored: count it, and report it at a bounded rate. */
static __always_inline void flow_overflow(struct audit_counters *cnt, const struct flow_key *key,
					  const struct audit_config *cfg, __u64 now)
{
	struct audit_event e;

	cnt->map_full++;
	if (cnt->last_overflow_ns && now - cnt->last_overflow_ns < overflow_interval_ns(cfg))
		return;
	/* Set even if the ring buffer is full, so a full ring is not retried per packet. */
	cnt->last_overflow_ns = now;
	cnt->overflow_events++;
	event_init(&e, ATO_EVENT_OVERFLOW, now);
	e.key.ifindex = key->ifindex;
	e.value = cnt->map_full;
	event_send(cnt, &e);
}

/* Saturating a + b for unsigned 64-bit values. */
static __always_inline __u64 add_sat(__u64 a, __u64 b)
{
	return a > U64_MAX - b ? U64_MAX : a + b;
}

/* |x| and the sign of x as a mask (all ones when negative), without a branch. */
static __always_inline __u64 abs_s64(__s64 x, __s64 *sign)
{
	*sign = x >> 63;
	return (x ^ *sign) - *sign;
}

/*
 * Timing audit for one inter-arrival gap: first test the gap against the
 * statistics of the gaps before it, then fold it in (Welford's online
 * algorithm, integers only).
 *
 * BPF division is unsigned, so signed quantities are split into a magnitude
 * and a sign mask. With gaps below 2^32 us (IAT_MAX_US) the mean stays in
 * [0, 2^32) and |d| < 2^32, so |d|^2 cannot overflow; t^2 * var is never
 * formed (the test divides instead) and the sum of squares saturates.
 */
static __always_inline void timing_audit(struct flow_value *v, const struct flow_key *key,
					 const struct audit_config *cfg,
					 struct audit_counters *cnt, __u64 now)
{
	__u64 gap, n, ad, var, t2, q;
	__s64 mean, sign, sign2;
	struct audit_event e;

	gap = now > v->last_seen_ns ? (now - v->last_seen_ns) / 1000 : 0;
	if (gap > IAT_MAX_US)
		gap = IAT_MAX_US;
	n = v->iat_n;
	mean = v->iat_mean_us;
	ad = abs_s64((__s64)gap - mean, &sign);

	/* n >= 2 keeps n - 1 a valid divisor whatever min_samples says. */
	if (n >= timing_min_samples(cfg) && n >= 2) {
		var = v->iat_m2 / (n - 1);
		t2 = tscore_threshold(cfg);
		t2 *= t2;
		/* d^2 >= t^2 * var, as var <= d^2 / t^2: exact for integers, no overflow. */
		if (var > 0 && var <= ad * ad / t2) {
			v->timing_flags++;
			cnt->timing_events++;
			event_init(&e, ATO_EVENT_TIMING, now);
			e.key = *key;
			e.value = ad;
			e.mean_us = mean;
			e.var_us2 = var;
			e.samples = n;
			event_send(cnt, &e);
		}
	}

	/* mean += d / n; m2 += d * (gap - new mean). Both factors share d's sign. */
	n++;
	q = ad / n;
	mean += (__s64)((q ^ sign) - sign);
	v->iat_m2 = add_sat(v->iat_m2, ad * abs_s64((__s64)gap - mean, &sign2));
	v->iat_mean_us = mean;
	v->iat_n = n;
}

/* Spike guard: count packets per window; the first packet over the threshold reports. */
static __always_inline void spike_guard(struct flow_value *v, const struct flow_key *key,
					const struct audit_config *cfg,
					struct audit_counters *cnt, __u64 now)
{
	struct audit_event e;

	if (now - v->win_start_ns >= spike_window_ns(cfg)) {
		v->win_start_ns = now;
		v->win_packets = 0;
		v->win_flagged = 0;
	}
	v->win_packets++;
	if (!cfg->spike_threshold || v->win_packets <= cfg->spike_threshold || v->win_flagged)
		return;
	v->win_flagged = 1;
	v->spikes++;
	cnt->spike_events++;
	event_init(&e, ATO_EVENT_SPIKE, now);
	e.key = *key;
	e.value = v->win_packets;
	e.samples = spike_window_ns(cfg);
	event_send(cnt, &e);
}

/*
 * The time of a packet of an existing flow. The fine clock (bpf_ktime_get_ns,
 * ~30 ns a call) only where nanoseconds matter: the timing audit's gaps. Last
 * seen and the spike window need no more than the coarse clock (the same
 * CLOCK_MONOTONIC, as of the last tick: a few ns a call). The coarse clock
 * lags the fine one by up to a tick, so a flow's time never steps back from
 * its last fine stamp: a flow's times stay ordered on each CPU.
 */
static __always_inline __u64 flow_time(const struct flow_value *v, const struct audit_config *cfg)
{
	__u64 now;

	if (cfg->timing_enabled)
		return bpf_ktime_get_ns();
	now = COARSE_NS();
	return now > v->last_seen_ns ? now : v->last_seen_ns;
}

/*
 * Count one more packet in this CPU's slot of an existing flow. A slot with
 * packets == 0 is this CPU's first packet of the flow (another CPU created
 * the entry, or this one lost an insert race): nothing to time yet, and
 * first seen takes the fine clock, as for a new flow.
 * Per-CPU values need no atomics.
 */
static __always_inline void flow_account(struct flow_value *v, const struct flow_key *key,
					 const struct pkt_info *pi,
					 const struct audit_config *cfg,
					 struct audit_counters *cnt)
{
	__u64 now;

	if (!v->packets) {
		now = bpf_ktime_get_ns();
		v->first_seen_ns = now;
		v->win_start_ns = now;
	} else {
		now = flow_time(v, cfg);
		if (cfg->timing_enabled)
			timing_audit(v, key, cfg, cnt, now);
	}
	v->packets++;
	v->bytes += pi->bytes;
	v->last_seen_ns = now;
	v->tcp_flags |= pi->tcp_flags;
	v->fragments += pi->fragment;
	spike_guard(v, key, cfg, cnt, now);
}

/*
 * A new flow: its first packet, inserted whole so no reader sees a half-made
 * entry. One packet cannot make a spike (a threshold of 0 means off), and
 * one arrival gives no gap to time.
 */
static __always_inline long flow_insert(const struct flow_key *key, const struct pkt_info *pi,
					__u64 now)
{
	struct flow_value nv;

	__builtin_memset(&nv, 0, sizeof(nv));
	nv.packets = 1;
	nv.bytes = pi->bytes;
	nv.first_seen_ns = now;
	nv.last_seen_ns = now;
	nv.tcp_flags = pi->tcp_flags;
	nv.fragments = pi->fragment;
	nv.win_start_ns = now;
	nv.win_packets = 1;
	return bpf_map_update_elem(&flow_map, key, &nv, BPF_NOEXIST);
}

static __always_inline void flow_update(const struct flow_key *key, const struct pkt_info *pi,
					struct audit_counters *cnt)
{
	const struct audit_config *cfg;
	struct audit_config none;
	struct flow_value *v;
	__u32 zero = 0;
	__u64 now;
	long err;

	cfg = bpf_map_lookup_elem(&audit_config, &zero);
	if (!cfg) {	/* cannot happen for a one-entry array: all defaults */
		__builtin_memset(&none, 0, sizeof(none));
		cfg = &none;
	}

	v = bpf_map_lookup_elem(&flow_map, key);
	if (!v) {
		/* A new flow's first seen is exact: the fine clock, once per flow. */
		now = bpf_ktime_get_ns();
		err = flow_insert(key, pi, now);
		if (!err)
			return;
		/* Another CPU inserted it first: this CPU's slot is zero, count in place. */
		if (err == -EEXIST)
			v = bpf_map_lookup_elem(&flow_map, key);
		if (!v) {
			flow_overflow(cnt, key, cfg, now);
			return;
		}
	}
	flow_account(v, key, pi, cfg, cnt);
}

SEC("xdp")
int xdp_audit(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct audit_counters *cnt;
	struct pkt_info pi = {};
	enum pkt_class class;
	struct flow_key key;
	__u32 zero = 0;
	int tagged = 0;

	cnt = bpf_map_lookup_elem(&audit_counters, &zero);
	if (!cnt)
		goto out;	/* cannot happen for a one-entry array */
	cnt->packets++;
	cnt->bytes += data_end - data;

	/* Zero padding too: the hash compares keys bytewise. */
	__builtin_memset(&key, 0, sizeof(key));
	key.ifindex = ctx->ingress_ifindex;

	class = parse_frame(ctx, &key, &pi, &tagged);
	cnt->vlan_tagged += tagged;
	switch (class) {
	case PKT_IPV4:
		cnt->ipv4++;
		break;
	case PKT_IPV6:
		cnt->ipv6++;
		break;
	case PKT_NON_IP:
		cnt->non_ip++;
		goto out;
	default:
		cnt->malformed++;
		cnt->ext_hdr_limit += pi.ext_limit;
		goto out;
	}
	cnt->fragments += pi.fragment;
	flow_update(&key, &pi, cnt);
out:
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
