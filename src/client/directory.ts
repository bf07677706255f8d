// Bob finds each node where it is now: a node that moved (another host or port) re-announces itself in the
// NodeDirectory, so the URLs a grant recorded are only a fallback.
import { hexlify } from "ethers";
import { nodeContactOf } from "../network/chain";
import { parseNodeUrl } from "../network/protocol";
import type { NodeDirectory } from "../../typechain-types";
import type { PolicyGrant } from "./grant";

/** The grant with each node's currently announced URL, and what changed since the grant was made. */
export interface ResolvedGrant {
  grant: PolicyGrant;
  /** One line per node whose URL or key changed, or that could not be looked up (its recorded URL is kept). */
  notes: string[];
}

/**
 * Looks up every node of `grant` in the NodeDirectory and returns the grant with their current URLs. A node
 * whose record cannot be read or is unusable keeps the grant's URL; a node that announced a new Umbral key
 * since the grant may no longer hold its kfrag (Alice can deliver a fresh set), which the notes say.
 */
export async function resolveGrantNodes(
  grant: PolicyGrant,
  directory: Pick<NodeDirectory, "nodeOf">,
): Promise<ResolvedGrant> {
  const notes: string[] = [];
  const nodes = await Promise.all(
    grant.nodes.map(async (node) => {
      try {
        const contact = await nodeContactOf(directory as NodeDirectory, node.staker);
        parseNodeUrl(contact.url);
        const key = hexlify(contact.encryptingKey.toCompressedBytes());
        if (contact.url !== node.url) notes.push(`node ${node.staker} moved: ${node.url} → ${contact.url}`);
        if (node.encryptingKey && node.encryptingKey.toLowerCase() !== key.toLowerCase()) {
          notes.push(`node ${node.staker} announced a new key since the grant: it may no longer hold its kfrag`);
        }
        return { ...node, url: contact.url };
      } catch (error) {
        notes.push(`node ${node.staker}: ${(error as Error).message}; trying its recorded URL ${node.url}`);
        return node;
      }
    }),
  );
  return { grant: { ...grant, nodes }, notes };
}
