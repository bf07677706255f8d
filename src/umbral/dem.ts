// The data encapsulation: HKDF-SHA256 of the 33-byte shared point → XChaCha20-Poly1305 key; ciphertext is
// nonce(24) ‖ ct ‖ tag(16); the capsule's 98-byte simple form is the associated data, so a ciphertext only
// opens with the capsule it was made with.
import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/hashes/utils";
import { DecryptionError, EncryptionError } from "./errors";
import { concat, kdf } from "./hash";

export const NONCE_SIZE = 24;
const TAG_SIZE = 16;
// XChaCha20's 32-bit block counter bounds one message to 2^32 blocks of 64 bytes, minus the Poly1305 block.
const MAX_PLAINTEXT = 2 ** 38 - 64;

function demKey(keySeed: Uint8Array): Uint8Array {
  return kdf(keySeed, new Uint8Array(0), 32);
}

export function demEncrypt(keySeed: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (plaintext.length > MAX_PLAINTEXT) {
    throw new EncryptionError(`plaintext of ${plaintext.length} bytes exceeds XChaCha20-Poly1305's ${MAX_PLAINTEXT}`);
  }
  const nonce = randomBytes(NONCE_SIZE);
  return concat(nonce, xchacha20poly1305(demKey(keySeed), nonce, aad).encrypt(plaintext));
}

export function demDecrypt(keySeed: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (ciphertext.length < NONCE_SIZE + TAG_SIZE) {
    throw new DecryptionError(
      `ciphertext of ${ciphertext.length} bytes is shorter than nonce + tag (${NONCE_SIZE + TAG_SIZE} bytes)`,
    );
  }
  const nonce = ciphertext.subarray(0, NONCE_SIZE);
  try {
    return xchacha20poly1305(demKey(keySeed), nonce, aad).decrypt(ciphertext.subarray(NONCE_SIZE));
  } catch {
    throw new DecryptionError(
      "authentication failed: the ciphertext or capsule was modified, or the key does not match the capsule",
    );
  }
}
