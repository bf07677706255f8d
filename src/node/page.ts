// The node's status page for people, `GET /status`: the fields of `GET /v1/status` as one HTML table, with
// no script, stylesheet or image from anywhere (inline CSS only), so it renders on an air-gapped console.
// Each row carries its field's dotted JSON path (`data-field="chain.reachable"`), which tests parse.
import type { NodeStatus } from "../network/protocol";

/** Human labels of the status fields, in page order; a field not listed is shown under its JSON path. */
const LABELS: Record<string, string> = {
  version: "Software version",
  startedAt: "Started at",
  uptimeSeconds: "Uptime (s)",
  url: "URL",
  staker: "Staker",
  operator: "Operator",
  encryptingKey: "Encrypting key",
  chainId: "Chain id",
  "chain.reachable": "Chain reachable",
  "chain.error": "Chain error",
  "chain.readAt": "Chain last read at",
  "chain.latestBlock": "Latest block",
  "chain.blockTime": "Latest block time",
  currentPeriod: "Current period",
  periodSeconds: "Period length (s)",
  "commitments.lastCommittedPeriod": "Last committed period",
  "commitments.nextCommittedPeriod": "Next committed period",
  "commitments.missed": "Missed commitments",
  "commitments.sent": "Commitments sent",
  "commitments.failed": "Commitments failed",
  "stake.stakedKms": "Stake (KMS)",
  "stake.lockedKms": "Locked (KMS)",
  "stake.lockEndPeriod": "Lock ends at period",
  "rewards.pendingRewardKms": "Pending reward (KMS)",
  "rewards.pendingFeesKms": "Pending fees (KMS)",
  "operatorBalance.eth": "Operator balance (ETH)",
  "operatorBalance.commitmentsPaidFor": "Commitments it pays for",
  kfrags: "Kfrags held",
  livePolicies: "Live policies served",
  deletedKFrags: "Kfrags deleted",
  lostKFrags: "Kfrags lost",
  "requests.served": "Requests served",
  "requests.failed": "Requests failed",
  "announcement.url": "Announced URL",
  "announcement.encryptingKey": "Announced key",
  "announcement.urlMatches": "Announced URL is this node's",
  "announcement.keyMatches": "Announced key is this node's",
  acceptingKFrags: "Accepting kfrags",
  notAcceptingReason: "Why not",
};

/** Every leaf of `status` by dotted path, objects flattened. */
export function flattenStatus(status: NodeStatus): [string, unknown][] {
  const out: [string, unknown][] = [];
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) walk(inner, prefix ? `${prefix}.${key}` : key);
    } else out.push([prefix, value]);
  };
  walk(status, "");
  return out;
}

/** How a value reads on the page: null is a dash, booleans are yes/no. */
export function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The HTML page for `status`. Every value is escaped: URLs and reasons come from the chain. */
export function renderStatusPage(status: NodeStatus): string {
  const order = Object.keys(LABELS);
  const rank = (path: string) => (order.includes(path) ? order.indexOf(path) : order.length);
  const rows = flattenStatus(status)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([path, value]) => {
      const alarm =
        (path === "chain.reachable" || path === "acceptingKFrags" || path.endsWith("Matches")) && value === false;
      const warn = (path === "lostKFrags" || path === "commitments.missed") && typeof value === "number" && value > 0;
      const cls = alarm || warn ? ' class="bad"' : "";
      return (
        `<tr data-field="${escapeHtml(path)}"${cls}><th>${escapeHtml(LABELS[path] ?? path)}</th>` +
        `<td>${escapeHtml(displayValue(value))}</td></tr>`
      );
    });
  const healthy = status.chain?.reachable !== false && status.acceptingKFrags !== false && status.lostKFrags === 0;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>umbral-kms node ${escapeHtml(status.staker)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{font-weight:600;white-space:nowrap}td{font-family:ui-monospace,monospace;word-break:break-all}
tr.bad td{color:#b00020;font-weight:600}.state{font-size:1.2em}
</style>
</head>
<body>
<h1>umbral-kms node</h1>
<p class="state" data-field="healthy">${healthy ? "healthy" : "needs attention"}</p>
<table>
${rows.join("\n")}
</table>
<p>Machine-readable: <a href="v1/status">v1/status</a> (JSON), <a href="metrics">metrics</a> (Prometheus).</p>
</body>
</html>
`;
}
