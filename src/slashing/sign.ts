// Node side: sign each returned cfrag, with the keys served, by the operator key.
//
// The node checks the whole cfrag (kfrag signature included) under the keys it is about to attest before it
// signs: the kfrag signature in a cfrag is the delegator's signature for the receiver, which a node's own
// kfrag check does not cover, so a node that skipped this check could be framed by a delegator who handed it a
// kfrag with a bad receiver signature.
import type { Signer } from "ethers";
import { Capsule, CapsuleFrag, CapsuleFragVerificationError, PublicKey, VerifiedCapsuleFrag } from "../umbral";
import { signAttestation, type AttestationDomain, type SignedCFrag } from "./evidence";
import { UnverifiedCFragError } from "./errors";

/** The keys a node serves a cfrag under. */
export interface ServedKeys {
  delegatingPk: PublicKey;
  receivingPk: PublicKey;
  verifyingPk: PublicKey;
}

/**
 * Verifies `cfrag` for `capsule` under `keys`, then signs the EIP-712 attestation of (capsule, cfrag, keys) in
 * `domain` with the operator key. Throws {@link UnverifiedCFragError} rather than sign a cfrag that does not
 * verify.
 */
export async function signCFrag(
  operator: Pick<Signer, "signTypedData">,
  capsule: Capsule,
  cfrag: CapsuleFrag | VerifiedCapsuleFrag,
  keys: ServedKeys,
  domain: AttestationDomain,
): Promise<SignedCFrag> {
  const raw = cfrag instanceof VerifiedCapsuleFrag ? cfrag.unverify() : cfrag;
  try {
    raw.verify(capsule, keys.verifyingPk, keys.delegatingPk, keys.receivingPk);
  } catch (e) {
    if (e instanceof CapsuleFragVerificationError) {
      throw new UnverifiedCFragError(
        `refusing to sign a cfrag that does not verify under the served keys: ${e.message}`,
      );
    }
    throw e;
  }
  const attested = {
    capsule: capsule.toBytesSimple(),
    cfrag: raw.toBytesSimple(),
    delegatingKey: keys.delegatingPk.toCompressedBytes(),
    receivingKey: keys.receivingPk.toCompressedBytes(),
    verifyingKey: keys.verifyingPk.toCompressedBytes(),
  };
  const nodeSignature = await signAttestation(operator, attested, domain);
  return { ...attested, nodeSignature };
}
