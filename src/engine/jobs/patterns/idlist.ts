/**
 * Ascending insight ids as a compact blob: each id's gap from the previous one as an
 * unsigned LEB128 varint. A pattern's members are mostly close together, so a member costs
 * one or two bytes instead of a row in a link table — at 100k insights the patterns hold
 * ~20M memberships, which as rows took 35 s to write.
 */
export function encodeIds(ids: ArrayLike<number>): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 5);
  let at = 0;
  let previous = 0;
  for (let i = 0; i < ids.length; i++) {
    let gap = ids[i]! - previous;
    if (gap < 0 || (i > 0 && gap === 0)) throw new Error('ids must be ascending and distinct');
    previous = ids[i]!;
    while (gap >= 0x80) {
      out[at++] = (gap & 0x7f) | 0x80;
      gap = Math.floor(gap / 128);
    }
    out[at++] = gap;
  }
  return Buffer.from(out.subarray(0, at));
}

export function decodeIds(blob: Uint8Array): number[] {
  const ids: number[] = [];
  let previous = 0;
  for (let at = 0; at < blob.length; ) {
    let gap = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = blob[at++]!;
      gap += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    previous += gap;
    ids.push(previous);
  }
  return ids;
}
