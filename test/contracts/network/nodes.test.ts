// src/staking/nodes.ts against a directory of its own making: decoding, the eligibility filter on the packed
// bytes, pages read by a bounded pool (order kept whatever order the answers come in), pages an endpoint refuses
// split in halves, malformed answers and bad options.
import { expect } from "chai";
import { getAddress, toBeHex, zeroPadValue } from "ethers";
import {
  CONCURRENT_PAGES,
  MalformedPageError,
  NODE_PAGE_SIZE,
  decodePage,
  loadActiveNodes,
  type NodeSources,
  type PagedNode,
} from "../../../src/staking";

const CURRENT = 100n;
const WINDOW = 7n;

function addr(i: number): string {
  return getAddress("0x" + (i + 1).toString(16).padStart(40, "0"));
}

/** One packed 80-byte entry. */
function entry(n: PagedNode): string {
  return (
    n.staker.slice(2) +
    n.operator.slice(2) +
    n.announcedOperator.slice(2) +
    zeroPadValue(toBeHex(n.lockedValue), 12).slice(2) +
    zeroPadValue(toBeHex(n.unlockPeriod), 4).slice(2) +
    zeroPadValue(toBeHex(n.lastCommittedPeriod), 4).slice(2)
  ).toLowerCase();
}

/** Node `i`: active unless its index says otherwise (see `kind`). */
function node(i: number): PagedNode {
  const staker = addr(i);
  const operator = addr(100_000 + i);
  const base: PagedNode = {
    staker,
    operator,
    announcedOperator: operator,
    lockedValue: 1000n + BigInt(i),
    unlockPeriod: CURRENT + 2n + WINDOW + BigInt(i % 5),
    lastCommittedPeriod: CURRENT + BigInt(i % 2),
  };
  switch (i % 6) {
    case 1:
      return { ...base, operator: "0x" + "0".repeat(40), announcedOperator: "0x" + "0".repeat(40) };
    case 2:
      return { ...base, announcedOperator: "0x" + "0".repeat(40) }; // a new operator that did not announce
    case 3:
      return { ...base, lastCommittedPeriod: CURRENT - 1n }; // stopped committing
    case 4:
      return { ...base, unlockPeriod: CURRENT + 1n + WINDOW }; // cannot commit to the next period
    case 5:
      return i % 4 === 1 ? { ...base, lockedValue: 0n } : base;
    default:
      return base;
  }
}

interface FakeOptions {
  total: number;
  /** Milliseconds an answer takes, by page start. */
  delay?: (start: number) => number;
  /** Throws this for a call of more than `refuseAbove` nodes. */
  refuseAbove?: number;
  refusal?: unknown;
  /** Replaces the answer. */
  answer?: (start: number, count: number, page: string) => string;
}

function fakeSources(options: FakeOptions) {
  const nodes = Array.from({ length: options.total }, (_, i) => node(i));
  const log = { inFlight: 0, maxInFlight: 0, calls: [] as [number, number][] };
  const sources = {
    escrow: {
      getCurrentPeriod: async () => CURRENT,
      minOperatorPeriods: async () => WINDOW,
    },
    nodeDirectory: {
      nodeCount: async () => BigInt(options.total),
      nodesPage: async (start: bigint | number, count: bigint | number) => {
        const s = Number(start);
        const c = Number(count);
        log.calls.push([s, c]);
        log.inFlight++;
        log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, options.delay?.(s) ?? 0));
          if (options.refuseAbove !== undefined && c > options.refuseAbove) throw options.refusal;
          const page =
            "0x" +
            nodes
              .slice(s, s + c)
              .map(entry)
              .join("");
          return options.answer ? options.answer(s, c, page) : page;
        } finally {
          log.inFlight--;
        }
      },
    },
  } as unknown as NodeSources;
  const active = nodes
    .filter(
      (n) =>
        n.operator !== "0x" + "0".repeat(40) &&
        n.operator === n.announcedOperator &&
        n.lockedValue > 0n &&
        n.unlockPeriod >= CURRENT + 2n + WINDOW &&
        n.lastCommittedPeriod >= CURRENT,
    )
    // Lower-case: checksumming every node would cost a keccak each; only the sampled few are checksummed.
    .map((n) => ({ staker: n.staker.toLowerCase(), weight: n.lockedValue, operator: n.operator.toLowerCase() }));
  return { sources, log, active, nodes };
}

