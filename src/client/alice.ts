// Alice: grants Bob m-of-n access through staked nodes, and keeps grants alive. A grant samples nodes by stake
// and checks each is live before anything is paid (./liveness), seals and signs every kfrag delivery, writes all
// of it to her journal (./journal) before the payment, pays the deposit, and delivers, journaling each
// acknowledgement: an interrupted grant resumes from its journal (`resumeGrant`) and never pays twice.
// `redeliverFromJournal` sends a node its kfrag again; `redeliver` replaces a policy's whole kfrag set.
// Revocation is src/policy's revokePolicy. Access conditions (docs/conditions.md): a grant may carry a condition
// set, validated before anything is paid, signed by the owner, committed on-chain with the policy and sent
// with every kfrag; `replaceConditions` commits and sends a newer version. Runtime-neutral: no Node-only import.
import { randomBytes } from "@noble/hashes/utils";
import { getBytes, hexlify, verifyMessage, ZeroHash, type Signer } from "ethers";
import type { KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import { generateKFrags, issueKFrags, type PublicKey, type VerifiedKeyFrag } from "../umbral";
import {
  conditionsOf,
  extendPolicy,
  InvalidSlotMoveError,
  setConditions as commitConditions,
  moveSlot,
  policyDeposit,
  PolicyNotLiveError,
  randomPolicyId,
  readPolicy,
  sortNodes,
  type PolicyHistory,
} from "../policy";
import { loadActiveNodes } from "../staking";
import { nodeContactOf, type NodeContact } from "../network/chain";
import { sealKFrag, type PolicyKeys } from "../network/delivery";
import {
  deliveryDigest,
  nodeEndpoint,
  parseNodeUrl,
  storageAckDigest,
  type KFragDelivery,
  type KFragReceipt,
} from "../network/protocol";
import { NodeUnreachableError, requestJson } from "./http";
import type { AliceKeys } from "./keys";
import { GRANT_JOURNAL_KIND, publicKeyOf, type PolicyGrant } from "./grant";
import { MemoryJournalStore, type GrantJournal, type GrantJournalStore, type JournalDelivery } from "./journal";
import { checkNamedNodes, pickLiveNodes, type ExpectedDeployment, type RejectedNode } from "./liveness";
import { formatKms } from "../units";
import {
  conditionsHash,
  parseConditions,
  signConditions,
  type ConditionExpression,
  type SignedConditionSet,
} from "../conditions";

export interface GrantContracts {
  token: KMSToken;
  escrow: StakingEscrow;
  policyManager: PolicyManager;
  nodeDirectory: NodeDirectory;
}

/**
 * Interruptions injected by tests at the points a real grant can be cut (Ctrl-C, kill -9, a lost RPC): each is
 * awaited, and whatever it throws ends the grant there, as a crash would.
 */
export interface GrantFaults {
  /** The journal is written, nothing is paid yet. */
  afterJournal?: () => void | Promise<void>;
  /** The payment transaction is sent (and journaled), not yet mined. */
  afterPaymentSent?: () => void | Promise<void>;
  /** `count` deliveries are acknowledged (and journaled). */
  afterDelivery?: (count: number) => void | Promise<void>;
}

/** How a grant (new or resumed) talks to nodes and reports. */
export interface GrantRunOptions {
  /** Deadline of each delivery; default 10 s. */
  timeoutMs?: number;
  /** Deadline of each status check before paying; default 5 s. */
  statusTimeoutMs?: number;
  onProgress?: (message: string) => void;
  faults?: GrantFaults;
}

export interface GrantRequest extends GrantRunOptions {
  /** Alice's Ethereum account: pays the deposit and owns the policy. */
  owner: Signer;
  keys: AliceKeys;
  receivingKey: PublicKey;
  threshold: number;
  shares: number;
  periods: bigint;
  feeRate: bigint;
  /** Serve with these stakers instead of sampling `shares` of them by stake (each must be live). */
  nodes?: string[];
  /** Sampling seed (default random); the same seed and chain state pick the same nodes. */
  seed?: Uint8Array;
  /** Policy id (16 bytes hex); random by default. Also the label of the policy's delegating key. */
  policyId?: string;
  /** Version of the kfrag set (see KFragDelivery.version); default the current Unix time in milliseconds. */
  version?: number;
  /** Where the journal is kept; default in memory only (then an interrupted grant cannot be resumed). */
  journal?: GrantJournalStore;
  /**
   * Access conditions the nodes judge every request by (a ConditionExpression, or its JSON text): validated
   * before anything is paid, signed as version 1, committed on-chain with the policy, sent with each kfrag.
   */
  conditions?: ConditionExpression | string;
}

/** Raised when a node's acknowledgement of storage is missing or not signed by the staker's operator. */
export class StorageAckError extends Error {
  constructor(
    readonly staker: string,
    reason: string,
  ) {
    super(`node ${staker} did not acknowledge storage: ${reason}`);
    this.name = "StorageAckError";
  }
}

/** Raised when a kfrag could not be delivered to a node; the policy exists on-chain and can be revoked. */
export class KFragDeliveryFailedError extends Error {
  constructor(
    readonly policyId: string,
    readonly failures: { staker: string; reason: string }[],
    /** Nodes that hold their kfrag, and the policy's threshold. */
    readonly acknowledged = 0,
    readonly threshold = 0,
  ) {
    super(
      `policy ${policyId} was created but ${failures.length} node(s) did not accept their kfrag` +
        (threshold
          ? acknowledged >= threshold
            ? ` (${acknowledged} hold theirs: Bob can decrypt, ${threshold} needed)`
            : ` and it cannot reach its threshold: ${acknowledged} of the ${threshold} kfrags needed are held`
          : "") +
        ": " +
        failures.map((f) => `${f.staker}: ${f.reason}`).join("; "),
    );
    this.name = "KFragDeliveryFailedError";
  }

  /** Whether fewer nodes than the threshold hold their kfrag: Bob cannot decrypt until more are delivered. */
  get belowThreshold(): boolean {
    return this.acknowledged < this.threshold;
  }
}

/** Raised when a journal does not belong to this chain, deployment or account. */
export class GrantJournalMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GrantJournalMismatchError";
  }
}

