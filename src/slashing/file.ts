// Evidence files: a signed cfrag as JSON, for `npx hardhat kms report --evidence file.json`.
import { readFileSync, writeFileSync } from "node:fs";
import { getBytes, hexlify } from "ethers";
import { EvidenceFileError } from "./errors";
import { checkLengths, type SignedCFrag } from "./evidence";

/** Format version written into every file. */
export const EVIDENCE_FILE_VERSION = 1;

const FIELDS = ["capsule", "cfrag", "delegatingKey", "receivingKey", "verifyingKey", "nodeSignature"] as const;

/** The JSON text of a signed cfrag: an object of 0x-hex strings and `version`. */
export function evidenceToJson(e: SignedCFrag): string {
  checkLengths(e);
  const out: Record<string, string | number> = { version: EVIDENCE_FILE_VERSION };
  for (const f of FIELDS) out[f] = hexlify(e[f]);
  return JSON.stringify(out, null, 2) + "\n";
}

/** Parses {@link evidenceToJson}'s output; throws {@link EvidenceFileError} or EvidenceFormatError. */
export function evidenceFromJson(text: string): SignedCFrag {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new EvidenceFileError(`evidence is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null) throw new EvidenceFileError("evidence JSON is not an object");
  const obj = parsed as Record<string, unknown>;
  if (obj.version !== EVIDENCE_FILE_VERSION) {
    throw new EvidenceFileError(`evidence version ${String(obj.version)} is not ${EVIDENCE_FILE_VERSION}`);
  }
  const out: Partial<SignedCFrag> = {};
  for (const f of FIELDS) {
    const v = obj[f];
    if (typeof v !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(v)) {
      throw new EvidenceFileError(`evidence field ${f} is missing or not 0x-prefixed hex: ${String(v)}`);
    }
    out[f] = getBytes(v);
  }
  const signed = out as SignedCFrag;
  checkLengths(signed);
  return signed;
}

/** Writes a signed cfrag to `path`. */
export function writeEvidenceFile(path: string, e: SignedCFrag): void {
  writeFileSync(path, evidenceToJson(e));
}

/** Reads a signed cfrag from `path`. */
export function readEvidenceFile(path: string): SignedCFrag {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new EvidenceFileError(`cannot read evidence file ${path}: ${(e as Error).message}`);
  }
  return evidenceFromJson(text);
}
