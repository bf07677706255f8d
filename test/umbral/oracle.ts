// Shared helpers for the Umbral tests: the umbral-pre WASM oracle and conversions between the two sides.
// umbral-pre's `verify()` consumes its receiver even when it throws, so every oracle object that is
// verified is rebuilt from bytes first (`wasmKFrag(bytes)`, `wasmCFrag(bytes)`).
import * as W from "@nucypher/umbral-pre";
import * as T from "../../src/umbral";

export { W, T };

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const be32 = (x: bigint): string => x.toString(16).padStart(64, "0");

export const wasmPk = (pk: T.PublicKey): W.PublicKey => W.PublicKey.fromCompressedBytes(pk.toCompressedBytes());
export const tsPk = (pk: W.PublicKey): T.PublicKey => T.PublicKey.fromCompressedBytes(pk.toCompressedBytes());
export const wasmSk = (sk: T.SecretKey): W.SecretKey => W.SecretKey.fromBEBytes(sk.toBEBytes());
export const wasmCapsule = (c: T.Capsule): W.Capsule => W.Capsule.fromBytes(c.toBytes());

/** A random integer in [lo, hi]. */
export function randInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/** A random plaintext of 0..max bytes. */
export function randomPlaintext(max = 300): Uint8Array {
  const out = new Uint8Array(randInt(0, max));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(Math.random() * 256);
  return out;
}

/** `count` distinct indices from [0, n), in random order. */
export function pick(n: number, count: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, count);
}

/** Everything one policy needs, on the TypeScript side. */
export function tsParties() {
  const delegatingSk = T.SecretKey.random();
  const receivingSk = T.SecretKey.random();
  const signer = new T.Signer(T.SecretKey.random());
  return {
    delegatingSk,
    delegatingPk: delegatingSk.publicKey(),
    receivingSk,
    receivingPk: receivingSk.publicKey(),
    signer,
    verifyingPk: signer.verifyingKey(),
  };
}

export type Parties = ReturnType<typeof tsParties>;

/** A TypeScript-side policy: capsule, ciphertext, kfrags and all cfrags. */
export function tsPolicy(threshold = 2, shares = 3, plaintext = utf8("peace at dawn")) {
  const p = tsParties();
  const [capsule, ciphertext] = T.encrypt(p.delegatingPk, plaintext);
  const kfrags = T.generateKFrags(p.delegatingSk, p.receivingPk, p.signer, threshold, shares, true, true);
  const cfrags = kfrags.map((k) => T.reencrypt(capsule, k));
  return { ...p, plaintext, capsule, ciphertext, kfrags, cfrags };
}
