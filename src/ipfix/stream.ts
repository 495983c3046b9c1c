/**
 * One collector's stream of IPFIX messages. The sequence number of a message is the count, modulo 2^32, of the
 * data records sent before it in this transport session from this observation domain (RFC 7011 §3.1), so a
 * collector sees a lost message as a gap. Over UDP the templates go out again every `refreshSeconds` and every
 * `refreshMessages` messages (§8.4); over TCP once at the start of each connection.
 */
import { TEMPLATES, type Template, TEMPLATE_V4, TEMPLATE_V6 } from "./elements.ts";
import {
  type FlowExport, MESSAGE_HEADER, SET_HEADER, writeHeader, writeRecord, writeSetHeader, writeTemplateSet,
} from "./message.ts";
import type { Transport } from "./transport.ts";

export interface StreamOptions {
  domain: number;
  refreshSeconds: number;
  refreshMessages: number;
  now?: () => number;
}

export interface StreamStats { messages: number; records: number; dropped: number; droppedRecords: number; templates: number }

export class IpfixStream {
  readonly stats: StreamStats = { messages: 0, records: 0, dropped: 0, droppedRecords: 0, templates: 0 };
  private sequence = 0;
  private session = -1;
  private templatesAtMs = -Infinity;
  private messagesSinceTemplates = 0;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly now: () => number;

  constructor(readonly transport: Transport, private readonly o: StreamOptions) {
    this.buf = new Uint8Array(transport.maxMessage);
    this.view = new DataView(this.buf.buffer);
    this.now = o.now ?? Date.now;
  }

  /** Sends the flows as few messages as fit, each a whole number of records. */
  send(flows: readonly FlowExport[]): void {
    let i = 0;
    do i = this.message(flows, i);
    while (i < flows.length);
  }

  /** Encodes one message starting at flows[i] and sends it; returns the index of the first flow left over. */
  private message(flows: readonly FlowExport[], i: number): number {
    const nowMs = this.now();
    const v = this.view;
    const withTemplates = this.templatesDue(nowMs);
    let at = MESSAGE_HEADER;
    if (withTemplates) at = writeTemplateSet(v, at, TEMPLATES);
    let setStart = -1, set: Template | null = null, records = 0;
    for (; i < flows.length; i++) {
      const f = flows[i]!;
      const t = f.family === 4 ? TEMPLATE_V4 : TEMPLATE_V6;
      const needSet = t !== set;
      if (at + (needSet ? SET_HEADER : 0) + t.recordLength > this.buf.length) break;
      if (needSet) {
        if (set) writeSetHeader(v, setStart, set.id, at - setStart);
        setStart = at;
        set = t;
        at += SET_HEADER;
      }
      at = writeRecord(v, at, t, f);
      records++;
    }
    if (set) writeSetHeader(v, setStart, set.id, at - setStart);
    if (records === 0 && !withTemplates) return i;
    writeHeader(v, at, Math.floor(nowMs / 1000), this.sequence, this.o.domain);
    // The datagram goes out whether or not it arrives: the sequence counts what was sent (a gap at the
    // collector is the network's loss, or the socket's, which `dropped` counts here as well).
    const sent = this.transport.send(this.buf.subarray(0, at));
    this.sequence = (this.sequence + records) >>> 0;
    this.stats.messages++;
    this.stats.records += records;
    if (!sent) { this.stats.dropped++; this.stats.droppedRecords += records; }
    if (withTemplates && sent) { this.templatesAtMs = nowMs; this.messagesSinceTemplates = 0; this.stats.templates++; }
    this.messagesSinceTemplates++;
    return i;
  }

  private templatesDue(nowMs: number): boolean {
    const session = this.transport.session();
    if (session !== this.session) { // a new TCP connection: a new transport session (§10.4.2)
      this.session = session;
      this.sequence = 0;
      return true;
    }
    if (this.transport.target.transport === "tcp") return this.templatesAtMs === -Infinity;
    return nowMs - this.templatesAtMs >= this.o.refreshSeconds * 1000 || this.messagesSinceTemplates >= this.o.refreshMessages;
  }
}
