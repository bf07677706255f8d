// Alice's page: her key seed (kept in IndexedDB), granting a Bob access with the fee shown before paying, and
// her policies with their state and a revoke button.
import {
  randomBytes,
  AliceKeys,
  checkBalance,
  checkFeeRate,
  describePolicy,
  extendGrant,
  formatKms,
  grant,
  parseFeeRate,
  parsePeriods,
  parsePublicKey,
  policyDeposit,
  revokePolicy,
  UserError,
  type GrantJournal,
  type GrantJournalStore,
  type PolicyGrant,
} from "../lib";
import { AccountPicker, app } from "./context";
import { KEYS, load, save } from "./keystore";
import { button, downloadLink, field, h, Outcome, Progress, valueOf } from "./ui";

/** Alice's seed, made on first use and kept in the browser. */
async function aliceKeys(): Promise<AliceKeys> {
  let seed = await load<Uint8Array>(KEYS.aliceSeed);
  if (!seed) {
    seed = randomBytes(32);
    await save(KEYS.aliceSeed, seed);
  }
  return AliceKeys.fromSeed(seed);
}

/** Alice's grants and their journals in IndexedDB: a grant journals every step, an extension reads it back. */
const journals: GrantJournalStore = {
  save: (journal: GrantJournal) => save(KEYS.journal(journal.grant.policyId), journal),
  async publish(published: PolicyGrant) {
    const grants = (await load<PolicyGrant[]>(KEYS.grants)) ?? [];
    const others = grants.filter((g) => g.policyId.toLowerCase() !== published.policyId.toLowerCase());
    await save(KEYS.grants, [...others, published]);
  },
};

/** The grant form's numbers, checked as `kms grant` checks its arguments. */
function grantArguments() {
  const whole = (id: string, what: string, min: number, max: number) => {
    const text = valueOf(id);
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max)
      throw new UserError(`${what} must be a whole number in [${min}, ${max}]`);
    return n;
  };
  const shares = whole("shares", "shares", 1, 32);
  const threshold = whole("threshold", "threshold", 1, shares);
  const periods = parsePeriods("policy periods", valueOf("periods"));
  const feeRate = parseFeeRate(valueOf("fee-rate"));
  return { shares, threshold, periods, feeRate, deposit: policyDeposit(feeRate, periods, shares) };
}

