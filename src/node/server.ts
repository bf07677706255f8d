// The re-encryption node's HTTP API (fastify, JSON-schema validated):
//   GET  /v1/status                         who the node is, its encrypting key, how many kfrags it holds
//   POST /v1/policies/:policyId/kfrag       Alice delivers a kfrag, encrypted to the node, signed by the owner
//   POST /v1/policies/:policyId/reencrypt   Bob asks for cfrags of up to 32 capsules
// Every check against the chain (policy exists, lists this node, not revoked, not expired, owner signed) is
// made on each request: the chain is the source of truth, the store only a cache of what Alice sent.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import { getBytes as hexBytes, hexlify as toHex, verifyMessage } from "ethers";
import type { KFragStore } from "./store";
import {
  POLICY_ID_HEX,
  HEX,
  MAX_BODY_BYTES,
  MAX_CAPSULES_PER_REQUEST,
  deliveryDigest,
  storageAckDigest,
  type KFragDelivery,
  type KFragReceipt,
  type NodeStatus,
  type ReencryptionRequest,
  type ReencryptionResponse,
} from "../network/protocol";
import type { PolicyView } from "../network/chain";
import { KFragDeliveryError, openKFrag } from "../network/delivery";
import { Capsule, KeyFrag, PublicKey, reencrypt, UmbralError, type SecretKey, type VerifiedKeyFrag } from "../umbral";
import { corruptCFrag } from "./fault";
import { evidenceDigest } from "../slashing";

/** Verified kfrags kept in memory; a node serving more policies reads the rest from its store. */
const KFRAG_CACHE_SIZE = 10_000;

type AttestedKeys = { delegatingKey: Uint8Array; receivingKey: Uint8Array; verifyingKey: Uint8Array };

/** Who the node is and what it can sign with. */
export interface NodeIdentity {
  staker: string;
  operator: string;
  chainId: bigint;
  policyManager: string;
  /** The node's Umbral secret key that kfrag deliveries are encrypted to. */
  encryptingKey: SecretKey;
  /** The operator's Ethereum key: signs every returned cfrag (the slashing evidence). */
  operatorSigner: { signMessage(message: Uint8Array): Promise<string> };
}

export interface NodeServerOptions {
  identity: NodeIdentity;
  store: KFragStore;
  policies: PolicyView;
  logger?: FastifyBaseLogger | boolean;
  /**
   * Fault injection for demos and tests of slashing only: when set, the node corrupts every cfrag it returns
   * (still signing it). A real node never sets it; the daemon's CLI exposes it only on local chains.
   */
  cheat?: boolean;
}

