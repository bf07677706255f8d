// Who Bob is: SIWE (EIP-4361) and EIP-712 proofs of the requester's address, bound to the node, its chain and
// a short validity, single-use. Times come from the chain, never the wall clock.
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { SiweMessage } from "siwe";
import {
  ReplayGuard,
  RequesterProofError,
  signRequesterProof,
  signSiweProof,
  verifyRequester,
  type RequesterExpectation,
  type RequesterProofFailure,
} from "../../src/conditions";
import { randomPolicyId } from "../../src/policy";
import { CHAIN, NODE_URI, nodeExpectation } from "./fixtures";

const POLICY_MANAGER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

async function refusedWith(promise: Promise<string>): Promise<RequesterProofFailure> {
  try {
    await promise;
  } catch (e) {
    expect(e).to.be.instanceOf(RequesterProofError);
    return (e as RequesterProofError).failure;
  }
  expect.fail("expected the proof to be refused");
}

describe("conditions: requester proofs", function () {
  async function node(overrides: Partial<RequesterExpectation> = {}) {
    const [bob, mallory, staker] = await hre.ethers.getSigners();
    const now = await time.latest();
    const expected = nodeExpectation(now, {
      node: staker.address,
      policyId: randomPolicyId(),
      policyManager: POLICY_MANAGER,
      ...overrides,
    });
    return { bob, mallory, staker, now, expected };
  }

  /** A SIWE message with `fields` changed, signed by `signer`. */
  async function siwe(signer: Awaited<ReturnType<typeof node>>["bob"], now: number, fields: Partial<SiweMessage> = {}) {
    const message = new SiweMessage({
      domain: "node-1.example.org:9151",
      address: signer.address,
      uri: NODE_URI,
      version: "1",
      chainId: CHAIN,
      nonce: "abcdef0123456789",
      issuedAt: new Date(now * 1000).toISOString(),
      expirationTime: new Date((now + 300) * 1000).toISOString(),
      ...fields,
    }).prepareMessage();
    return { type: "siwe" as const, message, signature: await signer.signMessage(message) };
  }

  describe("SIWE", function () {
    it("proves the signer's address once, and refuses the same nonce again while it is valid", async function () {
      const { bob, now, expected } = await node();
      const proof = await signSiweProof(bob, { uri: NODE_URI, chainId: BigInt(CHAIN) }, now);
      expect(await verifyRequester(proof, expected)).to.equal(bob.address);
      expect(await refusedWith(verifyRequester(proof, expected))).to.equal("REPLAYED");
      // A fresh proof (new nonce) is fine.
      const fresh = await signSiweProof(bob, { uri: NODE_URI, chainId: BigInt(CHAIN) }, now);
      expect(await verifyRequester(fresh, expected)).to.equal(bob.address);
    });

    it("refuses an expired message, and one not yet valid, by the chain's time", async function () {
      const { bob, now, expected } = await node();
      const proof = await siwe(bob, now, { notBefore: new Date((now + 60) * 1000).toISOString() });
      expect(await refusedWith(verifyRequester(proof, expected))).to.equal("NOT_YET_VALID");
      await time.increase(60);
      expect(await verifyRequester(proof, { ...expected, now: await time.latest() })).to.equal(bob.address);
      await time.increase(300);
      const later = { ...expected, now: await time.latest(), replay: new ReplayGuard() };
      expect(await refusedWith(verifyRequester(proof, later))).to.equal("EXPIRED");
    });

    it("refuses a message for another domain, URI or chain", async function () {
      const { bob, now, expected } = await node();
      const cases: [Partial<SiweMessage>, RequesterProofFailure][] = [
        [{ domain: "evil.example.org" }, "OTHER_DOMAIN"],
        [{ uri: "https://node-2.example.org:9151" }, "OTHER_DOMAIN"],
        [{ chainId: 1 }, "WRONG_CHAIN"],
      ];
      for (const [fields, failure] of cases)
        expect(await refusedWith(verifyRequester(await siwe(bob, now, fields), expected))).to.equal(failure);
    });

    it("refuses a message signed by someone other than the address it names", async function () {
      const { bob, mallory, now, expected } = await node();
      const honest = await siwe(bob, now);
      const forged = { ...honest, signature: await mallory.signMessage(honest.message) };
      try {
        await verifyRequester(forged, expected);
        expect.fail("accepted");
      } catch (e) {
        expect((e as RequesterProofError).failure).to.equal("SIGNED_BY_OTHER");
        expect((e as Error).message).to.include(`names ${bob.address}, but ${mallory.address} signed it`);
      }
      // Refusing the forgery did not burn Bob's nonce.
      expect(await verifyRequester(honest, expected)).to.equal(bob.address);
    });

    it("refuses a message without an expiry, one valid too long, a bad signature and garbage", async function () {
      const { bob, now, expected } = await node();
      expect(
        await refusedWith(verifyRequester(await siwe(bob, now, { expirationTime: undefined }), expected)),
      ).to.equal("MALFORMED");
      const longLived = await siwe(bob, now, { expirationTime: new Date((now + 86_400) * 1000).toISOString() });
      expect(await refusedWith(verifyRequester(longLived, expected))).to.equal("TOO_LONG_LIVED");
      const honest = await siwe(bob, now);
      expect(await refusedWith(verifyRequester({ ...honest, signature: "0x" + "11".repeat(65) }, expected))).to.equal(
        "BAD_SIGNATURE",
      );
      expect(await refusedWith(verifyRequester({ ...honest, signature: "0x12" }, expected))).to.equal("MALFORMED");
      expect(await refusedWith(verifyRequester({ ...honest, message: "hello" }, expected))).to.equal("MALFORMED");
      expect(await refusedWith(verifyRequester({ ...honest, type: "jwt" }, expected))).to.equal("MALFORMED");
      expect(await refusedWith(verifyRequester(null, expected))).to.equal("MALFORMED");
    });
  });

  describe("EIP-712", function () {
    it("proves the requester for this node and policy once", async function () {
      const { bob, now, staker, expected } = await node();
      const domain = { chainId: BigInt(CHAIN), policyManager: POLICY_MANAGER };
      const proof = await signRequesterProof(bob, domain, { node: staker.address, policyId: expected.policyId!, now });
      expect(await verifyRequester(proof, expected)).to.equal(bob.address);
      expect(await refusedWith(verifyRequester(proof, expected))).to.equal("REPLAYED");
      const json = JSON.parse(JSON.stringify(proof));
      expect(
        await refusedWith(
          verifyRequester(json, { ...expected, replay: new ReplayGuard(), policyId: randomPolicyId() }),
        ),
      ).to.equal("OTHER_DOMAIN");
      expect(
        await refusedWith(verifyRequester(json, { ...expected, replay: new ReplayGuard(), node: bob.address })),
      ).to.equal("OTHER_DOMAIN");
      const elsewhere = { ...expected, replay: new ReplayGuard(), policyManager: staker.address };
      expect(await refusedWith(verifyRequester(json, elsewhere))).to.equal("SIGNED_BY_OTHER");
      const late = { ...expected, replay: new ReplayGuard(), now: now + 301 };
      expect(await refusedWith(verifyRequester(json, late))).to.equal("EXPIRED");
    });

    it("refuses a claim naming another requester than its signer", async function () {
      const { bob, mallory, now, staker, expected } = await node();
      const domain = { chainId: BigInt(CHAIN), policyManager: POLICY_MANAGER };
      const proof = await signRequesterProof(mallory, domain, {
        node: staker.address,
        policyId: expected.policyId!,
        now,
      });
      const claimed = { ...proof, claim: { ...proof.claim, requester: bob.address } };
      expect(await refusedWith(verifyRequester(claimed, expected))).to.equal("SIGNED_BY_OTHER");
      expect(
        await refusedWith(verifyRequester({ ...proof, claim: { ...proof.claim, nonce: "0x12" } }, expected)),
      ).to.equal("MALFORMED");
    });
  });

  describe("replay guard", function () {
    it("forgets nonces once they expire, and refuses new proofs when full of live ones rather than forget one", function () {
      const guard = new ReplayGuard(2);
      guard.consume("a", 100, 0);
      guard.consume("b", 200, 0);
      expect(() => guard.consume("c", 300, 50)).to.throw(RequesterProofError, /too many live proofs/);
      guard.consume("c", 300, 100); // "a" expired at 100: swept
      expect(guard.size).to.equal(2);
      expect(() => guard.consume("b", 400, 150)).to.throw(RequesterProofError, /already used/);
      guard.consume("a", 400, 200); // "b" expired: swept, and "a" is long gone
    });
  });
});
