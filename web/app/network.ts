// The network page: the period, and every active node with its stake and the health its status endpoint reports.
import { formatKms, getAddress, loadActiveNodes, nodeContactOf, requestJson, type NodeStatus } from "../lib";
import { app } from "./context";
import { h, Outcome, Progress } from "./ui";

const cell = (text: string, cls = "") => h("td", cls ? { class: cls } : {}, text);

/** One node's health from its status endpoint, in a few words. */
function health(status: NodeStatus): { text: string; ok: boolean } {
  if (status.chain && !status.chain.reachable) return { text: `chain unreachable: ${status.chain.error}`, ok: false };
  if (status.acceptingKFrags === false)
    return { text: `not accepting kfrags: ${status.notAcceptingReason}`, ok: false };
  const next = status.commitments?.nextCommittedPeriod;
  return { text: `serving, ${status.kfrags} kfrag(s)${next ? `, committed to period ${next}` : ""}`, ok: true };
}

export async function networkPage(root: HTMLElement): Promise<void> {
  const { contracts, config } = app();
  const progress = new Progress("network");
  const outcome = new Outcome("network");
  const summary = h("p", { id: "period" });
  const rows = h("tbody");
  root.replaceChildren(
    h("h2", {}, "Network"),
    h("p", {}, `Chain ${config.chainId} at ${config.rpcUrl}; StakingEscrow ${config.addresses.escrow}.`),
    summary,
    progress.el,
    h(
      "table",
      { id: "nodes" },
      h("thead", {}, h("tr", {}, ...["Staker", "Stake", "URL", "Health"].map((t) => h("th", {}, t)))),
      rows,
    ),
    outcome.el,
  );
  try {
    progress.busy("reading the chain…");
    const [period, seconds] = await Promise.all([
      contracts.escrow.getCurrentPeriod(),
      contracts.escrow.periodDuration(),
    ]);
    summary.textContent = `Current period ${period} (periods last ${Number(seconds) / 3600} h).`;
    const nodes = await loadActiveNodes(contracts);
    let done = 0;
    progress.set(0, nodes.length, `asking ${nodes.length} node(s) for their status…`);
    await Promise.all(
      nodes.map(async (node) => {
        // The list's addresses are lower-case (cheap to read for thousands of nodes); a person reads EIP-55.
        const staker = getAddress(node.staker);
        const row = h("tr", { "data-staker": staker }, cell(staker, "mono"), cell(`${formatKms(node.weight)} KMS`));
        rows.append(row);
        try {
          const { url } = await nodeContactOf(contracts.nodeDirectory, staker);
          row.append(cell(url, "mono"));
          const status = await requestJson<NodeStatus>(`${url}/v1/status`, undefined, { timeoutMs: 5_000 });
          const { text, ok } = health(status);
          row.append(cell(text, ok ? "healthy" : "unhealthy"));
        } catch (error) {
          row.append(cell((error as Error).message, "unhealthy"));
        }
        progress.set(++done, nodes.length, `${done} of ${nodes.length} node(s) answered`);
      }),
    );
    progress.finish(`${nodes.length} active node(s)`);
  } catch (error) {
    outcome.fail(error);
  }
}
