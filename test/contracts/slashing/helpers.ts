// Test helpers for slashing: honest cfrags from our Umbral module and from @nucypher/umbral-pre, and cheating
// cfrags crafted field by field (the cheats no honest implementation would produce).
import * as pre from "@nucypher/umbral-pre";
import type { Signer } from "ethers";
import * as umbral from "../../../src/umbral";
import { CapsuleFrag } from "../../../src/umbral/cfrag";
import { Capsule } from "../../../src/umbral/capsule";
import { Signature } from "../../../src/umbral/signing";
import { CURVE_ORDER, Point, U, randomScalar } from "../../../src/umbral/curve";
import { hashToCfragVerification } from "../../../src/umbral/hash";
import {
  attestationDomainOf,
  signAttestation,
  type AttestationDomain,
  type AttestedCFrag,
  type SignedCFrag,
} from "../../../src/slashing";

export const N = CURVE_ORDER;

/** A capsule with one cfrag of it, a second capsule with a cfrag by the same kfrag, and the keys. */
export interface Scenario {
  origin: "ours" | "umbral-pre";
  capsule: Uint8Array;
  cfrag: Uint8Array;
  otherCapsule: Uint8Array;
  otherCfrag: Uint8Array;
  delegatingKey: Uint8Array;
  receivingKey: Uint8Array;
  verifyingKey: Uint8Array;
  /** The kfrag's rk, which a cheating node knows. */
  rk: bigint;
}

/** rk from a kfrag's MessagePack bytes (same layout in both implementations): 95 91 [c4 21 U] [c4 20 id] [c4 20 rk]. */
function rkOf(kfragBytes: Uint8Array): bigint {
  return BigInt("0x" + Buffer.from(kfragBytes.subarray(73, 105)).toString("hex"));
}

/** Honest material made by src/umbral. */
export function ourScenario(): Scenario {
  const alice = umbral.SecretKey.random();
  const bob = umbral.SecretKey.random();
  const signer = new umbral.Signer(umbral.SecretKey.random());
  const [capsule] = umbral.encrypt(alice.publicKey(), new Uint8Array([1, 2, 3]));
  const [otherCapsule] = umbral.encrypt(alice.publicKey(), new Uint8Array([4, 5, 6]));
  const [kfrag] = umbral.generateKFrags(alice, bob.publicKey(), signer, 2, 3, true, true);
  return {
    origin: "ours",
    capsule: capsule.toBytesSimple(),
    cfrag: umbral.reencrypt(capsule, kfrag).toBytesSimple(),
    otherCapsule: otherCapsule.toBytesSimple(),
    otherCfrag: umbral.reencrypt(otherCapsule, kfrag).toBytesSimple(),
    delegatingKey: alice.publicKey().toCompressedBytes(),
    receivingKey: bob.publicKey().toCompressedBytes(),
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
    rk: rkOf(kfrag.toBytes()),
  };
}

/** Honest material made by @nucypher/umbral-pre (rust-umbral 0.10 compiled to WASM). */
export function preScenario(): Scenario {
  const alice = pre.SecretKey.random();
  const bob = pre.SecretKey.random();
  const signer = new pre.Signer(pre.SecretKey.random());
  const [capsule] = pre.encrypt(alice.publicKey(), new Uint8Array([1, 2, 3]));
  const [otherCapsule] = pre.encrypt(alice.publicKey(), new Uint8Array([4, 5, 6]));
  // umbral-pre's default: the proxy's signature covers neither key; the receiver's always covers both.
  const [kfrag] = pre.generateKFrags(alice, bob.publicKey(), signer, 2, 3, false, false);
  return {
    origin: "umbral-pre",
    capsule: capsule.toBytesSimple(),
    cfrag: pre.reencrypt(capsule, kfrag).toBytesSimple(),
    otherCapsule: otherCapsule.toBytesSimple(),
    otherCfrag: pre.reencrypt(otherCapsule, kfrag).toBytesSimple(),
    delegatingKey: alice.publicKey().toCompressedBytes(),
    receivingKey: bob.publicKey().toCompressedBytes(),
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
    rk: rkOf(kfrag.toBytes()),
  };
}

export function attested(s: Scenario, cfrag = s.cfrag, capsule = s.capsule): AttestedCFrag {
  return {
    capsule,
    cfrag,
    delegatingKey: s.delegatingKey,
    receivingKey: s.receivingKey,
    verifyingKey: s.verifyingKey,
  };
}

/** Where an attestation is bound: a domain, or the deployed Adjudicator (its address and chain). */
export type DomainSource = AttestationDomain | Parameters<typeof attestationDomainOf>[0];

/**
 * Signs attested bytes with an operator key exactly as a node would (EIP-712 in the Adjudicator's domain), minus
 * the node's own verification.
 */
