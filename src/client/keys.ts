// Umbral key files for Alice and Bob: one 32-byte secret in hex per file, created with mode 0600.
//
// Alice keeps a SecretKeyFactory seed: each policy label derives its own delegating key, and one signing key
// signs every kfrag, so one file serves many policies. Bob keeps one receiving secret key.
//
// A key file is created with O_CREAT | O_EXCL | O_NOFOLLOW, so nothing that already sits at the path — a file,
// or a symbolic link, dangling or not, planted to redirect the secret elsewhere — is ever written through.
// Reading checks the file that was actually opened (fstat on the descriptor, no check-then-use race): a regular
// file, owned by this user, with no permission bits for group or others; otherwise a KeyFileError says what
// to fix.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { PublicKey, SecretKey, SecretKeyFactory, Signer } from "../umbral";

/** Raised for a key file that is missing, unsafe, or does not hold a 32-byte hex secret. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

/** A key file is a line of hex: anything much longer is not one (and is not read into memory). */
const MAX_KEY_FILE_BYTES = 256;

/** Flags for creating a file that must not exist yet and must not be reached through a symbolic link. */
export const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

const octal = (mode: number) => "0" + (mode & 0o777).toString(8);

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Why `file` cannot be created: names a (dangling) symbolic link distinctly from an existing file. */
function describeExisting(file: string): string {
  try {
    if (lstatSync(file).isSymbolicLink()) {
      return `key file ${file} is a symbolic link; refusing to create a key through it (remove the link first)`;
    }
  } catch {
    // Gone again: fall through to the generic message.
  }
  return `key file ${file} already exists; refusing to overwrite it`;
}

/**
 * Checks an opened key file: regular, owned by the current user, not readable or writable by group or others.
 * Skipped where the platform has no POSIX owners (Windows).
 */
function checkKeyFileStat(file: string, fd: number): void {
  const stat = fstatSync(fd);
  if (!stat.isFile()) throw new KeyFileError(`key file ${file} is not a regular file`);
  if (typeof process.getuid !== "function") return;
  const uid = process.getuid();
  if (stat.uid !== uid) {
    throw new KeyFileError(`key file ${file} is owned by uid ${stat.uid}, not by you (uid ${uid}); refusing to use it`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new KeyFileError(
      `key file ${file} has mode ${octal(stat.mode)}: group or others can access the secret; ` +
        `run chmod 600 ${file} (and consider the key exposed)`,
    );
  }
}

function readSecretHex(file: string): Uint8Array {
  let fd: number;
  try {
    // Non-blocking, so a FIFO planted at the path fails the regular-file check instead of hanging the open.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") {
      throw new KeyFileError(`cannot open key file ${file}: ${(error as Error).message}`);
    }
    let dangling = false;
    try {
      dangling = lstatSync(file).isSymbolicLink();
    } catch {
      // Nothing at all at the path.
    }
    throw new KeyFileError(
      dangling
        ? `key file ${file} is a dangling symbolic link (its target does not exist)`
        : `key file ${file} does not exist (create it with kms keygen)`,
    );
  }
  let text: string;
  try {
    checkKeyFileStat(file, fd);
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    if (length > MAX_KEY_FILE_BYTES)
      throw new KeyFileError(`key file ${file} is too long to hold a 32-byte hex secret`);
    text = buffer.subarray(0, length).toString("utf8");
  } finally {
    closeSync(fd);
  }
  const hex = text.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new KeyFileError(`key file ${file} does not hold a 32-byte hex secret`);
  return Buffer.from(hex, "hex");
}

/**
 * Writes a new random secret to `file`, mode 0600. Refuses (KeyFileError) if anything exists at the path,
 * a symbolic link included, so the secret can never be written where someone else pointed the path.
 */
export function createKeyFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, CREATE_EXCLUSIVE, 0o600);
  } catch (error) {
    const code = errorCode(error);
    if (code === "EEXIST" || code === "ELOOP") throw new KeyFileError(describeExisting(file));
    throw new KeyFileError(`cannot create key file ${file}: ${(error as Error).message}`);
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, Buffer.from(SecretKey.random().toBEBytes()).toString("hex") + "\n");
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(file);
    throw new KeyFileError(`cannot write key file ${file}: ${(error as Error).message}`);
  }
  closeSync(fd);
}

/** Alice's Umbral keys. */
export class AliceKeys {
  private constructor(private readonly factory: SecretKeyFactory) {}

  static fromSeed(seed: Uint8Array): AliceKeys {
    return new AliceKeys(SecretKeyFactory.fromSecureRandomness(seed));
  }

  static fromFile(file: string): AliceKeys {
    return AliceKeys.fromSeed(readSecretHex(file));
  }

  /** The delegating secret key of the policy labelled `label` (Enrico encrypts to its public key). */
  delegatingKey(label: string): SecretKey {
    return this.factory.makeKey(new TextEncoder().encode(`policy/${label}`));
  }

  /**
   * The secret seed of the kfrag set of the policy labelled `label` (generateKFrags' `coefficientsSeed`): the
   * policy's polynomial and precursor follow from it, so Alice can issue a replacement share later (heal).
   */
  kfragSeed(label: string): Uint8Array {
    return this.factory.makeKey(new TextEncoder().encode(`kfrags/${label}`)).toBEBytes();
  }

  /** The key that signs Alice's kfrags; nodes and Bob check cfrags against its public key. */
  signer(): Signer {
    return new Signer(this.factory.makeKey(new TextEncoder().encode("signing")));
  }
}

/** The secret key in a key file (Bob's receiving key, a node's encrypting key). */
export function readSecretKeyFile(file: string): SecretKey {
  return SecretKey.fromBEBytes(readSecretHex(file));
}

/** Parses a 33-byte compressed public key from hex, with a message naming `what`. */
export function parsePublicKey(hex: string, what: string): PublicKey {
  const clean = hex.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{66}$/.test(clean)) throw new KeyFileError(`${what} must be a 33-byte compressed key in hex`);
  return PublicKey.fromCompressedBytes(Buffer.from(clean, "hex"));
}
