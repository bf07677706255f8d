// The node's identity: its Umbral encrypting key, derived from a BIP-39 mnemonic so that it survives a lost
// disk, and the checks that keep two nodes from claiming one staker's announcement.
//
// Derivation (stable: changing it would orphan every node's kfrags):
//   seed   = BIP-39 seed of the mnemonic (PBKDF2-HMAC-SHA512, 2048 rounds, empty passphrase), 64 bytes
//   key_c  = HKDF-SHA256(ikm = seed, salt = "umbral-kms", info = "umbral-kms/node-encrypting-key/v1" ‖ c, 32 bytes)
//   secret = key_c for the first counter byte c = 0, 1, … whose 32 bytes are a scalar in [1, n)
// (c > 0 happens with probability about 2^-128). The data dir keeps only the derived secret (`node.key`, mode
// 0600), never the mnemonic: the words are shown once, when the key is made, for the operator to write down.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { CREATE_EXCLUSIVE, readSecretKeyFile } from "../client/keys";
import { SecretKey } from "../umbral";
import type { NodeStatus } from "../network/protocol";
import { nodeEndpoint } from "../network/protocol";

/** The file in a data dir that holds the node's derived Umbral secret. */
export const NODE_KEY_FILE = "node.key";

const HKDF_SALT = new TextEncoder().encode("umbral-kms");
const HKDF_INFO = "umbral-kms/node-encrypting-key/v1";

/** Raised for a recovery phrase that is not a valid English BIP-39 mnemonic. */
export class MnemonicError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MnemonicError";
  }
}

/** Raised when the node's key cannot be used: unreadable, or not the one the data dir or the chain holds. */
export class NodeKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NodeKeyError";
  }
}

/** A new 24-word English BIP-39 mnemonic (256 bits of entropy). */
export function newNodeMnemonic(): string {
  return generateMnemonic(wordlist, 256);
}

/** Normalises what a person typed: lower case, single spaces. */
function normalise(mnemonic: string): string {
  return mnemonic.trim().toLowerCase().split(/\s+/).join(" ");
}

/** The node's Umbral secret key derived from `mnemonic` (see the header); throws MnemonicError. */
export function nodeKeyFromMnemonic(mnemonic: string): SecretKey {
  const words = normalise(mnemonic);
  if (!validateMnemonic(words, wordlist)) {
    const count = words === "" ? 0 : words.split(" ").length;
    throw new MnemonicError(
      `the recovery phrase is not a valid BIP-39 mnemonic (${count} words; expected the 24 words shown when the ` +
        `node's key was made, in order, with a valid checksum)`,
    );
  }
  const seed = mnemonicToSeedSync(words);
  for (let counter = 0; counter < 256; counter++) {
    const info = new TextEncoder().encode(HKDF_INFO + String.fromCharCode(counter));
    try {
      return SecretKey.fromBEBytes(hkdf(sha256, seed, HKDF_SALT, info, 32));
    } catch {
      // Not a scalar in [1, n): try the next counter.
    }
  }
  throw new MnemonicError("no valid key could be derived from the recovery phrase");
}

/** Hex of a key's compressed public key, lower case, as the NodeDirectory stores it. */
export function publicKeyHex(key: SecretKey): string {
  return "0x" + Buffer.from(key.publicKey().toCompressedBytes()).toString("hex");
}

/** The node's key in `dataDir`, or undefined if the data dir has none yet. */
export function readNodeKey(dataDir: string): SecretKey | undefined {
  const file = path.join(dataDir, NODE_KEY_FILE);
  return existsSync(file) ? readSecretKeyFile(file) : undefined;
}

/** Writes `key` as `dataDir/node.key` (mode 0600, created exclusively: never overwrites or follows a link). */
export function writeNodeKey(dataDir: string, key: SecretKey): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, NODE_KEY_FILE);
  let fd: number;
  try {
    fd = openSync(file, CREATE_EXCLUSIVE, 0o600);
  } catch (e) {
    throw new NodeKeyError(`cannot create ${file}: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, Buffer.from(key.toBEBytes()).toString("hex") + "\n");
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What the data dir and the recovery phrase say the node's key is. */
export interface LocalKey {
  /** The key to use, if either source has one. */
  key?: SecretKey;
  /** True when the key comes from `recover` and the data dir has none yet (it is written once checked). */
  recovered: boolean;
}

/**
 * The node's key before the chain is consulted: the data dir's, or the one `recover` derives. A data dir that
 * holds a different key than the phrase is refused (NodeKeyError): recovering never replaces a key.
 */
export function localNodeKey(dataDir: string, recover?: string): LocalKey {
  const held = readNodeKey(dataDir);
  if (recover === undefined) return { key: held, recovered: false };
  const derived = nodeKeyFromMnemonic(recover);
  if (held && publicKeyHex(held) !== publicKeyHex(derived)) {
    throw new NodeKeyError(
      `${path.join(dataDir, NODE_KEY_FILE)} holds another key than the recovery phrase gives ` +
        `(${publicKeyHex(held)}, not ${publicKeyHex(derived)}); recover into an empty data dir`,
    );
  }
  return { key: derived, recovered: !held };
}

/** The staker's current NodeDirectory record, as the start-up checks need it. */
export interface Announcement {
  url: string;
  /** Lower-case hex, "0x" when the staker never announced. */
  encryptingKey: string;
}

/**
 * Refuses a key that is not the announced one (the node would receive no kfrag it can open, and a re-announcement
 * would orphan the kfrags of every existing policy), unless `reannounce`. `local` undefined means the data dir
 * has no key: fine for a staker that never announced, refused otherwise (recover it instead).
 */
export function checkKeyAgainstAnnouncement(
  staker: string,
  local: SecretKey | undefined,
  announced: Announcement,
  reannounce: boolean,
): void {
  if (reannounce || announced.encryptingKey === "0x" || announced.encryptingKey === "") return;
  if (!local) {
    throw new NodeKeyError(
      `staker ${staker}'s node announced key ${announced.encryptingKey} at ${announced.url}, and this data dir has ` +
        `no key: rebuild it from the recovery phrase (kms node --recover), or start with --reannounce to replace ` +
        `it (the kfrags of existing policies are then lost)`,
    );
  }
  if (publicKeyHex(local) !== announced.encryptingKey.toLowerCase()) {
    throw new NodeKeyError(
      `this data dir's key ${publicKeyHex(local)} is not the key staker ${staker}'s node announced ` +
        `(${announced.encryptingKey} at ${announced.url}): use that node's data dir or recovery phrase ` +
        `(kms node --recover), or start with --reannounce to replace it (the kfrags of existing policies are then lost)`,
    );
  }
}

/**
 * Whether the node at `url` is live and serves `staker`: its `/v1/status` answers within `timeoutMs` naming
 * the staker. Any failure to answer (refused, timeout, not a node) counts as not live.
 */
export async function isLiveNodeOf(url: string, staker: string, timeoutMs = 2_000): Promise<boolean> {
  let endpoint: string;
  try {
    endpoint = nodeEndpoint(url, "v1", "status");
  } catch {
    return false;
  }
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return false;
    const status = (await response.json()) as Partial<NodeStatus>;
    return typeof status.staker === "string" && status.staker.toLowerCase() === staker.toLowerCase();
  } catch {
    return false;
  }
}
