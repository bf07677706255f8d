// A policy's access-conditions commitment on the PolicyManager (docs/conditions.md): reading it, and setting a
// new version as the owner or with the owner's signature. The condition sets themselves, their canonical hash
// and the owner's signature live in src/conditions; here only the (version, hash) the chain holds.
import { ZeroHash, type Signer } from "ethers";
import type { PolicyManager } from "../../typechain-types";
import { PolicyError } from "./errors";
import { parsePolicyId } from "./id";
import { readPolicy } from "./state";
import type { PolicyLookup } from "./actions";

/** What the PolicyManager holds for a policy's conditions: version 0 and the zero hash when none were set. */
export interface ConditionsCommitment {
  version: number;
  /** keccak256 of the set's canonical JSON, 0x-hex lower case; the zero hash: no conditions. */
  hash: string;
}

/** No conditions committed. */
export const NO_CONDITIONS: ConditionsCommitment = { version: 0, hash: ZeroHash };

/** A conditions version that is not above the one the chain holds, caught before sending. */
export class StaleConditionsError extends PolicyError {
  constructor(
    readonly policyId: string,
    readonly version: number,
    readonly held: number,
  ) {
    super(
      `policy ${policyId} already commits to conditions version ${held}; a new set needs a version above it, not ${version}`,
    );
  }
}

/** The conditions commitment of `policyId` (version 0 and the zero hash if none). */
export async function conditionsOf(pm: PolicyManager, policyId: string): Promise<ConditionsCommitment> {
  const [version, hash] = await pm.conditionsOf(parsePolicyId(policyId));
  return { version: Number(version), hash: hash.toLowerCase() };
}

/** The policy's history, once `version` is checked above the version the chain holds. */
async function newerVersion(pm: PolicyManager, policyId: string, version: number, lookup: PolicyLookup) {
  const history = await readPolicy(pm, policyId, lookup);
  const held = await conditionsOf(pm, history.policyId);
  if (version <= held.version) throw new StaleConditionsError(history.policyId, version, held.version);
  return history;
}

/** The hash of a sent transaction once mined. */
async function mined(sent: Promise<{ hash: string; wait(): Promise<{ hash: string } | null> }>): Promise<string> {
  const tx = await sent;
  const receipt = await tx.wait();
  return receipt?.hash ?? tx.hash;
}

/**
 * Commits `policyId` to version `version` of its conditions (hash `hash`) as its owner `owner`: the record is
 * rebuilt from events, the version checked above the held one first. Resolves with the transaction hash.
 */
export async function setConditions(
  pm: PolicyManager,
  owner: Signer,
  policyId: string,
  version: number,
  hash: string,
  lookup: PolicyLookup = {},
): Promise<string> {
  const history = await newerVersion(pm, policyId, version, lookup);
  return mined(pm.connect(owner).setConditions(history.policyId, history.record, version, hash));
}

/**
 * Commits `policyId` to version `version` (hash `hash`) with the owner's EIP-712 `PolicyConditions` signature
 * (`signConditions` in src/conditions gives it), sent by `sender`, who need not be the owner.
 */
export async function setConditionsWithSig(
  pm: PolicyManager,
  sender: Signer,
  policyId: string,
  version: number,
  hash: string,
  signature: string,
  lookup: PolicyLookup = {},
): Promise<string> {
  const history = await newerVersion(pm, policyId, version, lookup);
  return mined(pm.connect(sender).setConditionsWithSig(history.policyId, history.record, version, hash, signature));
}
