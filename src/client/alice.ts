// Alice: grants Bob m-of-n access through staked nodes (sample by stake, make kfrags, pay the policy
// deposit, deliver one kfrag to each node), and re-delivers a fresh kfrag set to a policy's nodes.
// Revocation is src/policy's revokePolicy.
import { randomBytes } from "@noble/hashes/utils";
import { getBytes, hexlify, verifyMessage, type Signer } from "ethers";
import type { KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import { generateKFrags, type PublicKey } from "../umbral";
import { createPolicy, randomPolicyId } from "../policy";
import { loadActiveNodes, sampleNodes } from "../staking";
import { nodeContactOf, type NodeContact } from "../network/chain";
import { sealKFrag } from "../network/delivery";
import {
  deliveryDigest,
  nodeEndpoint,
  parseNodeUrl,
  storageAckDigest,
  type KFragDelivery,
  type KFragReceipt,
} from "../network/protocol";
import { requestJson } from "./http";
import type { AliceKeys } from "./keys";
import type { PolicyGrant } from "./grant";
import { formatKms } from "../units";

export interface GrantContracts {
  token: KMSToken;
  escrow: StakingEscrow;
  policyManager: PolicyManager;
  nodeDirectory: NodeDirectory;
}

export interface GrantRequest {
  /** Alice's Ethereum account: pays the deposit and owns the policy. */
  owner: Signer;
  keys: AliceKeys;
  receivingKey: PublicKey;
  threshold: number;
  shares: number;
  periods: bigint;
  feeRate: bigint;
  /** Serve with these stakers instead of sampling `shares` of them by stake. */
  nodes?: string[];
  /** Sampling seed (default random); the same seed and chain state pick the same nodes. */
  seed?: Uint8Array;
  /** Policy id (16 bytes hex); random by default. Also the label of the policy's delegating key. */
  policyId?: string;
  /** Version of the kfrag set (see KFragDelivery.version); default the current Unix time in milliseconds. */
  version?: number;
  timeoutMs?: number;
  onProgress?: (message: string) => void;
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
  ) {
    super(
      `policy ${policyId} was created but ${failures.length} node(s) did not accept their kfrag: ` +
        failures.map((f) => `${f.staker}: ${f.reason}`).join("; "),
    );
    this.name = "KFragDeliveryFailedError";
  }
}

/** Grants `receivingKey` m-of-n access; resolves with the public grant once every node holds its kfrag. */
export async function grant(contracts: GrantContracts, request: GrantRequest): Promise<PolicyGrant> {
  const progress = request.onProgress ?? (() => undefined);
  const policyId = request.policyId ?? randomPolicyId();
  const delegatingSk = request.keys.delegatingKey(policyId);
  const signer = request.keys.signer();

  let stakers = request.nodes;
  if (!stakers) {
    const current = await contracts.escrow.getCurrentPeriod();
    const candidates = await loadActiveNodes(contracts, { lockedUntil: current + request.periods });
    stakers = sampleNodes(candidates, request.shares, request.seed ?? randomBytes(32));
    progress(`sampled ${stakers.length} of ${candidates.length} active nodes by stake`);
  }
  if (stakers.length !== request.shares) {
    throw new RangeError(`shares is ${request.shares} but ${stakers.length} nodes were given`);
  }
  // Every announced URL is checked before anything is paid.
  const contacts = await contactsOf(contracts, stakers);
  const version = request.version ?? Date.now();

  // generateKFrags checks 1 ≤ threshold ≤ shares before anything is paid.
  const kfrags = generateKFrags(
    delegatingSk,
    request.receivingKey,
    signer,
    request.threshold,
    request.shares,
    true,
    true,
  );

  const created = await createPolicy(contracts.policyManager, contracts.token, request.owner, {
    nodes: stakers,
    periods: request.periods,
    feeRate: request.feeRate,
    policyId,
  });
  progress(`policy ${policyId} created, deposit ${formatKms(created.deposit)} KMS (tx ${created.txHash})`);

  const keys = {
    delegatingPk: delegatingSk.publicKey(),
    receivingPk: request.receivingKey,
    verifyingPk: signer.verifyingKey(),
  };
  const { chainId } = await request.owner.provider!.getNetwork();
  const pmAddress = await contracts.policyManager.getAddress();
  await deliverSet(contracts, request.owner, policyId, version, contacts, kfrags, keys, request, progress);

  return {
    version: 1,
    chainId: chainId.toString(),
    policyManager: pmAddress,
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
    startPeriod: created.record.startPeriod.toString(),
    endPeriod: created.record.endPeriod.toString(),
  };
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
  timeoutMs?: number;
  onProgress?: (message: string) => void;
}

