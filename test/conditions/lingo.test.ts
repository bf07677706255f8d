// The lingo's validation: every malformed set is refused with the path of the bad field and why, before
// anything is signed or stored; and the canonical encoding that the owner signs and the chain commits to.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import {
  ConditionFormatError,
  MAX_CONDITIONS_BYTES,
  canonicalBytes,
  canonicalJson,
  conditionsHash,
  describeCondition,
  parseConditions,
  requiredContext,
  type Condition,
} from "../../src/conditions";
import { CHAIN, and, erc20AtLeast, erc721Owner, not, oracleDescribe, or, set, timeAfter } from "./fixtures";

const TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** The error parseConditions raises for `input`. */
function refusal(input: unknown, chainId: number | undefined = CHAIN): ConditionFormatError {
  try {
    parseConditions(input, { chainId });
  } catch (e) {
    expect(e).to.be.instanceOf(ConditionFormatError);
    return e as ConditionFormatError;
  }
  expect.fail(`expected ${JSON.stringify(input).slice(0, 80)} to be refused`);
}

const modify = (condition: Condition, change: (c: Record<string, unknown>) => void): unknown => {
  const copy = structuredClone(condition) as unknown as Record<string, unknown>;
  change(copy);
  return set(copy as unknown as Condition);
};

describe("conditions: lingo and validation", function () {
  describe("accepts", function () {
    it("the TACo-style examples: time, ERC-20, ERC-721, a view with an ABI, compounds", function () {
      const sets = [
        set(timeAfter(1_800_000_000)),
        set(erc20AtLeast(TOKEN, 10n ** 24n)),
        set(erc721Owner(TOKEN, 5)),
        set(oracleDescribe(TOKEN, "123", 4, "==", "0x" + "ab".repeat(32))),
        set(and(timeAfter(1), or(erc721Owner(TOKEN, 1), erc20AtLeast(TOKEN, 1n)), not(timeAfter(2, "<")))),
      ];
      for (const s of sets) expect(parseConditions(JSON.stringify(s), { chainId: CHAIN })).to.deep.equal(s);
    });

    it("the examples of docs/conditions.md", function () {
      const doc = readFileSync(path.join(__dirname, "../../docs/conditions.md"), "utf8");
      const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]));
      expect(blocks).to.have.length(3);
      for (const block of blocks) parseConditions("version" in block ? block : set(block), { chainId: CHAIN });
    });

    it("returns the set as written, so its hash is over the author's fields only", function () {
      const s = set(erc20AtLeast(TOKEN, 1n));
      expect(parseConditions(s, { chainId: CHAIN })).to.equal(s);
    });

    it("lists the context variables a set needs", function () {
      expect([...requiredContext(set(timeAfter(1)))]).to.deep.equal([]);
      expect([...requiredContext(set(and(timeAfter(1), erc721Owner(TOKEN, 1))))]).to.deep.equal([":userAddress"]);
      expect(requiredContext(null).size).to.equal(0);
    });

    it("describes a condition in one line", function () {
      expect(describeCondition(erc20AtLeast(TOKEN, 5n))).to.equal(`ERC20 ${TOKEN}.balanceOf(:userAddress) >= 5`);
      expect(describeCondition(not(timeAfter(0)))).to.equal("not (block time >= 1970-01-01T00:00:00.000Z (0))");
      expect(describeCondition(oracleDescribe(TOKEN, 1, 2, "==", true))).to.equal(`${TOKEN}.describe(1)[2] == true`);
    });
  });

  describe("refuses, naming the field", function () {
    const cases: [string, unknown, string, RegExp][] = [
      ["malformed JSON", '{"version": "1.0.0", "condition": ', "$", /not valid JSON/],
      ["a JSON array", "[]", "$", /must be an object/],
      [
        "an unknown condition type",
        set({ conditionType: "jwt" } as never),
        "$.condition.conditionType",
        /unknown condition type "jwt"/,
      ],
      ["a missing field", modify(timeAfter(1), (c) => delete c.chain), "$.condition.chain", /missing field/],
      ["an unknown field", modify(timeAfter(1), (c) => (c.extra = 1)), "$.condition.extra", /unknown field/],
      [
        "a bad comparator",
        modify(timeAfter(1), (c) => ((c.returnValueTest as Record<string, unknown>).comparator = "=~")),
        "$.condition.returnValueTest.comparator",
        /must be one of "==", "!="/,
      ],
      ["another lingo major version", { version: "2.0.0", condition: timeAfter(1) }, "$.version", /major version 1/],
      [
        "another chain",
        modify(timeAfter(1), (c) => (c.chain = 1)),
        "$.condition.chain",
        /chain 1 is not the policy's chain 31337/,
      ],
      [
        "a fractional time",
        modify(timeAfter(1), (c) => ((c.returnValueTest as Record<string, unknown>).value = 1.5)),
        "$.condition.returnValueTest.value",
        /must be a string, integer or boolean/,
      ],
      [
        "an unknown context variable",
        modify(erc20AtLeast(TOKEN, 1n), (c) => (c.parameters = [":bobAddress"])),
        "$.condition.parameters[0]",
        /unknown context variable ":bobAddress"/,
      ],
      [
        ":userAddress where a number goes",
        modify(erc721Owner(TOKEN, 1), (c) => (c.parameters = [":userAddress"])),
        "$.condition.parameters[0]",
        /is an address, but this value is a uint256/,
      ],
      [
        "a bad address checksum",
        modify(erc20AtLeast(TOKEN, 1n), (c) => (c.contractAddress = TOKEN.replace("F", "f"))),
        "$.condition.contractAddress",
        /checksum/,
      ],
      [
        "a precompile as the contract",
        modify(erc20AtLeast(TOKEN, 1n), (c) => (c.contractAddress = "0x" + "0".repeat(39) + "2")),
        "$.condition.contractAddress",
        /precompile/,
      ],
      [
        "both a standard type and an ABI",
        modify(oracleDescribe(TOKEN, 1, 0, "==", 1), (c) => (c.standardContractType = "ERC20")),
        "$.condition",
        /exactly one of standardContractType and functionAbi/,
      ],
      [
        "neither a standard type nor an ABI",
        modify(erc20AtLeast(TOKEN, 1n), (c) => delete c.standardContractType),
        "$.condition",
        /exactly one/,
      ],
      [
        "a method the standard type lacks",
        modify(erc20AtLeast(TOKEN, 1n), (c) => (c.method = "transfer")),
        "$.condition.method",
        /ERC20 conditions call balanceOf, not transfer/,
      ],
      [
        "the wrong parameter count",
        modify(erc20AtLeast(TOKEN, 1n), (c) => (c.parameters = [])),
        "$.condition.parameters",
        /takes 1 parameter\(s\), got 0/,
      ],
      [
        "a parameter of the wrong type",
        modify(erc721Owner(TOKEN, 1), (c) => (c.parameters = ["ten"])),
        "$.condition.parameters[0]",
        /not a valid uint256/,
      ],
      [
        "a value out of range",
        oracle((c) => (c.returnValueTest = { comparator: "==", value: "-1" })),
        "$.condition.returnValueTest.value",
        /out of range for uint256/,
      ],
      [
        "an ABI name other than the method",
        oracle((c) => (c.method = "other")),
        "$.condition.functionAbi.name",
        /is describe, but method is other/,
      ],
      [
        "a non-view ABI",
        oracle((c) => ((c.functionAbi as Record<string, unknown>).stateMutability = "nonpayable")),
        "$.condition.functionAbi.stateMutability",
        /must be one of "view", "pure"/,
      ],
      [
        "a tuple ABI type",
        oracle((c) => ((c.functionAbi as { outputs: unknown[] }).outputs = [{ name: "", type: "tuple" }])),
        "$.condition.functionAbi.outputs[0].type",
        /not a basic ABI type/,
      ],
      [
        "a non-canonical ABI type",
        oracle((c) => ((c.functionAbi as { inputs: { type: string }[] }).inputs[0].type = "uint")),
        "$.condition.functionAbi.inputs[0].type",
        /not a basic ABI type/,
      ],
      [
        "an index beyond the outputs",
        oracle((c) => (c.returnValueTest = { index: 5, comparator: "==", value: 1 })),
        "$.condition.returnValueTest.index",
        /returns 5 value\(s\), so index 5 does not exist/,
      ],
      [
        "an ordered comparison of a bool",
        oracle((c) => (c.returnValueTest = { index: 2, comparator: ">", value: true })),
        "$.condition.returnValueTest.comparator",
        /> does not apply to a bool \(use == or !=\)/,
      ],
      [
        "a bytes32 of the wrong length",
        oracle((c) => (c.returnValueTest = { index: 4, comparator: "==", value: "0x1234" })),
        "$.condition.returnValueTest.value",
        /not 32 bytes of 0x-hex/,
      ],
      [
        "a not with two operands",
        set({ conditionType: "compound", operator: "not", operands: [timeAfter(1), timeAfter(2)] }),
        "$.condition.operands",
        /"not" takes exactly one operand, got 2/,
      ],
      [
        "an and with one operand",
        set({ conditionType: "compound", operator: "and", operands: [timeAfter(1)] }),
        "$.condition.operands",
        /"and" takes at least two operands, got 1/,
      ],
      [
        "an unknown operator",
        set({ conditionType: "compound", operator: "xor", operands: [timeAfter(1), timeAfter(2)] } as never),
        "$.condition.operator",
        /must be one of "and", "or", "not"/,
      ],
      [
        "more than 8 operands",
        set(and(...Array.from({ length: 9 }, (_v, i) => timeAfter(i)))),
        "$.condition.operands",
        /must NOT have more than 8 items/,
      ],
      [
        "a bad operand deep inside",
        set(and(timeAfter(1), or(timeAfter(2), { conditionType: "nope" } as never))),
        "$.condition.operands[1].operands[1].conditionType",
        /unknown condition type "nope"/,
      ],
    ];

    function oracle(change: (c: Record<string, unknown>) => void): unknown {
      return modify(oracleDescribe(TOKEN, 1, 0, "==", 1), change);
    }

    for (const [what, input, path, reason] of cases) {
      it(`${what}: at ${path}`, function () {
        const e = refusal(input);
        expect(e.path).to.equal(path);
        expect(e.reason).to.match(reason);
        expect(e.message).to.equal(`invalid conditions at ${path}: ${e.reason}`);
      });
    }

    it("compounds nested deeper than 4 levels, before looking at anything else", function () {
      let deep: Condition = timeAfter(1);
      for (let i = 0; i < 4; i++) deep = not(deep);
      expect(parseConditions(set(deep), { chainId: CHAIN })).to.be.an("object");
      const e = refusal(set(not(deep)));
      expect(e.path).to.equal("$.condition.operands[0].operands[0].operands[0].operands[0]");
      expect(e.reason).to.equal("compound conditions nest deeper than 4 levels");
      // 10 000 levels: refused at the fifth, without walking the rest.
      let obj: unknown = {};
      for (let i = 0; i < 10_000; i++) obj = { operands: [obj] };
      expect(refusal({ version: "1.0.0", condition: obj }).reason).to.equal(
        "compound conditions nest deeper than 4 levels",
      );
    });

    it("JSON nested deep outside compounds", function () {
      let obj: unknown = 1;
      for (let i = 0; i < 100; i++) obj = [obj];
      expect(refusal({ version: "1.0.0", condition: { ...timeAfter(1), chain: obj } }).reason).to.match(
        /JSON nests deeper than 48 levels/,
      );
    });

    it("more than 16 leaves in a set", function () {
      const eight = (from: number) => and(...Array.from({ length: 8 }, (_v, i) => timeAfter(from + i)));
      expect(parseConditions(set(and(eight(0), eight(8))), { chainId: CHAIN })).to.be.an("object");
      const e = refusal(set(and(eight(0), eight(8), timeAfter(99))));
      expect(e.path).to.equal("$.condition.operands[2]");
      expect(e.reason).to.equal("more than 16 time and contract conditions in one set");
    });

    it("JSON larger than the size bound", function () {
      const big = JSON.stringify(set(timeAfter(1))).replace("{", `{${" ".repeat(MAX_CONDITIONS_BYTES)}`);
      expect(refusal(big).reason).to.equal(`the JSON is larger than ${MAX_CONDITIONS_BYTES} bytes`);
    });
  });

  describe("canonical encoding", function () {
    it("is RFC 8785: sorted keys, no whitespace, JSON.stringify strings and numbers", function () {
      expect(canonicalJson({ b: [3, "é\n", null], a: { z: true, "": -0, A: 1e21 } })).to.equal(
        '{"a":{"":0,"A":1e+21,"z":true},"b":[3,"é\\n",null]}',
      );
      // UTF-16 code-unit order: "\u20ac" (€) sorts before "\ud83d\ude00" (😀) though its code point is lower too,
      // and "Z" before "a".
      expect(canonicalJson({ a: 1, Z: 2, "😀": 3, "€": 4 })).to.equal('{"Z":2,"a":1,"€":4,"😀":3}');
      expect(() => canonicalJson({ x: Number.NaN })).to.throw(TypeError);
    });

    it("does not depend on how the file was formatted or its keys ordered", function () {
      const s = set(and(erc20AtLeast(TOKEN, 5n), timeAfter(9)));
      const reverse = (v: unknown): unknown =>
        Array.isArray(v)
          ? v.map(reverse)
          : typeof v === "object" && v !== null
            ? Object.fromEntries(
                Object.entries(v)
                  .reverse()
                  .map(([k, x]) => [k, reverse(x)]),
              )
            : v;
      const reordered = reverse(s);
      expect(JSON.stringify(reordered)).to.not.equal(JSON.stringify(s));
      expect(canonicalJson(reordered)).to.equal(canonicalJson(s));
      expect(conditionsHash(parseConditions(JSON.stringify(s, null, 2)))).to.equal(conditionsHash(s));
      expect(new TextDecoder().decode(canonicalBytes(s))).to.not.match(/\s/);
    });

    it("hashes every change, and no conditions to the zero hash", function () {
      const a = set(erc20AtLeast(TOKEN, 5n));
      const b = set(erc20AtLeast(TOKEN, 6n));
      expect(conditionsHash(a)).to.match(/^0x[0-9a-f]{64}$/);
      expect(conditionsHash(a)).to.not.equal(conditionsHash(b));
      expect(conditionsHash(null)).to.equal("0x" + "00".repeat(32));
    });
  });
});
