// Key fragments: the proxy's share rk of the re-encryption key, its commitment U1 = rk·U, and the two
// signatures (for the proxy, for the receiver) over (id, U1, P, keys). Generation and verification.
import { randomBytes } from "@noble/hashes/utils";
import {
  bytesEqual,
  Fn,
  G,
  mulSecret,
  POINT_SIZE,
  pointFromBytes,
  pointToBytes,
  randomScalar,
  SCALAR_SIZE,
  scalarFromBytes,
  scalarToBytes,
  U,
  type Point,
} from "./curve";
import { pack, Unpacker } from "./encoding";
import { DeserializationError, KeyFragVerificationError } from "./errors";
import { concat, hashToPolynomialArg, hashToSharedSecret, kdf, kfragSignatureMessage } from "./hash";
import { secretScalar, type PublicKey, type SecretKey } from "./keys";
import { Signature, SIGNATURE_SIZE, type Signer } from "./signing";

export const KFRAG_ID_SIZE = 32;

export class KeyFrag {
  /** @internal Use `generateKFrags` or `fromBytes`. */
  constructor(
    readonly id: Uint8Array,
    readonly rk: bigint,
    readonly precursor: Point,
    readonly commitment: Point,
    readonly signatureForProxy: Signature,
    readonly signatureForReceiver: Signature,
    readonly delegatingKeySigned: boolean,
    readonly receivingKeySigned: boolean,
  ) {}

  /**
   * Checks U1 = rk·U and the proxy signature. A key that the kfrag's signature covers must be given;
   * keys it does not cover are ignored. Throws `KeyFragVerificationError` with the umbral-pre reason.
   */
  verify(verifyingPk: PublicKey, delegatingPk?: PublicKey | null, receivingPk?: PublicKey | null): VerifiedKeyFrag {
    // rk is the proxy's secret share: multiply in constant time even to check the commitment.
    if (!mulSecret(U, this.rk).equals(this.commitment)) {
      throw new KeyFragVerificationError("IncorrectCommitment", "KeyFrag commitment U1 != rk·U");
    }
    if (this.delegatingKeySigned && !delegatingPk) {
      throw new KeyFragVerificationError(
        "DelegatingKeyNotProvided",
        "KeyFrag signature covers the delegating key, but no delegating key was given",
      );
    }
    if (this.receivingKeySigned && !receivingPk) {
      throw new KeyFragVerificationError(
        "ReceivingKeyNotProvided",
        "KeyFrag signature covers the receiving key, but no receiving key was given",
      );
    }
    const message = kfragSignatureMessage(
      this.id,
      this.commitment,
      this.precursor,
      this.delegatingKeySigned ? (delegatingPk as PublicKey).compressed : null,
      this.receivingKeySigned ? (receivingPk as PublicKey).compressed : null,
    );
    if (!this.signatureForProxy.verify(verifyingPk, message)) {
      throw new KeyFragVerificationError(
        "IncorrectSignature",
        "KeyFrag signature does not verify under the given keys",
      );
    }
    return new VerifiedKeyFrag(this);
  }

  /** Trusts the kfrag without checking it (e.g. it comes from the node's own storage). */
  skipVerification(): VerifiedKeyFrag {
    return new VerifiedKeyFrag(this);
  }

  /** MessagePack: [[U], id, rk, P, [U1, sig_proxy, sig_receiver, dk_signed, rk_signed]], 310 bytes. */
  toBytes(): Uint8Array {
    return pack([
      [pointToBytes(U)],
      this.id,
      scalarToBytes(this.rk),
      pointToBytes(this.precursor),
      [
        pointToBytes(this.commitment),
        this.signatureForProxy.toBEBytes(),
        this.signatureForReceiver.toBEBytes(),
        this.delegatingKeySigned,
        this.receivingKeySigned,
      ],
    ]);
  }

  static fromBytes(bytes: Uint8Array): KeyFrag {
    const r = new Unpacker(bytes, "KeyFrag");
    r.array(5);
    r.array(1);
    // The only acceptable value is U's own encoding: compare bytes rather than decompress (a square root).
    const u = r.bin(POINT_SIZE, "params.U");
    if (!bytesEqual(u, pointToBytes(U))) {
      throw new DeserializationError(
        `KeyFrag.params.U: 0x${Buffer.from(u).toString("hex")} is not umbral's second generator U`,
      );
    }
    const id = r.bin(KFRAG_ID_SIZE, "id");
    const rk = scalarFromBytes(r.bin(SCALAR_SIZE, "rk"), "KeyFrag.rk");
    const precursor = pointFromBytes(r.bin(POINT_SIZE, "precursor"), "KeyFrag.precursor");
    r.array(5);
    const commitment = pointFromBytes(r.bin(POINT_SIZE, "commitment"), "KeyFrag.commitment");
    const sigProxy = Signature.fromBEBytes(r.bin(SIGNATURE_SIZE, "signature_for_proxy"));
    const sigReceiver = Signature.fromBEBytes(r.bin(SIGNATURE_SIZE, "signature_for_receiver"));
    const dk = r.bool("delegating_key_signed");
    const rkSigned = r.bool("receiving_key_signed");
    r.end();
    return new KeyFrag(id, rk, precursor, commitment, sigProxy, sigReceiver, dk, rkSigned);
  }

  equals(other: KeyFrag): boolean {
    return bytesEqual(this.toBytes(), other.toBytes());
  }

  toString(): string {
    return `KeyFrag:${Buffer.from(this.id).toString("hex").slice(0, 16)}`;
  }
}

