// Little-endian field access over a byte array, with bounds that return errors as values:
// a short message from the kernel (or a short reply the daemon is told to send) is data.

export class Writer {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u16(off: number, v: number): this {
    this.dv.setUint16(off, v, true);
    return this;
  }
  u32(off: number, v: number): this {
    this.dv.setUint32(off, v >>> 0, true);
    return this;
  }
  i32(off: number, v: number): this {
    this.dv.setInt32(off, v | 0, true);
    return this;
  }
  u64(off: number, v: bigint | number): this {
    this.dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
    return this;
  }
  put(off: number, b: Uint8Array): this {
    this.bytes.set(b, off);
    return this;
  }
}

export class Reader {
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.byteLength;
  }
  u16(off: number): number {
    return this.dv.getUint16(off, true);
  }
  u32(off: number): number {
    return this.dv.getUint32(off, true);
  }
  i32(off: number): number {
    return this.dv.getInt32(off, true);
  }
  u64(off: number): bigint {
    return this.dv.getBigUint64(off, true);
  }
  /** A u64 that must fit a JS number (sizes, offsets). */
  num64(off: number): number {
    return Number(this.dv.getBigUint64(off, true));
  }
  slice(off: number, len?: number): Uint8Array {
    return this.bytes.subarray(off, len === undefined ? undefined : off + len);
  }
  /** A NUL-terminated string starting at `off`. */
  cstring(off: number): string {
    let end = off;
    while (end < this.bytes.length && this.bytes[end] !== 0) end++;
    return new TextDecoder().decode(this.bytes.subarray(off, end));
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
