// The MessagePack subset rmp-serde writes for umbral-pre 0.10 objects (structs as fixarrays, byte strings
// as bin8, booleans as c2/c3), and a strict reader that accepts exactly that form and nothing else, so
// every object has one canonical encoding (the Adjudicator's replay guard hashes bytes).
import { DeserializationError } from "./errors";

export type Packable = Uint8Array | boolean | Packable[];

/** Encodes bytes as `c4 LL …`, booleans as `c2`/`c3`, arrays (≤ 15 items) as `9N …`. */
export function pack(value: Packable): Uint8Array {
  const out: number[] = [];
  const write = (v: Packable): void => {
    if (v instanceof Uint8Array) {
      if (v.length > 0xff) throw new RangeError(`bin8 holds at most 255 bytes, got ${v.length}`);
      out.push(0xc4, v.length);
      for (const b of v) out.push(b);
    } else if (typeof v === "boolean") {
      out.push(v ? 0xc3 : 0xc2);
    } else {
      if (v.length > 15) throw new RangeError(`fixarray holds at most 15 items, got ${v.length}`);
      out.push(0x90 | v.length);
      v.forEach(write);
    }
  };
  write(value);
  return Uint8Array.from(out);
}

/** Sequential strict reader; every method names the object being read in its errors. */
export class Unpacker {
  private pos = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {}

  private byte(): number {
    if (this.pos >= this.data.length) {
      throw new DeserializationError(`${this.what}: unexpected end of data at byte ${this.pos}`);
    }
    return this.data[this.pos++];
  }

  array(length: number): void {
    const at = this.pos;
    const tag = this.byte();
    if (tag !== (0x90 | length)) {
      throw new DeserializationError(
        `${this.what}: expected a ${length}-item array (0x${(0x90 | length).toString(16)}) at byte ${at}, got 0x${tag.toString(16)}`,
      );
    }
  }

  bin(length: number, field: string): Uint8Array {
    const at = this.pos;
    const tag = this.byte();
    if (tag !== 0xc4) {
      throw new DeserializationError(
        `${this.what}.${field}: expected bin8 (0xc4) at byte ${at}, got 0x${tag.toString(16)}`,
      );
    }
    const len = this.byte();
    if (len !== length) throw new DeserializationError(`${this.what}.${field}: expected ${length} bytes, got ${len}`);
    if (this.pos + len > this.data.length) {
      throw new DeserializationError(
        `${this.what}.${field}: needs ${len} bytes, only ${this.data.length - this.pos} left`,
      );
    }
    const out = this.data.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  bool(field: string): boolean {
    const at = this.pos;
    const tag = this.byte();
    if (tag === 0xc3) return true;
    if (tag === 0xc2) return false;
    throw new DeserializationError(
      `${this.what}.${field}: expected a boolean (0xc2/0xc3) at byte ${at}, got 0x${tag.toString(16)}`,
    );
  }

  end(): void {
    if (this.pos !== this.data.length) {
      throw new DeserializationError(
        `${this.what}: ${this.data.length - this.pos} trailing bytes after byte ${this.pos}`,
      );
    }
  }
}

/** Splits a fixed-size "simple" encoding into fields of the given sizes, rejecting any other total length. */
export function splitFixed(data: Uint8Array, sizes: number[], what: string): Uint8Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (data.length !== total) throw new DeserializationError(`${what}: expected ${total} bytes, got ${data.length}`);
  const out: Uint8Array[] = [];
  let off = 0;
  for (const s of sizes) {
    out.push(data.slice(off, off + s));
    off += s;
  }
  return out;
}
