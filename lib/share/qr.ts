/**
 * A small QR code encoder (ISO/IEC 18004) for showing a URL in a terminal:
 * byte mode, error correction level M or L, versions 1 to 10 (up to 213
 * bytes at M), Reed–Solomon over GF(256), and the mask chosen by the
 * standard's penalty rules. `qrTerminal` draws it with half-block characters.
 */

/** Error correction level: L recovers about 7% of the code, M about 15%. */
export type QrLevel = "L" | "M";

/** A QR code: `size` x `size` modules, `dark[y][x]` true for a dark module. */
export interface QrCode {
  version: number;
  size: number;
  dark: boolean[][];
}

/** The largest version made: 57 x 57 modules, plenty for a URL. */
const MAX_VERSION = 10;

/** Error correction codewords per block, by level and version (index 0 unused). */
const ECC_PER_BLOCK: Record<QrLevel, number[]> = {
  L: [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18],
  M: [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26],
};

/** Error correction blocks, by level and version. */
const BLOCKS: Record<QrLevel, number[]> = {
  L: [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4],
  M: [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5],
};

/** The two format bits of each level. */
const LEVEL_BITS: Record<QrLevel, number> = { L: 1, M: 0 };

// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1, by log tables.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = x;
  LOG[x] = i;
  x = (x << 1) ^ (x & 0x80 ? 0x11d : 0);
}
for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];

function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

/** The generator polynomial of degree `n` (coefficients after the leading 1, highest first). */
function rsGenerator(n: number): Uint8Array {
  const g = new Uint8Array(n);
  g[n - 1] = 1;
  let root = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      g[j] = gfMul(g[j], root) ^ (j + 1 < n ? g[j + 1] : 0);
    }
    root = gfMul(root, 2);
  }
  return g;
}

/** The Reed–Solomon error correction codewords of `data`. */
export function rsRemainder(data: Uint8Array, n: number): Uint8Array {
  const g = rsGenerator(n);
  const rem = new Uint8Array(n);
  for (const byte of data) {
    const factor = byte ^ rem[0];
    rem.copyWithin(0, 1);
    rem[n - 1] = 0;
    for (let i = 0; i < n; i++) rem[i] ^= gfMul(g[i], factor);
  }
  return rem;
}

/** Modules available for data and error correction in a version. */
function rawModules(version: number): number {
  let n = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2;
    n -= (25 * align - 10) * align - 55;
    if (version >= 7) n -= 36;
  }
  return n;
}

/** Data codewords a version holds at a level. */
function dataCodewords(version: number, level: QrLevel): number {
  return Math.floor(rawModules(version) / 8) -
    ECC_PER_BLOCK[level][version] * BLOCKS[level][version];
}

/** Centres of the alignment patterns along one axis. */
function alignmentPositions(version: number): number[] {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const size = version * 4 + 17;
  const step = Math.ceil((version * 4 + 4) / (count * 2 - 2)) * 2;
  const result = [6];
  for (let pos = size - 7; result.length < count; pos -= step) result.splice(1, 0, pos);
  return result;
}

/** Appends bits, most significant first. */
class BitBuffer {
  bits: number[] = [];
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.bits.push((value >>> i) & 1);
  }
}

/**
 * Bits ahead of the data: an ECI header naming UTF-8 when there are non-ASCII
 * bytes (byte mode alone means ISO-8859-1), then the byte mode indicator.
 */
const headerBits = (bytes: Uint8Array) => (bytes.some((b) => b >= 0x80) ? 12 : 0) + 4;

/** The codewords of `bytes` in byte mode: mode, count, data, terminator and padding. */
function encodeData(bytes: Uint8Array, version: number, level: QrLevel): Uint8Array {
  const capacity = dataCodewords(version, level) * 8;
  const buf = new BitBuffer();
  if (headerBits(bytes) > 4) {
    buf.put(0b0111, 4); // ECI
    buf.put(26, 8); // UTF-8
  }
  buf.put(0b0100, 4);
  buf.put(bytes.length, version <= 9 ? 8 : 16);
  for (const b of bytes) buf.put(b, 8);
  buf.put(0, Math.min(4, capacity - buf.bits.length));
  buf.put(0, (8 - buf.bits.length % 8) % 8);
  for (let pad = 0xec; buf.bits.length < capacity; pad ^= 0xec ^ 0x11) buf.put(pad, 8);
  const out = new Uint8Array(capacity / 8);
  buf.bits.forEach((bit, i) => out[i >>> 3] |= bit << (7 - (i & 7)));
  return out;
}

