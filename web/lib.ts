// umbral-kms as an ES module for browsers (scripts/build-web.ts bundles this file into dist/umbral-kms.js,
// its types into dist/umbral-kms.d.ts): Umbral, Alice, Enrico, Bob, grants, sealed files, slashing reports and
// the deployment's contracts. The same modules run in Node (src/); only file access differs (./keystore keeps
// keys in IndexedDB where Node has key files).
import { Contract, type ContractRunner, type Interface } from "ethers";
import { abi as adjudicatorAbi } from "../artifacts/contracts/slashing/Adjudicator.sol/Adjudicator.json";
import { abi as tokenAbi } from "../artifacts/contracts/token/KMSToken.sol/KMSToken.json";
import { abi as directoryAbi } from "../artifacts/contracts/network/NodeDirectory.sol/NodeDirectory.json";
import { abi as policyManagerAbi } from "../artifacts/contracts/policy/PolicyManager.sol/PolicyManager.json";
import { abi as escrowAbi } from "../artifacts/contracts/staking/StakingEscrow.sol/StakingEscrow.json";
import type { Adjudicator, KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../typechain-types";
import { errorInterfaceOf } from "../src/cli/reverts";

export * from "../src/umbral";
// The ethers pieces an app needs beside these (the bundle holds ethers anyway; one copy serves both).
export { BrowserProvider, JsonRpcProvider, Network, getAddress, getBytes, hexlify, randomBytes } from "ethers";
export type { Eip1193Provider, Signer } from "ethers";
export { AliceKeys, KeyFileError, parsePublicKey } from "../src/client/keys";
export {
  grant,
  redeliver,
  extendGrant,
  StorageAckError,
  KFragDeliveryFailedError,
  type GrantRequest,
  type Extension,
} from "../src/client/alice";
export type { GrantJournal, GrantJournalStore } from "../src/client/journal";
export { encryptStream, encryptBytes } from "../src/client/enrico";
export {
  retrieveCFrags,
  decryptStream,
  decryptBytes,
  checkReceivingKey,
  escrowOperatorCheck,
  groupFailures,
  NotEnoughCFragsError,
  WrongReceivingKeyError,
  type CheatingNode,
  type EvidenceSaver,
  type RetrieveOptions,
  type RetrievalFailure,
} from "../src/client/bob";
export { parseGrant, publicKeyOf, GrantFormatError, type PolicyGrant } from "../src/client/grant";
export { resolveGrantNodes } from "../src/client/directory";
export { decodeHeader, SealedFileError, type SealedHeader } from "../src/client/sealed";
// Streams (docs/streams.md): the publisher, the player, a capsule per epoch.
export * from "../src/stream";
export * from "../src/chat";
export {
  requestJson,
  NodeRequestFailedError,
  NodeUnreachableError,
  NodeRefusedError,
  NodeAnswerTooLargeError,
} from "../src/client/http";
export { reportEvidence, type ReportOutcome } from "../src/slashing/report";
export { evidenceToJson, evidenceFromJson, type EvidenceFile } from "../src/slashing/file";
export { Verdict, VERDICT_NAMES } from "../src/slashing/hints";
export {
  describePolicy,
  readPolicy,
  revokePolicy,
  parseFeeRate,
  policyDeposit,
  PolicyNotFoundError,
  type PolicyState,
} from "../src/policy";
export { parsePeriods, describeStaker, loadActiveNodes, type StakerSummary } from "../src/staking";
export { checkBalance, checkFeeRate } from "../src/cli/checks";
export { describeError, UserError, PreflightError } from "../src/cli/errors";
export { formatKms, parseKms } from "../src/units";
export type { NodeStatus } from "../src/network/protocol";
export { nodeContactOf, NodeNotAnnouncedError } from "../src/network/chain";

/** The deployment's addresses, as `hardhat ignition deploy` records them (deployed_addresses.json, `KMS#…` keys). */
export interface DeploymentAddresses {
  token: string;
  escrow: string;
  nodeDirectory: string;
  policyManager: string;
  adjudicator: string;
}

/** The deployment's contracts, typed (as src/deployment.ts's Deployment in Node). */
export interface Deployment {
  token: KMSToken;
  escrow: StakingEscrow;
  nodeDirectory: NodeDirectory;
  policyManager: PolicyManager;
  adjudicator: Adjudicator;
}

const ABIS = {
  token: tokenAbi,
  escrow: escrowAbi,
  nodeDirectory: directoryAbi,
  policyManager: policyManagerAbi,
  adjudicator: adjudicatorAbi,
} as const;

/** The deployment's contracts at `addresses`, typed as in Node, connected to `runner` (a provider or signer). */
export function connectDeployment(addresses: DeploymentAddresses, runner: ContractRunner): Deployment {
  const out: Record<string, Contract> = {};
  for (const [field, abi] of Object.entries(ABIS)) {
    out[field] = new Contract(addresses[field as keyof DeploymentAddresses], abi, runner);
  }
  return out as unknown as Deployment;
}

/** Every custom error of the contracts, for {@link describeError}: reverts explained as the CLI explains them. */
export function contractErrors(): Promise<Interface> {
  return errorInterfaceOf({
    getAllFullyQualifiedNames: async () => Object.keys(ABIS),
    readArtifact: async (name) => ({ abi: ABIS[name as keyof typeof ABIS] }),
  });
}
