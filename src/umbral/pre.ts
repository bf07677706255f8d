// The scheme's top-level operations, mirroring umbral-pre's `pre.rs`: encrypt, decryptOriginal,
// generateKFrags, reencrypt, decryptReencrypted (with the threshold combination of cfrags).
import { CURVE_ORDER, Fn, isZeroSum, linCombSecret, mulSecret, pointToBytes } from "./curve";
import { Capsule } from "./capsule";
import { reencryptWith, VerifiedCapsuleFrag } from "./cfrag";
import { demDecrypt, demEncrypt } from "./dem";
import {
  InvalidThresholdError,
  MismatchedCapsuleFragsError,
  NoCapsuleFragsError,
  ReencryptionValidationError,
  RepeatedCapsuleFragsError,
} from "./errors";
import { hashCapsulePoints, hashToPolynomialArg, hashToSharedSecret } from "./hash";
import { secretScalar, type PublicKey, type SecretKey } from "./keys";
import { makeKFrags, seededKFragRandomness, type VerifiedKeyFrag } from "./kfrag";
import type { Signer } from "./signing";

/** Encrypts for `delegatingPk`: a fresh capsule and nonce ‖ XChaCha20-Poly1305(plaintext) bound to it. */
export function encrypt(delegatingPk: PublicKey, plaintext: Uint8Array): [Capsule, Uint8Array] {
  const [capsule, keySeed] = Capsule.fromPublicKey(delegatingPk);
  return [capsule, demEncrypt(keySeed, plaintext, capsule.toBytesSimple())];
}

/** Decrypts with the secret key the capsule was made for. Throws `DecryptionError` on any mismatch. */
export function decryptOriginal(delegatingSk: SecretKey, capsule: Capsule, ciphertext: Uint8Array): Uint8Array {
  return demDecrypt(capsule.openOriginal(delegatingSk), ciphertext, capsule.toBytesSimple());
}

/** Options of {@link generateKFrags}. */
export interface KFragOptions {
  /**
   * Derive the precursor, the polynomial and the kfrag ids from this secret seed (≥ 32 bytes) instead of fresh
   * randomness: the same seed and keys give the same kfrags, and {@link issueKFrags} can add shares of the same
   * polynomial later. Keep it as secret as the delegating key.
   */
  coefficientsSeed?: Uint8Array;
}

function checkThreshold(threshold: number, shares: number): void {
  if (!Number.isSafeInteger(threshold) || !Number.isSafeInteger(shares) || threshold < 1 || threshold > shares) {
    throw new InvalidThresholdError(threshold, shares);
  }
}

/**
 * Splits the re-encryption key from `delegatingSk` to `receivingPk` into `shares` kfrags, any `threshold`
 * of which suffice. Unlike umbral-pre, throws `InvalidThresholdError` unless 1 ≤ threshold ≤ shares.
 */
export function generateKFrags(
  delegatingSk: SecretKey,
  receivingPk: PublicKey,
  signer: Signer,
  threshold: number,
  shares: number,
  signDelegatingKey: boolean,
  signReceivingKey: boolean,
  options: KFragOptions = {},
): VerifiedKeyFrag[] {
  checkThreshold(threshold, shares);
  const indices = Array.from({ length: shares }, (_, i) => i);
  const randomness = options.coefficientsSeed ? seededKFragRandomness(options.coefficientsSeed) : undefined;
  return makeKFrags(
    delegatingSk,
    receivingPk,
    signer,
    threshold,
    indices,
    signDelegatingKey,
    signReceivingKey,
    randomness,
  );
}

/**
 * The kfrags of share indices `indices` of the seeded set `generateKFrags(…, { coefficientsSeed })` made: the
 * same polynomial and precursor, so they combine with that set's shares. An index past the set's `shares`
 * (e.g. `shares`, `shares + 1`, …) is a new share with a fresh id: a replacement for a node that left.
 */
export function issueKFrags(
  delegatingSk: SecretKey,
  receivingPk: PublicKey,
  signer: Signer,
  threshold: number,
  coefficientsSeed: Uint8Array,
  indices: readonly number[],
  signDelegatingKey: boolean,
  signReceivingKey: boolean,
): VerifiedKeyFrag[] {
  checkThreshold(threshold, Math.max(threshold, indices.length));
  for (const index of indices) {
    if (!Number.isSafeInteger(index) || index < 0 || index > 0xffffffff) {
      throw new RangeError(`a share index is a whole number from 0 to 2^32 − 1, got ${index}`);
    }
  }
  const randomness = seededKFragRandomness(coefficientsSeed);
  return makeKFrags(
    delegatingSk,
    receivingPk,
    signer,
    threshold,
    indices,
    signDelegatingKey,
    signReceivingKey,
    randomness,
  );
}

