// Bob: asks the policy's nodes for cfrags in parallel, verifies every one, keeps the first `threshold` good
// ones, reports any bad one a node signed (slashing evidence), and decrypts.
import { createReadStream, createWriteStream, renameSync, rmSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import {
  Capsule,
  CapsuleFrag,
  CapsuleFragVerificationError,
  decryptReencrypted,
  UmbralError,
  type SecretKey,
  type VerifiedCapsuleFrag,
} from "../umbral";
import { getBytes, hexlify } from "ethers";
import { recoverOperator, type SignedCFrag } from "../slashing";
import type { ReencryptionRequest, ReencryptionResponse } from "../network/protocol";
import { requestJson } from "./http";
import { publicKeyOf, type PolicyGrant } from "./grant";
import { openStream } from "./sealed";

/** Raised when fewer than `threshold` nodes returned a correct cfrag. */
export class NotEnoughCFragsError extends Error {
  constructor(
    readonly threshold: number,
    readonly good: number,
    readonly failures: { staker: string; reason: string }[],
  ) {
    super(
      `got ${good} correct cfrag(s), need ${threshold}: ` + failures.map((f) => `${f.staker}: ${f.reason}`).join("; "),
    );
    this.name = "NotEnoughCFragsError";
  }
}

/** A cfrag that failed verification, signed by the node that returned it: evidence for the Adjudicator. */
export interface CheatingNode {
  staker: string;
  operator: string;
  evidence: SignedCFrag;
  reason: string;
}

export interface RetrieveOptions {
  /** Per-node deadline; default 10 s. */
  timeoutMs?: number;
  /**
   * Wait for every node's answer (up to the deadline) instead of stopping at the first `threshold` good
   * cfrags: slower, but every node is audited and every cheater reported. Default false.
   */
  auditAll?: boolean;
  /** Called for every node caught returning a wrong cfrag it signed (e.g. submit to the Adjudicator). */
  onCheat?: (cheat: CheatingNode) => void | Promise<void>;
  onProgress?: (message: string) => void;
}

/**
 * Asks every node of `grant` at once and resolves as soon as `threshold` correct cfrags arrived (the rest
 * are cancelled), or throws NotEnoughCFragsError once too many failed.
 */
export async function retrieveCFrags(
  grant: PolicyGrant,
  capsule: Capsule,
  options: RetrieveOptions = {},
): Promise<VerifiedCapsuleFrag[]> {
  const delegatingPk = publicKeyOf(grant.delegatingKey);
  const receivingPk = publicKeyOf(grant.receivingKey);
  const verifyingPk = publicKeyOf(grant.verifyingKey);
  const body: ReencryptionRequest = { capsules: [hexlify(capsule.toBytes())] };
  const cancel = new AbortController();
  const good: VerifiedCapsuleFrag[] = [];
  const failures: { staker: string; reason: string }[] = [];
  const progress = options.onProgress ?? (() => undefined);
  const reports: Promise<void>[] = [];

  await new Promise<void>((resolve) => {
    let settled = 0;
    const finishOne = () => {
      settled++;
      const enough = good.length >= grant.threshold && !options.auditAll;
      if (enough || settled === grant.nodes.length) resolve();
    };
    for (const node of grant.nodes) {
      void (async () => {
        try {
          const answer = await requestJson<ReencryptionResponse>(
            `${node.url}/v1/policies/${grant.policyId}/reencrypt`,
            body,
            { timeoutMs: options.timeoutMs ?? 10_000, signal: options.auditAll ? undefined : cancel.signal },
          );
          const returned = answer.cfrags?.[0];
          if (!returned) throw new Error("answer holds no cfrag");
          const cfrag = CapsuleFrag.fromBytes(getBytes(returned.cfrag));
          try {
            const verified = cfrag.verify(capsule, verifyingPk, delegatingPk, receivingPk);
            if (good.length < grant.threshold) {
              good.push(verified);
              progress(`cfrag ${good.length}/${grant.threshold} from ${node.staker}`);
            }
          } catch (e) {
            if (!(e instanceof CapsuleFragVerificationError)) throw e;
            const evidence: SignedCFrag = {
              capsule: capsule.toBytesSimple(),
              cfrag: cfrag.toBytesSimple(),
              delegatingKey: delegatingPk.toCompressedBytes(),
              receivingKey: receivingPk.toCompressedBytes(),
              verifyingKey: verifyingPk.toCompressedBytes(),
              nodeSignature: getBytes(returned.signature),
            };
            // Only a cfrag signed by the node's operator is evidence; anything else is just a bad answer.
            let operator: string | undefined;
            try {
              operator = recoverOperator(evidence);
            } catch {
              operator = undefined;
            }
            const signedByNode = operator !== undefined && operator.toLowerCase() === answer.operator.toLowerCase();
            if (signedByNode && options.onCheat) {
              reports.push(
                Promise.resolve(
                  options.onCheat({ staker: node.staker, operator: operator!, evidence, reason: e.message }),
                ),
              );
            }
            throw new Error(`wrong cfrag (${e.message})${signedByNode ? ", signed by the node: reported" : ""}`);
          }
        } catch (e) {
          failures.push({
            staker: node.staker,
            reason: e instanceof UmbralError ? `malformed cfrag: ${e.message}` : (e as Error).message,
          });
        } finally {
          finishOne();
        }
      })();
    }
  });
  cancel.abort();
  await Promise.all(reports);
  if (good.length < grant.threshold) throw new NotEnoughCFragsError(grant.threshold, good.length, failures);
  return good;
}

/** Decrypts a sealed stream: parses the header, retrieves cfrags for its capsule, opens the file key. */
export function decryptStream(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  sealed: AsyncIterable<Uint8Array>,
  options: RetrieveOptions & { onBytes?: (bytes: number) => void } = {},
): AsyncGenerator<Uint8Array> {
  return openStream(
    sealed,
    async (header) => {
      const capsule = Capsule.fromBytes(header.capsule);
      const cfrags = await retrieveCFrags(grant, capsule, options);
      return decryptReencrypted(receivingSk, publicKeyOf(grant.delegatingKey), capsule, cfrags, header.wrappedKey);
    },
    options.onBytes,
  );
}

/** Retrieves and decrypts the sealed file `inPath` into `outPath`. */
export async function decryptFile(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  inPath: string,
  outPath: string,
  options: RetrieveOptions & { onBytes?: (bytes: number) => void } = {},
): Promise<void> {
  // Write beside the target and rename at the end, so a failure never leaves a truncated plaintext behind.
  const partial = `${outPath}.partial`;
  try {
    await pipeline(
      Readable.from(decryptStream(grant, receivingSk, createReadStream(inPath), options)),
      createWriteStream(partial),
    );
    renameSync(partial, outPath);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** Retrieves and decrypts a sealed buffer in memory. */
export async function decryptBytes(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  sealed: Uint8Array,
  options: RetrieveOptions = {},
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const source = (async function* () {
    yield sealed;
  })();
  for await (const part of decryptStream(grant, receivingSk, source, options)) parts.push(part);
  return Buffer.concat(parts);
}