/** Splits data into blocks, adds each block's error correction, and interleaves them. */
function interleave(data: Uint8Array, version: number, level: QrLevel): Uint8Array {
  const blocks = BLOCKS[level][version];
  const ecc = ECC_PER_BLOCK[level][version];
  const total = Math.floor(rawModules(version) / 8);
  const shortBlocks = blocks - total % blocks;
  const shortLength = Math.floor(total / blocks);
  const dataBlocks: Uint8Array[] = [];
  const eccBlocks: Uint8Array[] = [];
  for (let i = 0, at = 0; i < blocks; i++) {
    const length = shortLength - ecc + (i < shortBlocks ? 0 : 1);
    const block = data.subarray(at, at + length);
    at += length;
    dataBlocks.push(block);
    eccBlocks.push(rsRemainder(block, ecc));
  }
  const out: number[] = [];
  for (let i = 0; i <= shortLength - ecc; i++) {
    for (const block of dataBlocks) if (i < block.length) out.push(block[i]);
  }
  for (let i = 0; i < ecc; i++) for (const block of eccBlocks) out.push(block[i]);
  return Uint8Array.from(out);
}

/** A grid being drawn: the modules, and which of them are function patterns. */
class Grid {
  readonly dark: boolean[][];
  readonly fixed: boolean[][];

  constructor(readonly size: number) {
    this.dark = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
    this.fixed = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  }

  set(x: number, y: number, dark: boolean): void {
    this.dark[y][x] = dark;
    this.fixed[y][x] = true;
  }
}

function drawFunctionPatterns(g: Grid, version: number): void {
  const n = g.size;
  for (let i = 0; i < n; i++) {
    g.set(6, i, i % 2 === 0);
    g.set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [n - 4, 3], [3, n - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        if (x < 0 || x >= n || y < 0 || y >= n) continue;
        const ring = Math.max(Math.abs(dx), Math.abs(dy));
        g.set(x, y, ring !== 2 && ring !== 4);
      }
    }
  }
  const align = alignmentPositions(version);
  const last = align.length - 1;
  align.forEach((cx, i) =>
    align.forEach((cy, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          g.set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
        }
      }
    })
  );
  drawFormat(g, "M", 0); // reserves the format areas; redrawn for the chosen mask
  if (version >= 7) {
    let rem = version;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (version << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const bit = ((bits >>> i) & 1) === 1;
      const a = n - 11 + i % 3;
      const b = Math.floor(i / 3);
      g.set(a, b, bit);
      g.set(b, a, bit);
    }
  }
}

/** The 15 format bits (level and mask, BCH-protected) in both copies, and the dark module. */
function drawFormat(g: Grid, level: QrLevel, mask: number): void {
  const data = (LEVEL_BITS[level] << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((data << 10) | rem) ^ 0x5412;
  const bit = (i: number) => ((bits >>> i) & 1) === 1;
  const n = g.size;
  for (let i = 0; i <= 5; i++) g.set(8, i, bit(i));
  g.set(8, 7, bit(6));
  g.set(8, 8, bit(7));
  g.set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) g.set(14 - i, 8, bit(i));
  for (let i = 0; i < 8; i++) g.set(n - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) g.set(8, n - 15 + i, bit(i));
  g.set(8, n - 8, true);
}

/** Places the codewords in the zigzag order, skipping function modules. */
function drawCodewords(g: Grid, codewords: Uint8Array): void {
  const n = g.size;
  let i = 0;
  for (let right = n - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5; // the vertical timing pattern
    const upward = ((right + 1) & 2) === 0;
    for (let vert = 0; vert < n; vert++) {
      const y = upward ? n - 1 - vert : vert;
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        if (g.fixed[y][x] || i >= codewords.length * 8) continue;
        g.dark[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
        i++;
      }
    }
  }
}

const MASKS: ((x: number, y: number) => boolean)[] = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => (x * y) % 2 + (x * y) % 3 === 0,
  (x, y) => ((x * y) % 2 + (x * y) % 3) % 2 === 0,
  (x, y) => ((x + y) % 2 + (x * y) % 3) % 2 === 0,
];

