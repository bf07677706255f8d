// The CPU-bound part of a re-encryption request: parse each capsule, re-encrypt it with the policy's kfrag,
// sign the attestation of the cfrag. One function for both places it runs: in the worker threads of the
// node's pool (src/node/pool.ts; this module's default export is the worker's task handler) and, with
// `--workers 0`, in the server's own thread one capsule per turn.
import { isMainThread, parentPort, threadId, workerData } from "node:worker_threads";
import {
  Capsule,
  encrypt,
  generateKFrags,
  KeyFrag,
  PublicKey,
  reencrypt,
  SecretKey,
  Signer as UmbralSigner,
  UmbralError,
  type VerifiedKeyFrag,
} from "../umbral";
import { corruptCFrag } from "./fault";
import { AttestationSigner, attestedKeyHashes } from "./attestation";
import type { AttestedCFrag } from "../slashing/evidence";

/** A policy's kfrag as the store holds it, and the keys it is served under (compressed bytes). */
export interface KFragBytes {
  /** Changes whenever the server reloads the kfrag from its store: the workers' cache key. */
  id: string;
  kfrag: Uint8Array;
  delegatingKey: Uint8Array;
  receivingKey: Uint8Array;
  verifyingKey: Uint8Array;
}

/** A kfrag parsed and verified once, with what every attestation under it reuses. */
export interface HeldKFrag {
  kfrag: VerifiedKeyFrag;
  keys: Pick<AttestedCFrag, "delegatingKey" | "receivingKey" | "verifyingKey">;
  keyHashes: Uint8Array;
}

/** One re-encrypted capsule: the cfrag (hex, MessagePack form) and, when signed here, the signature (hex). */
export interface CFragResult {
  cfrag: string;
  signature?: string;
  /** The attested capsule and cfrag (simple forms) when the caller signs. */
  attested?: { capsule: Uint8Array; cfrag: Uint8Array };
}

/** A capsule of a request that is not a capsule. */
export class CapsuleFormatError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(`capsule ${index}: ${message}`);
    this.name = "CapsuleFormatError";
  }
}

/** Parses and verifies a stored kfrag; throws if the store gave back something that does not verify. */
export function openHeldKFrag(bytes: KFragBytes): HeldKFrag {
  const delegatingPk = PublicKey.fromCompressedBytes(bytes.delegatingKey);
  const receivingPk = PublicKey.fromCompressedBytes(bytes.receivingKey);
  const verifyingPk = PublicKey.fromCompressedBytes(bytes.verifyingKey);
  const kfrag = KeyFrag.fromBytes(bytes.kfrag).verify(verifyingPk, delegatingPk, receivingPk);
  const keys = {
    delegatingKey: delegatingPk.toCompressedBytes(),
    receivingKey: receivingPk.toCompressedBytes(),
    verifyingKey: verifyingPk.toCompressedBytes(),
  };
  return { kfrag, keys, keyHashes: attestedKeyHashes(keys) };
}

const hex = (bytes: Uint8Array) => "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");

/**
 * Re-encrypts capsule `index` of a request (hex) under `held`. With `signer`, signs the attestation here;
 * without, returns the attested parts for the caller to sign. `cheat` corrupts the cfrag and signs it all
 * the same: what slashing exists to catch (tests and demos only). Throws {@link CapsuleFormatError}.
 */
export function reencryptOne(
  held: HeldKFrag,
  capsuleHex: string,
  index: number,
  options: { cheat: boolean; signer?: AttestationSigner },
): CFragResult {
  let capsule: Capsule;
  const bytes = Buffer.from(capsuleHex.slice(2), "hex");
  if (!capsuleHex.startsWith("0x") || bytes.length * 2 !== capsuleHex.length - 2) {
    throw new CapsuleFormatError(index, "not 0x-prefixed hex");
  }
  try {
    capsule = Capsule.fromBytes(bytes);
  } catch (e) {
    if (e instanceof UmbralError) throw new CapsuleFormatError(index, e.message);
    throw e;
  }
  const verified = reencrypt(capsule, held.kfrag).unverify();
  const cfrag = options.cheat ? corruptCFrag(verified) : verified;
  // No self-check of the cfrag before signing: it is correct by construction, and the kfrag's signature for
  // the receiver — the one part the node did not compute — was checked when the kfrag was accepted.
  const attested = { capsule: capsule.toBytesSimple(), cfrag: cfrag.toBytesSimple() };
  const out = hex(cfrag.toBytes());
  if (!options.signer) return { cfrag: out, attested };
  return { cfrag: out, signature: hex(options.signer.sign({ ...attested, ...held.keys }, held.keyHashes)) };
}

