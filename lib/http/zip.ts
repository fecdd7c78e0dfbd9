/**
 * A streaming ZIP writer (PKWARE APPNOTE 6.3): entries are STORED (no
 * compression) and each file's CRC-32 and sizes follow its data in a data
 * descriptor, so nothing is held but the central directory's small records.
 * Zip64 fields are used for a file of 4 GiB or more, for offsets past 4 GiB,
 * and for more than 65 535 entries. Names are UTF-8 (flag bit 11).
 */
import type { ReadHandle } from "../storage/storage.ts";

/** One entry to write. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated, without a trailing `/`. */
  name: string;
  dir: boolean;
  mtime: Date;
  /** Bytes to take from the file (at most; it may have shrunk). */
  size: number;
  /** Opens a file's content (not called for a folder). */
  open(): Promise<ReadHandle>;
}

/** How the writer is tuned. */
export interface ZipOptions {
  /** Zip64 fields for every entry and the end records, whatever the sizes (for tests). */
  forceZip64?: boolean;
  /** Most entries one archive may hold: the central directory is kept in memory. */
  maxEntries?: number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < 8; s++) {
      t[s * 256 + n] = (t[(s - 1) * 256 + n] >>> 8) ^ t[t[(s - 1) * 256 + n] & 0xff];
    }
  }
  return t;
})();

