// Evaluation against the in-process chain: a time lock, ERC-721 and ERC-20 gates on the requester, any view
// call with typed tests, compounds in three-valued logic, and every way a condition can fail to be evaluated
// (non-contract, revert, undecodable, RPC failure, deadline, missing proof) — each a typed error, never an allow.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, BrowserProvider, keccak256 } from "ethers";
import {
  ConditionEvaluationError,
  ProviderReader,
  evaluateConditions,
  parseConditions,
  type ChainReader,
  type ConditionExpression,
  type EvaluationResult,
} from "../../src/conditions";
import { CHAIN, and, erc20AtLeast, erc721Owner, not, or, oracleCall, oracleDescribe, set, timeAfter } from "./fixtures";

describe("conditions: evaluation on the chain", function () {
  async function deploy() {
    const [deployer, alice, bob, carol] = await hre.ethers.getSigners();
    const token = await hre.ethers.deployContract("ConditionToken");
    const nft = await hre.ethers.deployContract("ConditionNFT");
    const oracle = await hre.ethers.deployContract("ConditionOracle");
    const reader = new ProviderReader(hre.ethers.provider, BigInt(CHAIN));
    return { deployer, alice, bob, carol, token, nft, oracle, reader };
  }

  /** Validates like a node at delivery, then evaluates. */
  const judge = (expression: ConditionExpression, userAddress: string | undefined, reader: ChainReader) =>
    evaluateConditions(parseConditions(expression, { chainId: CHAIN }), { userAddress }, reader);

  async function rejection(promise: Promise<EvaluationResult>): Promise<ConditionEvaluationError> {
    try {
      await promise;
    } catch (e) {
      expect(e).to.be.instanceOf(ConditionEvaluationError);
      return e as ConditionEvaluationError;
    }
    expect.fail("the evaluation was expected to fail");
  }

  describe("time", function () {
    it("opens a time-locked set only once the chain's time passes the lock", async function () {
      const { reader } = await deploy();
      const unlock = (await time.latest()) + 3600;
      const locked = set(timeAfter(unlock));
      const before = await judge(locked, undefined, reader);
      expect(before.allowed).to.equal(false);
      if (!before.allowed) {
        expect(before.failed.path).to.equal("$.condition");
        expect(before.failed.reason).to.match(/the block time is .* and the condition needs it >= .*\(\d+\)/);
      }
      await time.increaseTo(unlock);
      expect(await judge(locked, undefined, reader)).to.deep.equal({ allowed: true });
    });

    it("closes a set that is valid only before a time", async function () {
      const { reader } = await deploy();
      const end = (await time.latest()) + 60;
      const until = set(timeAfter(end, "<"));
      expect((await judge(until, undefined, reader)).allowed).to.equal(true);
      await time.increaseTo(end);
      expect((await judge(until, undefined, reader)).allowed).to.equal(false);
    });
  });

  describe("ERC-721 ownership", function () {
    it("allows the holder, refuses another account, and refuses the holder after the token is transferred", async function () {
      const { bob, carol, nft, reader } = await deploy();
      await nft.mint(bob.address, 7);
      const gated = set(erc721Owner(await nft.getAddress(), 7));
      expect(await judge(gated, bob.address, reader)).to.deep.equal({ allowed: true });
      const other = await judge(gated, carol.address, reader);
      expect(other.allowed).to.equal(false);
      await nft.connect(bob).transferFrom(bob.address, carol.address, 7);
      const after = await judge(gated, bob.address, reader);
      expect(after.allowed).to.equal(false);
      if (!after.allowed) expect(after.failed.reason).to.include(`returned ${carol.address.toLowerCase()}`);
      expect((await judge(gated, carol.address, reader)).allowed).to.equal(true);
    });

    it("counts tokens with the ERC-721 balanceOf", async function () {
      const { bob, nft, reader } = await deploy();
      const holdsTwo = set({
        conditionType: "contract",
        chain: CHAIN,
        contractAddress: await nft.getAddress(),
        standardContractType: "ERC721",
        method: "balanceOf",
        parameters: [":userAddress"],
        returnValueTest: { comparator: ">=", value: 2 },
      });
      await nft.mint(bob.address, 1);
      expect((await judge(holdsTwo, bob.address, reader)).allowed).to.equal(false);
      await nft.mint(bob.address, 2);
      expect((await judge(holdsTwo, bob.address, reader)).allowed).to.equal(true);
    });

    it("cannot evaluate ownerOf of a token that does not exist (the call reverts)", async function () {
      const { bob, nft, reader } = await deploy();
      const e = await rejection(judge(set(erc721Owner(await nft.getAddress(), 99)), bob.address, reader));
      expect(e.failure).to.equal("REVERTED");
      expect(e.retryable).to.equal(false);
      expect(e.path).to.equal("$.condition");
    });
  });

  describe("ERC-20 balance", function () {
    it("allows from the threshold up, not one unit below", async function () {
      const { bob, token, reader } = await deploy();
      const threshold = 10n ** 21n; // beyond 2^53: written as a decimal string
      const gated = set(erc20AtLeast(await token.getAddress(), threshold));
      await token.mint(bob.address, threshold - 1n);
      const below = await judge(gated, bob.address, reader);
      expect(below.allowed).to.equal(false);
      if (!below.allowed) expect(below.failed.reason).to.include(`returned ${threshold - 1n}`);
      await token.mint(bob.address, 1n);
      expect(await judge(gated, bob.address, reader)).to.deep.equal({ allowed: true });
    });

    it("needs the requester's proven address: without it the set cannot be evaluated", async function () {
      const { token, reader } = await deploy();
      const e = await rejection(judge(set(erc20AtLeast(await token.getAddress(), 1n)), undefined, reader));
      expect(e.failure).to.equal("MISSING_CONTEXT");
      expect(e.path).to.equal("$.condition.parameters[0]");
    });
  });

  describe("any view call", function () {
    it("tests each ABI type of a tuple result by index", async function () {
      const { oracle, reader } = await deploy();
      const at = await oracle.getAddress();
      const seed = 1234;
      const tag = keccak256(AbiCoder.defaultAbiCoder().encode(["uint256"], [seed]));
      const who = "0x" + seed.toString(16).padStart(40, "0");
      const holds = [
        oracleDescribe(at, seed, 0, ">", 1233),
        oracleDescribe(at, seed, 0, "<=", "1234"),
        oracleDescribe(at, seed, 1, "==", -1234),
        oracleDescribe(at, seed, 1, "<", "-1233"),
        oracleDescribe(at, seed, 2, "==", true),
        oracleDescribe(at, seed, 3, "==", who),
        oracleDescribe(at, seed, 4, "==", tag),
        oracleDescribe(at, seed, 4, "!=", "0x" + "00".repeat(32)),
      ];
      for (const condition of holds) expect((await judge(set(condition), undefined, reader)).allowed).to.equal(true);
      const fails = [oracleDescribe(at, seed, 2, "!=", true), oracleDescribe(at, seed, 1, ">=", 0)];
      for (const condition of fails) expect((await judge(set(condition), undefined, reader)).allowed).to.equal(false);
    });

    it("compares a view of the requester's address with :userAddress substituted", async function () {
      const { bob, carol, oracle, reader } = await deploy();
      await oracle.setValue(bob.address, 5);
      const gated = set({
        conditionType: "contract",
        chain: CHAIN,
        contractAddress: await oracle.getAddress(),
        functionAbi: {
          name: "valueOf",
          type: "function",
          stateMutability: "view",
          inputs: [{ name: "key", type: "address", internalType: "address" }],
          outputs: [{ name: "", type: "uint256", internalType: "uint256" }],
        },
        method: "valueOf",
        parameters: [":userAddress"],
        returnValueTest: { comparator: "==", value: 5 },
      });
      expect((await judge(gated, bob.address, reader)).allowed).to.equal(true);
      expect((await judge(gated, carol.address, reader)).allowed).to.equal(false);
    });

    it("refuses to evaluate a call to an account without code", async function () {
      const { carol, reader } = await deploy();
      const e = await rejection(judge(set(erc20AtLeast(carol.address, 1n)), carol.address, reader));
      expect(e.failure).to.equal("NOT_A_CONTRACT");
      expect(e.message).to.include(`${carol.address} has no code`);
    });

    it("refuses to evaluate a reverting call", async function () {
      const { oracle, reader } = await deploy();
      const broken = set(oracleCall(await oracle.getAddress(), "broken", 3, 0));
      const e = await rejection(judge(broken, undefined, reader));
      expect(e.failure).to.equal("REVERTED");
      // not(reverted) is not an allow either.
      expect((await rejection(judge(set(not(broken.condition)), undefined, reader))).failure).to.equal("REVERTED");
    });

    it("refuses to evaluate a return that does not decode as the ABI claims", async function () {
      const { oracle, reader } = await deploy();
      const wrong = oracleDescribe(await oracle.getAddress(), 4096, 0, "==", "x", [{ name: "", type: "string" }]);
      expect((await rejection(judge(set(wrong), undefined, reader))).failure).to.equal("UNDECODABLE");
    });

    it("refuses to evaluate a function the contract does not have (a revert without data)", async function () {
      const { token, reader } = await deploy();
      const missing = oracleDescribe(await token.getAddress(), 1, 0, "==", 1);
      expect((await rejection(judge(set(missing), undefined, reader))).failure).to.equal("REVERTED");
    });
  });

  describe("compounds", function () {
    it("and/or/not over time and token conditions", async function () {
      const { bob, carol, token, nft, reader } = await deploy();
      await nft.mint(bob.address, 1);
      await token.mint(carol.address, 100n);
      const now = await time.latest();
      const member = or(erc721Owner(await nft.getAddress(), 1), erc20AtLeast(await token.getAddress(), 100n));
      const gated = set(and(timeAfter(now), member, not(timeAfter(now + 3600))));
      expect((await judge(gated, bob.address, reader)).allowed).to.equal(true);
      expect((await judge(gated, carol.address, reader)).allowed).to.equal(true);
      const [, , , , dave] = await hre.ethers.getSigners();
      const refused = await judge(gated, dave.address, reader);
      expect(refused.allowed).to.equal(false);
      if (!refused.allowed) {
        expect(refused.failed.path).to.equal("$.condition.operands[1]");
        expect(refused.failed.reason).to.match(/^none of the 2 alternatives holds: /);
      }
      await time.increaseTo(now + 3600);
      const late = await judge(gated, bob.address, reader);
      expect(late.allowed).to.equal(false);
      if (!late.allowed) expect(late.failed.path).to.equal("$.condition.operands[2]");
    });

    it("decides by three-valued logic: an unevaluable operand is decisive only when the others do not settle it", async function () {
      const { bob, nft, reader } = await deploy();
      const now = await time.latest();
      const reverting = erc721Owner(await nft.getAddress(), 42); // no token 42: ownerOf reverts
      // or(true, error) holds; and(false, error) fails; and(true, error) and or(false, error) cannot be decided.
      expect((await judge(set(or(reverting, timeAfter(now))), bob.address, reader)).allowed).to.equal(true);
      expect((await judge(set(and(reverting, timeAfter(now + 999))), bob.address, reader)).allowed).to.equal(false);
      expect((await rejection(judge(set(and(timeAfter(now), reverting)), bob.address, reader))).failure).to.equal(
        "REVERTED",
      );
      expect((await rejection(judge(set(or(timeAfter(now + 999), reverting)), bob.address, reader))).path).to.equal(
        "$.condition.operands[1]",
      );
    });

    it("short-circuits: an and stops at the first failure, an or at the first success", async function () {
      const { bob, token, reader } = await deploy();
      const now = await time.latest();
      const erc20 = erc20AtLeast(await token.getAddress(), 1n);
      const before = reader.reads;
      await judge(set(and(timeAfter(now + 999), erc20)), bob.address, reader);
      await judge(set(or(timeAfter(now), erc20)), bob.address, reader);
      expect(reader.reads - before).to.equal(2); // the two latest-block reads, no call
    });
  });

  describe("reads", function () {
    it("caches a call per block and reads again at a new block", async function () {
      const { bob, token } = await deploy();
      const reader = new ProviderReader(hre.ethers.provider, BigInt(CHAIN), { cacheSize: 4 });
      const gated = set(erc20AtLeast(await token.getAddress(), 1n));
      await judge(gated, bob.address, reader);
      await judge(gated, bob.address, reader);
      expect(reader.reads).to.equal(3); // block, call, block (the call's answer at that block is cached)
      await token.mint(bob.address, 1n); // a new block
      expect((await judge(gated, bob.address, reader)).allowed).to.equal(true);
      expect(reader.reads).to.equal(5);
    });

    it("classifies reverts the same over a plain ethers provider (as the node's JSON-RPC connection)", async function () {
      const { bob, nft } = await deploy();
      const plain = new ProviderReader(
        new BrowserProvider(hre.network.provider as never, undefined, { cacheTimeout: -1 }),
        BigInt(CHAIN),
      );
      const gated = set(erc721Owner(await nft.getAddress(), 5));
      expect((await rejection(judge(gated, bob.address, plain))).failure).to.equal("REVERTED");
      await nft.mint(bob.address, 5);
      expect((await judge(gated, bob.address, plain)).allowed).to.equal(true);
    });

    it("turns an RPC failure into a retryable error, not a refusal or an allow", async function () {
      const { bob, token } = await deploy();
      const down: ChainReader = {
        chainId: BigInt(CHAIN),
        latestBlock: async () => ({ number: 1, timestamp: 1 }),
        call: async () => {
          throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
        },
        code: async () => "0x",
      };
      const e = await rejection(judge(set(not(erc20AtLeast(await token.getAddress(), 1n))), bob.address, down));
      expect(e.failure).to.equal("RPC_FAILURE");
      expect(e.retryable).to.equal(true);
      const noBlock: ChainReader = { ...down, latestBlock: async () => Promise.reject(new Error("timeout")) };
      expect((await rejection(judge(set(timeAfter(0)), undefined, noBlock))).failure).to.equal("RPC_FAILURE");
    });

    it("gives up at the deadline when the RPC does not answer", async function () {
      const { bob, token } = await deploy();
      const hung: ChainReader = {
        chainId: BigInt(CHAIN),
        latestBlock: async () => ({ number: 1, timestamp: 1 }),
        call: () => new Promise<string>(() => undefined),
        code: async () => "0x",
      };
      const expression = parseConditions(set(erc20AtLeast(await token.getAddress(), 1n)), { chainId: CHAIN });
      const e = await rejection(evaluateConditions(expression, { userAddress: bob.address }, hung, { deadlineMs: 20 }));
      expect(e.failure).to.equal("DEADLINE");
      expect(e.retryable).to.equal(true);
    });

    it("refuses conditions for another chain than the one the node reads", async function () {
      const { reader } = await deploy();
      const elsewhere = parseConditions(set({ ...timeAfter(0), chain: 1 } as never));
      expect((await rejection(evaluateConditions(elsewhere, {}, reader))).failure).to.equal("WRONG_CHAIN");
    });

    it("allows a policy without conditions, and reads a signed set's conditions", async function () {
      const { reader } = await deploy();
      expect(await evaluateConditions(null, {}, reader)).to.deep.equal({ allowed: true });
      const signed = { conditions: set(timeAfter((await time.latest()) + 99)) };
      expect((await evaluateConditions(signed, {}, reader)).allowed).to.equal(false);
    });
  });
});