/** What the pool's workers are started with (once, not per task). */
export interface PoolWorkerData {
  /** The operator's secret key (0x-hex) when it is a local key: the workers sign the attestations. */
  operatorKey?: string;
  chainId: string;
  adjudicator: string;
  /** The module the worker bootstrap loads (this one, or a test's wrapper of it). */
  taskModule: string;
}

/** One request's work for a worker: all its capsules. */
export interface ReencryptTask {
  kfrag: KFragBytes;
  capsules: string[];
  cheat: boolean;
}

/** A worker's answer: the cfrags in order, or the first capsule that is not one, or a kfrag that does not verify. */
export type ReencryptOutcome =
  | { ok: true; cfrags: CFragResult[] }
  | { ok: false; code: "BAD_CAPSULE"; message: string }
  | { ok: false; code: "BAD_KFRAG"; message: string };

/** Verified kfrags per worker, by KFragBytes.id; bounded, the oldest entry goes first. */
const WORKER_KFRAG_CACHE = 1000;
const heldKFrags = new Map<string, HeldKFrag>();

let workerSigner: AttestationSigner | undefined;
let workerSignerReady = false;

function signerOfWorker(): AttestationSigner | undefined {
  if (!workerSignerReady) {
    const data = workerData as PoolWorkerData | null;
    if (data?.operatorKey) {
      workerSigner = new AttestationSigner(data.operatorKey, {
        chainId: BigInt(data.chainId),
        adjudicator: data.adjudicator,
      });
    }
    workerSignerReady = true;
  }
  return workerSigner;
}

/** The worker's task handler: one request's capsules. */
export function runReencryptTask(task: ReencryptTask): ReencryptOutcome {
  let held = heldKFrags.get(task.kfrag.id);
  if (!held) {
    try {
      held = openHeldKFrag(task.kfrag);
    } catch (e) {
      return { ok: false, code: "BAD_KFRAG", message: (e as Error).message };
    }
    if (heldKFrags.size >= WORKER_KFRAG_CACHE) heldKFrags.delete(heldKFrags.keys().next().value!);
    heldKFrags.set(task.kfrag.id, held);
  }
  const signer = signerOfWorker();
  const cfrags: CFragResult[] = [];
  try {
    for (const [index, capsule] of task.capsules.entries()) {
      cfrags.push(reencryptOne(held, capsule, index, { cheat: task.cheat, signer }));
    }
  } catch (e) {
    if (e instanceof CapsuleFormatError) return { ok: false, code: "BAD_CAPSULE", message: e.message };
    throw e;
  }
  return { ok: true, cfrags };
}

export default runReencryptTask;

/** What a worker posts once this module (and all it imports) is loaded: it can take tasks at full speed. */
export const WORKER_READY = "umbral-kms/pool-worker-ready";

/**
 * One re-encryption and one signature with throw-away keys: builds the curve's precomputed tables and
 * compiles the hot code in this thread, so the first real request is served as fast as the next ones.
 */
function warmUp(): void {
  const delegating = SecretKey.random();
  const receiving = SecretKey.random();
  const signer = new UmbralSigner(SecretKey.random());
  const [kfrag] = generateKFrags(delegating, receiving.publicKey(), signer, 1, 1, true, true);
  const [capsule] = encrypt(delegating.publicKey(), new Uint8Array(32));
  const held = openHeldKFrag({
    id: "warm-up",
    kfrag: kfrag.toBytes(),
    delegatingKey: delegating.publicKey().toCompressedBytes(),
    receivingKey: receiving.publicKey().toCompressedBytes(),
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
  });
  const warmSigner = new AttestationSigner(hex(SecretKey.random().toBEBytes()), {
    chainId: 1n,
    adjudicator: "0x" + "00".repeat(20),
  });
  reencryptOne(held, hex(capsule.toBytes()), 0, { cheat: false, signer: warmSigner });
}

if (!isMainThread && (workerData as PoolWorkerData | null)?.taskModule) {
  signerOfWorker();
  warmUp();
  parentPort?.postMessage({ [WORKER_READY]: threadId });
}
