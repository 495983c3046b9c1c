/**
 * Ring-buffer events (spike, timing flag, overflow), decoded. The kernel counts reservations
 * that failed (ringbuf_full), because user space is never told about them.
 */
import { RingBuffer } from "../../ffi/libbpf.ts";
import { decodeEvent, type AuditEvent } from "./layout.ts";

export class EventStream {
  private readonly rb: RingBuffer;
  /** Samples too short or of an unknown kind: a newer program than this ato understands. */
  undecodable = 0;

  constructor(mapFd: number, onEvent: (e: AuditEvent) => void) {
    this.rb = new RingBuffer(mapFd, (bytes) => {
      const e = decodeEvent(bytes);
      if (e) onEvent(e);
      else this.undecodable++;
    });
  }

  /** Delivers everything pending, without blocking. */
  drain(): number {
    return this.rb.consume();
  }

  close(): void {
    this.rb.close();
  }
}