/** The CRC-32 (IEEE) of `data`, continuing from `crc` (0 to start). Slicing by 8. */
export function crc32(data: Uint8Array, crc = 0): number {
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  let i = 0;
  const fast = data.length - (data.length % 8);
  for (; i < fast; i += 8) {
    const a = (c ^ (data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24)) >>> 0;
    c = t[7 * 256 + (a & 0xff)] ^ t[6 * 256 + ((a >>> 8) & 0xff)] ^
      t[5 * 256 + ((a >>> 16) & 0xff)] ^ t[4 * 256 + (a >>> 24)] ^
      t[3 * 256 + data[i + 4]] ^ t[2 * 256 + data[i + 5]] ^ t[256 + data[i + 6]] ^ t[data[i + 7]];
  }
  for (; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
/** Version 4.5 (zip64), made on Unix. */
const MADE_BY = (3 << 8) | 45;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;

/** Little-endian writing into a fixed-size record. */
class Record {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
  }
  u16(v: number): this {
    this.#view.setUint16(this.#at, v, true);
    this.#at += 2;
    return this;
  }
  u32(v: number): this {
    this.#view.setUint32(this.#at, v >>> 0, true);
    this.#at += 4;
    return this;
  }
  u64(v: number): this {
    this.#view.setBigUint64(this.#at, BigInt(v), true);
    this.#at += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.#at);
    this.#at += b.length;
    return this;
  }
}

/** MS-DOS date and time (local fields, taken as UTC), clamped to 1980..2107. */
export function dosDateTime(d: Date): { date: number; time: number } {
  const year = Math.min(2107, Math.max(1980, d.getUTCFullYear()));
  if (year !== d.getUTCFullYear()) return { date: year === 1980 ? 0x21 : 0xff9f, time: 0 };
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/** What the central directory keeps of a written entry. */
interface Written {
  name: Uint8Array;
  dir: boolean;
  zip64: boolean;
  crc: number;
  size: number;
  offset: number;
  date: number;
  time: number;
}

const encoder = new TextEncoder();

/** Bytes read from a file per chunk. */
const CHUNK = 128 * 1024;

function localHeader(e: Written): Uint8Array {
  const extra = e.zip64 ? 20 : 0;
  const r = new Record(30 + e.name.length + extra)
    .u32(0x04034b50)
    .u16(e.zip64 ? 45 : 20)
    .u16(FLAG_UTF8 | (e.dir ? 0 : FLAG_DESCRIPTOR))
    .u16(0) // stored
    .u16(e.time).u16(e.date)
    .u32(0) // CRC: in the data descriptor
    .u32(e.zip64 ? MAX32 : 0).u32(e.zip64 ? MAX32 : 0)
    .u16(e.name.length).u16(extra)
    .raw(e.name);
  if (e.zip64) r.u16(0x0001).u16(16).u64(0).u64(0);
  return r.bytes;
}

function dataDescriptor(e: Written): Uint8Array {
  const r = new Record(e.zip64 ? 24 : 16).u32(0x08074b50).u32(e.crc);
  return (e.zip64 ? r.u64(e.size).u64(e.size) : r.u32(e.size).u32(e.size)).bytes;
}

function centralHeader(e: Written, force: boolean): Uint8Array {
  const bigOffset = force || e.offset >= MAX32;
  const fields = (e.zip64 ? 2 : 0) + (bigOffset ? 1 : 0);
  const extra = fields === 0 ? 0 : 4 + 8 * fields;
  const r = new Record(46 + e.name.length + extra)
    .u32(0x02014b50)
    .u16(MADE_BY)
    .u16(e.zip64 || bigOffset ? 45 : 20)
    .u16(FLAG_UTF8 | (e.dir ? 0 : FLAG_DESCRIPTOR))
    .u16(0)
    .u16(e.time).u16(e.date)
    .u32(e.crc)
    .u32(e.zip64 ? MAX32 : e.size).u32(e.zip64 ? MAX32 : e.size)
    .u16(e.name.length).u16(extra).u16(0) // comment
    .u16(0) // disk
    .u16(0) // internal attributes
    .u32(e.dir ? ((0o40755 << 16) | 0x10) : (0o100644 << 16))
    .u32(bigOffset ? MAX32 : e.offset)
    .raw(e.name);
  if (fields > 0) {
    r.u16(0x0001).u16(8 * fields);
    if (e.zip64) r.u64(e.size).u64(e.size);
    if (bigOffset) r.u64(e.offset);
  }
  return r.bytes;
}

function endRecords(count: number, cdOffset: number, cdSize: number, force: boolean): Uint8Array {
  const zip64 = force || count >= MAX16 || cdOffset >= MAX32 || cdSize >= MAX32;
  const end = new Record(22)
    .u32(0x06054b50)
    .u16(0).u16(0)
    .u16(zip64 ? MAX16 : count).u16(zip64 ? MAX16 : count)
    .u32(zip64 ? MAX32 : cdSize).u32(zip64 ? MAX32 : cdOffset)
    .u16(0).bytes;
  if (!zip64) return end;
  const end64 = new Record(56)
    .u32(0x06064b50)
    .u64(44) // size of the rest of this record
    .u16(MADE_BY).u16(45)
    .u32(0).u32(0)
    .u64(count).u64(count)
    .u64(cdSize).u64(cdOffset).bytes;
  const locator = new Record(20)
    .u32(0x07064b50)
    .u32(0)
    .u64(cdOffset + cdSize)
    .u32(1).bytes;
  const all = new Uint8Array(end64.length + locator.length + end.length);
  all.set(end64, 0);
  all.set(locator, end64.length);
  all.set(end, end64.length + locator.length);
  return all;
}

/** Thrown when an archive would hold more entries than `maxEntries`. */
export class TooManyEntries extends Error {}

/** The chunks of a ZIP archive of `entries`, produced as they are taken. */
export async function* zipChunks(
  entries: AsyncIterable<ZipEntry>,
  opts: ZipOptions = {},
): AsyncGenerator<Uint8Array> {
  const force = opts.forceZip64 ?? false;
  const max = opts.maxEntries ?? 200_000;
  const written: Written[] = [];
  let offset = 0;
  for await (const entry of entries) {
    if (written.length >= max) throw new TooManyEntries(`more than ${max} entries`);
    const { date, time } = dosDateTime(entry.mtime);
    const e: Written = {
      name: encoder.encode(entry.dir ? `${entry.name}/` : entry.name),
      dir: entry.dir,
      zip64: !entry.dir && (force || entry.size >= MAX32),
      crc: 0,
      size: 0,
      offset,
      date,
      time,
    };
    const header = localHeader(e);
    offset += header.length;
    yield header;
    if (!entry.dir) {
      const handle = await entry.open();
      try {
        // Never more than announced: a file that grew must not outgrow its 32-bit fields.
        for (let left = entry.size; left > 0;) {
          const buf = new Uint8Array(Math.min(CHUNK, left));
          const n = await handle.read(buf);
          if (n === null) break;
          const chunk = n === buf.length ? buf : buf.subarray(0, n);
          e.crc = crc32(chunk, e.crc);
          e.size += n;
          left -= n;
          offset += n;
          yield chunk;
        }
      } finally {
        handle.close();
      }
      const descriptor = dataDescriptor(e);
      offset += descriptor.length;
      yield descriptor;
    }
    written.push(e);
  }
  const cdOffset = offset;
  for (const e of written) {
    const h = centralHeader(e, force);
    offset += h.length;
    yield h;
  }
  yield endRecords(written.length, cdOffset, offset - cdOffset, force);
}
