// Evidence files: a signed cfrag and the deployment it was signed for, as JSON, for
// `npx hardhat kms report --evidence file.json`.
import { readFileSync, writeFileSync } from "node:fs";
import { getAddress, getBytes, hexlify } from "ethers";
import { EvidenceFileError } from "./errors";
import { checkLengths, type AttestationDomain, type SignedCFrag } from "./evidence";

/**
 * Format version written into every file. Version 2: the node signature is an EIP-712 attestation bound to
 * `chainId` and `adjudicator`. Version 1 files (EIP-191 signatures valid on every chain) are refused.
 */
export const EVIDENCE_FILE_VERSION = 2;

const FIELDS = ["capsule", "cfrag", "delegatingKey", "receivingKey", "verifyingKey", "nodeSignature"] as const;

/** What an evidence file holds. */
export interface EvidenceFile {
  evidence: SignedCFrag;
  /** The deployment the node signed for: only its Adjudicator can judge it. */
  domain: AttestationDomain;
}

/** The JSON text of a signed cfrag and its domain: 0x-hex strings, `version`, `chainId` (decimal string). */
export function evidenceToJson(file: EvidenceFile): string {
  const { evidence, domain } = file;
  checkLengths(evidence);
  const out: Record<string, string | number> = {
    version: EVIDENCE_FILE_VERSION,
    chainId: domain.chainId.toString(),
    adjudicator: getAddress(domain.adjudicator),
  };
  for (const f of FIELDS) out[f] = hexlify(evidence[f]);
  return JSON.stringify(out, null, 2) + "\n";
}

/** Parses {@link evidenceToJson}'s output; throws {@link EvidenceFileError} or EvidenceFormatError. */
export function evidenceFromJson(text: string): EvidenceFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new EvidenceFileError(`evidence is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null) throw new EvidenceFileError("evidence JSON is not an object");
  const obj = parsed as Record<string, unknown>;
  if (!("cfrag" in obj) && !("nodeSignature" in obj)) {
    throw new EvidenceFileError(
      "this is not an evidence file: it has no cfrag or node signature (evidence files are the evidence-*.json " +
        "that kms retrieve-decrypt saves for a node that returned a wrong cfrag)",
    );
  }
  if (obj.version === 1) {
    throw new EvidenceFileError(
      "evidence version 1 holds a node signature from before attestations were bound to a deployment; " +
        "no Adjudicator accepts it any more (ask for the cfrag again from an upgraded node)",
    );
  }
  if (obj.version !== EVIDENCE_FILE_VERSION) {
    throw new EvidenceFileError(`evidence version ${String(obj.version)} is not ${EVIDENCE_FILE_VERSION}`);
  }
  if (typeof obj.chainId !== "string" || !/^[0-9]+$/.test(obj.chainId)) {
    throw new EvidenceFileError(`evidence field chainId is missing or not a decimal string: ${String(obj.chainId)}`);
  }
  let adjudicator: string;
  try {
    adjudicator = getAddress(String(obj.adjudicator));
  } catch {
    throw new EvidenceFileError(`evidence field adjudicator is not an address: ${String(obj.adjudicator)}`);
  }
  const out: Partial<SignedCFrag> = {};
  for (const f of FIELDS) {
    const v = obj[f];
    if (typeof v !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(v)) {
      throw new EvidenceFileError(`evidence field ${f} is missing or not 0x-prefixed hex: ${String(v)}`);
    }
    out[f] = getBytes(v);
  }
  const evidence = out as SignedCFrag;
  checkLengths(evidence);
  return { evidence, domain: { chainId: BigInt(obj.chainId), adjudicator } };
}

/** Writes a signed cfrag and its domain to `path`. */
export function writeEvidenceFile(path: string, file: EvidenceFile): void {
  writeFileSync(path, evidenceToJson(file));
}

/** Reads a signed cfrag and its domain from `path`. */
export function readEvidenceFile(path: string): EvidenceFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new EvidenceFileError(`cannot read evidence file ${path}: ${(e as Error).message}`);
  }
  return evidenceFromJson(text);
}
