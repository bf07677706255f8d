// Printing for people and machines: JSON with bigints as decimal strings, and durations in words.

/** `value` as indented JSON; bigints become decimal strings (wei stays exact for machines). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

const UNITS: [number, string][] = [
  [86_400, "day"],
  [3_600, "hour"],
  [60, "minute"],
  [1, "second"],
];

/** A duration in seconds in the largest unit that divides it: 86400 → "1 day", 5400 → "90 minutes". */
export function formatDuration(seconds: bigint | number): string {
  const s = Number(seconds);
  for (const [size, name] of UNITS) {
    if (s >= size && s % size === 0) return `${s / size} ${name}${s / size === 1 ? "" : "s"}`;
  }
  return `${s} seconds`;
}
