// Bob: asks the policy's nodes for cfrags in parallel, verifies every one, keeps the first `threshold` good
// ones with distinct kfrag ids from one kfrag set, reports any bad one that the node's bonded operator signed
// (slashing evidence), and decrypts.
//
// What a hostile node can do to Bob, and what stops it:
// - answer with another node's genuine cfrag (relayed, or a man in the middle): counted once per kfrag id, so
//   the copy is set aside and Bob waits for another node;
// - answer with a genuine cfrag of another kfrag set of the same policy (an old delivery): cfrags are kept per
//   set and only one set's cfrags are combined;
// - answer with a wrong cfrag signed by a key of its choosing: the signer must be the staker's operator on
//   chain before anything is reported, and no report — refused, reverted or thrown — ever fails decryption:
//   it is printed and the evidence handed to `saveEvidence` (Node: a file, ./bob-node; browser: a download);
// - answer with a huge body: the HTTP client stops reading past MAX_ANSWER_BYTES (./http).
// A node that refuses for the policy's access conditions (403 CONDITION_*, 401 for the requester proof) returned
// no cfrag: it is a failure with the node's own words, never a cheat. When the conditions are about the
// requester, Bob proves his Ethereum address to each node with its own SIWE (EIP-4361) message.
//
// Runtime-neutral (Node and browsers): reading and writing files is ./bob-node's.
import {
  Capsule,
  CapsuleFrag,
  CapsuleFragVerificationError,
  decryptReencrypted,
  UmbralError,
  type SecretKey,
  type VerifiedCapsuleFrag,
} from "../umbral";
import { concatBytes } from "@noble/hashes/utils";
import { getBytes, hexlify, keccak256, type Provider, type Signer } from "ethers";
import { requiredContext, signSiweProof, USER_ADDRESS } from "../conditions";
import { recoverOperator, type AttestationDomain, type SignedCFrag } from "../slashing/evidence";
import type { EvidenceFile } from "../slashing/file";
import type { ReencryptionRequest, ReencryptionResponse } from "../network/protocol";
import { NodeRefusedError, NodeRequestFailedError, requestJson } from "./http";
import { publicKeyOf, type PolicyGrant } from "./grant";
import { openStream } from "./sealed";

/** A node that gave Bob no usable cfrag, and why. */
export interface RetrievalFailure {
  staker: string;
  /** The reason, without the node's URL (so that equal reasons group). */
  reason: string;
  url?: string;
  /** The node's refusal code, when it answered with one (e.g. CONDITION_NOT_MET). */
  code?: string;
}

/** Whether a failure is a node's refusal under the policy's access conditions (never a cheat). */
export const isConditionRefusal = (failure: RetrievalFailure): boolean =>
  failure.code !== undefined && /^(CONDITION|CONDITIONS|REQUESTER_PROOF)_/.test(failure.code);

/** One line per node that refused for the policy's access conditions, in the node's own words. */
export function conditionRefusalLines(failures: readonly RetrievalFailure[]): string[] {
  return failures.filter(isConditionRefusal).map((f) => `node ${f.staker}: ${f.reason}`);
}

/** Failures grouped by reason: "reason (n nodes: a, b)" joined by "; ", so one cause is said once. */
export function groupFailures(failures: readonly RetrievalFailure[]): string {
  const groups = new Map<string, string[]>();
  for (const f of failures) groups.set(f.reason, [...(groups.get(f.reason) ?? []), f.staker]);
  return [...groups]
    .map(
      ([reason, stakers]) =>
        `${reason} (${stakers.length} node${stakers.length === 1 ? "" : "s"}: ${stakers.join(", ")})`,
    )
    .join("; ");
}

/** Raised when fewer than `threshold` nodes returned a correct cfrag. */
export class NotEnoughCFragsError extends Error {
  constructor(
    readonly threshold: number,
    readonly good: number,
    readonly failures: RetrievalFailure[],
  ) {
    super(`got ${good} correct cfrag(s), need ${threshold}: ` + groupFailures(failures));
    this.name = "NotEnoughCFragsError";
  }
}