/**
 * Makes a fresh kfrag set for an existing policy and delivers it to the policy's nodes, replacing the set they
 * hold (which stops working for Bob with it). Resolves once every node acknowledged its kfrag.
 */
export async function redeliver(contracts: GrantContracts, request: RedeliveryRequest): Promise<void> {
  const progress = request.onProgress ?? (() => undefined);
  const contacts = await contactsOf(contracts, request.nodes);
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
  await deliverSet(contracts, request.owner, request.policyId, version, contacts, kfrags, keys, request, progress);
}

/** Reads each staker's node from the NodeDirectory and checks its announced URL (NodeUrlError). */
async function contactsOf(contracts: GrantContracts, stakers: string[]): Promise<NodeContact[]> {
  const contacts = await Promise.all(stakers.map((s) => nodeContactOf(contracts.nodeDirectory, s)));
  for (const contact of contacts) parseNodeUrl(contact.url);
  return contacts;
}

/**
 * Delivers `kfrags[i]` to `contacts[i]` as version `version` of the policy's kfrag set, each signed by the
 * owner, and checks every node's acknowledgement: signed by the staker's bonded operator over exactly this
 * delivery. Throws KFragDeliveryFailedError naming every node that did not acknowledge.
 */
async function deliverSet(
  contracts: GrantContracts,
  owner: Signer,
  policyId: string,
  version: number,
  contacts: NodeContact[],
  kfrags: ReturnType<typeof generateKFrags>,
  keys: Parameters<typeof sealKFrag>[2],
  options: { timeoutMs?: number },
  progress: (message: string) => void,
): Promise<void> {
  const { chainId } = await owner.provider!.getNetwork();
  const policyManager = await contracts.policyManager.getAddress();
  const failures: { staker: string; reason: string }[] = [];
  await Promise.all(
    contacts.map(async (contact, i) => {
      const { capsule, ciphertext } = sealKFrag(contact.encryptingKey, kfrags[i], keys);
      const digest = deliveryDigest({
        chainId,
        policyManager,
        policyId,
        staker: contact.staker,
        version,
        capsule,
        ciphertext,
      });
      const body: KFragDelivery = {
        capsule: hexlify(capsule),
        ciphertext: hexlify(ciphertext),
        version,
        ownerSignature: await owner.signMessage(getBytes(digest)),
      };
      try {
        const receipt = await requestJson<KFragReceipt>(
          nodeEndpoint(contact.url, "v1", "policies", policyId, "kfrag"),
          body,
          {
            timeoutMs: options.timeoutMs ?? 10_000,
          },
        );
        await checkStorageAck(contracts.escrow, contact.staker, digest, receipt);
        progress(`kfrag ${i + 1}/${contacts.length} delivered to ${contact.staker}`);
      } catch (e) {
        failures.push({ staker: contact.staker, reason: (e as Error).message });
      }
    }),
  );
  if (failures.length) throw new KFragDeliveryFailedError(policyId, failures);
}

/** Checks that `receipt` is signed by `staker`'s bonded operator over `digest`; throws StorageAckError. */
async function checkStorageAck(
  escrow: StakingEscrow,
  staker: string,
  digest: Uint8Array,
  receipt: KFragReceipt | undefined,
): Promise<void> {
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
}
