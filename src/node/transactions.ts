// Sending the node's own transactions (commitments, announcements) so that none can stall it: every wait is
// bounded, the chain is re-checked when a wait runs out, and a transaction that was dropped from the mempool
// or is stuck underpriced is replaced by one with the same nonce and a higher fee.
import type { Signer, TransactionReceipt, TransactionRequest } from "ethers";

/** Fees of one attempt: EIP-1559 fields, or a legacy gas price on chains without a base fee. */
export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };

/** What was sent for one nonce, so a later call can replace it rather than queue behind it. */
export interface SentAttempt {
  nonce: number;
  fees: Fees;
  hashes: string[];
}

/** The transaction was not mined after every replacement; `attempt` is what is still pending. */
export class TransactionStuckError extends Error {
  constructor(
    readonly what: string,
    readonly attempt: SentAttempt,
  ) {
    super(
      `${what}: nonce ${attempt.nonce} not mined after ${attempt.hashes.length} attempt(s), last ` +
        `${attempt.hashes.at(-1) ?? "(none sent)"}; the next try replaces it with a higher fee`,
    );
    this.name = "TransactionStuckError";
  }
}

/** The transaction was mined and reverted. */
export class TransactionRevertedError extends Error {
  constructor(
    readonly what: string,
    readonly receipt: TransactionReceipt,
  ) {
    super(`${what}: transaction ${receipt.hash} reverted in block ${receipt.blockNumber}`);
    this.name = "TransactionRevertedError";
  }
}

/** The wait was cancelled (the node is stopping); whatever was sent may still be mined. */
export class SendAbortedError extends Error {
  constructor(readonly what: string) {
    super(`${what}: cancelled`);
    this.name = "SendAbortedError";
  }
}

export interface SendOptions {
  /** Names the transaction in errors and logs, e.g. "commitment to period 42". */
  what: string;
  /** How long to wait for a receipt before re-checking the chain and replacing; default 120 s. */
  receiptTimeoutMs?: number;
  /** How often to poll for the receipt; default 2 s. */
  pollMs?: number;
  /** Fee increase of each replacement, in percent; default 25 (nodes require at least 10). */
  feeBumpPercent?: number;
  /** Replacements in one call before it gives up with TransactionStuckError; default 4. */
  maxReplacements?: number;
  /** What an earlier call left pending (from its TransactionStuckError): replaced, not queued behind. */
  pending?: SentAttempt;
  /**
   * True once the effect the transaction is for is on-chain, whoever caused it (e.g. the period is committed);
   * asked whenever a wait runs out. The send then resolves `undefined`.
   */
  isDone?: () => Promise<boolean>;
  /** Cancels every wait with SendAbortedError. */
  signal?: AbortSignal;
  /** Told about every transaction sent and why. */
  onSent?: (event: { hash: string; nonce: number; fees: Fees; replacing: boolean }) => void;
}

