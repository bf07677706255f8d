// `npm run demo`: the whole umbral-kms story on an in-process chain, no set-up needed.
//
//   1. five nodes lock stake, bond operators and start on loopback; one of them is set to cheat
//   2. Alice grants Bob 3-of-5 access to a file, paying the policy deposit
//   3. Enrico encrypts a file to the policy; Bob retrieves cfrags, verifies them and decrypts
//   4. Bob catches the cheating node; the Adjudicator slashes it and pays Bob's reporter account
//   5. periods pass, nodes commit every period, mint their rewards and withdraw their fees
//   6. a table of every balance, which adds up to the token's total supply
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { loadDeployment } from "../src/deployment";
import { formatKms, parseKms } from "../src/units";
import { startLocalNodes, stakeAndBond, type LocalNodeSpec } from "../src/network/local";
import { AliceKeys } from "../src/client/keys";
import { grant } from "../src/client/alice";
import { encryptFile } from "../src/client/enrico-node";
import { decryptFile, escrowOperatorCheck } from "../src/client/bob-node";
import { reportEvidence } from "../src/slashing";
import { publicKeyOf } from "../src/client/grant";
import { advancePeriods, mint } from "../src/staking";
import { SecretKey } from "../src/umbral";
import { readFileSync, writeFileSync } from "node:fs";

const STAKES = ["400000", "300000", "200000", "150000", "100000"].map(parseKms);
const LOCK_PERIODS = 90n;
const POLICY_PERIODS = 30n;
const FEE_RATE = parseKms("0.5");
const CHEATER = 4;

function step(title: string): void {
  console.log(`\n== ${title}`);
}

async function main(): Promise<void> {
  const contracts = await loadDeployment(hre);
  const { token, escrow, policyManager, adjudicator } = contracts;
  const signers = await hre.ethers.getSigners();
  const [deployer] = signers;
  const stakers = signers.slice(1, 6);
  const operators = signers.slice(6, 11);
  const alice = signers[11];
  const bobReporter = signers[12];
  const work = mkdtempSync(path.join(tmpdir(), "kms-demo-"));

  step("1. five nodes stake, bond operators and start on loopback");
  const specs: LocalNodeSpec[] = stakers.map((staker, i) => ({
    staker,
    operator: operators[i],
    stake: STAKES[i],
    lockPeriods: LOCK_PERIODS,
    cheat: i === CHEATER,
  }));
  for (const spec of specs) await stakeAndBond(contracts, deployer, spec);
  const nodes = await startLocalNodes(contracts, specs);
  nodes.forEach((node, i) =>
    console.log(
      `node ${i + 1}: staker ${node.staker}, ${formatKms(STAKES[i])} KMS locked, ${node.url}` +
        (i === CHEATER ? "  (will cheat)" : ""),
    ),
  );

  try {
    step("2. Alice grants Bob 3-of-5 access");
    await (await token.transfer(alice.address, parseKms("10000"))).wait();
    const aliceKeys = AliceKeys.fromSeed(randomBytes(32));
    const bobKey = SecretKey.random();
    const policy = await grant(contracts, {
      owner: alice,
      keys: aliceKeys,
      receivingKey: bobKey.publicKey(),
      threshold: 3,
      shares: 5,
      periods: POLICY_PERIODS,
      feeRate: FEE_RATE,
      onProgress: (message) => console.log(message),
    });

    step("3. Enrico encrypts a file to the policy; Bob retrieves, verifies and decrypts");
    const original = path.join(work, "film.bin");
    writeFileSync(original, randomBytes(1024 * 1024));
    await encryptFile(publicKeyOf(policy.delegatingKey), original, path.join(work, "film.sealed"));
    console.log(`Enrico sealed 1 MiB into ${path.join(work, "film.sealed")}`);
    const slashes: Awaited<ReturnType<typeof reportEvidence>>[] = [];
    await decryptFile(policy, bobKey, path.join(work, "film.sealed"), path.join(work, "film.out"), {
      auditAll: true,
      onProgress: (message) => console.log(message),
      isOperatorOf: escrowOperatorCheck(escrow),
      onCheat: async (cheat) => {
        console.log(`Bob caught node ${cheat.staker}: ${cheat.reason}`);
        step("4. the cheater is reported and slashed on-chain");
        const outcome = await reportEvidence(adjudicator, bobReporter, cheat.evidence);
        slashes.push(outcome);
        console.log(
          `Adjudicator verdict ${outcome.verdictName}: ${formatKms(outcome.penalty)} KMS slashed, ` +
            `${formatKms(outcome.reward)} KMS to the reporter ${bobReporter.address}`,
        );
      },
    });
    const same = readFileSync(original).equals(readFileSync(path.join(work, "film.out")));
    console.log(`Bob's decrypted file ${same ? "matches" : "DOES NOT MATCH"} the original`);
    if (!same) throw new Error("decrypted file differs from the original");
    if (slashes.length !== 1) throw new Error(`expected the cheater to be slashed once, got ${slashes.length}`);

    step("5. ten periods pass: nodes commit each period, then mint rewards and withdraw fees");
    for (let p = 0; p < 10; p++) {
      await advancePeriods(hre, escrow, 1n);
      for (const node of nodes) await node.commitIfNeeded();
    }
    await advancePeriods(hre, escrow, 2n);
    for (const [i, staker] of stakers.entries()) {
      const before = await escrow.stakeOf(staker.address);
      await mint(escrow, staker);
      const minted = (await escrow.stakeOf(staker.address)) - before;
      const fees = await policyManager.pendingFees(staker.address);
      if (fees > 0n) await (await policyManager.connect(staker).withdrawFees()).wait();
      console.log(`node ${i + 1}: minted ${formatKms(minted)} KMS of rewards, withdrew ${formatKms(fees)} KMS of fees`);
    }

    step("6. every balance, adding up to the total supply");
    const rows: [string, bigint][] = [];
    const add = async (label: string, address: string) => rows.push([label, await token.balanceOf(address)]);
    await add("deployer (circulating supply)", deployer.address);
    for (const [i, staker] of stakers.entries()) await add(`node ${i + 1} wallet (fees)`, staker.address);
    await add("Alice (policy owner)", alice.address);
    await add("Bob's reporter account", bobReporter.address);
    await add("StakingEscrow (stakes + mining reserve)", await escrow.getAddress());
    await add("PolicyManager (deposits not yet earned)", await policyManager.getAddress());
    const total = rows.reduce((sum, [, value]) => sum + value, 0n);
    const supply = await token.totalSupply();
    const width = Math.max(...rows.map(([label]) => label.length));
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${formatKms(value).padStart(24)} KMS`);
    console.log(`${"sum".padEnd(width)}  ${formatKms(total).padStart(24)} KMS`);
    console.log(`${"total supply".padEnd(width)}  ${formatKms(supply).padStart(24)} KMS`);
    let stakes = 0n;
    for (const staker of stakers) stakes += await escrow.stakeOf(staker.address);
    console.log(
      `inside the escrow: stakes ${formatKms(stakes)} + reserve and unminted rewards ` +
        `${formatKms(rows[rows.length - 2][1] - stakes)} KMS`,
    );
    if (total !== supply) throw new Error(`balances add up to ${total}, not the total supply ${supply}`);
    console.log("\nThe books balance: every KMS is accounted for.");
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