/** Raised when the grant's policy was revoked: nothing is paid or delivered for it any more. */
export class PolicyRevokedError extends Error {
  constructor(readonly policyId: string) {
    super(`policy ${policyId} was revoked; nothing left to do for it (grant a new one)`);
    this.name = "PolicyRevokedError";
  }
}

/** Grants `receivingKey` m-of-n access; resolves with the public grant once every node holds its kfrag. */
export async function grant(contracts: GrantContracts, request: GrantRequest): Promise<PolicyGrant> {
  const progress = request.onProgress ?? (() => undefined);
  const policyId = request.policyId ?? randomPolicyId();
  const expected = await deploymentOf(contracts, request.owner);
  // A malformed condition set is refused here, before any node is asked or anything is paid.
  const parsedConditions =
    request.conditions === undefined ? undefined : parseConditions(request.conditions, { chainId: expected.chainId });

  // Nodes: sampled by stake and checked live, or named and checked live. Nothing is paid before this.
  let contacts: NodeContact[];
  let rejected: RejectedNode[] = [];
  let sampleSeed: Uint8Array | undefined;
  const onRejected = (node: RejectedNode) => progress(`node ${node.staker} not used: ${node.reason}`);
  if (request.nodes) {
    if (request.nodes.length !== request.shares) {
      throw new RangeError(`shares is ${request.shares} but ${request.nodes.length} nodes were given`);
    }
    for (const staker of request.nodes) parseNodeUrl((await nodeContactOf(contracts.nodeDirectory, staker)).url);
    contacts = await checkNamedNodes(contracts, request.nodes, expected, {
      timeoutMs: request.statusTimeoutMs,
      onRejected,
    });
  } else {
    const current = await contracts.escrow.getCurrentPeriod();
    const candidates = await loadActiveNodes(contracts, { lockedUntil: current + request.periods });
    sampleSeed = request.seed ?? randomBytes(32);
    ({ contacts, rejected } = await pickLiveNodes(contracts, candidates, request.shares, sampleSeed, expected, {
      timeoutMs: request.statusTimeoutMs,
      onRejected,
    }));
    progress(
      `sampled ${contacts.length} of ${candidates.length} active nodes by stake` +
        (rejected.length ? ` (${rejected.length} replaced: not live)` : ""),
    );
  }

  // generateKFrags checks 1 ≤ threshold ≤ shares before anything is paid. The set is seeded from Alice's key
  // and the policy id, so she can issue a replacement share of the same polynomial later (healSlot).
  const delegatingSk = request.keys.delegatingKey(policyId);
  const signer = request.keys.signer();
  const kfrags = generateKFrags(
    delegatingSk,
    request.receivingKey,
    signer,
    request.threshold,
    request.shares,
    true,
    true,
    { coefficientsSeed: request.keys.kfragSeed(policyId) },
  );
  const keys = {
    delegatingPk: delegatingSk.publicKey(),
    receivingPk: request.receivingKey,
    verifyingPk: signer.verifyingKey(),
  };
  const version = request.version ?? Date.now();
  const conditions =
    parsedConditions &&
    (await signConditions(request.owner, conditionsDomainOf(expected), {
      policyId,
      version: 1,
      conditions: parsedConditions,
    }));
  if (conditions) progress(`access conditions signed (version 1, hash ${conditionsHash(conditions.conditions)})`);
  const deliveries = await Promise.all(
    contacts.map((contact, i) =>
      sealDelivery(expected, request.owner, policyId, version, contact, kfrags[i], i, keys, conditions),
    ),
  );
  const journal: GrantJournal = {
    kind: GRANT_JOURNAL_KIND,
    version: 1,
    grant: {
      version: 2,
      chainId: expected.chainId.toString(),
      policyManager: expected.policyManager,
      escrow: expected.escrow,
      nodeDirectory: expected.nodeDirectory,
      adjudicator: await contracts.escrow.adjudicator(),
      policyId,
      owner: await request.owner.getAddress(),
      delegatingKey: hexlify(keys.delegatingPk.toCompressedBytes()),
      verifyingKey: hexlify(keys.verifyingPk.toCompressedBytes()),
      receivingKey: hexlify(keys.receivingPk.toCompressedBytes()),
      threshold: request.threshold,
      nodes: contacts.map((c) => ({
        staker: c.staker,
        url: c.url,
        encryptingKey: hexlify(c.encryptingKey.toCompressedBytes()),
      })),
      startPeriod: "",
      endPeriod: "",
      ...(conditions ? { conditions } : {}),
    },
    ...(conditions ? { conditions } : {}),
    token: await contracts.token.getAddress(),
    periods: request.periods.toString(),
    feeRate: request.feeRate.toString(),
    sampleSeed: sampleSeed ? hexlify(sampleSeed) : undefined,
    sharesIssued: request.shares,
    deliveries,
    payment: { state: "unpaid" },
    rejected,
  };
  const store = request.journal ?? new MemoryJournalStore();
  await store.save(journal);
  progress(`journal written (policy ${policyId}); nothing paid yet`);
  await request.faults?.afterJournal?.();
  return completeGrant(contracts, request.owner, journal, store, request);
}

/**
 * Resumes a grant from its journal: pays only if the policy does not exist on-chain (a payment sent before is
 * waited for; `createPolicy` refuses a second policy of the same id anyway), then delivers every kfrag not yet
 * acknowledged. Resolves with the public grant; throws KFragDeliveryFailedError if some node still refuses.
 */
