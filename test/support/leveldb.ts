// Damaging a LevelDB store on purpose, for the tests that check a node notices.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Flips 16 bytes a third of the way into every LevelDB write-ahead log (`*.log`) in `dir`, as a bad sector
 * would; LevelDB then drops the damaged records on open without an error. Throws if `dir` has no log.
 */
export function damageWriteAheadLog(dir: string): void {
  const logs = readdirSync(dir).filter((f) => f.endsWith(".log"));
  if (logs.length === 0) throw new Error(`no LevelDB log in ${dir} to damage`);
  for (const name of logs) {
    const file = path.join(dir, name);
    const bytes = readFileSync(file);
    const at = Math.floor(bytes.length * 0.3);
    for (let i = 0; i < 16 && at + i < bytes.length; i++) bytes[at + i] ^= 0xff;
    writeFileSync(file, bytes);
  }
}
