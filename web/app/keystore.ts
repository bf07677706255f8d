// What the page keeps in the browser, in IndexedDB (one object store, one record per key): Alice's key seed,
// Bob's receiving secret key, and the grants Alice made here with their journals. Secrets never leave the browser unless the user
// exports them; anyone with access to this browser profile can read them (docs/web.md, security notes).
const DB = "umbral-kms";
const STORE = "kv";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`cannot open the browser's key store: ${request.error?.message}`));
  });
}

async function run<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = use(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new Error(`the browser's key store failed: ${request.error?.message}`));
    });
  } finally {
    db.close();
  }
}

/** The value kept under `key`, or undefined. */
export const load = <T>(key: string): Promise<T | undefined> => run("readonly", (s) => s.get(key) as IDBRequest<T>);

/** Keeps `value` under `key`. */
export const save = (key: string, value: unknown): Promise<void> =>
  run("readwrite", (s) => s.put(value, key)).then(() => undefined);

/** Keys of the store's records. */
export const KEYS = {
  aliceSeed: "alice/seed",
  bobKey: "bob/receiving-key",
  grants: "alice/grants",
  /** Alice's journal of a grant (src/client/journal.ts), for extending it later. */
  journal: (policyId: string) => `alice/journal/${policyId.toLowerCase()}`,
} as const;
