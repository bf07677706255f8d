// Alice: grants Bob m-of-n access through staked nodes (sample by stake, make kfrags, pay the policy
// deposit, deliver one kfrag to each node). Revocation is src/policy's revokePolicy.
import { randomBytes } from "@noble/hashes/utils";
import { getBytes, hexlify, type Signer } from "ethers";
import type { KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../../typechain-types";
import { generateKFrags, type PublicKey } from "../umbral";
import { createPolicy, randomPolicyId } from "../policy";
import { loadActiveNodes, sampleNodes } from "../staking";
import { nodeContactOf, type NodeContact } from "../network/chain";
import { sealKFrag } from "../network/delivery";
import { deliveryDigest, type KFragDelivery } from "../network/protocol";
import { requestJson } from "./http";
import type { AliceKeys } from "./keys";
import type { PolicyGrant } from "./grant";

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
  timeoutMs?: number;
  onProgress?: (message: string) => void;
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
    const candidates = await loadActiveNodes(contracts.escrow, { lockedUntil: current + request.periods });
    stakers = sampleNodes(candidates, request.shares, request.seed ?? randomBytes(32));
    progress(`sampled ${stakers.length} of ${candidates.length} active nodes by stake`);
  }
  if (stakers.length !== request.shares) {
    throw new RangeError(`shares is ${request.shares} but ${stakers.length} nodes were given`);
  }
  const contacts: NodeContact[] = await Promise.all(stakers.map((s) => nodeContactOf(contracts.nodeDirectory, s)));

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
  progress(`policy ${policyId} created, deposit ${created.deposit} wei (tx ${created.txHash})`);

  const keys = {
    delegatingPk: delegatingSk.publicKey(),
    receivingPk: request.receivingKey,
    verifyingPk: signer.verifyingKey(),
  };
  const { chainId } = await request.owner.provider!.getNetwork();
  const pmAddress = await contracts.policyManager.getAddress();
  const failures: { staker: string; reason: string }[] = [];
  await Promise.all(
    contacts.map(async (contact, i) => {
      const { capsule, ciphertext } = sealKFrag(contact.encryptingKey, kfrags[i], keys);
      const digest = deliveryDigest(chainId, pmAddress, policyId, contact.staker, capsule, ciphertext);
      const body: KFragDelivery = {
        capsule: hexlify(capsule),
        ciphertext: hexlify(ciphertext),
        ownerSignature: await request.owner.signMessage(getBytes(digest)),
      };
      try {
        await requestJson(`${contact.url}/v1/policies/${policyId}/kfrag`, body, {
          timeoutMs: request.timeoutMs ?? 10_000,
        });
        progress(`kfrag ${i + 1}/${contacts.length} delivered to ${contact.staker}`);
      } catch (e) {
        failures.push({ staker: contact.staker, reason: (e as Error).message });
      }
    }),
  );
  if (failures.length) throw new KFragDeliveryFailedError(policyId, failures);

  return {
    version: 1,
    chainId: chainId.toString(),
    policyManager: pmAddress,
    policyId,
    owner: await request.owner.getAddress(),
    delegatingKey: hexlify(keys.delegatingPk.toCompressedBytes()),
    verifyingKey: hexlify(keys.verifyingPk.toCompressedBytes()),
    receivingKey: hexlify(keys.receivingPk.toCompressedBytes()),
    threshold: request.threshold,
    nodes: contacts.map((c) => ({ staker: c.staker, url: c.url })),
    startPeriod: created.record.startPeriod.toString(),
    endPeriod: created.record.endPeriod.toString(),
  };
}