/** Raised when Bob's key is not the receiving key the grant was made for: no node could help. */
export class WrongReceivingKeyError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `this grant is for the receiving key ${expected}, but the key file holds ${actual}: ` +
        `use the key file the grant was made for (kms pubkey --key <file> prints a file's key)`,
    );
    this.name = "WrongReceivingKeyError";
  }
}

/** Throws {@link WrongReceivingKeyError} unless `receivingSk` is the grant's receiving key. */
export function checkReceivingKey(grant: PolicyGrant, receivingSk: SecretKey): void {
  const actual = hexlify(receivingSk.publicKey().toCompressedBytes());
  if (actual.toLowerCase() !== grant.receivingKey.toLowerCase()) {
    throw new WrongReceivingKeyError(grant.receivingKey, actual);
  }
}

/** A cfrag that failed verification, signed by the node's bonded operator: evidence for the Adjudicator. */
export interface CheatingNode {
  staker: string;
  /** The address that signed the cfrag (recovered from the signature, not as the node names it). */
  operator: string;
  evidence: SignedCFrag;
  reason: string;
}

/**
 * Keeps evidence that could not be reported, under the suggested file name `name`; returns a sentence saying
 * where it went (e.g. "evidence saved to …"), or throws.
 */
export type EvidenceSaver = (name: string, file: EvidenceFile) => string | Promise<string>;

/** Resolves whether `operator` is, on chain, the operator bonded to `staker` now. */
export type OperatorCheck = (staker: string, operator: string) => Promise<boolean>;

/** An {@link OperatorCheck} that reads `escrow.operatorOf(staker)` (IStakingEscrow). */
export function escrowOperatorCheck(escrow: { operatorOf(staker: string): Promise<string> }): OperatorCheck {
  return async (staker, operator) => (await escrow.operatorOf(staker)).toLowerCase() === operator.toLowerCase();
}

export interface RetrieveOptions {
  /** Per-node deadline; default 10 s. */
  timeoutMs?: number;
  /**
   * Wait for every node's answer (up to the deadline) instead of stopping at the first `threshold` good
   * cfrags: slower, but every node is audited and every cheater reported. Default false.
   */
  auditAll?: boolean;
  /**
   * Called for every node caught returning a wrong cfrag signed by its operator (e.g. submit it to the
   * Adjudicator). If it throws or rejects, Bob warns, saves the evidence to a file and decrypts all the same.
   */
  onCheat?: (cheat: CheatingNode) => void | Promise<void>;
  /**
   * Confirms on chain that a wrong cfrag's signer is the node's bonded operator before `onCheat` is called
   * (see {@link escrowOperatorCheck}). Without it Bob can only compare the signer with the operator the node
   * names in its answer, which the node chooses.
   */
  isOperatorOf?: OperatorCheck;
  /**
   * Keeps evidence that could not be reported (./bob-node's default: a file in the temporary directory).
   * Without it such evidence is only named in the failure's message.
   */
  saveEvidence?: EvidenceSaver;
  onProgress?: (message: string) => void;
  /** Warnings (a report that failed, a signer that could not be checked); default onProgress, else console.warn. */
  onWarning?: (message: string) => void;
  /** The deployment node attestations are bound to; default: the grant's chain and Adjudicator. */
  attestation?: AttestationDomain;
  /**
   * Bob asks `threshold` nodes first (in random order, so that Bob's load spreads over the policy's nodes),
   * one more at once for every node that fails, and every node not asked yet once this many ms have passed
   * without enough cfrags: a slow or silent node costs Bob at most this long, and a healthy policy costs the
   * network `threshold` re-encryptions, not `n` (NuCypher's retrieval asks one node after another until it
   * has enough). Default 1000; 0 asks every node at once. Ignored with `auditAll`. A node that refuses as busy
   * (429 or 503 with a Retry-After of at most {@link MAX_RETRY_AFTER_SECONDS}) is replaced at once like any
   * failure, and asked once more after its Retry-After if Bob still lacks cfrags by then.
   */
  hedgeMs?: number;
  /** While nodes are still awaited, onProgress names them this often (ms); default 3000. */
  awaitedNoticeMs?: number;
  /**
   * Bob's Ethereum account, for policies whose conditions are about the requester (`:userAddress`): each node
   * gets its own SIWE proof, valid five minutes from `now` (default the latest block's time on the signer's
   * provider, else this machine's clock: nodes judge proofs by their chain's time).
   */
  requester?: {
    signer: Pick<Signer, "getAddress" | "signMessage"> & { provider?: Provider | null };
    now?: () => Promise<number>;
  };
}

