// The kfrag delivery digest (src/network/protocol.ts): v2 for deliveries without conditions, unchanged byte for
// byte; v3 when a condition set travels with the kfrag, binding its version and hash, so neither can change
// without the owner's signature failing.
import { expect } from "chai";
import { concat, getBytes, hexlify, keccak256, solidityPacked, toUtf8Bytes, ZeroHash } from "ethers";
import { deliveryDigest, type DeliveryTarget } from "../../src/network/protocol";
import { conditionsHash } from "../../src/conditions";
import { set, timeAfter } from "./fixtures";

const TARGET: DeliveryTarget = {
  chainId: 31337n,
  policyManager: "0x" + "22".repeat(20),
  policyId: "0x" + "ab".repeat(16),
  staker: "0x" + "11".repeat(20),
  version: 7,
  capsule: new Uint8Array([1, 2, 3]),
  ciphertext: new Uint8Array([4, 5]),
};

describe("conditions: the delivery digest", function () {
  it("keeps the v2 digest for a delivery without conditions", function () {
    const v2 = keccak256(
      concat([
        toUtf8Bytes("umbral-kms/kfrag-delivery/v2"),
        solidityPacked(
          ["uint256", "address", "bytes16", "address", "uint64", "bytes32"],
          [31337n, TARGET.policyManager, TARGET.policyId, TARGET.staker, 7, keccak256(new Uint8Array([1, 2, 3, 4, 5]))],
        ),
      ]),
    );
    expect(hexlify(deliveryDigest(TARGET))).to.equal(v2);
  });

  it("binds the set's version and hash in v3: each changes the digest, and none is the v2 one", function () {
    const hash = conditionsHash(set(timeAfter(1_800_000_000)));
    const digests = [
      deliveryDigest(TARGET),
      deliveryDigest({ ...TARGET, conditions: { version: 1, hash } }),
      deliveryDigest({ ...TARGET, conditions: { version: 2, hash } }),
      deliveryDigest({ ...TARGET, conditions: { version: 1, hash: conditionsHash(set(timeAfter(1))) } }),
      deliveryDigest({ ...TARGET, conditions: { version: 1, hash: ZeroHash } }),
    ].map((d) => hexlify(getBytes(d)));
    expect(new Set(digests).size).to.equal(digests.length);
  });
});
