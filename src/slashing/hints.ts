// Hints for Adjudicator.evaluateCFrag: the facts the contract checks instead of computing (products, y
// coordinates, slopes), packed at the fixed offsets of contracts/lib/ReencryptionValidator.sol.
//
// Every point and product comes from src/umbral's ReencryptionEvidence; this file only lays them out and
// adds the field facts the evidence does not carry: the y of the verifying key, the precursor and the delegating
// and receiving keys, and the addition slopes.
import { secp256k1 } from "@noble/curves/secp256k1";
import { invert } from "@noble/curves/abstract/modular";
import { bytesToNumberBE } from "@noble/curves/abstract/utils";
import { Capsule, CapsuleFrag, PublicKey, ReencryptionEvidence, type EvidencePoint } from "../umbral";
import { checkLengths, KEY_LENGTH, packEvidence, type AttestedCFrag, type SignedCFrag } from "./evidence";

/** Offset of the precursor P in a cfrag's simple form (e1 ‖ v1 ‖ id ‖ P ‖ …). */
const CFRAG_PRECURSOR_AT = 98;

const Fp = secp256k1.Point.Fp;
const P = Fp.ORDER;

export const HINTS_LENGTH = 417;
/** The hints with s⁻¹ and the nonce point's y, which let the contract prove an invalid kfrag signature in one
 * `ecrecover` (ReencryptionValidator.HINTS_LENGTH_PROVING). */
export const HINTS_LENGTH_PROVING = 481;
const N = secp256k1.CURVE.n;