/** The requester's "now" for a proof: the given clock, else the chain's latest block, else this machine's. */
async function requesterNow(requester: NonNullable<RetrieveOptions["requester"]>): Promise<number> {
  if (requester.now) return requester.now();
  const block = await requester.signer.provider?.getBlock("latest");
  return block ? block.timestamp : Math.floor(Date.now() / 1000);
}

/** A copy of `items` in random order (Fisher–Yates; for spreading load, not for secrecy). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The longest Retry-After Bob waits for before asking a busy node once more (s). */
export const MAX_RETRY_AFTER_SECONDS = 10;

/** The wait (s) a busy node asks for (429 or 503 with a Retry-After of at most 10 s), else undefined. */
function busyWait(error: unknown): number | undefined {
  if (!(error instanceof NodeRefusedError) || (error.statusCode !== 429 && error.statusCode !== 503)) return undefined;
  const wait = error.retryAfterSeconds;
  return wait !== undefined && wait <= MAX_RETRY_AFTER_SECONDS ? wait : undefined;
}

/** The message of anything thrown. */
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Why a node's answer is no cfrag, without its URL (the failure carries it) so equal reasons group. */
function failureReason(error: unknown): string {
  if (error instanceof UmbralError) return `malformed cfrag: ${error.message}`;
  const message = messageOf(error);
  return error instanceof NodeRequestFailedError && message.startsWith(`${error.url}: `)
    ? message.slice(error.url.length + 2)
    : message;
}

/**
 * The address that signed a node's attestation of `evidence` in `domain`, or undefined if it is not a valid
 * signature (or no domain is known: a signature bound to no known deployment proves nothing).
 */
function attestationSigner(evidence: SignedCFrag, domain: AttestationDomain | undefined): string | undefined {
  // The one place Bob recovers a node's signature.
  if (!domain) return undefined;
  try {
    return recoverOperator(evidence, domain);
  } catch {
    return undefined;
  }
}

/**
 * Verified cfrags, grouped by kfrag set (the precursor every kfrag of one generateKFrags call shares) and
 * within a set by kfrag id: only distinct kfrags of one set combine, so a copy of a cfrag another node
 * returned, or a cfrag of an older kfrag set, never takes the place of a fresh one.
 */
class CFragSets {
  private readonly sets = new Map<string, Map<string, { cfrag: VerifiedCapsuleFrag; staker: string }>>();

  constructor(private readonly threshold: number) {}

  /** Keeps `cfrag` from `staker`; returns its set's size, or the staker that already returned its kfrag id. */
  add(staker: string, cfrag: VerifiedCapsuleFrag): { count: number } | { repeats: string } {
    const raw = cfrag.unverify();
    const setId = raw.precursor.toHex(true);
    const id = hexlify(raw.kfragId);
    const set = this.sets.get(setId) ?? new Map<string, { cfrag: VerifiedCapsuleFrag; staker: string }>();
    this.sets.set(setId, set);
    const earlier = set.get(id);
    if (earlier) return { repeats: earlier.staker };
    set.set(id, { cfrag, staker });
    return { count: set.size };
  }

  /** The first `threshold` cfrags of the first set that has that many, else undefined. */
  complete(): VerifiedCapsuleFrag[] | undefined {
    for (const set of this.sets.values()) {
      if (set.size >= this.threshold) return [...set.values()].slice(0, this.threshold).map((k) => k.cfrag);
    }
    return undefined;
  }

