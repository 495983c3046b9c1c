/** Forwarding the evidence log to other systems, from a durable cursor per sink. */
export { Forwarder, type ForwarderOptions } from "./forwarder.ts";
export { readForwardConfig, parseForwardConfig, type ForwardConfig, type SinkSettings } from "./config.ts";
export { serveForwarder } from "./server.ts";
export { eventId, eventJson, type ForwardEvent } from "./event.ts";
export { SinkError, type Sink, type SinkFailure } from "./sink.ts";
export { loadCursor, saveCursor, cursorPath, type Cursor } from "./cursor.ts";
export { LogReader } from "./reader.ts";
