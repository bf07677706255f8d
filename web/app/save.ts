// Where a page's output goes, chunk by chunk: a file chosen with the File System Access API (written as it is
// produced, constant memory), or Blob parts collected for a download link (the browser may page Blob data to
// disk, but this is the fallback: browsers without showSaveFilePicker, and headless ones).

interface WritableFile {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort?(): Promise<void>;
}

declare global {
  interface Window {
    showSaveFilePicker?: (options: { suggestedName: string }) => Promise<{ createWritable(): Promise<WritableFile> }>;
  }
}

/** A sink for output chunks; `close` returns the Blob parts when there is no file on disk. */
export interface SaveTarget {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<BlobPart[] | undefined>;
  /** Drops what was written (an authentication failure must leave no partial plaintext). */
  abort(): Promise<void>;
}

/** A file picked by the user when `toDisk` and the browser can, else Blob parts. */
export async function saveTarget(name: string, toDisk: boolean): Promise<SaveTarget> {
  if (toDisk && window.showSaveFilePicker) {
    const handle = await window.showSaveFilePicker({ suggestedName: name });
    const file = await handle.createWritable();
    return {
      write: (chunk) => file.write(chunk),
      close: async () => {
        await file.close();
        return undefined;
      },
      // A writable's data reaches the file only on close: aborting leaves the file as it was.
      abort: async () => void (await file.abort?.()),
    };
  }
  let parts: BlobPart[] = [];
  return {
    write: async (chunk) => void parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>])),
    close: async () => parts,
    abort: async () => void (parts = []),
  };
}
