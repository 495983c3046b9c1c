/** `--witness URL=VKEY`: where a witness listens and the verifier key its cosignatures must verify with. */
import { AtoError } from "../../errors.ts";
import { TYPE_COSIGNATURE_V1, parseVerifierKey, type VerifierKey } from "../vkey.ts";

export interface WitnessTarget {
  url: string;
  key: VerifierKey;
  /** The vkey text, which also names the witness in the submitter's state file. */
  vkey: string;
}

export function parseWitnessTarget(spec: string): WitnessTarget {
  // A URL holds no '=' before its path here; the vkey's base64 may end in '='.
  const m = /^(https?:\/\/[^\s=]+)=(\S+)$/.exec(spec.trim());
  if (!m) throw new AtoError(`--witness '${spec.slice(0, 120)}' is not URL=VERIFIER_KEY (e.g. http://witness.example:7380=name+1234abcd+BASE64)`, "USAGE");
  const key = parseVerifierKey(m[2]!);
  if (key.type !== TYPE_COSIGNATURE_V1) throw new AtoError(`--witness key '${key.name}' is not a cosignature/v1 (type 0x04) key`, "USAGE");
  return { url: m[1]!, key, vkey: m[2]! };
}
