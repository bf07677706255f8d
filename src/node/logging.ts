// How a node logs: human-readable lines (pino-pretty; coloured on a terminal) for people, or pino's JSON lines
// for machines (`kms node --json-logs`), at a chosen level (`--log-level`).
import pretty from "pino-pretty";
import type { NodeLoggerOptions } from "./server";

/** Log levels pino knows, most verbose first. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** Raised for a log level pino does not know. */
export class LogLevelError extends Error {
  constructor(level: string) {
    super(`--log-level must be one of ${LOG_LEVELS.join(", ")}, not "${level}"`);
    this.name = "LogLevelError";
  }
}

export interface NodeLogOptions {
  /** JSON lines instead of human-readable ones. */
  json?: boolean;
  /** Where the lines go; default standard output. */
  destination?: NodeJS.WritableStream;
  /** Colours; default: when standard output is a terminal. */
  colorize?: boolean;
}

/** The node server's logger settings for `level`: human-readable lines unless `json`. */
export function nodeLogger(level: string, options: NodeLogOptions = {}): NodeLoggerOptions {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new LogLevelError(level);
  if (options.json) return options.destination ? { level, stream: streamOf(options.destination) } : { level };
  return {
    level,
    stream: pretty({
      colorize: options.colorize ?? Boolean(process.stdout.isTTY),
      translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
      ignore: "pid,hostname",
      sync: true,
      ...(options.destination ? { destination: options.destination } : {}),
    }),
  };
}

const streamOf = (destination: NodeJS.WritableStream) => ({ write: (line: string) => void destination.write(line) });
