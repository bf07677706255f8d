// What the node server tests share: a node identity with a random operator key and made-up addresses, a
// policy's kfrag as the store holds it, and closing what a test opened.
import { hexlify, Wallet } from "ethers";
import type { FastifyInstance } from "fastify";
import type { NodeIdentity } from "../../src/node/server";
import type { KFragStore, StoredKFrag } from "../../src/node/store";
import { generateKFrags, SecretKey, Signer as UmbralSigner } from "../../src/umbral";

export const TEST_STAKER = "0x" + "11".repeat(20);

/** A node identity for `buildNodeServer`: staker TEST_STAKER, the operator `operator` (default a random key). */
export function testIdentity(operator: Wallet | ReturnType<typeof Wallet.createRandom> = Wallet.createRandom()) {
  return {
    staker: TEST_STAKER,
    operator: operator.address,
    chainId: 31337n,
    policyManager: "0x" + "22".repeat(20),
    encryptingKey: SecretKey.random(),
    operatorSigner: operator,
    attestation: { chainId: 31337n, adjudicator: "0x" + "33".repeat(20) },
  } satisfies NodeIdentity;
}

/** What a test's node server holds open: closed by the afterEach that {@link closedAfterEach} registers. */
export interface OpenServer {
  app?: FastifyInstance;
  store?: KFragStore;
}

/** Registers an afterEach that closes the server and store a test leaves in the returned holder. */
export function closedAfterEach(): OpenServer {
  const open: OpenServer = {};
  afterEach(async function () {
    await open.app?.close();
    await open.store?.close();
    open.app = open.store = undefined;
  });
  return open;
}

/** A policy of one kfrag (1 of 1) as a node's store holds it, with Alice's, Bob's and the signer's keys. */
export function heldPolicy(policyId: string) {
  const alice = SecretKey.random();
  const bob = SecretKey.random();
  const signer = new UmbralSigner(SecretKey.random());
  const [kfrag] = generateKFrags(alice, bob.publicKey(), signer, 1, 1, true, true);
  const stored: StoredKFrag = {
    policyId,
    kfrag: hexlify(kfrag.toBytes()),
    delegatingKey: hexlify(alice.publicKey().toCompressedBytes()),
    receivingKey: hexlify(bob.publicKey().toCompressedBytes()),
    verifyingKey: hexlify(signer.verifyingKey().toCompressedBytes()),
    receivedAt: Date.now(),
  };
  return { alice, bob, verifyingPk: signer.verifyingKey(), stored };
}
