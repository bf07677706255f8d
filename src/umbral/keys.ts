// Secret and public keys, and the seed-based SecretKeyFactory, as umbral-pre's `keys.rs`.
import { randomBytes } from "@noble/hashes/utils";
import { DeserializationError } from "./errors";
import {
  bytesEqual,
  G,
  mulSecret,
  pointFromBytes,
  pointToBytes,
  randomScalar,
  scalarFromBytes,
  scalarToBytes,
  type Point,
} from "./curve";
import { kdf, ScalarDigest } from "./hash";

// The scalar lives outside the object so that logging or JSON-serializing a SecretKey shows nothing secret.
const SCALARS = new WeakMap<SecretKey, bigint>();

/** A secp256k1 secret key: a scalar in [1, n). */
export class SecretKey {
  private cachedPk?: PublicKey;

  private constructor(scalar: bigint) {
    SCALARS.set(this, scalar);
  }

  /** A fresh key from the platform's CSPRNG. */
  static random(): SecretKey {
    return new SecretKey(randomScalar());
  }

  /** Parses a 32-byte big-endian scalar; zero and values ≥ n are rejected. */
  static fromBEBytes(bytes: Uint8Array): SecretKey {
    return new SecretKey(scalarFromBytes(bytes, "SecretKey"));
  }

  /** @internal Wraps a scalar already known to be in [1, n). */
  static fromScalar(scalar: bigint): SecretKey {
    return new SecretKey(scalar);
  }

  toBEBytes(): Uint8Array {
    return scalarToBytes(secretScalar(this));
  }

  publicKey(): PublicKey {
    this.cachedPk ??= PublicKey.fromPoint(mulSecret(G, secretScalar(this)));
    return this.cachedPk;
  }

  toString(): string {
    return "SecretKey:...";
  }
}

/** @internal The scalar of a secret key; not re-exported from the package index. */
export function secretScalar(sk: SecretKey): bigint {
  const k = SCALARS.get(sk);
  if (k === undefined) throw new TypeError("not a SecretKey made by this module");
  return k;
}

/** A secp256k1 public key, exchanged as 33-byte compressed SEC1. */
export class PublicKey {
  private constructor(
    /** @internal */ readonly point: Point,
    private readonly bytes: Uint8Array,
  ) {}

  static fromCompressedBytes(bytes: Uint8Array): PublicKey {
    return new PublicKey(pointFromBytes(bytes, "PublicKey"), bytes.slice());
  }

  /** @internal */
  static fromPoint(point: Point): PublicKey {
    return new PublicKey(point, pointToBytes(point));
  }

  toCompressedBytes(): Uint8Array {
    return this.bytes.slice();
  }

  /** @internal The compressed bytes without a defensive copy. */
  get compressed(): Uint8Array {
    return this.bytes;
  }

  equals(other: PublicKey): boolean {
    return bytesEqual(this.bytes, other.bytes);
  }

  toString(): string {
    return `PublicKey:${Buffer.from(this.bytes).toString("hex")}`;
  }
}

const SEED_SIZE = 32;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const withPrefix = (prefix: string, label: Uint8Array): Uint8Array => {
  const p = utf8(prefix);
  const out = new Uint8Array(p.length + label.length);
  out.set(p);
  out.set(label, p.length);
  return out;
};

const SEEDS = new WeakMap<SecretKeyFactory, Uint8Array>();

/** Deterministic derivation of keys, secrets and sub-factories from a 32-byte seed and byte labels. */
export class SecretKeyFactory {
  private constructor(seed: Uint8Array) {
    SEEDS.set(this, seed);
  }

  static random(): SecretKeyFactory {
    return new SecretKeyFactory(randomBytes(SEED_SIZE));
  }

  static seedSize(): number {
    return SEED_SIZE;
  }

  /** The seed must come from a cryptographically secure source and be exactly 32 bytes. */
  static fromSecureRandomness(seed: Uint8Array): SecretKeyFactory {
    if (seed.length !== SEED_SIZE) {
      throw new DeserializationError(`SecretKeyFactory seed: expected ${SEED_SIZE} bytes, got ${seed.length}`);
    }
    return new SecretKeyFactory(seed.slice());
  }

  private seed(): Uint8Array {
    return SEEDS.get(this) as Uint8Array;
  }

  /** sk = hash-to-scalar(DST = "KEY_DERIVATION/" ‖ label, HKDF(seed, info = that DST, 64 bytes)). */
  makeKey(label: Uint8Array): SecretKey {
    const info = withPrefix("KEY_DERIVATION/", label);
    const key = kdf(this.seed(), info, 64);
    return SecretKey.fromScalar(new ScalarDigest(info).bytes(key).finalize());
  }

  /** 64 secret bytes: HKDF(seed, info = "SECRET_DERIVATION/" ‖ label), as umbral-pre 0.10. */
  makeSecret(label: Uint8Array): Uint8Array {
    return kdf(this.seed(), withPrefix("SECRET_DERIVATION/", label), SECRET_SIZE);
  }

  /** A child factory: HKDF(seed, info = "FACTORY_DERIVATION/" ‖ label, 32 bytes) as its seed. */
  makeFactory(label: Uint8Array): SecretKeyFactory {
    return new SecretKeyFactory(kdf(this.seed(), withPrefix("FACTORY_DERIVATION/", label), SEED_SIZE));
  }

  toString(): string {
    return "SecretKeyFactory:...";
  }
}

const SECRET_SIZE = 64;
