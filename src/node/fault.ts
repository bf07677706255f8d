// Fault injection for demonstrating and testing slashing: how a cheating node corrupts a cfrag.
// Only the node server's `cheat` option (local chains only) uses it.
import { CapsuleFrag, SecretKey } from "../umbral";

/** Offset of e1 in the 359-byte simple form (e1 ‖ v1 ‖ id ‖ P ‖ e2 ‖ v2 ‖ U1 ‖ u2 ‖ z ‖ signature). */
const E1_OFFSET = 0;

/**
 * Returns `cfrag` with e1 replaced by a random point: a well-formed cfrag whose re-encryption proof fails
 * (the cheater returns garbage instead of rk·E), exactly what Bob detects and the Adjudicator slashes.
 */
export function corruptCFrag(cfrag: CapsuleFrag): CapsuleFrag {
  const bytes = cfrag.toBytesSimple();
  bytes.set(SecretKey.random().publicKey().toCompressedBytes(), E1_OFFSET);
  return CapsuleFrag.fromBytesSimple(bytes);
}