/** Adjudicator verdicts, as `Verdict` in ReencryptionValidator.sol. */
export const Verdict = {
  Correct: 0,
  KFragSignatureInvalid: 1,
  EEquationFailed: 2,
  VEquationFailed: 3,
  UEquationFailed: 4,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Names of the verdicts, by value. */
export const VERDICT_NAMES: readonly string[] = Object.keys(Verdict);

/** The arguments of `Adjudicator.evaluateCFrag`, in order. */
export interface EvaluationArgs {
  /** capsule ‖ cfrag ‖ delegating ‖ receiving ‖ verifying key (556 bytes): what the node signed. */
  evidence: Uint8Array;
  nodeSignature: Uint8Array;
  hints: Uint8Array;
}

type Affine = { x: bigint; y: bigint };

function word(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let n = v;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

/** Slope of the line through a and b (the tangent when a = b); 0 when a = −b (the contract needs none). */
export function additionSlope(a: Affine, b: Affine): bigint {
  if (a.x === b.x) {
    if (a.y !== b.y) return 0n;
    return mod(3n * a.x * a.x * Fp.inv(mod(2n * a.y)));
  }
  return mod((b.y - a.y) * Fp.inv(mod(b.x - a.x)));
}

/** The y coordinate of a compressed point. */
export function yOf(compressed: Uint8Array): bigint {
  return secp256k1.Point.fromBytes(compressed).toAffine().y;
}

/**
 * s⁻¹ mod N and a y of the curve point with x = r for the kfrag signature (r, s), when both exist and the
 * contract would use them (r and the verifying key's x in [1, N), s low-S); else null.
 */
function noncePointHints(signature: Uint8Array, verifyingKey: Uint8Array): [bigint, bigint] | null {
  const r = bytesToNumberBE(signature.subarray(0, 32));
  const s = bytesToNumberBE(signature.subarray(32, 64));
  const vkX = secp256k1.Point.fromBytes(verifyingKey).toAffine().x;
  // Out of range or high-S: the contract rejects the signature before any ecrecover.
  if (r === 0n || r >= N || s === 0n || s > N >> 1n || vkX >= N) return null;
  let y: bigint;
  try {
    y = Fp.sqrt(mod(r * r * r + 7n));
  } catch {
    return null; // no point has x = r: the two-ecrecover path decides
  }
  if (mod(y * y) !== mod(r * r * r + 7n)) return null;
  return [invert(s, N), y];
}

/**
 * Packs the hint bytes from an evidence and its keys: h·e1, h·v1, h·U1 (x, y), the verifying key's y, the
 * three addition slopes (which also fix e2, v2, u2's y on-chain), the y of the precursor P and of the delegating
 * and receiving keys, and the kfrag signature's recovery id (byte 416): 417 bytes. For a kfrag signature that
 * does not verify, two more words, s⁻¹ and the y of the point with x = r (481 bytes), let the contract prove it
 * with one `ecrecover` instead of two (3k gas less); a valid signature needs only the recovery id.
 */
export function buildHints(evidence: ReencryptionEvidence, attested: AttestedCFrag): Uint8Array {
  checkLengths(attested);
  const words: bigint[] = [];
  for (const hp of [evidence.e1h, evidence.v1h, evidence.u1h]) words.push(hp.x, hp.y);
  words.push(yOf(attested.verifyingKey));
  words.push(
    additionSlope(evidence.e2, evidence.e1h),
    additionSlope(evidence.v2, evidence.v1h),
    additionSlope(evidence.u2, evidence.u1h),
  );
  const precursor = attested.cfrag.subarray(CFRAG_PRECURSOR_AT, CFRAG_PRECURSOR_AT + KEY_LENGTH);
  words.push(yOf(precursor), yOf(attested.delegatingKey), yOf(attested.receivingKey));
  const proving =
    evidence.kfragSignatureV === null ? noncePointHints(evidence.kfragSignature, attested.verifyingKey) : null;
  const hints = new Uint8Array(proving ? HINTS_LENGTH_PROVING : HINTS_LENGTH);
  words.forEach((w, i) => hints.set(word(w), 32 * i));
  // Only the order in which the contract tries the two recovery ids; a wrong or unknown bit costs gas only.
  hints[HINTS_LENGTH - 1] = evidence.kfragSignatureV ?? 0;
  if (proving) proving.forEach((w, i) => hints.set(word(w), HINTS_LENGTH + 32 * i));
  return hints;
}

/** src/umbral's evidence for a signed cfrag, parsed from its simple forms (the capsule is self-checked). */
export function evidenceOf(signed: Omit<SignedCFrag, "nodeSignature">): ReencryptionEvidence {
  checkLengths(signed);
  return new ReencryptionEvidence(
    Capsule.fromBytesSimple(signed.capsule),
    CapsuleFrag.fromBytesSimple(signed.cfrag),
    PublicKey.fromCompressedBytes(signed.verifyingKey),
    PublicKey.fromCompressedBytes(signed.delegatingKey),
    PublicKey.fromCompressedBytes(signed.receivingKey),
  );
}

/** The exact arguments of `Adjudicator.evaluateCFrag` for a signed cfrag. */
export function buildEvaluationArgs(signed: SignedCFrag): EvaluationArgs {
  checkLengths(signed);
  return {
    evidence: packEvidence(signed),
    nodeSignature: signed.nodeSignature,
    hints: buildHints(evidenceOf(signed), signed),
  };
}

function holds(product: EvidencePoint, a: EvidencePoint, b: EvidencePoint, z: bigint): boolean {
  const total = secp256k1.Point.fromAffine({ x: a.x, y: a.y }).add(secp256k1.Point.fromAffine({ x: b.x, y: b.y }));
  if (z === 0n) return total.is0();
  return !total.is0() && total.equals(secp256k1.Point.fromAffine({ x: product.x, y: product.y }));
}

/** The verdict the Adjudicator will reach, computed off-chain (same order of checks). */
export function predictVerdict(evidence: ReencryptionEvidence): Verdict {
  if (evidence.kfragSignatureV === null) return Verdict.KFragSignatureInvalid;
  const z = evidence.z;
  if (!holds(evidence.ez, evidence.e2, evidence.e1h, z)) return Verdict.EEquationFailed;
  if (!holds(evidence.vz, evidence.v2, evidence.v1h, z)) return Verdict.VEquationFailed;
  if (!holds(evidence.uz, evidence.u2, evidence.u1h, z)) return Verdict.UEquationFailed;
  return Verdict.Correct;
}