/** Flips the data modules the mask selects (applying it twice undoes it). */
function applyMask(g: Grid, mask: number): void {
  const selects = MASKS[mask];
  for (let y = 0; y < g.size; y++) {
    for (let x = 0; x < g.size; x++) {
      if (!g.fixed[y][x] && selects(x, y)) g.dark[y][x] = !g.dark[y][x];
    }
  }
}

/** The finder-like run 1:1:3:1:1 with four light modules on one side. */
const FINDER_LIKE = [
  [true, false, true, true, true, false, true, false, false, false, false],
  [false, false, false, false, true, false, true, true, true, false, true],
];

/** The standard's penalty score of a masked grid: lower reads better. */
export function penalty(dark: boolean[][]): number {
  const n = dark.length;
  let score = 0;
  const lines: boolean[][] = [];
  for (let i = 0; i < n; i++) {
    lines.push(dark[i]);
    lines.push(dark.map((row) => row[i]));
  }
  for (const line of lines) {
    for (let i = 0; i < n;) {
      let j = i;
      while (j < n && line[j] === line[i]) j++;
      if (j - i >= 5) score += 3 + (j - i - 5);
      i = j;
    }
    for (let i = -4; i < n; i++) {
      for (const pattern of FINDER_LIKE) {
        if (pattern.every((want, k) => (line[i + k] ?? false) === want)) score += 40;
      }
    }
  }
  let darkCount = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (dark[y][x]) darkCount++;
      if (x + 1 < n && y + 1 < n) {
        const c = dark[y][x];
        if (dark[y][x + 1] === c && dark[y + 1][x] === c && dark[y + 1][x + 1] === c) score += 3;
      }
    }
  }
  const total = n * n;
  score += (Math.ceil(Math.abs(darkCount * 20 - total * 10) / total) - 1) * 10;
  return score;
}

/**
 * Encodes `text` (as UTF-8 bytes, marked as such when not ASCII) in the
 * smallest version that holds it; throws a RangeError when it is too long
 * for version 10.
 */
export function encodeQr(text: string, level: QrLevel = "M"): QrCode {
  const bytes = new TextEncoder().encode(text);
  let version = 1;
  while (version <= MAX_VERSION) {
    const countBits = version <= 9 ? 8 : 16;
    if (headerBits(bytes) + countBits + bytes.length * 8 <= dataCodewords(version, level) * 8) {
      break;
    }
    version++;
  }
  if (version > MAX_VERSION) {
    throw new RangeError(`${bytes.length} bytes do not fit a version ${MAX_VERSION} QR code`);
  }
  const g = new Grid(version * 4 + 17);
  drawFunctionPatterns(g, version);
  drawCodewords(g, interleave(encodeData(bytes, version, level), version, level));
  let best = 0;
  let bestScore = Infinity;
  for (let mask = 0; mask < MASKS.length; mask++) {
    applyMask(g, mask);
    drawFormat(g, level, mask);
    const score = penalty(g.dark);
    if (score < bestScore) [best, bestScore] = [mask, score];
    applyMask(g, mask);
  }
  applyMask(g, best);
  drawFormat(g, level, best);
  return { version, size: g.size, dark: g.dark };
}

/** Light modules around the code, as the standard asks. */
export const QUIET_ZONE = 4;

/**
 * The code as text, two module rows per line: a light module is ink (`█`,
 * `▀`, `▄`), a dark one is blank, which reads right on a terminal with light
 * text on a dark background; `colors` adds ANSI white-on-black so it reads
 * right on any terminal.
 */
export function qrTerminal(code: QrCode, colors = false): string {
  const span = code.size + 2 * QUIET_ZONE;
  const light = (x: number, y: number) => {
    const cx = x - QUIET_ZONE;
    const cy = y - QUIET_ZONE;
    const inside = cx >= 0 && cy >= 0 && cx < code.size && cy < code.size;
    return !inside || !code.dark[cy][cx];
  };
  const lines: string[] = [];
  for (let y = 0; y < span; y += 2) {
    let line = "";
    for (let x = 0; x < span; x++) {
      const top = light(x, y);
      const bottom = y + 1 < span ? light(x, y + 1) : false;
      line += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ";
    }
    lines.push(colors ? `\x1b[97;40m${line}\x1b[0m` : line);
  }
  return lines.join("\n");
}
