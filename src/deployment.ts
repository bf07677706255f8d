// Finds the deployed contracts for the network Hardhat is connected to.
//
// On the in-process `hardhat` network every run starts from an empty chain, so the system is deployed
// on the spot with the Ignition module. On any other network the addresses that `hardhat ignition
// deploy` recorded under ignition/deployments/chain-<id>/ are used.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { keccak256, type BaseContract } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Adjudicator, KMSToken, NodeDirectory, PolicyManager, StakingEscrow } from "../typechain-types";
import KMSModule from "../ignition/modules/KMS";

/** The contracts of one deployment, typed. */
export interface Deployment {
  token: KMSToken;
  escrow: StakingEscrow;
  nodeDirectory: NodeDirectory;
  policyManager: PolicyManager;
  adjudicator: Adjudicator;
}

/** Each field of {@link Deployment}: its contract name, which is also its Ignition future id under `KMS#`. */
const CONTRACT_NAMES = {
  token: "KMSToken",
  escrow: "StakingEscrow",
  nodeDirectory: "NodeDirectory",
  policyManager: "PolicyManager",
  adjudicator: "Adjudicator",
} as const satisfies Record<keyof Deployment, string>;

/** The command that deploys the system to `network`. */
const deployCommand = (network: string, reset = false) =>
  `npx hardhat ignition deploy ignition/modules/KMS.ts --network ${network}${reset ? " --reset" : ""}`;

/** Raised when no deployment is recorded for the connected chain. */
export class DeploymentNotFoundError extends Error {
  constructor(chainId: bigint, file: string, network = "<name>") {
    super(
      `no umbral-kms deployment recorded for chain ${chainId} (looked in ${file}); deploy first: ${deployCommand(network)}`,
    );
    this.name = "DeploymentNotFoundError";
  }
}

/** Raised when the recorded deployment has no contract code on the connected chain (the chain was reset). */
export class DeploymentGoneError extends Error {
  constructor(chainId: bigint, file: string, missing: string[], network = "<name>") {
    super(
      `redeploy: ${deployCommand(network, true)} — the umbral-kms deployment recorded in ${file} is not on chain ` +
        `${chainId} (no code at ${missing.join(", ")}); the chain was probably restarted`,
    );
    this.name = "DeploymentGoneError";
  }
}

interface CacheEntry {
  deployment: Promise<Deployment>;
  /** keccak256 of each contract's runtime code as deployed, by address (in-process network only). */
  code?: Promise<Map<string, string>>;
}

// Keyed by the provider: a task's action receives its own wrapper of the runtime environment, so keying by
// `hre` would deploy a second system for every task run from a test or script.
const cache = new WeakMap<object, CacheEntry>();

/**
 * Forgets the deployment cached for `hre`'s chain, so the next {@link loadDeployment} resolves it anew. Tests
 * call it whenever they put the chain back to a state from before the deployment (test/support/isolation.ts).
 */
export function forgetDeployments(hre: HardhatRuntimeEnvironment): void {
  cache.delete(hre.network.provider);
}

async function codeHashes(hre: HardhatRuntimeEnvironment, deployment: Deployment): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const contract of Object.values(deployment) as BaseContract[]) {
    const address = await contract.getAddress();
    hashes.set(address, keccak256(await hre.ethers.provider.getCode(address)));
  }
  return hashes;
}

/**
 * Whether the chain still holds, at every cached address, exactly the code deployed there. A revert to a
 * snapshot from before the deployment erases the code (and a later deployment to the same addresses of other
 * contracts changes it); the same code at the same address is the same contract, whatever state it holds now.
 */
async function stillDeployed(hre: HardhatRuntimeEnvironment, entry: CacheEntry): Promise<boolean> {
  const recorded = await entry.code?.catch(() => undefined);
  if (!recorded) return false;
  for (const [address, hash] of recorded) {
    if (keccak256(await hre.ethers.provider.getCode(address)) !== hash) return false;
  }
  return true;
}

/**
 * Returns the deployment for `hre`'s network, deploying it first on the in-process network. A recorded
 * deployment with no code on the chain is refused with {@link DeploymentGoneError}.
 */
export async function loadDeployment(hre: HardhatRuntimeEnvironment): Promise<Deployment> {
  let entry = cache.get(hre.network.provider);
  if (entry?.code && !(await stillDeployed(hre, entry))) entry = undefined;
  if (!entry) {
    const deployment = resolveDeployment(hre);
    const code = hre.network.name === "hardhat" ? deployment.then((d) => codeHashes(hre, d)) : undefined;
    entry = { deployment, code };
    // A failed resolution is not cached: the next call tries again (e.g. after the user deployed).
    deployment.catch(() => cache.get(hre.network.provider) === entry && cache.delete(hre.network.provider));
    cache.set(hre.network.provider, entry);
  }
  return entry.deployment;
}

async function resolveDeployment(hre: HardhatRuntimeEnvironment): Promise<Deployment> {
  const addresses: Record<string, string> = {};
  if (hre.network.name === "hardhat") {
    const deployed = await hre.ignition.deploy(KMSModule);
    for (const [field, contract] of Object.entries(deployed)) addresses[field] = await contract.getAddress();
  } else {
    const { chainId } = await hre.ethers.provider.getNetwork();
    // Where `hardhat ignition deploy` records it (paths.ignition, by default ignition/ under the project root).
    const file = path.join(hre.config.paths.ignition, "deployments", `chain-${chainId}`, "deployed_addresses.json");
    const network = hre.network.name;
    if (!existsSync(file)) throw new DeploymentNotFoundError(chainId, file, network);
    const recorded = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
    for (const [field, name] of Object.entries(CONTRACT_NAMES)) {
      const address = recorded[`KMS#${name}`];
      if (!address) throw new DeploymentNotFoundError(chainId, file, network);
      addresses[field] = address;
    }
    const missing: string[] = [];
    for (const [field, address] of Object.entries(addresses)) {
      if ((await hre.ethers.provider.getCode(address)) === "0x")
        missing.push(`${CONTRACT_NAMES[field as keyof Deployment]} ${address}`);
    }
    if (missing.length > 0) throw new DeploymentGoneError(chainId, file, missing, network);
  }
  const entries = await Promise.all(
    Object.entries(CONTRACT_NAMES).map(async ([field, name]) => [
      field,
      await hre.ethers.getContractAt(name, addresses[field]),
    ]),
  );
  return Object.fromEntries(entries) as unknown as Deployment;
}
