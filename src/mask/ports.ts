/**
 * Which L4 ports survive masking. The default removes them all ("L4 ports removed"); a deployment
 * can keep a set, written as a comma-separated list of:
 *   none          keep no port (the default; only valid alone)
 *   all           keep every port
 *   well-known    1-1023, the service ports: a client's ephemeral port is still removed
 *   443           one port
 *   8000-8099     an inclusive range
 * Ports exist only for TCP, UDP, DCCP, SCTP and UDP-Lite; other protocols never carry one out of masking.
 */
import { AtoError } from "../errors.ts";

/** IP protocol numbers whose header starts with 16-bit source and destination ports. */
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);

export function hasPorts(proto: number): boolean {
  return PORT_PROTOCOLS.has(proto);
}

export class PortPolicy {
  /** The spec this policy was parsed from, normalised ("none", "well-known,8080"). */
  readonly spec: string;
  readonly #ranges: ReadonlyArray<readonly [number, number]>;

  private constructor(spec: string, ranges: ReadonlyArray<readonly [number, number]>) {
    this.spec = spec;
    this.#ranges = ranges;
  }

  static readonly NONE = new PortPolicy("none", []);

  /** Parses a spec (see the module comment); `source` names where it came from in errors. */
  static parse(spec: string, source = "kept ports"): PortPolicy {
    const items = spec.split(",").map((s) => s.trim().toLowerCase());
    if (items.length === 1 && (items[0] === "none" || items[0] === "")) return PortPolicy.NONE;
    return new PortPolicy(items.join(","), items.map((item) => parseItem(item, source)));
  }

  /** Whether `port` of protocol `proto` is kept. */
  keeps(proto: number, port: number): boolean {
    return hasPorts(proto) && this.#ranges.some(([lo, hi]) => port >= lo && port <= hi);
  }

  /** The port when kept, else undefined (so it is left out of the record). */
  apply(proto: number, port: number): number | undefined {
    return this.keeps(proto, port) ? port : undefined;
  }
}

function parseItem(item: string, source: string): readonly [number, number] {
  if (item === "all") return [0, 65535];
  if (item === "well-known") return [1, 1023];
  if (item === "none") throw new AtoError(`${source}: "none" keeps no port and cannot be combined with others`, "CONFIG");
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || lo > hi) {
    throw new AtoError(
      `${source}: expected "none", "all", "well-known", a port 1-65535 or a range N-M, comma-separated; found "${item}"`,
      "CONFIG",
    );
  }
  return [lo, hi];
}