describe("nodes.ts: reading the directory", function () {
  it("decodes a page entry by entry and refuses a length that is not whole entries", function () {
    const nodes = [node(0), node(1), node(7)];
    const page = Uint8Array.from(Buffer.from(nodes.map(entry).join(""), "hex"));
    const decoded = decodePage(page);
    expect(decoded).to.deep.equal(
      nodes.map((n) => ({
        ...n,
        operator: getAddress(n.operator),
        announcedOperator: getAddress(n.announcedOperator),
      })),
    );
    expect(decodePage(new Uint8Array(0))).to.deep.equal([]);
    expect(() => decodePage(page.subarray(0, 79))).to.throw(MalformedPageError, /79 bytes is not a multiple of 80/);
  });

  it("keeps exactly the bonded, announced, committing nodes with a lock that covers lockedUntil", async function () {
    const { sources, active } = fakeSources({ total: 60 });
    const nodes = await loadActiveNodes(sources);
    expect(nodes).to.deep.equal(active);
    expect(nodes.length).to.be.within(1, 59);
    // A later lockedUntil drops the locks that end sooner: unlock ≥ lockedUntil + window.
    const later = await loadActiveNodes(sources, { lockedUntil: CURRENT + 4n });
    expect(later).to.deep.equal(
      active.filter((_, i) => {
        const index = Number(BigInt(active[i].staker)) - 1;
        return CURRENT + 2n + WINDOW + BigInt(index % 5) >= CURRENT + 4n + WINDOW;
      }),
    );
    expect(await loadActiveNodes(sources, { lockedUntil: 10n ** 12n })).to.deep.equal([]);
  });

  it("reads every page once, at most `concurrency` at a time, in order whatever order the answers arrive in", async function () {
    const total = 2 * NODE_PAGE_SIZE + 345;
    // Early pages answer last.
    const { sources, log, active } = fakeSources({ total, delay: (start) => 30 - start / 100 });
    expect(await loadActiveNodes(sources, { pageSize: 100, concurrency: 3 })).to.deep.equal(active);
    expect(log.maxInFlight).to.equal(3);
    expect(log.calls.map(([s]) => s).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: Math.ceil(total / 100) }, (_, i) => i * 100),
    );
    expect(log.calls.at(-1)?.[1]).to.be.at.most(100);
    const defaults = fakeSources({ total, delay: () => 5 });
    expect(await loadActiveNodes(defaults.sources)).to.deep.equal(active);
    expect(defaults.log.calls).to.deep.equal([
      [0, 1000],
      [1000, 1000],
      [2000, 345],
    ]);
    expect(defaults.log.maxInFlight).to.be.at.most(CONCURRENT_PAGES);
  });

  it("asks for nothing but the count when the directory is empty", async function () {
    const { sources, log } = fakeSources({ total: 0 });
    expect(await loadActiveNodes(sources)).to.deep.equal([]);
    expect(log.calls).to.deep.equal([]);
  });

  it("splits a page an endpoint refuses (gas cap, size) into halves, but not a revert with data", async function () {
    const refusal = Object.assign(new Error("gas required exceeds allowance"), { code: "UNKNOWN_ERROR" });
    const { sources, log, active } = fakeSources({ total: 1000, refuseAbove: 300, refusal });
    expect(await loadActiveNodes(sources)).to.deep.equal(active);
    expect(log.calls.filter(([, c]) => c <= 300).reduce((sum, [, c]) => sum + c, 0)).to.equal(1000);
    // Refused down to the smallest split: the endpoint's error is passed on.
    const tight = fakeSources({ total: 1000, refuseAbove: 10, refusal });
    await expect(loadActiveNodes(tight.sources)).to.be.rejectedWith("gas required exceeds allowance");
    // The contract's own revert does not go away with a smaller page.
    const revert = Object.assign(new Error("execution reverted"), { code: "CALL_EXCEPTION", data: "0x12345678" });
    const reverting = fakeSources({ total: 1000, refuseAbove: 300, refusal: revert });
    await expect(loadActiveNodes(reverting.sources)).to.be.rejectedWith("execution reverted");
    expect(reverting.log.calls).to.deep.equal([[0, 1000]]);
  });

  it("refuses an answer that is not whole entries or holds more nodes than asked for", async function () {
    const cut = fakeSources({ total: 10, answer: (_s, _c, page) => page.slice(0, -2) });
    await expect(loadActiveNodes(cut.sources)).to.be.rejectedWith(MalformedPageError, /not a multiple of 80/);
    const long = fakeSources({ total: 10, answer: (_s, _c, page) => page + entry(node(0)) });
    await expect(loadActiveNodes(long.sources, { pageSize: 10 })).to.be.rejectedWith(
      MalformedPageError,
      /11 nodes where at most 10/,
    );
    const odd = fakeSources({ total: 10, answer: (_s, _c, page) => page.slice(0, -1) });
    await expect(loadActiveNodes(odd.sources)).to.be.rejectedWith(MalformedPageError, /malformed hex/);
    const junk = fakeSources({ total: 10, answer: (_s, _c, page) => page.slice(0, -2) + "zz" });
    await expect(loadActiveNodes(junk.sources)).to.be.rejectedWith(MalformedPageError, /malformed hex/);
    const bare = fakeSources({ total: 10, answer: (_s, _c, page) => page.slice(2) });
    await expect(loadActiveNodes(bare.sources)).to.be.rejectedWith(MalformedPageError, /not 0x-hex/);
  });

  it("rejects a page size or a concurrency it cannot use", async function () {
    const { sources } = fakeSources({ total: 10 });
    for (const pageSize of [0, -1, 1.5, NODE_PAGE_SIZE + 1]) {
      await expect(loadActiveNodes(sources, { pageSize })).to.be.rejectedWith(RangeError, /page size/);
    }
    for (const concurrency of [0, 2.5]) {
      await expect(loadActiveNodes(sources, { concurrency })).to.be.rejectedWith(RangeError, /concurrency/);
    }
  });
});
