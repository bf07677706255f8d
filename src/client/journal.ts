// Alice's grant journal: everything a grant did or must still do, written before anything is paid and after each
// step, so a grant interrupted at any point (Ctrl-C, kill -9, a node or the RPC gone) can be resumed without
// paying twice or losing a kfrag. It holds the sealed kfrag deliveries (each readable only by its node) and the
// owner's signatures over them: Alice keeps it (mode 0600); Bob and Enrico get the public grant (./grant).
//
// Persistence is behind GrantJournalStore, so this module and ./alice stay runtime-neutral (a browser keeps the
// journal elsewhere); the Node file implementation is ./journal-file.
import { getAddress } from "ethers";
import { parsePolicyId } from "../policy";
import { GRANT_JOURNAL_KIND, parseGrant, type PolicyGrant } from "./grant";
import type { SignedConditionSet } from "../conditions";

/** One node's sealed kfrag, as sent (and sent again, byte for byte, on resume). */
export interface JournalDelivery {
  staker: string;
  /** The share index in the policy's seeded kfrag set (heal issues indices past the first `shares`). */
  share: number;
  /** The node's encrypting key (hex) the kfrag is sealed to. */
  encryptingKey: string;
  version: number;
  capsule: string;
  ciphertext: string;
  ownerSignature: string;
  /** deliveryDigest(...), hex: what the node's storage acknowledgement signs. */
  digest: string;
  /** The version of the journal's condition set this delivery's signature binds (v3 digest); absent: none. */
  conditionsVersion?: number;
  /** The node's signed storage acknowledgement, once received. */
  acknowledged?: { operator: string; signature: string; at: string };
}

/** Where the policy's payment stands. */
export interface JournalPayment {
  /** unpaid: nothing sent; sent: `txHash` sent, not seen mined; paid: the policy exists on-chain. */
  state: "unpaid" | "sent" | "paid";
  txHash?: string;
  startPeriod?: string;
  endPeriod?: string;
}

export interface GrantJournal {
  kind: typeof GRANT_JOURNAL_KIND;
  version: 1;
  /** The public grant's fields (nodes, end period: as of the last step). */
  grant: PolicyGrant;
  token: string;
  periods: string;
  feeRate: string;
  /** Hex seed of the stake-weighted sample, when the nodes were sampled (heal draws replacements from it). */
  sampleSeed?: string;
  /** Share indices issued so far from the policy's seeded kfrag set (the next replacement gets this index). */
  sharesIssued: number;
  /** One per node of `grant.nodes`, same order. */
  deliveries: JournalDelivery[];
  payment: JournalPayment;
  /** Nodes checked before paying and not used, and why. */
  rejected: { staker: string; reason: string }[];
  revoked?: boolean;
  /** Slots moved to another node (kms heal), oldest first. */
  moves?: { index: number; from: string; to: string; txHash?: string }[];
  /** A slot move decided and journaled, not yet seen on-chain (a retried heal finishes this one). */
  pendingMove?: { index: number; from: string; to: string; delivery: JournalDelivery; txHash?: string };
  /** An extension decided and journaled (its target end), not yet seen on-chain (a retry finishes it). */
  pendingExtension?: { endPeriod: string; txHash?: string };
  /**
   * The policy's current access conditions as the owner signed them (also in the public grant): sent with every
   * kfrag; committed on-chain.
   */
  conditions?: SignedConditionSet;
  /** A replacement set signed and journaled, not yet seen committed on-chain (a retry finishes this one). */
  pendingConditions?: SignedConditionSet;
  /** The public grant's file, relative to the journal's directory (file stores only). */
  publicFile?: string;
}

/** Where a journal lives: saved durably after every step; `publish` writes the public grant. */
export interface GrantJournalStore {
  /** Saves the journal's current state; resolves once it is durable. Never replaces another grant's journal. */
  save(journal: GrantJournal): Promise<void>;
  /** Publishes the public grant (what Bob and Enrico read). */
  publish(grant: PolicyGrant): Promise<void>;
}

/** A store in memory (tests, and callers that keep the journal themselves); `journal` is the last saved. */
export class MemoryJournalStore implements GrantJournalStore {
  journal: GrantJournal | undefined;
  published: PolicyGrant | undefined;
  async save(journal: GrantJournal): Promise<void> {
    this.journal = structuredClone(journal);
  }
  async publish(grant: PolicyGrant): Promise<void> {
    this.published = structuredClone(grant);
  }
}

/** Raised for a file that is not a grant journal (with a hint when it is the public grant). */
export class GrantJournalFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GrantJournalFormatError";
  }
}

/** Parses Alice's journal; a public grant or anything else gets a GrantJournalFormatError that says which. */
export function parseJournal(text: string, file = "the file"): GrantJournal {
  let raw: Partial<GrantJournal>;
  try {
    raw = JSON.parse(text) as Partial<GrantJournal>;
  } catch {
    throw new GrantJournalFormatError(`${file} is not JSON, so not a grant journal`);
  }
  if (raw?.kind !== GRANT_JOURNAL_KIND) {
    let isGrant = false;
    try {
      parseGrant(text);
      isGrant = true;
    } catch {
      // Neither.
    }
    throw new GrantJournalFormatError(
      isGrant
        ? `${file} is the public grant (what Bob reads); this command takes Alice's private journal, ` +
            `written beside it as ${journalNameFor(file)}`
        : `${file} is not a grant journal (written by kms grant beside the grant, as <grant>.alice.json)`,
    );
  }
  if (raw.version !== 1) throw new GrantJournalFormatError(`${file}: unsupported journal version ${raw.version}`);
  try {
    parseGrant(JSON.stringify(raw.grant));
    parsePolicyId(raw.grant!.policyId);
    getAddress(String(raw.token));
    if (!Array.isArray(raw.deliveries) || raw.deliveries.length !== raw.grant!.nodes.length) {
      throw new Error("its deliveries do not match its nodes");
    }
    if (!raw.payment || !["unpaid", "sent", "paid"].includes(raw.payment.state)) throw new Error("no payment state");
    BigInt(String(raw.periods));
    BigInt(String(raw.feeRate));
  } catch (e) {
    throw new GrantJournalFormatError(`${file} is a damaged grant journal: ${(e as Error).message}`);
  }
  return raw as GrantJournal;
}

/** The journal's file name for a public grant file name: `grant.json` → `grant.alice.json`. */
export function journalNameFor(grantFile: string): string {
  return grantFile.endsWith(".json") ? grantFile.slice(0, -".json".length) + ".alice.json" : grantFile + ".alice.json";
}
