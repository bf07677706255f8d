// The capsule (E, V, s): the KEM half of Umbral. Encapsulation to a public key, opening with the
// delegating secret key, and the self-check s·G = V + h·E that every decoded capsule must pass.
import {
  bytesEqual,
  cacheCompressed,
  CURVE_ORDER,
  Fn,
  G,
  isZeroSum,
  mulSecret,
  mulSecretOfSum,
  POINT_SIZE,
  pointFromBytes,
  pointToBytes,
  randomScalar,
  SCALAR_SIZE,
  scalarFromBytes,
  scalarToBytes,
  type Point,
} from "./curve";
import { pack, splitFixed, Unpacker } from "./encoding";
import { CapsuleVerificationError } from "./errors";
import { concat, hashCapsulePoints } from "./hash";
import { secretScalar, type PublicKey, type SecretKey } from "./keys";

export const CAPSULE_SIMPLE_SIZE = 2 * POINT_SIZE + SCALAR_SIZE;

export class Capsule {
  /** @internal Use `encrypt` or `fromBytes`; the constructor does not check the capsule. */
  constructor(
    readonly e: Point,
    readonly v: Point,
    readonly s: bigint,
  ) {}

  /** Decodes and self-checks; a tampered capsule throws `CapsuleVerificationError`. */
  static fromBytes(bytes: Uint8Array): Capsule {
    const r = new Unpacker(bytes, "Capsule");
    r.array(3);
    const e = r.bin(POINT_SIZE, "E");
    const v = r.bin(POINT_SIZE, "V");
    const s = r.bin(SCALAR_SIZE, "s");
    r.end();
    return Capsule.checked(e, v, s);
  }

  /** Decodes the 98-byte E ‖ V ‖ s form and self-checks it. */
  static fromBytesSimple(bytes: Uint8Array): Capsule {
    const [e, v, s] = splitFixed(bytes, [POINT_SIZE, POINT_SIZE, SCALAR_SIZE], "Capsule (simple)");
    return Capsule.checked(e, v, s);
  }

  private static checked(eb: Uint8Array, vb: Uint8Array, sb: Uint8Array): Capsule {
    const capsule = new Capsule(
      pointFromBytes(eb, "Capsule.E"),
      pointFromBytes(vb, "Capsule.V"),
      scalarFromBytes(sb, "Capsule.s"),
    );
    if (!capsule.isValid()) {
      throw new CapsuleVerificationError("Capsule self-check failed: s·G != V + h·E (capsule tampered or malformed)");
    }
    return capsule;
  }

  /**
   * s·G = V + h·E; all three are public, so variable-time arithmetic is fine. Asked as
   * s·G − h·E − V = O: G's fixed-base table, one GLV product for E, V added once.
   */
  private isValid(): boolean {
    const h = hashCapsulePoints(this.e, this.v);
    return isZeroSum([G, this.e, this.v], [this.s, CURVE_ORDER - h, CURVE_ORDER - 1n]);
  }

  toBytes(): Uint8Array {
    return pack([pointToBytes(this.e), pointToBytes(this.v), scalarToBytes(this.s)]);
  }

  /** E ‖ V ‖ s, 98 bytes: the DEM's associated data and the on-chain form. */
  toBytesSimple(): Uint8Array {
    return concat(pointToBytes(this.e), pointToBytes(this.v), scalarToBytes(this.s));
  }

  equals(other: Capsule): boolean {
    return bytesEqual(this.toBytesSimple(), other.toBytesSimple());
  }

  toString(): string {
    return `Capsule:${Buffer.from(scalarToBytes(this.s)).toString("hex").slice(0, 16)}`;
  }

  /** @internal A new capsule for `pk` and its 33-byte key seed (r + u)·pk. */
  static fromPublicKey(pk: PublicKey): [Capsule, Uint8Array] {
    for (;;) {
      const r = randomScalar();
      const u = randomScalar();
      const ru = Fn.add(r, u);
      // r + u = 0 mod n would make the shared point the identity; retry (probability ~2^-256).
      if (ru === 0n) continue;
      const e = mulSecret(G, r);
      const v = mulSecret(G, u);
      cacheCompressed([e, v]); // both are published: one inversion for the two encodings
      const h = hashCapsulePoints(e, v);
      const s = Fn.add(u, Fn.mul(r, h));
      if (s === 0n) continue;
      return [new Capsule(e, v, s), pointToBytes(mulSecret(pk.point, ru), false)];
    }
  }

  /** @internal The key seed sk·(E + V), for the delegating key's owner. */
  openOriginal(sk: SecretKey): Uint8Array {
    return pointToBytes(mulSecretOfSum([this.e, this.v], secretScalar(sk)), false);
  }
}
