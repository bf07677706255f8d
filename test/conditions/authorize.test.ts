// The node's decision on a request under a policy's conditions: proof of the requester when the set needs one,
// then the evaluation, each outcome mapped to the answer the node sends (serve, 401, 403 naming the condition,
// 503 with Retry-After).
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import {
  ProviderReader,
  ReplayGuard,
  authorizeRequest,
  parseConditions,
  signSiweProof,
  type ChainReader,
  type ConditionExpression,
  type RequesterExpectation,
} from "../../src/conditions";
import { CHAIN, NODE_URI, and, erc721Owner, nodeExpectation, set, timeAfter } from "./fixtures";

describe("conditions: authorizing a request", function () {
  async function world() {
    const [bob, carol] = await hre.ethers.getSigners();
    const nft = await hre.ethers.deployContract("ConditionNFT");
    await nft.mint(bob.address, 1);
    const reader = new ProviderReader(hre.ethers.provider, BigInt(CHAIN));
    const now = await time.latest();
    const expected = nodeExpectation(now);
    const gated = parseConditions(set(and(timeAfter(now), erc721Owner(await nft.getAddress(), 1))), { chainId: CHAIN });
    const proofOf = (signer: typeof bob) => signSiweProof(signer, { uri: NODE_URI, chainId: BigInt(CHAIN) }, now);
    return { bob, carol, nft, reader, expected, gated, proofOf, now };
  }

  const decide = (
    conditions: ConditionExpression | null,
    proof: unknown,
    expected: RequesterExpectation,
    reader: ChainReader,
  ) => authorizeRequest({ conditions, proof, expected, reader });

  it("serves the holder who proves his address, and says who he is", async function () {
    const { bob, reader, expected, gated, proofOf } = await world();
    expect(await decide(gated, await proofOf(bob), expected, reader)).to.deep.equal({
      serve: true,
      requester: bob.address,
    });
  });

  it("serves a policy without conditions, and one whose conditions need no proof, without asking for one", async function () {
    const { reader, expected, now } = await world();
    expect(await decide(null, undefined, expected, reader)).to.deep.equal({ serve: true });
    const timeOnly = parseConditions(set(timeAfter(now)), { chainId: CHAIN });
    expect(await decide(timeOnly, undefined, expected, reader)).to.deep.equal({ serve: true });
  });

  it("asks for a proof (401) when the conditions are about the requester", async function () {
    const { reader, expected, gated } = await world();
    const answer = await decide(gated, undefined, expected, reader);
    expect(answer.serve).to.equal(false);
    if (!answer.serve) expect(answer.refusal).to.include({ statusCode: 401, code: "REQUESTER_PROOF_REQUIRED" });
  });

  it("refuses a replayed proof (401) and a non-holder (403 CONDITION_NOT_MET naming the condition)", async function () {
    const { bob, carol, reader, expected, gated, proofOf, nft } = await world();
    const proof = await proofOf(bob);
    await decide(gated, proof, expected, reader);
    const replayed = await decide(gated, proof, expected, reader);
    if (replayed.serve) expect.fail("served a replayed proof");
    expect(replayed.refusal).to.include({ statusCode: 401, code: "REQUESTER_PROOF_REFUSED" });
    expect(replayed.refusal.error).to.match(/nonce was already used/);
    const other = await decide(gated, await proofOf(carol), expected, reader);
    if (other.serve) expect.fail("served a non-holder");
    expect(other.refusal).to.include({ statusCode: 403, code: "CONDITION_NOT_MET" });
    expect(other.refusal.condition).to.deep.equal({
      path: "$.condition.operands[1]",
      description: `ERC721 ${await nft.getAddress()}.ownerOf(1) == :userAddress`,
    });
  });

  it("refuses a condition that cannot be evaluated (403) and one that cannot be evaluated now (503, retry)", async function () {
    const { bob, reader, expected, proofOf, nft, now } = await world();
    const missing = parseConditions(set(and(timeAfter(now), erc721Owner(await nft.getAddress(), 2))), {
      chainId: CHAIN,
    });
    const reverted = await decide(missing, await proofOf(bob), expected, reader);
    if (reverted.serve) expect.fail("served on a reverting condition");
    expect(reverted.refusal).to.include({ statusCode: 403, code: "CONDITION_NOT_EVALUABLE" });
    expect(reverted.refusal.condition?.path).to.equal("$.condition.operands[1]");
    const down: ChainReader = {
      chainId: BigInt(CHAIN),
      latestBlock: () => Promise.reject(new Error("ECONNREFUSED")),
      call: async () => "0x",
      code: async () => "0x",
    };
    const unavailable = await decide(missing, await proofOf(bob), expected, down);
    if (unavailable.serve) expect.fail("served with the chain down");
    expect(unavailable.refusal).to.include({ statusCode: 503, code: "CONDITION_UNAVAILABLE", retryAfterSeconds: 5 });
  });

  it("refuses new proofs with 503 while the replay guard is full of live nonces", async function () {
    const { bob, carol, reader, expected, gated, proofOf } = await world();
    const full = { ...expected, replay: new ReplayGuard(1) };
    expect((await decide(gated, await proofOf(bob), full, reader)).serve).to.equal(true);
    const busy = await decide(gated, await proofOf(carol), full, reader);
    if (busy.serve) expect.fail("served past the guard's bound");
    expect(busy.refusal).to.include({ statusCode: 503, code: "REQUESTER_PROOF_REFUSED" });
  });
});