export function resumeGrant(
  contracts: GrantContracts,
  owner: Signer,
  journal: GrantJournal,
  store: GrantJournalStore,
  options: GrantRunOptions = {},
): Promise<PolicyGrant> {
  return completeGrant(contracts, owner, journal, store, options);
}

async function completeGrant(
  contracts: GrantContracts,
  owner: Signer,
  journal: GrantJournal,
  store: GrantJournalStore,
  options: GrantRunOptions,
): Promise<PolicyGrant> {
  const progress = options.onProgress ?? (() => undefined);
  const expected = await deploymentOf(contracts, owner);
  await checkJournalDeployment(journal, expected, owner);
  const save = serialSaver(store, journal);
  await ensurePaid(contracts, owner, journal, save, progress, options.faults);
  await store.publish(journal.grant);
  await rebindDeliveries(expected, owner, journal, journal.deliveries, save);
  await deliverPending(contracts, journalSet(journal), journal.deliveries, save, progress, options);
  return journal.grant;
}

/** The EIP-712 domain condition sets of this deployment are signed in. */
const conditionsDomainOf = (expected: ExpectedDeployment) => ({
  chainId: expected.chainId,
  policyManager: expected.policyManager,
});

/**
 * Re-signs each of `targets` whose owner signature binds another condition set than the journal's current one
 * (the conditions were replaced since it was sealed): same sealed kfrag, a higher delivery version, a digest
 * binding the current set. A node then stores it as a newer delivery of the same kfrag.
 */
async function rebindDeliveries(
  expected: ExpectedDeployment,
  owner: Signer,
  journal: GrantJournal,
  targets: JournalDelivery[],
  save: () => Promise<void>,
): Promise<void> {
  const current = journal.conditions;
  let changed = false;
  for (const delivery of targets) {
    if ((delivery.conditionsVersion ?? 0) === (current?.version ?? 0)) continue;
    const version = Math.max(Date.now(), delivery.version + 1);
    const digest = deliveryDigestOf(expected, journal.grant.policyId, delivery.staker, version, delivery, current);
    Object.assign(delivery, {
      version,
      digest: hexlify(digest),
      ownerSignature: await owner.signMessage(digest),
      conditionsVersion: current?.version,
      acknowledged: undefined,
    });
    changed = true;
  }
  if (changed) await save();
}

/** The digest a delivery's owner signature covers (src/network/protocol.ts; v3 when it carries conditions). */
function deliveryDigestOf(
  expected: ExpectedDeployment,
  policyId: string,
  staker: string,
  version: number,
  sealed: { capsule: string | Uint8Array; ciphertext: string | Uint8Array },
  conditions: SignedConditionSet | undefined,
): Uint8Array {
  return deliveryDigest({
    chainId: expected.chainId,
    policyManager: expected.policyManager,
    policyId,
    staker,
    version,
    capsule: getBytes(sealed.capsule),
    ciphertext: getBytes(sealed.ciphertext),
    conditions: conditions && { version: conditions.version, hash: conditionsHash(conditions.conditions) },
  });
}

/** The chain id and contract addresses `contracts` are at, as nodes must report them. */
async function deploymentOf(contracts: GrantContracts, owner: Signer): Promise<ExpectedDeployment> {
  const [{ chainId }, escrow, policyManager, nodeDirectory] = await Promise.all([
    owner.provider!.getNetwork(),
    contracts.escrow.getAddress(),
    contracts.policyManager.getAddress(),
    contracts.nodeDirectory.getAddress(),
  ]);
  return { chainId, escrow, policyManager, nodeDirectory };
}

/** Throws GrantJournalMismatchError unless the journal is of this chain, PolicyManager and owner account. */
export async function checkJournalDeployment(
  journal: GrantJournal,
  expected: ExpectedDeployment,
  owner: Signer,
): Promise<void> {
  const { grant: g } = journal;
  if (g.chainId !== expected.chainId.toString()) {
    throw new GrantJournalMismatchError(
      `the grant is on chain ${g.chainId}, this network is chain ${expected.chainId}`,
    );
  }
  if (g.policyManager.toLowerCase() !== expected.policyManager.toLowerCase()) {
    throw new GrantJournalMismatchError(
      `the grant's PolicyManager is ${g.policyManager}, this deployment's is ${expected.policyManager}`,
    );
  }
  const account = await owner.getAddress();
  if (account.toLowerCase() !== g.owner.toLowerCase()) {
    throw new GrantJournalMismatchError(`the grant is owned by ${g.owner}; run it --from that account, not ${account}`);
  }
}

/** Saves the journal after each step, one save at a time, in order. */
function serialSaver(store: GrantJournalStore, journal: GrantJournal): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return () => (last = last.catch(() => undefined).then(() => store.save(journal)));
}

/** Whether `error` is a revert with the PolicyManager's custom error `name`. */
export function isRevert(pm: PolicyManager, error: unknown, name: string): boolean {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && depth < 6; depth++) {
    if ((e.revert as { name?: string } | undefined)?.name === name) return true;
    if (typeof e.data === "string" && e.data.length >= 10) {
      try {
        if (pm.interface.parseError(e.data)?.name === name) return true;
      } catch {
        // Not one of the PolicyManager's errors.
      }
    }
    e = (e.error ?? e.info ?? e.cause) as Record<string, unknown> | undefined;
  }
  return false;
}

/**
 * Makes sure the policy is paid for exactly once. The policy id is fixed in the journal, so: if it exists
 * on-chain, it is paid (and checked to be this grant's); else a payment sent before is waited for while it
 * is pending; else (never sent, dropped or reverted) it is sent, journaled, and waited for. A payment that
 * reverts PolicyAlreadyExists lost a race with an earlier one, which is then the payment.
 */
