// Key files in a browser build (scripts/build-web.ts puts this file in place of ./key-files): a page has no
// file system, so each function refuses with a sentence; the web app keeps keys in IndexedDB (web/keystore.ts)
// and AliceKeys.fromSeed, SecretKey.fromBEBytes take them from there.
import type { SecretKey } from "../umbral";
import { KeyFileError } from "./keys";

const unavailable = (file: string): never => {
  throw new KeyFileError(`key file ${file} cannot be used in a browser: import the key into the page instead`);
};

/** No file is ever opened with it in a browser. */
export const CREATE_EXCLUSIVE = 0;

export function readSecretHex(file: string): Uint8Array {
  return unavailable(file);
}

export function createKeyFile(file: string): void {
  unavailable(file);
}

export function readSecretKeyFile(file: string): SecretKey {
  return unavailable(file);
}
