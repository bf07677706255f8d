// What Alice hands to Enrico and Bob after a grant: everything needed to encrypt to the policy and to
// retrieve from its nodes. It holds no secret and is safe to publish. What only Alice keeps (the journal of
// the grant: sealed deliveries, acknowledgements, the payment) is another file (./journal), never read here.
// Version 2 names the escrow and NodeDirectory too; version 1 files (before the split) read the same way.
import { getAddress } from "ethers";
import { PublicKey } from "../umbral";
import { parsePolicyId } from "../policy";
import type { SignedConditionSet } from "../conditions";

export interface PolicyGrant {
  version: 1 | 2;
  chainId: string;
  policyManager: string;
  escrow?: string;
  nodeDirectory?: string;
  /** The Adjudicator that judges the nodes' signed cfrags: their attestations are bound to it (and chainId). */
  adjudicator?: string;
  policyId: string;
  owner: string;
  /** Policy (delegating) public key: Enrico encrypts to it. */
  delegatingKey: string;
  /** Alice's verifying key: cfrags are checked against it. */
  verifyingKey: string;
  /** Bob's receiving key. */
  receivingKey: string;
  threshold: number;
  /**
   * The serving stakers, where their nodes listened and the Umbral key they had announced when the grant was
   * made (Bob looks the URL up again at retrieval time: ./directory).
   */
  nodes: { staker: string; url: string; encryptingKey?: string }[];
  startPeriod: string;
  endPeriod: string;
  /**
   * The policy's access conditions as its owner signed them (docs/conditions.md), for Bob's tools and
   * `kms conditions`: the nodes enforce the set they hold, which is the one committed on-chain, not this copy.
   */
  conditions?: SignedConditionSet;
}

/** The `kind` of Alice's private grant journal (./journal), which Bob's tools refuse to read. */
export const GRANT_JOURNAL_KIND = "umbral-kms/grant-journal";

/** Raised for a grant file that is not a valid PolicyGrant. */
export class GrantFormatError extends Error {
  constructor(message: string) {
    super(`invalid policy grant: ${message}`);
    this.name = "GrantFormatError";
  }
}

/** Parses and validates a grant from JSON text. */
export function parseGrant(text: string): PolicyGrant {
  let raw: Partial<PolicyGrant>;
  try {
    raw = JSON.parse(text) as Partial<PolicyGrant>;
  } catch {
    throw new GrantFormatError("not JSON");
  }
  if ((raw as { kind?: unknown }).kind === GRANT_JOURNAL_KIND) {
    throw new GrantFormatError(
      "this is Alice's private grant journal, not the public grant: give Bob and Enrico the public grant file " +
        "(the one kms grant wrote with --out)",
    );
  }
  if (raw.version !== 1 && raw.version !== 2) {
    throw new GrantFormatError(`unsupported version ${String(raw.version)} (this tool reads versions 1 and 2)`);
  }
  for (const field of ["delegatingKey", "verifyingKey", "receivingKey"] as const) {
    try {
      PublicKey.fromCompressedBytes(Buffer.from(String(raw[field]).replace(/^0x/, ""), "hex"));
    } catch {
      throw new GrantFormatError(`${field} is not a compressed public key`);
    }
  }
  if (!Number.isInteger(raw.threshold) || raw.threshold! < 1) throw new GrantFormatError("threshold must be ≥ 1");
  if (!Array.isArray(raw.nodes) || raw.nodes.length < raw.threshold!) {
    throw new GrantFormatError(`needs at least threshold (${raw.threshold}) nodes`);
  }
  try {
    parsePolicyId(String(raw.policyId));
    getAddress(String(raw.policyManager));
    for (const field of ["adjudicator", "escrow", "nodeDirectory"] as const) {
      if (raw[field] !== undefined) getAddress(String(raw[field]));
    }
    getAddress(String(raw.owner));
    raw.nodes.forEach((n) => getAddress(n.staker));
    if (raw.conditions !== undefined && (typeof raw.conditions !== "object" || raw.conditions === null))
      throw new Error("conditions must be a signed condition set (an object)");
  } catch (e) {
    throw new GrantFormatError((e as Error).message);
  }
  return raw as PolicyGrant;
}

export const publicKeyOf = (hex: string): PublicKey =>
  PublicKey.fromCompressedBytes(Buffer.from(hex.replace(/^0x/, ""), "hex"));