const sleep = (ms: number, signal: AbortSignal | undefined, what: string) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new SendAbortedError(what));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SendAbortedError(what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** `promise`, or undefined after `ms`; rejects with SendAbortedError on abort. */
async function within<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined, what: string) {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve, reject) => {
        timer = setTimeout(() => resolve(undefined), ms);
        onAbort = () => reject(new SendAbortedError(what));
        if (signal?.aborted) onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

const bump = (value: bigint, percent: number) => (value * BigInt(100 + percent) + 99n) / 100n;
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * Sends `request` from `signer` and waits, bounded, until it is mined. When a wait runs out, or the
 * transaction is no longer known to the node (dropped), the chain is re-checked (`isDone`, the account's
 * mined nonce) and the transaction is sent again with the same nonce and fees raised by `feeBumpPercent`.
 * Resolves with the receipt, or undefined if `isDone` found the work already done; throws
 * TransactionStuckError after `maxReplacements`, TransactionRevertedError, or SendAbortedError.
 */
export async function sendReliably(
  signer: Signer,
  request: TransactionRequest,
  options: SendOptions,
): Promise<TransactionReceipt | undefined> {
  const { what, signal } = options;
  const provider = signer.provider;
  if (!provider) throw new TypeError(`${what}: the signer has no provider`);
  const receiptTimeoutMs = options.receiptTimeoutMs ?? 120_000;
  const pollMs = options.pollMs ?? 2_000;
  const feeBumpPercent = options.feeBumpPercent ?? 25;
  const maxReplacements = options.maxReplacements ?? 4;
  const from = await signer.getAddress();

  /** The receipt of any transaction sent for this nonce, if one was mined. */
  async function minedReceipt(hashes: string[]) {
    for (const hash of hashes) {
      const receipt = await provider!.getTransactionReceipt(hash);
      if (receipt) return receipt;
    }
    return undefined;
  }
  function settle(receipt: TransactionReceipt) {
    if (receipt.status !== 1) throw new TransactionRevertedError(what, receipt);
    return receipt;
  }
  async function currentFees(): Promise<Fees> {
    const data = await provider!.getFeeData();
    if (data.maxFeePerGas !== null && data.maxPriorityFeePerGas !== null) {
      return { maxFeePerGas: data.maxFeePerGas, maxPriorityFeePerGas: data.maxPriorityFeePerGas };
    }
    if (data.gasPrice === null) throw new TypeError(`${what}: the provider reports no fee data`);
    return { gasPrice: data.gasPrice };
  }
  /** At least today's fees, and at least `feeBumpPercent` above `previous` (what a replacement needs). */
  async function raisedFees(previous: Fees): Promise<Fees> {
    const now = await currentFees();
    if ("gasPrice" in previous || "gasPrice" in now) {
      const before = "gasPrice" in previous ? previous.gasPrice : previous.maxFeePerGas;
      const today = "gasPrice" in now ? now.gasPrice : now.maxFeePerGas;
      return { gasPrice: max(today, bump(before, feeBumpPercent)) };
    }
    return {
      maxFeePerGas: max(now.maxFeePerGas, bump(previous.maxFeePerGas, feeBumpPercent)),
      maxPriorityFeePerGas: max(now.maxPriorityFeePerGas, bump(previous.maxPriorityFeePerGas, feeBumpPercent)),
    };
  }

  // What is pending from an earlier call: mined meanwhile, superseded, or to be replaced.
  let attempt: SentAttempt | undefined = options.pending;
  if (attempt) {
    const receipt = await minedReceipt(attempt.hashes);
    if (receipt) return settle(receipt);
    if (options.isDone && (await options.isDone())) return undefined;
  }
  const minedNonce = await provider.getTransactionCount(from, "latest");
  if (!attempt || minedNonce > attempt.nonce) {
    // Nothing of ours is pending below the mined nonce: start afresh with it, queueing behind nothing.
    attempt = { nonce: minedNonce, fees: await currentFees(), hashes: [] };
  } else {
    attempt = { ...attempt, fees: await raisedFees(attempt.fees) };
  }

  for (let replacements = 0; ; replacements++) {
    const replacing = attempt.hashes.length > 0;
    const sent = await within(
      signer.sendTransaction({ ...request, from, nonce: attempt.nonce, ...attempt.fees }),
      receiptTimeoutMs,
      signal,
      what,
    );
    if (sent) {
      attempt.hashes.push(sent.hash);
      options.onSent?.({ hash: sent.hash, nonce: attempt.nonce, fees: attempt.fees, replacing });
    }

    // Poll until a receipt, the deadline, or the node forgetting the transaction (dropped).
    const deadline = Date.now() + receiptTimeoutMs;
    while (Date.now() < deadline) {
      const receipt = await minedReceipt(attempt.hashes);
      if (receipt) return settle(receipt);
      const latest = attempt.hashes.at(-1);
      if (latest === undefined || (await provider.getTransaction(latest)) === null) break;
      await sleep(pollMs, signal, what);
    }

    // Re-check the chain before paying more: the work may be done, or the nonce used.
    const receipt = await minedReceipt(attempt.hashes);
    if (receipt) return settle(receipt);
    if (options.isDone && (await options.isDone())) return undefined;
    if ((await provider.getTransactionCount(from, "latest")) > attempt.nonce) {
      // The nonce went to a transaction that is none of ours (another client of the same key): start over.
      attempt = { nonce: await provider.getTransactionCount(from, "latest"), fees: await currentFees(), hashes: [] };
      continue;
    }
    if (replacements >= maxReplacements) throw new TransactionStuckError(what, attempt);
    attempt = { ...attempt, fees: await raisedFees(attempt.fees) };
  }
}