/** A request the node refuses; the HTTP status tells the class of the failure. */
class NodeRequestError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the node's fastify app (not yet listening). */
export function buildNodeServer(options: NodeServerOptions): FastifyInstance {
  const { identity, store, policies } = options;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: MAX_BODY_BYTES });
  const encryptingKey = identity.encryptingKey.publicKey().toCompressedBytes();

  app.setErrorHandler(
    (error: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply: FastifyReply) => {
      if (error instanceof NodeRequestError) {
        request.log.info({ code: error.code }, error.message);
        return reply
          .status(error.statusCode)
          .send({ statusCode: error.statusCode, code: error.code, error: error.message });
      }
      if (error.validation || (error.statusCode && error.statusCode < 500)) {
        const statusCode = error.statusCode ?? 400;
        return reply.status(statusCode).send({ statusCode, code: error.code ?? "BAD_REQUEST", error: error.message });
      }
      request.log.error({ err: error }, "internal error");
      return reply.status(500).send({ statusCode: 500, code: "INTERNAL", error: "internal error" });
    },
  );

  /** Loads the on-chain policy and checks it is live and lists this node; throws NodeRequestError if not. */
  async function requireLivePolicy(policyId: string) {
    const policy = await policies.getPolicy(policyId);
    if (!policy) throw new NodeRequestError(404, "UNKNOWN_POLICY", `policy ${policyId} does not exist on-chain`);
    if (!policy.nodes.some((n) => n.toLowerCase() === identity.staker.toLowerCase())) {
      throw new NodeRequestError(403, "NOT_A_POLICY_NODE", `policy ${policyId} does not list node ${identity.staker}`);
    }
    if (policy.revoked) {
      await forgetKFrag(policyId, "revoked");
      throw new NodeRequestError(410, "POLICY_REVOKED", `policy ${policyId} was revoked`);
    }
    const period = await policies.currentPeriod();
    if (period >= policy.endPeriod) {
      await forgetKFrag(policyId, "expired");
      throw new NodeRequestError(410, "POLICY_EXPIRED", `policy ${policyId} ended at period ${policy.endPeriod}`);
    }
    return policy;
  }

  /** Deletes the kfrag of a revoked or ended policy on the first request that finds it so (the sweep does the rest). */
  async function forgetKFrag(policyId: string, reason: "revoked" | "expired") {
    kfragCache.delete(policyId);
    if (store.has(policyId) && (await store.delete(policyId))) app.log.info({ policyId, reason }, "kfrag deleted");
  }

  /**
   * Parsed, verified kfrags by policy, so a request costs a re-encryption and a signature rather than a
   * store read and a kfrag verification too. Bounded; the oldest entry goes first.
   */
  const kfragCache = new Map<string, { kfrag: VerifiedKeyFrag; attestedKeys: AttestedKeys }>();
  async function loadKFrag(policyId: string) {
    const cached = kfragCache.get(policyId);
    if (cached) return cached;
    const held = await store.get(policyId);
    if (!held) throw new NodeRequestError(404, "NO_KFRAG", `this node holds no kfrag for policy ${policyId}`);
    const delegatingPk = PublicKey.fromCompressedBytes(hexBytes(held.delegatingKey));
    const receivingPk = PublicKey.fromCompressedBytes(hexBytes(held.receivingKey));
    const verifyingPk = PublicKey.fromCompressedBytes(hexBytes(held.verifyingKey));
    // Verified before it was stored; a failure here means a corrupted store, reported as a 500.
    const kfrag = KeyFrag.fromBytes(hexBytes(held.kfrag)).verify(verifyingPk, delegatingPk, receivingPk);
    const entry = {
      kfrag,
      attestedKeys: {
        delegatingKey: delegatingPk.toCompressedBytes(),
        receivingKey: receivingPk.toCompressedBytes(),
        verifyingKey: verifyingPk.toCompressedBytes(),
      },
    };
    if (kfragCache.size >= KFRAG_CACHE_SIZE) kfragCache.delete(kfragCache.keys().next().value!);
    kfragCache.set(policyId, entry);
    return entry;
  }

  const policyParams = {
    type: "object",
    required: ["policyId"],
    properties: { policyId: { type: "string", pattern: POLICY_ID_HEX } },
  } as const;

  app.get("/v1/status", async (): Promise<NodeStatus> => ({
    staker: identity.staker,
    operator: identity.operator,
    encryptingKey: toHex(encryptingKey),
    chainId: identity.chainId.toString(),
    currentPeriod: Number(await policies.currentPeriod()),
    kfrags: await store.count(),
    deletedKFrags: store.deleted(),
    lostKFrags: store.lost().length,
  }));

  app.post<{ Params: { policyId: string }; Body: KFragDelivery }>(
    "/v1/policies/:policyId/kfrag",
    {
      schema: {
        params: policyParams,
        body: {
          type: "object",
          required: ["capsule", "ciphertext", "version", "ownerSignature"],
          additionalProperties: false,
          properties: {
            capsule: { type: "string", pattern: HEX, maxLength: 1024 },
            ciphertext: { type: "string", pattern: HEX, maxLength: 8192 },
            version: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            ownerSignature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
          },
        },
      },
    },
    async (request, reply) => {
      const policyId = request.params.policyId.toLowerCase();
      const policy = await requireLivePolicy(policyId);
      const capsule = hexBytes(request.body.capsule);
      const ciphertext = hexBytes(request.body.ciphertext);
      const { version } = request.body;
      const digest = deliveryDigest({
        chainId: identity.chainId,
        policyManager: identity.policyManager,
        policyId,
        staker: identity.staker,
        version,
        capsule,
        ciphertext,
      });
      let signer: string;
      try {
        signer = verifyMessage(digest, request.body.ownerSignature);
      } catch {
        throw new NodeRequestError(400, "BAD_SIGNATURE", "ownerSignature is not a valid signature");
      }
      if (signer.toLowerCase() !== policy.owner.toLowerCase()) {
        throw new NodeRequestError(
          403,
          "NOT_POLICY_OWNER",
          `delivery signed by ${signer}, not by the policy owner ${policy.owner}`,
        );
      }
      let payload;
      try {
        payload = openKFrag(identity.encryptingKey, capsule, ciphertext);
      } catch (e) {
        if (e instanceof KFragDeliveryError) throw new NodeRequestError(400, "BAD_DELIVERY", e.message);
        throw e;
      }
      // Only a newer kfrag set replaces the one held: an old delivery replayed changes nothing.
      const put = await store.putNewer({
        policyId,
        ...payload,
        receivedAt: Date.now(),
        version,
        deliveryId: toHex(digest),
        endPeriod: policy.endPeriod.toString(),
      });
      if (put.outcome === "stale" || put.outcome === "conflict") {
        const held = put.held.version ?? 0;
        throw put.outcome === "stale"
          ? new NodeRequestError(409, "STALE_DELIVERY", `this node holds version ${held}, newer than ${version}`)
          : new NodeRequestError(409, "DELIVERY_CONFLICT", `this node holds another delivery of version ${held}`);
      }
      kfragCache.delete(policyId);
      request.log.info({ policyId, version, outcome: put.outcome }, "kfrag stored");
      // The signed acknowledgement: the operator vouches it stored exactly this delivery.
      const receipt: KFragReceipt = {
        policyId,
        version,
        stored: true,
        operator: identity.operator,
        signature: await identity.operatorSigner.signMessage(storageAckDigest(digest)),
      };
      return reply.status(put.outcome === "stored" ? 201 : 200).send(receipt);
    },
  );

  app.post<{ Params: { policyId: string }; Body: ReencryptionRequest }>(
    "/v1/policies/:policyId/reencrypt",
    {
      schema: {
        params: policyParams,
        body: {
          type: "object",
          required: ["capsules"],
          additionalProperties: false,
          properties: {
            capsules: {
              type: "array",
              minItems: 1,
              maxItems: MAX_CAPSULES_PER_REQUEST,
              items: { type: "string", pattern: HEX, maxLength: 512 },
            },
          },
        },
      },
    },
    async (request): Promise<ReencryptionResponse> => {
      const policyId = request.params.policyId.toLowerCase();
      await requireLivePolicy(policyId);
      const held = await loadKFrag(policyId);
      const cfrags = [];
      for (const [index, capsuleHex] of request.body.capsules.entries()) {
        let capsule: Capsule;
        try {
          capsule = Capsule.fromBytes(hexBytes(capsuleHex));
        } catch (e) {
          if (e instanceof UmbralError)
            throw new NodeRequestError(400, "BAD_CAPSULE", `capsule ${index}: ${e.message}`);
          throw e;
        }
        const verified = reencrypt(capsule, held.kfrag).unverify();
        // The cheat option corrupts the cfrag and signs it all the same: what slashing exists to catch.
        const cfrag = options.cheat ? corruptCFrag(verified) : verified;
        // No self-check of the cfrag before signing: it is correct by construction, and the kfrag's signature
        // for the receiver — the one part the node did not compute — was checked when the kfrag was accepted.
        const digest = evidenceDigest({
          capsule: capsule.toBytesSimple(),
          cfrag: cfrag.toBytesSimple(),
          ...held.attestedKeys,
        });
        cfrags.push({ cfrag: toHex(cfrag.toBytes()), signature: await identity.operatorSigner.signMessage(digest) });
      }
      request.log.info({ policyId, capsules: cfrags.length }, "re-encrypted");
      return { operator: identity.operator, cfrags };
    },
  );

  return app;
}