export async function alicePage(root: HTMLElement): Promise<void> {
  const account = new AccountPicker("alice-account");
  const fee = h("p", { id: "fee", class: "fee" });
  const progress = new Progress("grant");
  const outcome = new Outcome("grant");
  const policies = h("tbody");
  const listOutcome = new Outcome("policies");
  const input = (id: string, value: string, extra: Record<string, string> = {}) =>
    h("input", { id, value, ...extra, oninput: () => showFee() });

  function showFee(): void {
    try {
      const { deposit, shares, periods, feeRate } = grantArguments();
      fee.textContent = `Deposit: ${formatKms(deposit)} KMS (${formatKms(feeRate)} KMS × ${shares} node(s) × ${periods} period(s)), paid from the account above.`;
      fee.className = "fee";
    } catch (error) {
      fee.textContent = (error as Error).message;
      fee.className = "fee error";
    }
  }

  async function doGrant(): Promise<void> {
    const args = grantArguments();
    const receivingKey = parsePublicKey(valueOf("bob-key"), "Bob's key");
    const owner = await account.signer();
    const { contracts } = app();
    await checkFeeRate(contracts.policyManager, args.feeRate);
    await checkBalance(contracts.token, await owner.getAddress(), args.deposit, "the policy deposit");
    let step = 0;
    const steps = args.shares + 3;
    progress.busy("granting…");
    const result = await grant(contracts, {
      owner,
      keys: await aliceKeys(),
      receivingKey,
      threshold: args.threshold,
      shares: args.shares,
      periods: args.periods,
      feeRate: args.feeRate,
      onProgress: (message) => progress.set(++step, steps, message),
      journal: journals,
    });
    progress.finish(`policy ${result.policyId} paid and its kfrags delivered`);
    const text = JSON.stringify(result, null, 2) + "\n";
    outcome.ok(
      h(
        "p",
        {},
        `Policy ${result.policyId}: ${result.threshold}-of-${result.nodes.length}. Give the grant to Bob and Enrico (it holds no secret).`,
      ),
      h("p", {}, "Policy key (for Enrico): ", h("code", { id: "policy-key" }, result.delegatingKey)),
      downloadLink([text], `grant-${result.policyId.slice(2, 10)}.json`, "grant-download", "application/json"),
      h("pre", { id: "grant-json" }, text),
    );
    await listPolicies();
  }

  /** "+ n periods (fee) [Extend]": the fee in KMS shown before paying, from the policy's rate and node count. */
  function extendControls(g: PolicyGrant, feeRate: bigint): HTMLElement[] {
    const id = g.policyId;
    const periods = h("input", { id: `extend-periods-${id}`, value: "1", size: "3" });
    const fee = h("span", { id: `extend-fee-${id}` });
    const count = () => parsePeriods("extension periods", periods.value.trim());
    const showExtendFee = () => {
      try {
        fee.textContent = ` period(s): ${formatKms(policyDeposit(feeRate, count(), g.nodes.length))} KMS `;
      } catch (error) {
        fee.textContent = ` ${(error as Error).message} `;
      }
    };
    periods.addEventListener("input", showExtendFee);
    showExtendFee();
    const extend = button("Extend", `extend-${id}`, listOutcome, async () => {
      const journal = await load<GrantJournal>(KEYS.journal(id));
      if (!journal) {
        throw new UserError(
          `this browser holds no journal of policy ${id}: extend it where it was granted (kms extend)`,
        );
      }
      const owner = await account.signer();
      const shown = policyDeposit(feeRate, count(), g.nodes.length);
      const done = await extendGrant(app().contracts, journal, journals, {
        owner,
        periods: count(),
        // The fee paid is the one shown, or nothing is paid.
        confirmFee: async (fee) => {
          if (fee !== shown)
            throw new UserError(
              `the extension would cost ${formatKms(fee)} KMS, not the ${formatKms(shown)} KMS shown`,
            );
          await checkBalance(app().contracts.token, await owner.getAddress(), fee, "the extension");
        },
      });
      listOutcome.ok(
        `policy ${id} extended to end at period ${done.endPeriod} (was ${done.previousEndPeriod}); paid ${formatKms(done.fee)} KMS`,
      );
      await listPolicies();
    });
    return [h("span", { class: "extend" }, " + ", periods, fee, extend)];
  }

  async function listPolicies(): Promise<void> {
    const grants = (await load<PolicyGrant[]>(KEYS.grants)) ?? [];
    const { contracts, config } = app();
    const mine = grants.filter((g) => g.policyManager.toLowerCase() === config.addresses.policyManager.toLowerCase());
    policies.replaceChildren(
      ...(await Promise.all(
        mine.map(async (g) => {
          const row = h("tr", { "data-policy": g.policyId }, h("td", { class: "mono" }, g.policyId));
          try {
            const state = await describePolicy(contracts.policyManager, g.policyId);
            row.append(
              h("td", { class: `status-${state.status}` }, state.status),
              h("td", {}, `${g.threshold}-of-${g.nodes.length}`),
              h("td", {}, `periods ${state.record.startPeriod}–${state.record.endPeriod - 1n}`),
              h("td", {}, `${formatKms(state.held)} KMS held`),
            );
            if (state.status === "active") {
              const revoke = button("Revoke", `revoke-${g.policyId}`, listOutcome, async () => {
                const refund = await revokePolicy(contracts.policyManager, await account.signer(), g.policyId);
                listOutcome.ok(`policy ${g.policyId} revoked; ${formatKms(refund)} KMS refunded`);
                await listPolicies();
              });
              row.append(h("td", {}, revoke, ...extendControls(g, state.record.feeRate)));
            }
          } catch (error) {
            row.append(h("td", { colspan: 5 }, (error as Error).message));
          }
          return row;
        }),
      )),
    );
  }

  root.replaceChildren(
    h("h2", {}, "Alice"),
    h(
      "p",
      {},
      "Grant a Bob access to what Enrico encrypts to a policy: nodes re-encrypt for him while the policy is paid.",
    ),
    field("Account", account.el, "pays the deposit and owns the policy"),
    h(
      "form",
      { id: "grant-form", onsubmit: (e: Event) => e.preventDefault() },
      field(
        "Bob's receiving key",
        input("bob-key", "", { placeholder: "0x02… (33 bytes; Bob's page shows it)", size: "70" }),
      ),
      field("Threshold (m)", input("threshold", "2", { size: "4" }), "cfrags Bob needs"),
      field("Shares (n)", input("shares", "3", { size: "4" }), "nodes that get a kfrag"),
      field("Periods", input("periods", "5", { size: "4" }), "how many periods the policy lasts"),
      field("Fee rate", input("fee-rate", "0.01", { size: "8" }), "KMS per node per period"),
      fee,
      button("Grant and pay", "grant", outcome, doGrant),
    ),
    progress.el,
    outcome.el,
    h("h3", {}, "Policies granted from this browser"),
    h("table", { id: "policies" }, policies),
    listOutcome.el,
  );
  showFee();
  await listPolicies();
}
