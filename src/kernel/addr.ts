/** Address slots (16 bytes, IPv4 in the first 4) as text. */
export function slotToText(slot: Uint8Array, family: 4 | 6): string {
  if (family === 4) return `${slot[0]}.${slot[1]}.${slot[2]}.${slot[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((slot[i]! << 8) | slot[i + 1]!);
  // RFC 5952: compress the longest run of two or more zero groups, the first if tied.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