/** A proxy's re-encryption of `capsule` with its verified kfrag. */
export function reencrypt(capsule: Capsule, kfrag: VerifiedKeyFrag): VerifiedCapsuleFrag {
  return new VerifiedCapsuleFrag(reencryptWith(capsule, kfrag.kfrag));
}

/**
 * Bob's side: combines ≥ threshold verified cfrags of one policy into the capsule's key and decrypts.
 * Throws an `OpenReencryptedError` subclass if the cfrags cannot open the capsule, `DecryptionError` if the
 * ciphertext does not match.
 */
export function decryptReencrypted(
  receivingSk: SecretKey,
  delegatingPk: PublicKey,
  capsule: Capsule,
  verifiedCFrags: VerifiedCapsuleFrag[],
  ciphertext: Uint8Array,
): Uint8Array {
  const keySeed = openReencrypted(capsule, receivingSk, delegatingPk, verifiedCFrags);
  return demDecrypt(keySeed, ciphertext, capsule.toBytesSimple());
}

function openReencrypted(
  capsule: Capsule,
  receivingSk: SecretKey,
  delegatingPk: PublicKey,
  vcfrags: VerifiedCapsuleFrag[],
): Uint8Array {
  if (vcfrags.length === 0) throw new NoCapsuleFragsError("no capsule fragments given");
  const cfrags = vcfrags.map((v) => v.cfrag);
  const precursor = cfrags[0].precursor;
  cfrags.forEach((c, i) => {
    if (!c.precursor.equals(precursor)) {
      throw new MismatchedCapsuleFragsError(
        `capsule fragment ${i} comes from another generateKFrags call (precursor ${hex(pointToBytes(c.precursor))} != ${hex(pointToBytes(precursor))})`,
      );
    }
  });
  const ids = new Set<string>();
  cfrags.forEach((c, i) => {
    const id = hex(c.kfragId);
    if (ids.has(id)) throw new RepeatedCapsuleFragsError(`capsule fragment ${i} repeats kfrag id ${id}`);
    ids.add(id);
  });

  const skB = secretScalar(receivingSk);
  const pkB = receivingSk.publicKey().point;
  const dh = mulSecret(precursor, skB);
  const xs = cfrags.map((c) => hashToPolynomialArg(precursor, pkB, dh, c.kfragId));

  // Lagrange coefficients at 0: λ_i = Π_{j≠i} x_j / Π_{j≠i} (x_j − x_i), all denominators inverted at once.
  const nums: bigint[] = [];
  const dens: bigint[] = [];
  xs.forEach((xi, i) => {
    let num = 1n;
    let den = 1n;
    xs.forEach((xj, j) => {
      if (j === i) return;
      const diff = Fn.sub(xj, xi);
      if (diff === 0n) throw new RepeatedCapsuleFragsError(`capsule fragments ${i} and ${j} have the same share index`);
      num = Fn.mul(num, xj);
      den = Fn.mul(den, diff);
    });
    nums.push(num);
    dens.push(den);
  });
  const invDens = Fn.invertBatch(dens);
  const lambdas = nums.map((num, i) => Fn.mul(num, invDens[i]));
  // E' = Σ λ_i·e1_i and V' = Σ λ_i·v1_i are computed directly scaled by d (E'' = d·E', V'' = d·V'), with
  // the x_i, λ_i and d all derived from Bob's DH secret and kept from the proxies, so in constant time.
  // Scaling by d turns rust-umbral's check pk_A·(s/d) = h·E' + V' into s·pk_A = h·E'' + V'', whose
  // scalars s and h are public, and makes the shared point simply E'' + V''.
  const d = hashToSharedSecret(precursor, pkB, dh);
  const dLambdas = lambdas.map((l) => Fn.mul(l, d));
  const ePrime = linCombSecret(
    cfrags.map((c) => c.e1),
    dLambdas,
  );
  const vPrime = linCombSecret(
    cfrags.map((c) => c.v1),
    dLambdas,
  );
  const h = hashCapsulePoints(capsule.e, capsule.v);
  // s·pk_A − h·E'' − V'' = O: one two-point product (shared doublings), V'' added once, projective compare.
  if (!isZeroSum([delegatingPk.point, ePrime, vPrime], [capsule.s, CURVE_ORDER - h, CURVE_ORDER - 1n])) {
    throw new ReencryptionValidationError(
      `the ${cfrags.length} capsule fragment(s) do not open this capsule: fewer than the policy's threshold, ` +
        "re-encrypted from another capsule, or not verified",
    );
  }
  const shared = ePrime.add(vPrime);
  if (shared.is0()) throw new ReencryptionValidationError("the capsule fragments combine to the point at infinity");
  return pointToBytes(shared, false);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
