#!/usr/bin/python3
"""Scapy's reading of frames, one hex frame per line on stdin, one JSON object per line out.

A second opinion on the fields that test/support/parser-reference.ts reads (VLAN IDs, addresses,
IP lengths, the protocol after IPv6 extension headers, fragment bits, ports, TCP flags, ICMP type
and code), from a dissector written by other people. Only frames the reference calls flows are
asked: scapy dissects malformed frames leniently, so it is no judge of those.
"""
import json
import socket
import sys

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers import inet6
from scapy.layers.inet6 import (ICMPv6Unknown, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrSegmentRouting,
                                _IPv6GuessPayload)
from scapy.fields import ByteField, XShortField
from scapy.packet import Packet, Raw
from scapy.layers.ipsec import AH
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

# Scapy follows AH only into tunnelled IP (and takes next header 0 for IPv4, IPPROTO_IP); after
# an IPv6 header its next header is any IPv6 one, hop-by-hop for 0.
AH.guess_payload_class = _IPv6GuessPayload.default_payload_class
inet6.ipv6nhcls[51] = AH  # named as a string there, which inet6 alone cannot resolve


class ICMPHead(Packet):
    """ICMP's fixed part only: scapy's ICMP wants more for some types (timestamp: 20 bytes) than
    the 8 bytes the flow needs, and fails on a first fragment that carries only those."""
    fields_desc = [ByteField("type", 0), ByteField("code", 0), XShortField("chksum", 0)]


L4 = {6: TCP, 17: UDP, 1: ICMPHead}
EXT = (IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrSegmentRouting, IPv6ExtHdrFragment,
       IPv6ExtHdrDestOpt, AH)


def addr(family: int, text: str) -> str:
    return socket.inet_pton(family, text).hex()


def view(frame: bytes) -> dict:
    layer = Ether(frame).payload
    vids = []
    while isinstance(layer, (Dot1Q, Dot1AD)):
        vids.append(layer.vlan)
        layer = layer.payload
    out = {"vlan": vids[0] if vids else 0, "vlanInner": vids[1] if len(vids) > 1 else 0}
    if isinstance(layer, IP):
        nonfirst = layer.frag != 0
        out.update(family=4, src=addr(socket.AF_INET, layer.src), dst=addr(socket.AF_INET, layer.dst),
                   proto=layer.proto, bytes=layer.len,
                   fragment=bool(layer.flags.MF) or nonfirst)
        first_fragment = layer.flags.MF and not nonfirst
        layer = layer.payload
        # Scapy leaves any fragment's payload raw; a first fragment starts with its L4 header.
        if first_fragment and isinstance(layer, Raw) and out["proto"] in L4:
            layer = L4[out["proto"]](bytes(layer))
    elif isinstance(layer, IPv6):
        out.update(family=6, src=addr(socket.AF_INET6, layer.src), dst=addr(socket.AF_INET6, layer.dst),
                   proto=layer.nh, bytes=40 + layer.plen,
                   fragment=False)
        nonfirst = False
        layer = layer.payload
        while isinstance(layer, EXT) and not nonfirst:
            out["proto"] = layer.nh
            if isinstance(layer, IPv6ExtHdrFragment):
                out["fragment"] = out["fragment"] or layer.m == 1 or layer.offset != 0
                nonfirst = layer.offset != 0
            layer = layer.payload
    else:
        return {"error": f"no IP layer: {layer.__class__.__name__}"}
    out.update(sport=0, dport=0, tcpFlags=0)
    if not nonfirst:
        if out["proto"] == 6:
            # Scapy's 9 flag bits include NS (byte 12); the flow records byte 13, CWR..FIN.
            out.update(sport=layer.sport, dport=layer.dport, tcpFlags=int(layer.flags) & 0xff)
        elif out["proto"] == 17:
            out.update(sport=layer.sport, dport=layer.dport)
        elif out["proto"] == 1 and out["family"] == 4:
            layer = ICMPHead(bytes(layer))
            out.update(dport=layer.type << 8 | layer.code)
        elif out["proto"] == 58 and out["family"] == 6:
            # Scapy's class per ICMPv6 type renames the code byte in some (151's advinter) and
            # leaves types it has no class for as Raw: read every one through the generic layout.
            layer = ICMPv6Unknown(bytes(layer))
            out.update(dport=layer.type << 8 | layer.code)
    return out


for line in sys.stdin:
    try:
        print(json.dumps(view(bytes.fromhex(line.strip()))))
    except Exception as e:  # a frame scapy cannot read is reported, never dropped
        print(json.dumps({"error": f"{e.__class__.__name__}: {e}"}))
