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
import { hashToPolynomialArg, hashToSharedSecret, kfragSignatureMessage } from "./hash";
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

/** @internal The kfrag generation of `generateKFrags`, after the threshold has been checked. */
export function makeKFrags(
  delegatingSk: SecretKey,
  receivingPk: PublicKey,
  signer: Signer,
  threshold: number,
  shares: number,
  signDelegatingKey: boolean,
  signReceivingKey: boolean,
): VerifiedKeyFrag[] {
  const delegatingPk = delegatingSk.publicKey();
  // The precursor P = x_A·G is an ephemeral DH key towards Bob; only Bob can recompute DH and hence d and
  // the share indices x_i, so proxies cannot combine their shares into the whole key.
  const xA = randomScalar();
  const precursor = mulSecret(G, xA);
  const dh = mulSecret(receivingPk.point, xA);
  const d = hashToSharedSecret(precursor, receivingPk.point, dh);
  const coefficients = [Fn.mul(secretScalar(delegatingSk), Fn.inv(d))];
  for (let i = 1; i < threshold; i++) coefficients.push(randomScalar());

  const out: VerifiedKeyFrag[] = [];
  while (out.length < shares) {
    const id = randomBytes(KFRAG_ID_SIZE);
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
  }
  return out;
}