/** A kfrag that passed `verify` (or was explicitly trusted): the only kind `reencrypt` takes. */
export class VerifiedKeyFrag {
  /** @internal */
  constructor(readonly kfrag: KeyFrag) {}

  toBytes(): Uint8Array {
    return this.kfrag.toBytes();
  }

  unverify(): KeyFrag {
    return this.kfrag;
  }

  equals(other: VerifiedKeyFrag): boolean {
    return this.kfrag.equals(other.kfrag);
  }

  toString(): string {
    return `Verified${this.kfrag.toString()}`;
  }
}

/**
 * Where a kfrag set's secrets come from: fresh randomness (umbral-pre's way), or a seed from which the
 * precursor's x_A, the polynomial's coefficients and the kfrag ids are derived (HKDF-SHA256, domain-separated),
 * so that whoever holds the seed can issue more shares of the same polynomial later (a replacement kfrag).
 */
export interface KFragRandomness {
  /** x_A, the precursor's secret: P = x_A·G. */
  precursorSecret(): bigint;
  /** Coefficient `i` (1 ≤ i < threshold) of the polynomial; coefficient 0 is fixed by the keys. */
  coefficient(i: number): bigint;
  /** The id of share `index`, try `attempt` (a new try only for the ~2^-256 case f(x) = 0). */
  id(index: number, attempt: number): Uint8Array;
}

export const randomKFragRandomness: KFragRandomness = {
  precursorSecret: randomScalar,
  coefficient: randomScalar,
  id: () => randomBytes(KFRAG_ID_SIZE),
};

/** Smallest seed a {@link seededKFragRandomness} takes: 32 bytes, the security of the keys themselves. */
export const MIN_KFRAG_SEED_BYTES = 32;

const be32 = (n: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
};

/** A scalar in [1, n) derived from `seed` under `label`: 48 HKDF bytes reduced mod n − 1, plus 1 (bias < 2^-128). */
function derivedScalar(seed: Uint8Array, label: Uint8Array): bigint {
  const wide = kdf(seed, concat(new TextEncoder().encode("umbral-kms/kfrag-seed/v1/"), label), 48);
  let k = 0n;
  for (const byte of wide) k = (k << 8n) | BigInt(byte);
  return (k % (Fn.ORDER - 1n)) + 1n;
}

/** The randomness of a kfrag set derived from `seed` (≥ 32 secret bytes): the same seed, the same polynomial. */
export function seededKFragRandomness(seed: Uint8Array): KFragRandomness {
  if (seed.length < MIN_KFRAG_SEED_BYTES) {
    throw new RangeError(`a kfrag seed must have at least ${MIN_KFRAG_SEED_BYTES} bytes, got ${seed.length}`);
  }
  const text = (s: string) => new TextEncoder().encode(s);
  return {
    precursorSecret: () => derivedScalar(seed, text("precursor")),
    coefficient: (i) => derivedScalar(seed, concat(text("coefficient/"), be32(i))),
    id: (index, attempt) =>
      kdf(seed, concat(text("umbral-kms/kfrag-seed/v1/id/"), be32(index), be32(attempt)), KFRAG_ID_SIZE),
  };
}

/**
 * @internal The kfrag generation of `generateKFrags`, after the threshold has been checked: the shares of
 * indices `indices` (0, 1, … for a whole set; the index only matters to seeded randomness, whose ids it derives).
 */
export function makeKFrags(
  delegatingSk: SecretKey,
  receivingPk: PublicKey,
  signer: Signer,
  threshold: number,
  indices: readonly number[],
  signDelegatingKey: boolean,
  signReceivingKey: boolean,
  randomness: KFragRandomness = randomKFragRandomness,
): VerifiedKeyFrag[] {
  const delegatingPk = delegatingSk.publicKey();
  // The precursor P = x_A·G is an ephemeral DH key towards Bob; only Bob can recompute DH and hence d and
  // the share indices x_i, so proxies cannot combine their shares into the whole key.
  const xA = randomness.precursorSecret();
  const precursor = mulSecret(G, xA);
  const dh = mulSecret(receivingPk.point, xA);
  const d = hashToSharedSecret(precursor, receivingPk.point, dh);
  const coefficients = [Fn.mul(secretScalar(delegatingSk), Fn.inv(d))];
  for (let i = 1; i < threshold; i++) coefficients.push(randomness.coefficient(i));

  const out: VerifiedKeyFrag[] = [];
  for (const index of indices) {
    for (let attempt = 0; ; attempt++) {
      const id = randomness.id(index, attempt);
      const x = hashToPolynomialArg(precursor, receivingPk.point, dh, id);
      let rk = coefficients[coefficients.length - 1];
      for (let i = coefficients.length - 2; i >= 0; i--) rk = Fn.add(Fn.mul(rk, x), coefficients[i]);
      // f(x) = 0 has probability ~2^-256 per share; such a share could not be serialized, so draw another id.
      if (rk === 0n) continue;
      const commitment = mulSecret(U, rk);
      const receiverMsg = kfragSignatureMessage(
        id,
        commitment,
        precursor,
        delegatingPk.compressed,
        receivingPk.compressed,
      );
      const proxyMsg = kfragSignatureMessage(
        id,
        commitment,
        precursor,
        signDelegatingKey ? delegatingPk.compressed : null,
        signReceivingKey ? receivingPk.compressed : null,
      );
      const sigReceiver = signer.sign(receiverMsg);
      const sigProxy = signer.sign(proxyMsg);
      out.push(
        new VerifiedKeyFrag(
          new KeyFrag(id, rk, precursor, commitment, sigProxy, sigReceiver, signDelegatingKey, signReceivingKey),
        ),
      );
      break;
    }
  }
  return out;
}
