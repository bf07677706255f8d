// Operability tasks: what the connected deployment looks like (`kms status`) and every announced node with its
// stake, lock, last commitment and live health (`kms nodes`). Read-only; `--json` for machines.
import { ZeroAddress } from "ethers";
import { kms } from "./scope";
import { loadDeployment, type Deployment } from "../src/deployment";
import { formatKms } from "../src/units";
import { kmsTypes, parseWhole } from "../src/cli/args";
import { formatDuration, toJson } from "../src/cli/print";
import { requestJson } from "../src/client/http";
import { nodeEndpoint, type NodeStatus } from "../src/network/protocol";

/** `kms status`: the chain, the clock, the contracts, the economy this period and the configured accounts. */
interface SystemStatus {
  network: string;
  chainId: bigint;
  block: number;
  currentPeriod: bigint;
  periodSeconds: bigint;
  /** Seconds until the next period begins. */
  nextPeriodIn: bigint;
  contracts: Record<keyof Deployment, string>;
  lockedThisPeriod: bigint;
  issuanceThisPeriod: bigint;
  unallocatedReserve: bigint;
  feeRateRange: { min: bigint; max: bigint };
  minStake: bigint;
  minLockPeriods: bigint;
  accounts: { index: number; address: string; kms: bigint }[];
}

kms
  .task(
    "status",
    "Prints the chain, the period and its length, the contracts, this period's stake and issuance, your accounts",
  )
  .addOptionalParam("accounts", "How many configured accounts to list", 10, kmsTypes.int)
  .addFlag("json", "Print JSON (amounts in wei as strings)")
  .setAction(async (args: { accounts: number | string; json: boolean }, hre): Promise<SystemStatus> => {
    const listed = parseWhole(args.accounts, "--accounts", 0, 1000);
    const deployment = await loadDeployment(hre);
    const { token, escrow, policyManager } = deployment;
    const latest = await hre.ethers.provider.getBlock("latest");
    const [current, duration, reserve, [min, max], minStake, minLockPeriods] = await Promise.all([
      escrow.getCurrentPeriod(),
      escrow.periodDuration(),
      escrow.unallocatedReserve(),
      policyManager.feeRateRange(),
      escrow.minStake(),
      escrow.minLockPeriods(),
    ]);
    const contracts = Object.fromEntries(
      await Promise.all(Object.entries(deployment).map(async ([name, c]) => [name, await c.getAddress()])),
    ) as Record<keyof Deployment, string>;
    const signers = (await hre.ethers.getSigners()).slice(0, listed);
    const status: SystemStatus = {
      network: hre.network.name,
      chainId: (await hre.ethers.provider.getNetwork()).chainId,
      block: latest?.number ?? 0,
      currentPeriod: current,
      periodSeconds: duration,
      nextPeriodIn: (current + 1n) * duration - BigInt(latest?.timestamp ?? 0),
      contracts,
      lockedThisPeriod: await escrow.lockedPerPeriod(current),
      issuanceThisPeriod: await escrow.issuanceOf(current),
      unallocatedReserve: reserve,
      feeRateRange: { min, max },
      minStake,
      minLockPeriods,
      accounts: await Promise.all(
        signers.map(async (s, index) => ({ index, address: s.address, kms: await token.balanceOf(s.address) })),
      ),
    };
    if (args.json) {
      console.log(toJson(status));
      return status;
    }
    const lines = [
      `network          ${status.network} (chain ${status.chainId}), block ${status.block}`,
      `period           ${current}, one period = ${formatDuration(duration)}; the next begins in ${formatDuration(status.nextPeriodIn)}`,
      ...Object.entries(contracts).map(([name, address]) => `${name.padEnd(16)} ${address}`),
      `committed stake  ${formatKms(status.lockedThisPeriod)} KMS locked by the nodes committed to this period`,
      `issuance now     ${formatKms(status.issuanceThisPeriod)} KMS this period (reserve left ${formatKms(reserve)} KMS)`,
      `fee rates        ${formatKms(min)} to ${formatKms(max)} KMS per node per period`,
      `staking          at least ${formatKms(minStake)} KMS locked for at least ${minLockPeriods} periods`,
      ...status.accounts.map((a) => `account #${a.index}`.padEnd(17) + `${a.address}  ${formatKms(a.kms)} KMS`),
    ];
    for (const line of lines) console.log(line);
    return status;
  });

/** One announced node, as `kms nodes` lists it. */
interface NodeSummary {
  staker: string;
  operator: string;
  url: string;
  stake: bigint;
  lockedValue: bigint;
  unlockPeriod: bigint;
  lastCommittedPeriod: bigint;
  /** "up", or why its status endpoint did not answer as this node. */
  health: string;
  kfrags?: number;
}

/** What a node's status endpoint says about it, in a few words. */
async function healthOf(url: string, staker: string, timeoutMs: number): Promise<{ health: string; kfrags?: number }> {
  try {
    const status = await requestJson<NodeStatus>(nodeEndpoint(url, "v1", "status"), undefined, { timeoutMs });
    if (status?.staker?.toLowerCase() !== staker.toLowerCase()) {
      return { health: `answers as another node (${String(status?.staker)})` };
    }
    return { health: "up", kfrags: status.kfrags };
  } catch (error) {
    const message = (error as Error).message;
    return { health: message.startsWith(`${url}`) ? message.slice(message.indexOf(": ") + 2) : message };
  }
}

kms
  .task(
    "nodes",
    "Lists every announced node: stake, lock end, last commitment, and live health from its status endpoint",
  )
  .addOptionalParam("timeout", "Seconds to wait for each node's status", 3, kmsTypes.int)
  .addFlag("json", "Print JSON (amounts in wei as strings)")
  .setAction(async (args: { timeout: number | string; json: boolean }, hre): Promise<NodeSummary[]> => {
    const timeoutMs = parseWhole(args.timeout, "--timeout", 1, 600) * 1000;
    const { escrow, nodeDirectory } = await loadDeployment(hre);
    const announced = await nodeDirectory.queryFilter(nodeDirectory.filters.NodeAnnounced());
    const stakers = [...new Set(announced.map((e) => e.args.staker))];
    const current = await escrow.getCurrentPeriod();
    const nodes = await Promise.all(
      stakers.map(async (staker): Promise<NodeSummary> => {
        const [record, info] = await Promise.all([nodeDirectory.nodeOf(staker), escrow.getStakerInfo(staker)]);
        return {
          staker,
          operator: info.operator === ZeroAddress ? "none" : info.operator,
          url: record.url,
          stake: info.stake,
          lockedValue: current < info.unlockPeriod ? info.lockedValue : 0n,
          unlockPeriod: info.unlockPeriod,
          lastCommittedPeriod: info.lastCommittedPeriod,
          ...(await healthOf(record.url, staker, timeoutMs)),
        };
      }),
    );
    if (args.json) {
      console.log(toJson(nodes));
    } else if (nodes.length === 0) {
      console.log("no node has announced itself yet (kms node)");
    } else {
      console.log(`period ${current}; ${nodes.length} announced node(s):`);
      for (const n of nodes) {
        console.log(
          `${n.staker}  ${n.url}  ${n.health}${n.kfrags === undefined ? "" : ` (${n.kfrags} kfrags)`}  ` +
            `stake ${formatKms(n.stake)} KMS, locked ${formatKms(n.lockedValue)} KMS until period ${n.unlockPeriod}, ` +
            `last commitment ${n.lastCommittedPeriod === 0n ? "never" : `period ${n.lastCommittedPeriod}`}, operator ${n.operator}`,
        );
      }
    }
    return nodes;
  });
