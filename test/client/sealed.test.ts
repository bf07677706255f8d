// The sealed-file format: round trips at every size around chunk boundaries, and every kind of tampering.
import { expect } from "chai";
import { randomBytes } from "@noble/hashes/utils";
import {
  SealedFileError,
  encodeHeader,
  decodeHeader,
  openStream,
  rechunk,
  sealStream,
  type SealedHeader,
} from "../../src/client/sealed";

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function* feed(data: Uint8Array, piece: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
}

const fakeCapsule = randomBytes(105);
const fakeWrapped = randomBytes(72);

async function seal(data: Uint8Array, chunkSize: number, key = randomBytes(32)) {
  const header = encodeHeader(fakeCapsule, fakeWrapped, chunkSize);
  const sealed = await collect(sealStream(feed(data, 7), key, header));
  return { key, sealed };
}

async function open(sealed: Uint8Array, key: Uint8Array, feedPiece = 5): Promise<Uint8Array> {
  return collect(openStream(feed(sealed, feedPiece), async () => key));
}

describe("sealed files", function () {
  describe("round trip", function () {
    for (const size of [0, 1, 15, 16, 17, 31, 32, 33, 100, 1000]) {
      it(`restores ${size} bytes with 16-byte chunks`, async function () {
        const data = randomBytes(size);
        const { key, sealed } = await seal(data, 16);
        expect(Buffer.from(await open(sealed, key))).to.deep.equal(Buffer.from(data));
      });
    }

    it("hands the parsed header to the key resolver", async function () {
      const { key, sealed } = await seal(randomBytes(50), 16);
      let seen: SealedHeader | undefined;
      await collect(
        openStream(feed(sealed, 3), async (header) => {
          seen = header;
          return key;
        }),
      );
      expect(Buffer.from(seen!.capsule)).to.deep.equal(Buffer.from(fakeCapsule));
      expect(Buffer.from(seen!.wrappedKey)).to.deep.equal(Buffer.from(fakeWrapped));
      expect(seen!.chunkSize).to.equal(16);
    });

    it("reports progress in plaintext bytes", async function () {
      const header = encodeHeader(fakeCapsule, fakeWrapped, 10);
      const seen: number[] = [];
      await collect(sealStream(feed(randomBytes(25), 4), randomBytes(32), header, (n) => seen.push(n)));
      expect(seen).to.deep.equal([10, 20, 25]);
    });
  });

  describe("rechunk", function () {
    it("flags only the last piece, whatever the input pieces", async function () {
      const pieces = [];
      for await (const p of rechunk(feed(randomBytes(35), 3), 10)) pieces.push([p.piece.length, p.last]);
      expect(pieces).to.deep.equal([
        [10, false],
        [10, false],
        [10, false],
        [5, true],
      ]);
    });
  });

  describe("rejects", function () {
    it("a flipped ciphertext bit", async function () {
      const { key, sealed } = await seal(randomBytes(40), 16);
      sealed[sealed.length - 20] ^= 1;
      await expect(open(sealed, key)).to.be.rejectedWith(SealedFileError, /failed authentication/);
    });

    it("a file cut at a chunk boundary (truncation)", async function () {
      const { key, sealed } = await seal(randomBytes(64), 16);
      const headerLength = decodeHeader(sealed)!.bytes.length;
      const cut = sealed.subarray(0, headerLength + 2 * (16 + 16));
      await expect(open(cut, key)).to.be.rejectedWith(SealedFileError);
    });

    it("swapped chunks (reordering)", async function () {
      const { key, sealed } = await seal(randomBytes(64), 16);
      const h = decodeHeader(sealed)!.bytes.length;
      const swapped = Buffer.from(sealed);
      Buffer.from(sealed.subarray(h, h + 32)).copy(swapped, h + 32);
      Buffer.from(sealed.subarray(h + 32, h + 64)).copy(swapped, h);
      await expect(open(swapped, key)).to.be.rejectedWith(SealedFileError, /chunk 0/);
    });

    it("a changed header (chunks are bound to it)", async function () {
      const { key, sealed } = await seal(randomBytes(20), 16);
      sealed[12] ^= 1; // inside the nonce prefix
      await expect(open(sealed, key)).to.be.rejectedWith(SealedFileError);
    });

    it("the wrong key", async function () {
      const { sealed } = await seal(randomBytes(20), 16);
      await expect(open(sealed, randomBytes(32))).to.be.rejectedWith(SealedFileError, /key is wrong/);
    });

    it("a file that is not sealed", async function () {
      await expect(open(new TextEncoder().encode("hello world, plain text"), randomBytes(32))).to.be.rejectedWith(
        SealedFileError,
        /bad magic/,
      );
    });

    it("a file that ends inside its header", async function () {
      const { key, sealed } = await seal(randomBytes(20), 16);
      await expect(open(sealed.subarray(0, 30), key)).to.be.rejectedWith(SealedFileError, /inside its header/);
    });

    it("a file with a header and no chunks", async function () {
      const { key, sealed } = await seal(randomBytes(20), 16);
      const h = decodeHeader(sealed)!.bytes.length;
      await expect(open(sealed.subarray(0, h), key)).to.be.rejectedWith(SealedFileError, /no chunks/);
    });

    it("a chunk size of zero", function () {
      expect(() => encodeHeader(fakeCapsule, fakeWrapped, 0)).to.throw(SealedFileError, /chunk size/);
    });
  });
});
