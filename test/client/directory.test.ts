// Bob finds a node where it is now (src/client/directory.ts): the NodeDirectory's record wins over the URL a
// grant recorded, a new key is noticed, and a node the directory cannot tell about keeps its recorded URL.
import { expect } from "chai";
import { hexlify } from "ethers";
import { resolveGrantNodes } from "../../src/client/directory";
import type { PolicyGrant } from "../../src/client/grant";
import { SecretKey } from "../../src/umbral";

const key = () => hexlify(SecretKey.random().publicKey().toCompressedBytes());
const STAKERS = ["0x1000000000000000000000000000000000000001", "0x2000000000000000000000000000000000000002"];

describe("Bob resolves nodes from the directory", function () {
  it("uses each node's announced URL, notes a move and a new key, and falls back to the grant's URL", async function () {
    const recordedKey = key();
    const grant = {
      nodes: [
        { staker: STAKERS[0], url: "http://127.0.0.1:9151", encryptingKey: recordedKey },
        { staker: STAKERS[1], url: "http://127.0.0.1:9152" },
      ],
    } as PolicyGrant;
    const records: Record<string, { url: string; encryptingKey: string }> = {
      [STAKERS[0]]: { url: "http://127.0.0.1:9161/", encryptingKey: key() },
      [STAKERS[1]]: { url: "", encryptingKey: "0x" },
    };
    const directory = { nodeOf: async (staker: string) => records[staker] } as never;
    const { grant: resolved, notes } = await resolveGrantNodes(grant, directory);
    expect(resolved.nodes.map((n) => n.url)).to.deep.equal(["http://127.0.0.1:9161", "http://127.0.0.1:9152"]);
    expect(notes).to.have.length(3);
    expect(notes[0]).to.equal(`node ${STAKERS[0]} moved: http://127.0.0.1:9151 → http://127.0.0.1:9161`);
    expect(notes[1]).to.match(/announced a new key since the grant/);
    expect(notes[2]).to.match(/has not announced .*; trying its recorded URL http:\/\/127\.0\.0\.1:9152/);
    expect(grant.nodes[0].url).to.equal("http://127.0.0.1:9151"); // the grant itself is not changed
  });
});
