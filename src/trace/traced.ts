/**
 * traced(): one call at a traced site (a witness submission, a forward batch) that runs the work inside a span
 * when tracing is on, and just runs it when off (no span, no attributes kept). The span ends with the work:
 * attribute `outcome` is "ok" (or what `after` says of the result), "error" with the error as its status.
 */
import type { AttrValue } from "./otlp.ts";
import type { Tracer } from "./tracer.ts";

export async function traced<T>(
  tracer: Tracer | undefined, name: string, attributes: Record<string, AttrValue>,
  run: () => Promise<T>, after?: (result: T) => Record<string, AttrValue>,
): Promise<T> {
  if (!tracer?.enabled) return run();
  const span = tracer.start(name, attributes);
  let result: T;
  try {
    result = await run();
  } catch (e) {
    span.set("outcome", "error").end(e);
    throw e;
  }
  span.set("outcome", "ok");
  if (after) for (const [k, v] of Object.entries(after(result))) span.set(k, v);
  span.end();
  return result;
}
