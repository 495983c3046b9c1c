/** The flow map an agent pinned, read from outside it (`ato flows`): open by path, read every flow, close. */
import { closeFd, objGet } from "../../ffi/libbpf.ts";
import { FlowMapReader, type Flow } from "./flows.ts";
import { MAPS } from "./loader.ts";
import { requireBpffs } from "./system.ts";

export function readPinnedFlows(pinDir: string): Flow[] {
  requireBpffs(pinDir);
  const fd = objGet(`${pinDir}/${MAPS.flows}`);
  try {
    return new FlowMapReader(fd).readAll();
  } finally {
    closeFd(fd);
  }
}
