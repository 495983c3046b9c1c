/**
 * The shell script --export-proof writes: RFC 9162 §2.1.3.2 transcribed into bash, so that an
 * inclusion proof can be checked with printf, sha256sum, base64 and od and nothing of ato.
 */
export function inclusionScript(index: number, size: number): string {
  return `#!/usr/bin/env bash
# Recomputes the inclusion of record.json (leaf ${index}) in the tree of ${size} lines whose
# root checkpoint.txt carries, following RFC 9162 section 2.1.3.2, with coreutils only:
#   leaf = SHA-256(0x00 || record.json), node = SHA-256(0x01 || left || right).
# Check checkpoint.txt's signature with openssl first (see ato verify's output).
set -euo pipefail
cd "$(dirname "$0")"
INDEX=${index}
SIZE=${size}
hex2bin() { printf "$(printf '%s' "$1" | sed 's/../\\\\x&/g')"; }
digest() { sha256sum | cut -c1-64; }
[ "$(sed -n 2p checkpoint.txt)" = "$SIZE" ] || { echo "checkpoint.txt is not for tree size $SIZE" >&2; exit 1; }
r=$( { printf '\\x00'; cat record.json; } | digest )
fn=$INDEX
sn=$((SIZE - 1))
while read -r p; do
  [ -n "$p" ] || continue
  [ "$sn" -ne 0 ] || { echo "inclusion FAILED: the proof is too long" >&2; exit 1; }
  if [ $((fn & 1)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
    r=$( { printf '\\x01'; hex2bin "$p"; hex2bin "$r"; } | digest )
    while [ $((fn & 1)) -eq 0 ] && [ "$fn" -ne 0 ]; do fn=$((fn >> 1)); sn=$((sn >> 1)); done
  else
    r=$( { printf '\\x01'; hex2bin "$r"; hex2bin "$p"; } | digest )
  fi
  fn=$((fn >> 1))
  sn=$((sn >> 1))
done < proof-hashes.txt
[ "$sn" -eq 0 ] || { echo "inclusion FAILED: the proof is too short" >&2; exit 1; }
root=$(sed -n 3p checkpoint.txt | base64 -d | od -An -tx1 -v | tr -d ' \\n')
if [ "$r" = "$root" ]; then
  echo "inclusion OK: record.json is leaf $INDEX of the $SIZE-leaf tree with root $root"
else
  echo "inclusion FAILED: computed root $r, checkpoint.txt says $root" >&2
  exit 1
fi
`;
}
