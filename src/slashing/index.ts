// Public API of the slashing toolkit: node-side signing of cfrags, evidence files, and the exact arguments
// of Adjudicator.evaluateCFrag.
export { SlashingError, EvidenceFormatError, UnverifiedCFragError, EvidenceFileError } from "./errors";
export {
  type SignedCFrag,
  type AttestedCFrag,
  type AttestationDomain,
  attestationDigest,
  attestationDomainOf,
  signAttestation,
  recoverOperator,
  typedDataDomain,
  ATTESTATION_TYPES,
  ATTESTATION_DOMAIN_NAME,
  ATTESTATION_DOMAIN_VERSION,
  packKeys,
  packEvidence,
  unpackEvidence,
  checkLengths,
  CAPSULE_SIMPLE_LENGTH,
  CFRAG_SIMPLE_LENGTH,
  KEY_LENGTH,
  NODE_SIGNATURE_LENGTH,
} from "./evidence";
export { signCFrag, type ServedKeys } from "./sign";
export {
  buildEvaluationArgs,
  buildHints,
  evidenceOf,
  predictVerdict,
  additionSlope,
  yOf,
  Verdict,
  VERDICT_NAMES,
  HINTS_LENGTH,
  HINTS_LENGTH_PROVING,
  type EvaluationArgs,
} from "./hints";
export {
  evidenceToJson,
  evidenceFromJson,
  readEvidenceFile,
  writeEvidenceFile,
  EVIDENCE_FILE_VERSION,
  type EvidenceFile,
} from "./file";
export { reportEvidence, claimReporterReward, type ReportOutcome, type ReportOptions } from "./report";