async function ensurePaid(
  contracts: GrantContracts,
  owner: Signer,
  journal: GrantJournal,
  save: () => Promise<void>,
  progress: (message: string) => void,
  faults: GrantFaults | undefined,
): Promise<void> {
  const pm = contracts.policyManager;
  const id = journal.grant.policyId;
  const provider = owner.provider!;
  for (let attempt = 0; attempt < 4; attempt++) {
    if ((await pm.policyCommitment(id)) !== ZeroHash) return recordPaid(pm, journal, save, progress);
    const sent = journal.payment.state === "sent" ? journal.payment.txHash : undefined;
    if (sent) {
      const tx = await provider.getTransaction(sent);
      if (tx && tx.blockNumber == null) {
        progress(`waiting for the payment sent before (tx ${sent})`);
        await tx.wait().catch(() => undefined);
        continue;
      }
      const receipt = tx ? await provider.getTransactionReceipt(sent) : null;
      if (receipt?.status === 1) continue;
      progress(`the payment sent before (tx ${sent}) was ${tx ? "reverted" : "dropped"}; paying again`);
    }
    const nodes = sortNodes(journal.grant.nodes.map((n) => n.staker));
    const feeRate = BigInt(journal.feeRate);
    const periods = BigInt(journal.periods);
    const deposit = policyDeposit(feeRate, periods, nodes.length);
    const payer = await owner.getAddress();
    const pmAddress = await pm.getAddress();
    if ((await contracts.token.allowance(payer, pmAddress)) < deposit) {
      await (await contracts.token.connect(owner).approve(pmAddress, deposit)).wait();
    }
    const start = await pm.getCurrentPeriod();
    let tx;
    // A policy with conditions is created committed to them: it never exists without them.
    const committed = journal.conditions?.conditions ? conditionsHash(journal.conditions.conditions) : undefined;
    try {
      tx = committed
        ? await pm
            .connect(owner)
            .createPolicyWithConditions(id, journal.grant.owner, nodes, start + periods, feeRate, committed)
        : await pm.connect(owner).createPolicy(id, journal.grant.owner, nodes, start + periods, feeRate);
    } catch (e) {
      if (isRevert(pm, e, "PolicyAlreadyExists")) continue;
      throw e;
    }
    journal.payment = { state: "sent", txHash: tx.hash };
    await save();
    progress(`payment of ${formatKms(deposit)} KMS sent (tx ${tx.hash})`);
    await faults?.afterPaymentSent?.();
    try {
      await tx.wait();
    } catch (e) {
      if (!isRevert(pm, e, "PolicyAlreadyExists")) throw e;
    }
  }
  throw new Error(`policy ${id}: the payment did not settle after several tries; run the resume again`);
}

/** The policy exists: checks it is this grant's, then journals it paid, with its periods. */
async function recordPaid(
  pm: PolicyManager,
  journal: GrantJournal,
  save: () => Promise<void>,
  progress: (message: string) => void,
): Promise<void> {
  const history = await readPolicy(pm, journal.grant.policyId);
  const ours = sortNodes(journal.grant.nodes.map((n) => n.staker)).join();
  if (
    history.record.owner.toLowerCase() !== journal.grant.owner.toLowerCase() ||
    sortNodes(history.record.nodes).join() !== ours
  ) {
    throw new GrantJournalMismatchError(
      `policy ${journal.grant.policyId} exists on-chain with another owner or other nodes than this grant's`,
    );
  }
  if (history.revoked) {
    journal.revoked = true;
    await save();
    throw new PolicyRevokedError(journal.grant.policyId);
  }
  const wasPaid = journal.payment.state === "paid";
  journal.payment = {
    ...journal.payment,
    state: "paid",
    startPeriod: history.record.startPeriod.toString(),
    endPeriod: history.record.endPeriod.toString(),
  };
  journal.grant.startPeriod = history.record.startPeriod.toString();
  journal.grant.endPeriod = history.record.endPeriod.toString();
  await save();
  if (!wasPaid) {
    progress(
      `policy ${journal.grant.policyId} created, deposit ${formatKms(history.deposit)} KMS` +
        (journal.payment.txHash ? ` (tx ${journal.payment.txHash})` : ""),
    );
  }
}

/** Seals `kfrag` to `contact`'s key and signs the delivery as the owner: a journal entry, not yet sent. */
async function sealDelivery(
  expected: ExpectedDeployment,
  owner: Signer,
  policyId: string,
  version: number,
  contact: NodeContact,
  kfrag: VerifiedKeyFrag,
  share: number,
  keys: PolicyKeys,
  conditions?: SignedConditionSet,
): Promise<JournalDelivery> {
  const { capsule, ciphertext } = sealKFrag(contact.encryptingKey, kfrag, keys);
  const digest = deliveryDigestOf(expected, policyId, contact.staker, version, { capsule, ciphertext }, conditions);
  return {
    staker: contact.staker,
    share,
    encryptingKey: hexlify(contact.encryptingKey.toCompressedBytes()),
    version,
    capsule: hexlify(capsule),
    ciphertext: hexlify(ciphertext),
    ownerSignature: await owner.signMessage(getBytes(digest)),
    digest: hexlify(digest),
    ...(conditions ? { conditionsVersion: conditions.version } : {}),
  };
}

/**
 * Sends every delivery of `targets` that is not acknowledged yet (all at once), journaling each signed
 * acknowledgement as it comes. Throws KFragDeliveryFailedError naming each node that did not acknowledge.
 */