export async function signAsNode(
  operator: Pick<Signer, "signTypedData">,
  a: AttestedCFrag,
  domain: DomainSource,
): Promise<SignedCFrag> {
  const bound = "chainId" in domain ? domain : await attestationDomainOf(domain);
  return { ...a, nodeSignature: await signAttestation(operator, a, bound) };
}

function mod(a: bigint): bigint {
  return ((a % N) + N) % N;
}

/**
 * A cfrag with e1 = rkE·E, v1 = rkV·V, the given U1, and a complete proof with z = t + h·rk. Each equation holds
 * exactly when its point matches rk: E iff rkE = rk, V iff rkV = rk, U iff U1 = rk·U.
 */
function prove(capsule: Capsule, base: CapsuleFrag, rk: bigint, u1: Point, rkE = rk, rkV = rk): CapsuleFrag {
  const t = randomScalar();
  const e1 = capsule.e.multiply(rkE);
  const v1 = capsule.v.multiply(rkV);
  const e2 = capsule.e.multiply(t);
  const v2 = capsule.v.multiply(t);
  const u2 = U.multiply(t);
  const h = hashToCfragVerification(capsule.e, e1, e2, capsule.v, v1, v2, u1, u2);
  const z = mod(t + h * rk);
  return new CapsuleFrag(e1, v1, base.kfragId, base.precursor, e2, v2, u1, u2, z, base.kfragSignature);
}

function parse(s: Scenario): { capsule: Capsule; cfrag: CapsuleFrag } {
  return { capsule: Capsule.fromBytesSimple(s.capsule), cfrag: CapsuleFrag.fromBytesSimple(s.cfrag) };
}

export function withFields(c: CapsuleFrag, f: Partial<Record<keyof CapsuleFrag, unknown>>): CapsuleFrag {
  const g = { ...c, ...f } as CapsuleFrag;
  return new CapsuleFrag(g.e1, g.v1, g.kfragId, g.precursor, g.e2, g.v2, g.u1, g.u2, g.z, g.kfragSignature);
}

function randomPoint(): Point {
  return Point.BASE.multiply(randomScalar());
}

/** The ways a node can cheat, each with the verdict the Adjudicator must reach. */
export const CHEATS: Record<
  string,
  { verdict: number; make(s: Scenario): { capsule: Uint8Array; cfrag: Uint8Array } }
> = {
  "a wrong rk (e1, v1 and the proof agree on rk′, U1 is the real commitment)": {
    verdict: 4,
    make(s) {
      const { capsule, cfrag } = parse(s);
      return { capsule: s.capsule, cfrag: prove(capsule, cfrag, randomScalar(), cfrag.u1).toBytesSimple() };
    },
  },
  "a random z": {
    verdict: 2,
    make(s) {
      const { cfrag } = parse(s);
      return { capsule: s.capsule, cfrag: withFields(cfrag, { z: randomScalar() }).toBytesSimple() };
    },
  },
  "a wrong e1 under a proof that fits v1 and U1": {
    verdict: 2,
    make(s) {
      const { capsule, cfrag } = parse(s);
      return { capsule: s.capsule, cfrag: prove(capsule, cfrag, s.rk, cfrag.u1, randomScalar()).toBytesSimple() };
    },
  },
  "a wrong v1 under a proof that fits e1 and U1": {
    verdict: 3,
    make(s) {
      const { capsule, cfrag } = parse(s);
      const wrong = prove(capsule, cfrag, s.rk, cfrag.u1, s.rk, randomScalar());
      return { capsule: s.capsule, cfrag: wrong.toBytesSimple() };
    },
  },
  "a random e1 pasted into an honest cfrag": {
    verdict: 2,
    make(s) {
      const { cfrag } = parse(s);
      return { capsule: s.capsule, cfrag: withFields(cfrag, { e1: randomPoint() }).toBytesSimple() };
    },
  },
  "a self-consistent proof for a forged rk′ with U1′ = rk′·U": {
    verdict: 1,
    make(s) {
      const { capsule, cfrag } = parse(s);
      const rk = randomScalar();
      return { capsule: s.capsule, cfrag: prove(capsule, cfrag, rk, U.multiply(rk)).toBytesSimple() };
    },
  },
  "a proof made for another capsule": {
    verdict: 2,
    make(s) {
      return { capsule: s.capsule, cfrag: s.otherCfrag };
    },
  },
  "a high-S copy of the kfrag signature": {
    verdict: 1,
    make(s) {
      const { cfrag } = parse(s);
      const sig = Signature.fromRS(cfrag.kfragSignature.r, N - cfrag.kfragSignature.s);
      return { capsule: s.capsule, cfrag: withFields(cfrag, { kfragSignature: sig }).toBytesSimple() };
    },
  },
};
