// Binding a condition set to its policy: the owner signs (EIP-712, in the PolicyManager's domain, so the chain
// and the deployment are bound too) the policy id, a version and the hash of the set's canonical bytes. A node
// that holds the signed set, the policy's owner and the on-chain commitment proves to itself that these are
// the owner's current conditions; nothing the requester sends enters into it. A higher version replaces a set.
import { isHexString, verifyTypedData, type Signer, type TypedDataField } from "ethers";
import { parsePolicyId, policyManagerDomain } from "../policy";
import { ConditionBindingError, ConditionFormatError } from "./errors";
import { conditionsHash } from "./canonical";
import { parseConditions } from "./validate";
import type { ConditionExpression } from "./lingo";

/** The EIP-712 type the owner signs; a future `PolicyManager.setConditions` checks the same struct. */
export const CONDITIONS_TYPES: Record<string, TypedDataField[]> = {
  PolicyConditions: [
    { name: "policyId", type: "bytes16" },
    { name: "version", type: "uint64" },
    { name: "conditionsHash", type: "bytes32" },
  ],
};

/** The deployment a signature is bound to: the PolicyManager's EIP-712 domain. */
export interface ConditionsDomain {
  chainId: bigint;
  policyManager: string;
}

/** A policy's conditions as the owner signed them; `conditions: null` lifts every condition. */
export interface SignedConditionSet {
  policyId: string;
  /** 1 … 2^53 − 1; a node keeps the highest version it has seen. */
  version: number;
  conditions: ConditionExpression | null;
  /** EIP-712 signature by the policy owner over `PolicyConditions(policyId, version, conditionsHash)`. */
  ownerSignature: string;
}

function checkVersion(version: unknown): number {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1)
    throw new ConditionFormatError("$.version", `the set version must be a whole number from 1 to 2^53 − 1`);
  return version;
}

function message(policyId: string, version: number, conditions: ConditionExpression | null) {
  return { policyId, version: BigInt(version), conditionsHash: conditionsHash(conditions) };
}

/**
 * The owner signs `conditions` (validated first, for the policy's chain) as version `version` of the policy's
 * condition set. Throws ConditionFormatError for a malformed set, before anything is signed.
 */
export async function signConditions(
  owner: Pick<Signer, "signTypedData">,
  domain: ConditionsDomain,
  set: { policyId: string; version: number; conditions: ConditionExpression | string | null },
): Promise<SignedConditionSet> {
  const policyId = parsePolicyId(set.policyId);
  const version = checkVersion(set.version);
  const conditions = set.conditions === null ? null : parseConditions(set.conditions, { chainId: domain.chainId });
  const ownerSignature = await owner.signTypedData(
    policyManagerDomain(domain.chainId, domain.policyManager),
    CONDITIONS_TYPES,
    message(policyId, version, conditions),
  );
  return { policyId, version, conditions, ownerSignature };
}

/**
 * Checks a signed set as it arrived (any JSON value): its envelope, its conditions (for the domain's chain),
 * and returns the set with the address that signed it. Throws ConditionFormatError for a malformed set and
 * ConditionBindingError (BAD_SIGNATURE) for a signature that recovers no address.
 */
export function verifyConditions(
  input: unknown,
  domain: ConditionsDomain,
): { set: SignedConditionSet; signer: string } {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new ConditionFormatError("$", "a signed condition set must be a JSON object");
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw))
    if (!["policyId", "version", "conditions", "ownerSignature"].includes(key))
      throw new ConditionFormatError(`$.${key}`, "unknown field");
  if (typeof raw.policyId !== "string" || !isHexString(raw.policyId, 16))
    throw new ConditionFormatError("$.policyId", "must be a 16-byte 0x-hex policy id");
  const version = checkVersion(raw.version);
  if (typeof raw.ownerSignature !== "string" || !isHexString(raw.ownerSignature, 65))
    throw new ConditionFormatError("$.ownerSignature", "must be a 65-byte 0x-hex signature");
  if (raw.conditions === undefined) throw new ConditionFormatError("$.conditions", "missing field (null for none)");
  let conditions: ConditionExpression | null = null;
  if (raw.conditions !== null) {
    try {
      conditions = parseConditions(raw.conditions, { chainId: domain.chainId });
    } catch (e) {
      if (e instanceof ConditionFormatError) throw new ConditionFormatError(`$.conditions${e.path.slice(1)}`, e.reason);
      throw e;
    }
  }
  const set = { policyId: raw.policyId.toLowerCase(), version, conditions, ownerSignature: raw.ownerSignature };
  let signer: string;
  try {
    signer = verifyTypedData(
      policyManagerDomain(domain.chainId, domain.policyManager),
      CONDITIONS_TYPES,
      message(set.policyId, version, conditions),
      set.ownerSignature,
    );
  } catch {
    throw new ConditionBindingError("BAD_SIGNATURE", "the condition set's ownerSignature is not a valid signature");
  }
  return { set, signer };
}

/** What a node knows independently of the set: which policy it serves, its owner, and what the chain says. */
export interface BindingExpectation {
  policyId: string;
  /** The policy owner, read from the chain. */
  owner: string;
  /** The policy's on-chain conditions commitment, when the PolicyManager stores one (see docs/conditions.md). */
  committedHash?: string;
  /** The version the PolicyManager records with that commitment, when it records one: the set must be it. */
  committedVersion?: number;
  /** The version the node holds already: a set must be newer (or the same one again) to replace it. */
  heldVersion?: number;
}

/**
 * A node's whole check of a delivered set: well-formed, for this policy, signed by its owner, matching the
 * on-chain commitment and not older than the one held. Returns the verified set; throws ConditionFormatError
 * or ConditionBindingError (with the failure) otherwise.
 */
export function checkConditionSet(
  input: unknown,
  domain: ConditionsDomain,
  expected: BindingExpectation,
): SignedConditionSet {
  const { set, signer } = verifyConditions(input, domain);
  const policyId = parsePolicyId(expected.policyId);
  if (set.policyId !== policyId)
    throw new ConditionBindingError("OTHER_POLICY", `the condition set is for policy ${set.policyId}, not ${policyId}`);
  if (signer.toLowerCase() !== expected.owner.toLowerCase())
    throw new ConditionBindingError(
      "NOT_POLICY_OWNER",
      `the condition set is signed by ${signer}, not by the policy owner ${expected.owner}`,
    );
  const hash = conditionsHash(set.conditions);
  if (expected.committedHash !== undefined && hash !== expected.committedHash.toLowerCase())
    throw new ConditionBindingError(
      "HASH_MISMATCH",
      `the condition set hashes to ${hash}, but the policy commits on-chain to ${expected.committedHash}`,
    );
  if (expected.committedVersion !== undefined && set.version !== expected.committedVersion)
    throw new ConditionBindingError(
      "HASH_MISMATCH",
      `the condition set is version ${set.version}, but the policy commits on-chain to version ${expected.committedVersion}`,
    );
  if (expected.heldVersion !== undefined && set.version < expected.heldVersion)
    throw new ConditionBindingError(
      "STALE_VERSION",
      `the condition set is version ${set.version}, older than version ${expected.heldVersion} held`,
    );
  return set;
}