async function deliverPending(
  contracts: GrantContracts,
  set: { policyId: string; threshold: number; deliveries: JournalDelivery[]; conditions?: SignedConditionSet },
  targets: JournalDelivery[],
  save: () => Promise<void>,
  progress: (message: string) => void,
  options: GrantRunOptions,
): Promise<void> {
  const { policyId } = set;
  const failures: { staker: string; reason: string }[] = [];
  const pending = targets.filter((d) => !d.acknowledged);
  let done = set.deliveries.filter((d) => d.acknowledged).length;
  await Promise.all(
    pending.map(async (delivery) => {
      try {
        const contact = await nodeContactOf(contracts.nodeDirectory, delivery.staker);
        parseNodeUrl(contact.url);
        if (hexlify(contact.encryptingKey.toCompressedBytes()) !== delivery.encryptingKey) {
          throw new Error(
            "the node announced a new encrypting key since its kfrag was sealed: " +
              "seal it again with kms redeliver (it needs Alice's key)",
          );
        }
        const body: KFragDelivery = {
          capsule: delivery.capsule,
          ciphertext: delivery.ciphertext,
          version: delivery.version,
          ownerSignature: delivery.ownerSignature,
          ...(set.conditions ? { conditions: set.conditions } : {}),
        };
        const receipt = await sendDelivery(
          nodeEndpoint(contact.url, "v1", "policies", policyId, "kfrag"),
          body,
          options,
        );
        const operator = await checkStorageAck(contracts.escrow, delivery.staker, getBytes(delivery.digest), receipt);
        delivery.acknowledged = { operator, signature: receipt.signature, at: new Date().toISOString() };
        await save();
      } catch (e) {
        failures.push({ staker: delivery.staker, reason: (e as Error).message });
        return;
      }
      done++;
      progress(`kfrag delivered to ${delivery.staker} (${done} of ${set.deliveries.length} acknowledged)`);
      // An injected interruption ends the grant here (not a node's failure).
      await options.faults?.afterDelivery?.(done);
    }),
  );
  if (failures.length) {
    const held = set.deliveries.filter((d) => d.acknowledged).length;
    throw new KFragDeliveryFailedError(policyId, failures, held, set.threshold);
  }
}

/**
 * Posts one delivery, trying again (twice, a second apart) when the node could not be reached: a kept-alive
 * connection the node closed meanwhile fails that way, and a delivery is idempotent (the node answers "unchanged").
 */
