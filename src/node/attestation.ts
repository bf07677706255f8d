// The operator's cfrag attestations, signed without ethers' typed-data machinery: the node signs one per cfrag,
// and ethers' `signTypedData` spends most of its ~3 ms building and hashing the EIP-712 structure from hex
// strings. Here the digest is computed with noble's keccak over the raw bytes (the domain separator and the
// three key hashes once per deployment and policy), and the ECDSA signature with Umbral's constant-time
// fixed-base product. The signature is RFC 6979 deterministic with low S, as ethers' (and noble's) `sign`, so
// it is byte for byte what `signAttestation` (src/slashing/evidence.ts) returns: the Adjudicator and
// `recoverOperator` check it unchanged.
import { keccak_256 } from "@noble/hashes/sha3";
import { hmac } from "@noble/hashes/hmac";
import { sha256 } from "@noble/hashes/sha256";
import { secp256k1 } from "@noble/curves/secp256k1";
import { bytesToNumberBE, createHmacDrbg, numberToBytesBE } from "@noble/curves/abstract/utils";
import { getAddress, getBytes, computeAddress } from "ethers";
import {
  ATTESTATION_DOMAIN_NAME,
  ATTESTATION_DOMAIN_VERSION,
  checkLengths,
  type AttestationDomain,
  type AttestedCFrag,
} from "../slashing/evidence";
import { affine, CURVE_ORDER, Fn, G, mulSecret, randomScalar } from "../umbral/curve";
import { invertPublic } from "../umbral/ec";
import { concat } from "../umbral/hash";

const utf8 = (text: string) => new TextEncoder().encode(text);
const HALF_ORDER = CURVE_ORDER >> 1n;

const word = (value: bigint) => numberToBytesBE(value, 32);

const DOMAIN_TYPEHASH = keccak_256(
  utf8("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
);
const ATTESTATION_TYPEHASH = keccak_256(
  utf8("ReencryptionAttestation(bytes capsule,bytes cfrag,bytes delegatingKey,bytes receivingKey,bytes verifyingKey)"),
);

/** The EIP-712 domain separator of `domain`'s Adjudicator. */
export function attestationDomainSeparator(domain: AttestationDomain): Uint8Array {
  const contract = new Uint8Array(32);
  contract.set(getBytes(getAddress(domain.adjudicator)), 12);
  return keccak_256(
    concat(
      DOMAIN_TYPEHASH,
      keccak_256(utf8(ATTESTATION_DOMAIN_NAME)),
      keccak_256(utf8(ATTESTATION_DOMAIN_VERSION)),
      word(domain.chainId),
      contract,
    ),
  );
}

/** The hashes of a policy's three attested keys: computed once per policy, reused for all its cfrags. */
export function attestedKeyHashes(keys: Pick<AttestedCFrag, "delegatingKey" | "receivingKey" | "verifyingKey">) {
  return concat(keccak_256(keys.delegatingKey), keccak_256(keys.receivingKey), keccak_256(keys.verifyingKey));
}

/**
 * The EIP-712 digest of the attestation of `e` (the same bytes as `attestationDigest` in src/slashing), from
 * the domain separator and, when given, the key hashes of {@link attestedKeyHashes}.
 */
export function attestationDigestBytes(
  e: AttestedCFrag,
  domainSeparator: Uint8Array,
  keyHashes: Uint8Array = attestedKeyHashes(e),
): Uint8Array {
  checkLengths(e);
  const structHash = keccak_256(concat(ATTESTATION_TYPEHASH, keccak_256(e.capsule), keccak_256(e.cfrag), keyHashes));
  return keccak_256(concat(Uint8Array.of(0x19, 0x01), domainSeparator, structHash));
}

/** Raised for an operator key that is not a secp256k1 secret key. */
export class OperatorKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OperatorKeyError";
  }
}

/** Signs cfrag attestations with the operator's secret key in one deployment's domain. */
export class AttestationSigner {
  readonly address: string;
  private readonly d: bigint;
  private readonly dBytes: Uint8Array;
  private readonly separator: Uint8Array;

  /** `privateKey`: the operator's 32-byte secret key (0x-hex). */
  constructor(privateKey: string, domain: AttestationDomain) {
    let bytes: Uint8Array;
    try {
      bytes = getBytes(privateKey);
    } catch {
      throw new OperatorKeyError("the operator key is not hex");
    }
    const d = bytes.length === 32 ? bytesToNumberBE(bytes) : 0n;
    if (d <= 0n || d >= CURVE_ORDER) throw new OperatorKeyError("the operator key is not a secp256k1 secret key");
    this.d = d;
    this.dBytes = bytes;
    this.address = computeAddress(privateKey);
    this.separator = attestationDomainSeparator(domain);
  }

  /** The 65-byte signature (r ‖ s ‖ v, v = 27 or 28) of the attestation of `e`. */
  sign(e: AttestedCFrag, keyHashes?: Uint8Array): Uint8Array {
    return this.signDigest(attestationDigestBytes(e, this.separator, keyHashes));
  }

  /**
   * ECDSA over a 32-byte digest, as noble's `sign(digest, key, { lowS: true })`: the nonce from RFC 6979's
   * HMAC-DRBG seeded with d ‖ (h mod n), k·G by `mulSecret` (constant time), 1/k blinded (1/k = b / (k·b)
   * for a fresh random b, so the variable-time inverse sees only a uniformly random scalar).
   */
  signDigest(digest: Uint8Array): Uint8Array {
    const h = bytesToNumberBE(digest) % CURVE_ORDER;
    const drbg = createHmacDrbg<Uint8Array | null>(32, 32, (key, ...msgs) => hmac(sha256, key, concat(...msgs)));
    const signature = drbg(concat(this.dBytes, word(h)), (kBytes) => {
      const k = bytesToNumberBE(kBytes);
      if (k === 0n || k >= CURVE_ORDER) return undefined;
      const R = affine(mulSecret(G, k));
      // R.x ≥ n (probability ~2^-128) needs a recovery id Ethereum's v cannot carry: noble's path below.
      if (R.x >= CURVE_ORDER) return null;
      const r = R.x;
      if (r === 0n) return undefined;
      const b = randomScalar();
      const kInv = Fn.mul(invertPublic(Fn.mul(k, b), CURVE_ORDER), b);
      let s = Fn.mul(kInv, Fn.add(h, Fn.mul(r, this.d)));
      if (s === 0n) return undefined;
      let recovery = Number(R.y & 1n);
      if (s > HALF_ORDER) {
        s = CURVE_ORDER - s;
        recovery ^= 1;
      }
      return concat(word(r), word(s), Uint8Array.of(27 + recovery));
    });
    if (signature) return signature;
    const fallback = secp256k1.sign(digest, this.dBytes, { lowS: true });
    return concat(fallback.toCompactRawBytes(), Uint8Array.of(27 + fallback.recovery));
  }
}
