// Finds the deployed contracts for the network Hardhat is connected to.
//
// On the in-process `hardhat` network every run starts from an empty chain, so the system is deployed
// on the spot with the Ignition module. On any other network the addresses that `hardhat ignition
// deploy` recorded under ignition/deployments/chain-<id>/ are used.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
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

/** Raised when no deployment is recorded for the connected chain. */
export class DeploymentNotFoundError extends Error {
  constructor(chainId: bigint, file: string) {
    super(
      `no umbral-kms deployment recorded for chain ${chainId} (looked in ${file}); ` +
        `deploy first: npx hardhat ignition deploy ignition/modules/KMS.ts --network <name>`,
    );
    this.name = "DeploymentNotFoundError";
  }
}

// Keyed by the provider: a task's action receives its own wrapper of the runtime environment, so keying by
// `hre` would deploy a second system for every task run from a test or script.
const cache = new WeakMap<object, { deployment: Promise<Deployment>; block?: Promise<string | undefined> }>();

/** Returns the deployment for `hre`'s network, deploying it first on the in-process network. */
export async function loadDeployment(hre: HardhatRuntimeEnvironment): Promise<Deployment> {
  let entry = cache.get(hre.network.provider);
  // On the in-process chain a test's snapshot revert can erase a deployment made after the snapshot, and a
  // later deployment by the same account lands at the same addresses with other state. The cached one is
  // kept only while the chain still holds the block it was made in.
  if (entry?.block) {
    const [hash, deployed] = await Promise.all([entry.block.catch(() => undefined), entry.deployment.catch(() => 0)]);
    const block = hash ? await hre.ethers.provider.getBlock(hash) : null;
    if (!block || !deployed) entry = undefined;
  }
  if (!entry) {
    const deployment = resolveDeployment(hre);
    const block =
      hre.network.name === "hardhat"
        ? deployment.then(async () => (await hre.ethers.provider.getBlock("latest"))?.hash ?? undefined)
        : undefined;
    entry = { deployment, block };
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
    const file = path.join(
      hre.config.paths.root,
      "ignition",
      "deployments",
      `chain-${chainId}`,
      "deployed_addresses.json",
    );
    if (!existsSync(file)) throw new DeploymentNotFoundError(chainId, file);
    const recorded = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
    for (const [field, name] of Object.entries(CONTRACT_NAMES)) {
      const address = recorded[`KMS#${name}`];
      if (!address) throw new DeploymentNotFoundError(chainId, file);
      addresses[field] = address;
    }
  }
  const entries = await Promise.all(
    Object.entries(CONTRACT_NAMES).map(async ([field, name]) => [
      field,
      await hre.ethers.getContractAt(name, addresses[field]),
    ]),
  );
  return Object.fromEntries(entries) as unknown as Deployment;
}