async function sendDelivery<T = KFragReceipt>(
  url: string,
  body: KFragDelivery | SignedConditionSet,
  options: GrantRunOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await requestJson<T>(url, body, { timeoutMs: options.timeoutMs ?? 10_000 });
    } catch (e) {
      if (!(e instanceof NodeUnreachableError) || attempt >= 3) throw e;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** Re-sends nodes their kfrag from the journal (e.g. a node that lost its disk); `stakers` default all. */
export interface JournalRedeliveryOptions extends GrantRunOptions {
  owner: Signer;
  /** The nodes to send to again; default every node of the grant. */
  stakers?: string[];
  /** Alice's keys: needed only for a node whose encrypting key changed (its kfrag is sealed anew). */
  keys?: AliceKeys;
}

/**
 * Sends each chosen node its kfrag again, acknowledged or not: the same sealed delivery if the node still has
 * the key it was sealed to (a node that lost its store), else the same share sealed to its new key with a new
 * version (needs `keys`). Throws KFragDeliveryFailedError naming each node that did not acknowledge.
 */
export async function redeliverFromJournal(
  contracts: GrantContracts,
  journal: GrantJournal,
  store: GrantJournalStore,
  options: JournalRedeliveryOptions,
): Promise<void> {
  const progress = options.onProgress ?? (() => undefined);
  const expected = await deploymentOf(contracts, options.owner);
  await checkJournalDeployment(journal, expected, options.owner);
  if (journal.payment.state !== "paid") {
    throw new GrantJournalMismatchError(
      `policy ${journal.grant.policyId} is not paid yet: finish the grant first (kms grant --resume)`,
    );
  }
  const save = serialSaver(store, journal);
  const wanted = options.stakers?.map((s) => s.toLowerCase());
  const targets = journal.deliveries.filter((d) => !wanted || wanted.includes(d.staker.toLowerCase()));
  for (const staker of wanted ?? []) {
    if (!targets.some((d) => d.staker.toLowerCase() === staker))
      throw new NodeNotInGrantError(journal.grant.policyId, staker);
  }
  for (const delivery of targets) {
    const contact = await nodeContactOf(contracts.nodeDirectory, delivery.staker);
    if (hexlify(contact.encryptingKey.toCompressedBytes()) !== delivery.encryptingKey) {
      if (!options.keys) {
        throw new GrantJournalMismatchError(
          `node ${delivery.staker} announced a new encrypting key: its kfrag must be sealed anew, give --alice-key`,
        );
      }
      const [kfrag] = shareKFrags(journal, options.keys, [delivery.share]);
      const fresh = await sealDelivery(
        expected,
        options.owner,
        journal.grant.policyId,
        Math.max(Date.now(), delivery.version + 1),
        contact,
        kfrag,
        delivery.share,
        policyKeysOf(journal),
        journal.conditions,
      );
      Object.assign(delivery, fresh, { acknowledged: undefined });
      journal.grant.nodes = journal.grant.nodes.map((n) =>
        n.staker === delivery.staker ? { ...n, url: contact.url, encryptingKey: fresh.encryptingKey } : n,
      );
      await save();
      progress(`node ${delivery.staker} has a new key: its share is sealed to it anew`);
    } else delivery.acknowledged = undefined;
  }
  await store.publish(journal.grant);
  await rebindDeliveries(expected, options.owner, journal, targets, save);
  await deliverPending(contracts, journalSet(journal), targets, save, progress, options);
}

/** Raised for a node that is not one of a grant's nodes. */
export class NodeNotInGrantError extends Error {
  constructor(
    readonly policyId: string,
    readonly staker: string,
  ) {
    super(`node ${staker} is not one of the nodes of policy ${policyId}`);
    this.name = "NodeNotInGrantError";
  }
}

/** The kfrag set a journal delivers. */
const journalSet = (journal: GrantJournal) => ({
  policyId: journal.grant.policyId,
  threshold: journal.grant.threshold,
  deliveries: journal.deliveries,
  conditions: journal.conditions,
});

/** The policy's keys as the journal's public grant names them. */
function policyKeysOf(journal: GrantJournal): PolicyKeys {
  return {
    delegatingPk: publicKeyOf(journal.grant.delegatingKey),
    receivingPk: publicKeyOf(journal.grant.receivingKey),
    verifyingPk: publicKeyOf(journal.grant.verifyingKey),
  };
}

/** The kfrags of share indices `shares` of the journal's policy, rebuilt from Alice's keys (checked to be hers). */
function shareKFrags(journal: GrantJournal, keys: AliceKeys, shares: number[]): VerifiedKeyFrag[] {
  const { policyId } = journal.grant;
  const delegatingSk = keys.delegatingKey(policyId);
  if (hexlify(delegatingSk.publicKey().toCompressedBytes()) !== journal.grant.delegatingKey) {
    throw new GrantJournalMismatchError(`this Alice key is not the one policy ${policyId} was granted with`);
  }
  return issueKFrags(
    delegatingSk,
    publicKeyOf(journal.grant.receivingKey),
    keys.signer(),
    journal.grant.threshold,
    keys.kfragSeed(policyId),
    shares,
    true,
    true,
  );
}

/** What `redeliver` needs: the policy, its owner and keys, and the kfrag set's parameters. */
export interface RedeliveryRequest {
  owner: Signer;
  keys: AliceKeys;
  policyId: string;
  receivingKey: PublicKey;
  threshold: number;
  /** The policy's nodes, in the policy's order. */
  nodes: string[];
  /** Must exceed the version the nodes hold; default the current Unix time in milliseconds. */
  version?: number;
  /** The policy's current signed condition set, when it has one (the nodes refuse a kfrag without it). */
  conditions?: SignedConditionSet;
  timeoutMs?: number;
  onProgress?: (message: string) => void;
}

/**
 * Makes a fresh kfrag set (a new random polynomial) for an existing policy and delivers it to the policy's nodes,
 * replacing the set they hold, whose shares stop combining with the new ones. Resolves once every node
 * acknowledged its kfrag.
 */
export async function redeliver(contracts: GrantContracts, request: RedeliveryRequest): Promise<void> {
  const progress = request.onProgress ?? (() => undefined);
  const expected = await deploymentOf(contracts, request.owner);
  const contacts = await Promise.all(request.nodes.map((s) => nodeContactOf(contracts.nodeDirectory, s)));
  for (const contact of contacts) parseNodeUrl(contact.url);
  const delegatingSk = request.keys.delegatingKey(request.policyId);
  const signer = request.keys.signer();
  const kfrags = generateKFrags(
    delegatingSk,
    request.receivingKey,
    signer,
    request.threshold,
    request.nodes.length,
    true,
    true,
  );
  const keys = {
    delegatingPk: delegatingSk.publicKey(),
    receivingPk: request.receivingKey,
    verifyingPk: signer.verifyingKey(),
  };
  const version = request.version ?? Date.now();
  const deliveries = await Promise.all(
    contacts.map((c, i) =>
      sealDelivery(expected, request.owner, request.policyId, version, c, kfrags[i], i, keys, request.conditions),
    ),
  );
  const set = { policyId: request.policyId, threshold: request.threshold, deliveries, conditions: request.conditions };
  await deliverPending(contracts, set, deliveries, async () => undefined, progress, request);
}

/**
 * Checks that `receipt` is signed by `staker`'s bonded operator over `digest`; returns the operator, throws
 * StorageAckError.
 */
async function checkStorageAck(
  escrow: StakingEscrow,
  staker: string,
  digest: Uint8Array,
  receipt: KFragReceipt | undefined,
): Promise<string> {
  if (typeof receipt !== "object" || receipt === null || typeof receipt.signature !== "string") {
    throw new StorageAckError(staker, "the answer carries no signed acknowledgement");
  }
  let signer: string;
  try {
    signer = verifyMessage(storageAckDigest(digest), receipt.signature);
  } catch {
    throw new StorageAckError(staker, "the acknowledgement's signature is malformed");
  }
  const operator = await escrow.operatorOf(staker);
  if (signer !== operator) {
    throw new StorageAckError(staker, `acknowledgement signed by ${signer}, not by the operator ${operator}`);
  }
  return operator;
}

/** The policy of a journal as the chain has it now; throws unless it is paid, this grant's, and not revoked. */
async function livePolicyOf(contracts: GrantContracts, journal: GrantJournal, owner: Signer): Promise<PolicyHistory> {
  await checkJournalDeployment(journal, await deploymentOf(contracts, owner), owner);
  const { policyId } = journal.grant;
  if (journal.payment.state !== "paid") {
    throw new PolicyNotLiveError(policyId, "is not paid yet: finish the grant first (kms grant --resume)");
  }
  const history = await readPolicy(contracts.policyManager, policyId);
  if (history.revoked || journal.revoked) throw new PolicyNotLiveError(policyId, "was revoked");
  const current = await contracts.policyManager.getCurrentPeriod();
  if (current >= history.record.endPeriod) {
    throw new PolicyNotLiveError(policyId, `ended at period ${history.record.endPeriod} (now ${current})`);
  }
  return history;
}

/** What `extendGrant` is asked to do. */
export interface ExtendOptions extends GrantRunOptions {
  owner: Signer;
  /** Periods added to the policy's current end. */
  periods: bigint;
  /** Called with the fee before it is paid; throwing stops the extension (nothing paid). */
  confirmFee?: (fee: bigint, endPeriod: bigint) => void | Promise<void>;
}

/** What an extension did. */
export interface Extension {
  previousEndPeriod: bigint;
  endPeriod: bigint;
  /** Paid now (0 when a retry found the journaled extension already on-chain). */
  fee: bigint;
}

/**
 * Extends the journal's policy by `periods` from its current end: same nodes, fee rate × periods × nodes paid
 * by the owner. Idempotent on retry: the target end is journaled before paying, and a retry that finds it
 * on-chain pays nothing (the contract takes the new end, not a count, so a replayed call cannot pay twice).
 */
export async function extendGrant(
  contracts: GrantContracts,
  journal: GrantJournal,
  store: GrantJournalStore,
  options: ExtendOptions,
): Promise<Extension> {
  const progress = options.onProgress ?? (() => undefined);
  const pm = contracts.policyManager;
  const save = serialSaver(store, journal);
  const history = await livePolicyOf(contracts, journal, options.owner);
  const { record } = history;
  const pending = journal.pendingExtension;
  const previousEndPeriod = BigInt(journal.grant.endPeriod || record.endPeriod);
  let fee = 0n;
  if (pending && record.endPeriod >= BigInt(pending.endPeriod)) {
    progress(`the extension to period ${pending.endPeriod} journaled before is on-chain; nothing more to pay`);
  } else {
    if (options.periods < 1n) throw new RangeError("an extension adds at least one period");
    const endPeriod = pending ? BigInt(pending.endPeriod) : record.endPeriod + options.periods;
    fee = policyDeposit(record.feeRate, endPeriod - record.endPeriod, record.nodes.length);
    await options.confirmFee?.(fee, endPeriod);
    journal.pendingExtension = { endPeriod: endPeriod.toString() };
    await save();
    try {
      const done = await extendPolicy(pm, contracts.token, options.owner, journal.grant.policyId, endPeriod);
      progress(`policy extended to period ${endPeriod} (tx ${done.txHash}), fee ${formatKms(fee)} KMS`);
    } catch (e) {
      // A retry whose first try went through meanwhile: the chain has the new end already.
      if (!isRevert(pm, e, "EndPeriodNotLater") && !isRevert(pm, e, "PolicyRecordMismatch")) throw e;
      fee = 0n;
    }
  }
  const after = await readPolicy(pm, journal.grant.policyId);
  if (journal.pendingExtension && after.record.endPeriod < BigInt(journal.pendingExtension.endPeriod)) {
    throw new PolicyNotLiveError(
      journal.grant.policyId,
      `still ends at period ${after.record.endPeriod}: the extension did not go through`,
    );
  }
  journal.grant.endPeriod = after.record.endPeriod.toString();
  journal.payment.endPeriod = journal.grant.endPeriod;
  journal.pendingExtension = undefined;
  await save();
  await store.publish(journal.grant);
  return { previousEndPeriod, endPeriod: after.record.endPeriod, fee };
}

/** What `healSlot` is asked to do. */
export interface HealOptions extends GrantRunOptions {
  owner: Signer;
  /** Alice's keys: the replacement share is issued from the policy's seeded polynomial. */
  keys: AliceKeys;
  /** The node that left. */
  staker: string;
  /** The node to take the slot; default the next live draw of the grant's seeded sample. */
  to?: string;
}

/** What a heal did. */
export interface Heal {
  index: number;
  from: string;
  to: string;
  /** The share index of the replacement kfrag in the policy's seeded set. */
  share: number;
}

/**
 * Moves the slot of `staker` (a node that left) to a replacement and gives it a kfrag that combines with the
 * remaining ones: a new share, with a fresh id, of the same polynomial (Alice's seeded kfrag set). The
 * replacement is checked live before anything is sent and is the next draw of the grant's seeded sample unless
 * named. The move is journaled before its transaction, so a retried heal finishes it instead of starting another.
 */
export async function healSlot(
  contracts: GrantContracts,
  journal: GrantJournal,
  store: GrantJournalStore,
  options: HealOptions,
): Promise<Heal> {
  const progress = options.onProgress ?? (() => undefined);
  const pm = contracts.policyManager;
  const save = serialSaver(store, journal);
  const { policyId } = journal.grant;
  const history = await livePolicyOf(contracts, journal, options.owner);
  const expected = await deploymentOf(contracts, options.owner);
  const lower = (a: string) => a.toLowerCase();

  let move = journal.pendingMove;
  if (move && lower(move.from) !== lower(options.staker)) {
    throw new InvalidSlotMoveError(
      policyId,
      `the move of node ${move.from}'s slot to ${move.to} is unfinished: run kms heal --node ${move.from} first`,
    );
  }
  if (!move) {
    const index = history.record.nodes.findIndex((n) => lower(n) === lower(options.staker));
    if (index < 0) throw new NodeNotInGrantError(policyId, options.staker);
    const inPolicy = history.record.nodes;
    let contact: NodeContact;
    if (options.to) {
      if (inPolicy.some((n) => lower(n) === lower(options.to!))) {
        throw new InvalidSlotMoveError(policyId, `${options.to} already serves it`);
      }
      [contact] = await checkNamedNodes(contracts, [options.to], expected, { timeoutMs: options.statusTimeoutMs });
    } else {
      const candidates = await loadActiveNodes(contracts, { lockedUntil: history.record.endPeriod });
      const seed = journal.sampleSeed ? getBytes(journal.sampleSeed) : randomBytes(32);
      const gone = [...inPolicy, ...(journal.moves ?? []).map((m) => m.from)];
      ({
        contacts: [contact],
      } = await pickLiveNodes(contracts, candidates, 1, seed, expected, {
        exclude: gone,
        timeoutMs: options.statusTimeoutMs,
        onRejected: (node) => progress(`node ${node.staker} not used: ${node.reason}`),
      }));
    }
    const share = journal.sharesIssued;
    const [kfrag] = shareKFrags(journal, options.keys, [share]);
    const delivery = await sealDelivery(
      expected,
      options.owner,
      policyId,
      Date.now(),
      contact,
      kfrag,
      share,
      policyKeysOf(journal),
      journal.conditions,
    );
    move = { index, from: inPolicy[index], to: contact.staker, delivery };
    journal.sharesIssued = share + 1;
    journal.pendingMove = move;
    await save();
    progress(`slot ${index} of ${move.from} goes to ${move.to} (replacement share ${share})`);
  }

  const current = await readPolicy(pm, policyId);
  if (lower(current.record.nodes[move.index] ?? "") !== lower(move.to)) {
    const moved = await moveSlot(pm, options.owner, policyId, move.index, move.to);
    move.txHash = moved.txHash;
    progress(`slot moved on-chain (tx ${moved.txHash}); ${move.to} serves from period ${moved.fromPeriod}`);
  }

  // The grant now names the new node in the old one's place; its kfrag is delivered (and can be resumed).
  const at = journal.grant.nodes.findIndex((n) => lower(n.staker) === lower(move.from));
  const contact = await nodeContactOf(contracts.nodeDirectory, move.to);
  const entry = { staker: move.to, url: contact.url, encryptingKey: move.delivery.encryptingKey };
  if (at >= 0) {
    journal.grant.nodes[at] = entry;
    journal.deliveries[at] = move.delivery;
  }
  journal.moves = [...(journal.moves ?? []), { index: move.index, from: move.from, to: move.to, txHash: move.txHash }];
  journal.pendingMove = undefined;
  await save();
  await store.publish(journal.grant);
  await rebindDeliveries(expected, options.owner, journal, [move.delivery], save);
  await deliverPending(contracts, journalSet(journal), [move.delivery], save, progress, options);
  return { index: move.index, from: move.from, to: move.to, share: move.delivery.share };
}

/** What `replaceConditions` is asked to do. */
export interface ReplaceConditionsOptions extends GrantRunOptions {
  owner: Signer;
  /** The new set (or its JSON text); null lifts every condition. */
  conditions: ConditionExpression | string | null;
}

/** Raised when some nodes did not take a replacement condition set; it is committed on-chain all the same. */
export class ConditionsDeliveryFailedError extends Error {
  constructor(
    readonly policyId: string,
    readonly version: number,
    readonly failures: { staker: string; reason: string }[],
  ) {
    super(
      `policy ${policyId} commits to conditions version ${version}, but ${failures.length} node(s) did not take it ` +
        `(they refuse requests until they do): ` +
        failures.map((f) => `${f.staker}: ${f.reason}`).join("; "),
    );
    this.name = "ConditionsDeliveryFailedError";
  }
}

/**
 * Replaces the journal's policy's access conditions with `conditions` (validated first: a malformed set changes
 * nothing): signs it as the version after the one on-chain, journals it, commits it on-chain (owner only), then
 * sends it to every node that holds its kfrag; the others get it with their kfrag (kms grant --resume,
 * redeliver). Idempotent: the same set again resends it, and an interrupted run finishes the journaled set.
 * Resolves with the set; throws ConditionsDeliveryFailedError naming each node that did not take it.
 */
export async function replaceConditions(
  contracts: GrantContracts,
  journal: GrantJournal,
  store: GrantJournalStore,
  options: ReplaceConditionsOptions,
): Promise<SignedConditionSet> {
  const progress = options.onProgress ?? (() => undefined);
  const expected = await deploymentOf(contracts, options.owner);
  await checkJournalDeployment(journal, expected, options.owner);
  const parsed =
    options.conditions === null ? null : parseConditions(options.conditions, { chainId: expected.chainId });
  const wanted = conditionsHash(parsed);
  await livePolicyOf(contracts, journal, options.owner);
  const save = serialSaver(store, journal);
  const { policyId } = journal.grant;
  const pm = contracts.policyManager;
  const onChain = await conditionsOf(pm, policyId);
  const same = (set: SignedConditionSet | undefined) => set && conditionsHash(set.conditions) === wanted;
  const committed = (set: SignedConditionSet) => onChain.version === set.version && onChain.hash === wanted;
  let next: SignedConditionSet;
  if (same(journal.conditions) && committed(journal.conditions!)) next = journal.conditions!;
  else if (
    same(journal.pendingConditions) &&
    (committed(journal.pendingConditions!) || journal.pendingConditions!.version > onChain.version)
  )
    next = journal.pendingConditions!;
  else {
    next = await signConditions(options.owner, conditionsDomainOf(expected), {
      policyId,
      version: onChain.version + 1,
      conditions: parsed,
    });
    journal.pendingConditions = next;
    await save();
    progress(`conditions version ${next.version} signed and journaled (hash ${wanted})`);
  }
  if (!committed(next)) {
    const tx = await commitConditions(pm, options.owner, policyId, next.version, wanted);
    progress(`conditions version ${next.version} committed on-chain (tx ${tx})`);
  }
  journal.conditions = next;
  journal.pendingConditions = undefined;
  journal.grant.conditions = next;
  await save();
  await store.publish(journal.grant);
  await sendConditions(contracts, journal, next, progress, options);
  return next;
}

/** Sends `set` to every node of the journal that acknowledged its kfrag; throws ConditionsDeliveryFailedError. */
async function sendConditions(
  contracts: GrantContracts,
  journal: GrantJournal,
  set: SignedConditionSet,
  progress: (message: string) => void,
  options: GrantRunOptions,
): Promise<void> {
  const failures: { staker: string; reason: string }[] = [];
  await Promise.all(
    journal.deliveries
      .filter((d) => d.acknowledged)
      .map(async (delivery) => {
        try {
          const contact = await nodeContactOf(contracts.nodeDirectory, delivery.staker);
          const url = nodeEndpoint(contact.url, "v1", "policies", journal.grant.policyId, "conditions");
          await sendDelivery(url, set, options);
          progress(`conditions version ${set.version} taken by ${delivery.staker}`);
        } catch (e) {
          failures.push({ staker: delivery.staker, reason: (e as Error).message });
        }
      }),
  );
  if (failures.length) throw new ConditionsDeliveryFailedError(journal.grant.policyId, set.version, failures);
}