  /** The size of the largest set. */
  best(): number {
    return Math.max(0, ...[...this.sets.values()].map((s) => s.size));
  }
}

/**
 * Asks `threshold` nodes of `grant` at once, another for each that fails and the rest after
 * {@link RetrieveOptions.hedgeMs} (every node at once with `auditAll`), and resolves as soon as `threshold`
 * correct cfrags with distinct kfrag ids of one kfrag set arrived (the requests still open are cancelled), or
 * throws NotEnoughCFragsError once every node was asked and too many failed.
 * Never rejects because of a report: see {@link RetrieveOptions.onCheat}.
 */
export async function retrieveCFrags(
  grant: PolicyGrant,
  capsule: Capsule,
  options: RetrieveOptions = {},
): Promise<VerifiedCapsuleFrag[]> {
  const delegatingPk = publicKeyOf(grant.delegatingKey);
  const receivingPk = publicKeyOf(grant.receivingKey);
  const verifyingPk = publicKeyOf(grant.verifyingKey);
  const body: ReencryptionRequest = { capsules: [hexlify(capsule.toBytes())] };
  const cancel = new AbortController();
  const kept = new CFragSets(grant.threshold);
  const failures: RetrievalFailure[] = [];
  const progress = options.onProgress ?? (() => undefined);
  const onWarning = options.onWarning ?? options.onProgress ?? ((message: string) => console.warn(message));
  /** A warning never throws into Bob, whatever the callback does. */
  const warn = (message: string) => {
    try {
      onWarning(message);
    } catch {
      // The evidence file is written either way.
    }
  };
  const reports: Promise<string>[] = [];
  // Node signatures are bound to one deployment's Adjudicator: without it a signed cfrag proves nothing.
  const attestation =
    options.attestation ??
    (grant.adjudicator ? { chainId: BigInt(grant.chainId), adjudicator: grant.adjudicator } : undefined);

  /** Saves evidence that could not be reported; returns where, or why it could not be saved. */
  async function saveEvidence(staker: string, evidence: SignedCFrag): Promise<string> {
    const name = `evidence-${staker.slice(2, 10).toLowerCase()}-${keccak256(evidence.cfrag).slice(2, 14)}.json`;
    if (!attestation) return `evidence not saved: the grant names no Adjudicator, so the signature binds nothing`;
    if (!options.saveEvidence) return `evidence not saved: no place to keep it was given`;
    try {
      return await options.saveEvidence(name, { evidence, domain: attestation });
    } catch (error) {
      return `evidence could not be saved as ${name}: ${messageOf(error)}`;
    }
  }

  /**
   * Judges a wrong cfrag: reports it through `onCheat` if its signer is the node's bonded operator. Never
   * rejects; resolves with what became of it, for the failure's message.
   */
  async function accuse(staker: string, named: unknown, evidence: SignedCFrag, reason: string): Promise<string> {
    const signer = attestationSigner(evidence, attestation);
    if (signer === undefined) return "not validly signed: not reportable";
    let bonded: boolean;
    try {
      bonded = options.isOperatorOf
        ? await options.isOperatorOf(staker, signer)
        : signer.toLowerCase() === String(named).toLowerCase();
    } catch (error) {
      const saved = await saveEvidence(staker, evidence);
      warn(`could not check on chain that ${signer} is the operator of ${staker}: ${messageOf(error)}; ${saved}`);
      return `signed by ${signer}, unconfirmed on chain; ${saved}`;
    }
    if (!bonded) {
      const whose = options.isOperatorOf ? `the operator bonded to ${staker}` : "the operator the node names";
      return `signed by ${signer}, which is not ${whose}: not reportable`;
    }
    if (!options.onCheat) return `signed by the node's operator ${signer}`;
    try {
      await options.onCheat({ staker, operator: signer, evidence, reason });
      return `signed by the node's operator ${signer}: reported`;
    } catch (error) {
      const saved = await saveEvidence(staker, evidence);
      warn(`reporting ${staker} (operator ${signer}) failed: ${messageOf(error)}; ${saved}`);
      return `signed by the node's operator ${signer}: report failed; ${saved}`;
    }
  }

  // The grant's copy of the conditions says whether to prove who asks; a node that demands a proof anyway
  // (the conditions were replaced since the grant was written) is asked again with one.
  const proveUpfront = requiredContext(grant.conditions?.conditions ?? null).has(USER_ADDRESS);
  async function withProof(node: { url: string }): Promise<ReencryptionRequest> {
    const requester = options.requester!;
    const proof = await signSiweProof(
      requester.signer,
      { uri: node.url, chainId: BigInt(grant.chainId) },
      await requesterNow(requester),
    );
    return { ...body, requester: proof };
  }

  /** One node's verified cfrag; throws with the reason the node's answer is not one. */
  async function ask(node: { staker: string; url: string }): Promise<VerifiedCapsuleFrag> {
    const send = (request: ReencryptionRequest) =>
      requestJson<ReencryptionResponse>(`${node.url}/v1/policies/${grant.policyId}/reencrypt`, request, {
        timeoutMs: options.timeoutMs ?? 10_000,
        signal: options.auditAll ? undefined : cancel.signal,
      });
    const proving = proveUpfront && options.requester !== undefined;
    let answer: ReencryptionResponse;
    try {
      answer = await send(proving ? await withProof(node) : body);
    } catch (e) {
      if (proving || !options.requester || !(e instanceof NodeRefusedError) || e.code !== "REQUESTER_PROOF_REQUIRED")
        throw e;
      answer = await send(await withProof(node));
    }
    const returned = answer?.cfrags?.[0];
    if (!returned) throw new Error("answer holds no cfrag");
    const cfrag = CapsuleFrag.fromBytes(getBytes(returned.cfrag));
    try {
      return cfrag.verify(capsule, verifyingPk, delegatingPk, receivingPk);
    } catch (e) {
      if (!(e instanceof CapsuleFragVerificationError)) throw e;
      const evidence: SignedCFrag = {
        capsule: capsule.toBytesSimple(),
        cfrag: cfrag.toBytesSimple(),
        delegatingKey: delegatingPk.toCompressedBytes(),
        receivingKey: receivingPk.toCompressedBytes(),
        verifyingKey: verifyingPk.toCompressedBytes(),
        nodeSignature: getBytes(returned.signature),
      };
      // Registered at once, so that Bob awaits it even if enough good cfrags arrive in the meantime.
      const judged = accuse(node.staker, answer.operator, evidence, e.message);
      reports.push(judged);
      throw new Error(`wrong cfrag (${e.message}), ${await judged}`);
    }
  }

  // A long wait says whom Bob is still waiting for.
  const awaited = new Set<(typeof grant.nodes)[number]>();
  const notice = setInterval(() => {
    const names = [...awaited].map((n) => `${n.staker} (${n.url})`);
    if (names.length) progress(`waiting for ${names.length} node(s): ${names.join(", ")}`);
  }, options.awaitedNoticeMs ?? 3_000);
  // Node: the notice timer alone keeps no process alive (browsers have no unref).
  (notice as { unref?: () => void }).unref?.();
  const order = options.auditAll ? [...grant.nodes] : shuffled(grant.nodes);
  const hedgeMs = options.auditAll ? 0 : (options.hedgeMs ?? 1_000);
  let hedge: ReturnType<typeof setTimeout> | undefined;
  const retries = new Set<ReturnType<typeof setTimeout>>();
  await new Promise<void>((resolve) => {
    let asked = 0;
    let settled = 0;
    let done = false;
    let hedged = false;
    /** Busy nodes asked once more after their Retry-After (`retries` holds the waits still running). */
    const retried = new Set<(typeof grant.nodes)[number]>();
    const finish = () => {
      done = true;
      resolve();
    };
    /** Asks the next node of `order`, if any is left. */
    const askNext = () => {
      if (done || asked === order.length) return;
      const node = order[asked++];
      awaited.add(node);
      // A busy node asked again: its first refusal no longer stands.
      const earlier = retried.has(node)
        ? failures.findIndex((f) => f.staker === node.staker && f.url === node.url)
        : -1;
      if (earlier >= 0) failures.splice(earlier, 1);
      void (async () => {
        let failed = true;
        try {
          const verified = await ask(node);
          const outcome = kept.add(node.staker, verified);
          if ("repeats" in outcome) {
            const reason = `repeats the kfrag id of the cfrag from ${outcome.repeats} (one of the two relays the other's)`;
            failures.push({ staker: node.staker, reason });
            progress(`cfrag from ${node.staker} not counted: ${reason}`);
          } else {
            failed = false;
            progress(`cfrag ${outcome.count}/${grant.threshold} from ${node.staker}`);
          }
        } catch (e) {
          const code = e instanceof NodeRefusedError ? e.code : undefined;
          const reason =
            code === "REQUESTER_PROOF_REQUIRED" && !options.requester
              ? `${failureReason(e)} (give Bob's Ethereum account: kms retrieve-decrypt --account)`
              : failureReason(e);
          failures.push({ staker: node.staker, url: node.url, reason, ...(code ? { code } : {}) });
          const wait = busyWait(e);
          if (wait !== undefined && !retried.has(node)) {
            // Busy (429/503 with a short Retry-After): another node is asked at once (below), and this one again
            // after its wait if Bob still needs it then.
            retried.add(node);
            progress(`node ${node.staker} is busy (${code}); asking it again in ${wait} s if still needed`);
            const timer = setTimeout(() => {
              retries.delete(timer);
              if (done) return;
              order.push(node);
              if (hedged || settled === asked) askNext();
            }, wait * 1000);
            retries.add(timer);
          }
        } finally {
          awaited.delete(node);
          settled++;
          // A node that gave no usable cfrag is replaced by the next one at once.
          if (failed) askNext();
          const enough = kept.complete() !== undefined && !options.auditAll;
          if (enough || (settled === asked && asked === order.length && retries.size === 0)) finish();
          else if (settled === asked) askNext(); // a good cfrag of another kfrag set: ask on
        }
      })();
    };
    const first = hedgeMs === 0 ? order.length : Math.min(grant.threshold, order.length);
    for (let i = 0; i < first; i++) askNext();
    if (order.length === 0) finish();
    if (asked < order.length) {
      hedge = setTimeout(() => {
        hedged = true;
        while (asked < order.length) askNext();
      }, hedgeMs);
      (hedge as { unref?: () => void }).unref?.();
    }
  });
  clearTimeout(hedge);
  for (const timer of retries) clearTimeout(timer);
  clearInterval(notice);
  cancel.abort();
  await Promise.all(reports);
  const cfrags = kept.complete();
  if (!cfrags) throw new NotEnoughCFragsError(grant.threshold, kept.best(), failures);
  return cfrags;
}

/**
 * Decrypts a sealed stream: parses the header, retrieves cfrags for its capsule, opens the file key. Throws
 * {@link WrongReceivingKeyError} at once, before any node is asked, if `receivingSk` is not the grant's.
 */
export function decryptStream(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  sealed: AsyncIterable<Uint8Array>,
  options: RetrieveOptions & { onBytes?: (bytes: number) => void } = {},
): AsyncGenerator<Uint8Array> {
  checkReceivingKey(grant, receivingSk);
  return openStream(
    sealed,
    async (header) => {
      const capsule = Capsule.fromBytes(header.capsule);
      const cfrags = await retrieveCFrags(grant, capsule, options);
      return decryptReencrypted(receivingSk, publicKeyOf(grant.delegatingKey), capsule, cfrags, header.wrappedKey);
    },
    options.onBytes,
  );
}

/** Retrieves and decrypts a sealed buffer in memory. */
export async function decryptBytes(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  sealed: Uint8Array,
  options: RetrieveOptions = {},
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const source = (async function* () {
    yield sealed;
  })();
  for await (const part of decryptStream(grant, receivingSk, source, options)) parts.push(part);
  return concatBytes(...parts);
}
