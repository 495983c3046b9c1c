/**
 * Which XDP program an interface runs in a mode, asked on one rtnetlink socket kept open: a request for that
 * one interface (RTM_GETLINK by index, statistics left out) and its answer, two syscalls. libbpf's
 * bpf_xdp_query opens a socket for each call and dumps every interface of the namespace to find the one
 * (a host with a hundred veths pays for each of them), which is what the self-check did every interval.
 * An answer this does not understand, and any failure, is asked again through libbpf, whose AtoError (an
 * interface gone, no permission) is then the one the caller sees.
 */
import { closeFd, netlinkReceive, netlinkRouteSocket, netlinkSend } from "../../ffi/libc.ts";
import { xdpQueryId, XDP_FLAGS } from "../../ffi/libbpf.ts";

const RTM_NEWLINK = 16, RTM_GETLINK = 18, NLM_F_REQUEST = 1;
const IFLA_EXT_MASK = 29, RTEXT_FILTER_SKIP_STATS = 1 << 3, IFLA_XDP = 43;
/** rta_type without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
const NLA_TYPE_MASK = 0x3fff;
/** struct nlmsghdr, struct ifinfomsg. */
const NLMSG_HDR = 16, IFINFO = 16;
/** The attribute of IFLA_XDP that holds the id of the program attached in each mode (linux/if_link.h). */
const MODE_ATTR = { drv: 5, skb: 6, hw: 7 } as const;
const MODE_FLAGS = { drv: XDP_FLAGS.DRV_MODE, skb: XDP_FLAGS.SKB_MODE, hw: XDP_FLAGS.HW_MODE } as const;

export type XdpQueryMode = keyof typeof MODE_ATTR;

export class XdpQuery {
  private fd: number;
  private seq = 0;
  private readonly request = new Uint8Array(NLMSG_HDR + IFINFO + 8);
  private readonly req = new DataView(this.request.buffer);
  private reply = new Uint8Array(16384);
  private view = new DataView(this.reply.buffer);
  /** How each query was answered: on the kept socket, or again through libbpf (for tests). */
  readonly answered = { netlink: 0, libbpf: 0 };

  constructor() {
    this.fd = netlinkRouteSocket(); // -errno: libbpf answers every query
    const r = this.req;
    r.setUint32(0, this.request.length, true);
    r.setUint16(4, RTM_GETLINK, true);
    r.setUint16(6, NLM_F_REQUEST, true);
    // ifinfomsg: family AF_UNSPEC, the index at +4 (per query); then IFLA_EXT_MASK, u32
    r.setUint16(NLMSG_HDR + IFINFO, 8, true);
    r.setUint16(NLMSG_HDR + IFINFO + 2, IFLA_EXT_MASK, true);
    r.setUint32(NLMSG_HDR + IFINFO + 4, RTEXT_FILTER_SKIP_STATS, true);
  }

  /** The id of the program attached to `ifindex` in `mode`, 0 when none is. */
  programId(ifindex: number, mode: XdpQueryMode): number {
    const id = this.fd >= 0 ? this.ask(ifindex, mode) : undefined;
    if (id !== undefined) {
      this.answered.netlink++;
      return id;
    }
    this.answered.libbpf++;
    return xdpQueryId(ifindex, MODE_FLAGS[mode]);
  }

  close(): void {
    if (this.fd >= 0) closeFd(this.fd);
    this.fd = -1;
  }

  /** undefined: no answer this understands (libbpf is asked instead). */
  private ask(ifindex: number, mode: XdpQueryMode): number | undefined {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    this.req.setUint32(8, seq, true);
    this.req.setInt32(NLMSG_HDR + 4, ifindex, true);
    if (netlinkSend(this.fd, this.request) !== this.request.length) return undefined;
    // The kernel answers a non-dump request within the send: the reply is queued when send returns.
    const n = netlinkReceive(this.fd, this.reply);
    if (n > this.reply.length) { // truncated (and gone): room for it next time
      this.reply = new Uint8Array(2 * n);
      this.view = new DataView(this.reply.buffer);
      return undefined;
    }
    if (n < NLMSG_HDR + IFINFO) return undefined;
    const v = this.view;
    const len = v.getUint32(0, true);
    if (v.getUint32(8, true) !== seq || len > n) {
      this.drain(); // an answer to an earlier request that was never read: start clean
      return undefined;
    }
    // NLMSG_ERROR (the interface is gone, …): libbpf's query reports it as the error it is.
    if (v.getUint16(4, true) !== RTM_NEWLINK || v.getInt32(NLMSG_HDR + 4, true) !== ifindex) return undefined;
    for (let o = NLMSG_HDR + IFINFO; o + 4 <= len; ) {
      const alen = v.getUint16(o, true);
      if (alen < 4 || o + alen > len) return undefined;
      if ((v.getUint16(o + 2, true) & NLA_TYPE_MASK) === IFLA_XDP) return nestedId(v, o + 4, o + alen, MODE_ATTR[mode]);
      o += (alen + 3) & ~3;
    }
    return undefined; // no IFLA_XDP at all
  }

  private drain(): void {
    while (netlinkReceive(this.fd, this.reply) >= 0) { /* discard */ }
  }
}

/** The u32 of attribute `want` among the attributes in [from, end); 0 when it is absent (nothing in that mode). */
function nestedId(v: DataView, from: number, end: number, want: number): number | undefined {
  for (let o = from; o + 4 <= end; ) {
    const alen = v.getUint16(o, true);
    if (alen < 4 || o + alen > end) return undefined;
    if ((v.getUint16(o + 2, true) & NLA_TYPE_MASK) === want) return alen >= 8 ? v.getUint32(o + 4, true) : undefined;
    o += (alen + 3) & ~3;
  }
  return 0;
}
