// Reverts decoded against every compiled contract's errors and said in KMS (src/cli/reverts.ts, errors.ts), on
// the in-process chain: the issue's own example is ERC20InsufficientBalance raised inside the token during
// an escrow deposit, which the escrow's ABI alone does not know.
import { expect } from "chai";
import hre from "hardhat";
import { loadDeployment } from "../../src/deployment";
import { errorInterfaceOf, findRevertData, decodeRevert } from "../../src/cli/reverts";
import { describeError, UserError } from "../../src/cli/errors";
import { parseAmount, parseWhole } from "../../src/cli/args";

describe("cli errors", function () {
  it("explains a revert nested in another contract by its OpenZeppelin error, in KMS", async function () {
    const { token, escrow } = await loadDeployment(hre);
    const [, poor] = await hre.ethers.getSigners();
    await (await token.connect(poor).approve(await escrow.getAddress(), 10n ** 30n)).wait();
    const error = await escrow
      .connect(poor)
      .deposit(999_999n * 10n ** 18n)
      .then(
        () => expect.fail("the deposit should revert"),
        (e: unknown) => e,
      );
    const errors = await errorInterfaceOf(hre.artifacts);
    const data = findRevertData(error);
    expect(decodeRevert(errors, data!)?.name).to.equal("ERC20InsufficientBalance");
    const line = describeError(error, errors);
    expect(line).to.equal(
      `the transaction was refused: ${poor.address} holds 0.0 KMS but 999999.0 KMS are needed: ` +
        `get KMS first (kms transfer --to ${poor.address} --amount …)`,
    );
  });

  it("names an error no contract declares without its selector, and a generic one with KMS amounts", async function () {
    const errors = await errorInterfaceOf(hre.artifacts);
    expect(describeError(Object.assign(new Error("x"), { data: "0xdeadbeef" }), errors)).to.equal(
      "the transaction was refused with an error none of the umbral-kms contracts declare",
    );
    const encoded = errors.encodeErrorResult("InvalidStakeBounds", [10n ** 18n, 2n * 10n ** 18n]);
    expect(describeError(Object.assign(new Error("reverted"), { data: encoded }), errors)).to.equal(
      "the transaction was refused: InvalidStakeBounds (minStake 1.0 KMS, maxStake 2.0 KMS)",
    );
  });

  it("says file errors in one line naming the file, and parses amounts and counts in words", function () {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'a.txt'"), {
      code: "ENOENT",
      syscall: "open",
      path: "a.txt",
    });
    expect(describeError(enoent)).to.equal("a.txt: no such file or directory");
    expect(describeError(new TypeError("x is undefined"))).to.match(/^internal error: .*KMS_VERBOSE=1/);
    expect(parseAmount("0.5", "--amount")).to.equal(5n * 10n ** 17n);
    expect(() => parseAmount("1e3", "--amount")).to.throw(UserError, /"1e3" is not an amount of KMS/);
    expect(() => parseAmount("0.0000000000000000001", "--amount")).to.throw(UserError, /more than 18 decimals/);
    expect(() => parseWhole("2.5", "--shares")).to.throw(UserError, /"2\.5" is not a whole number/);
  });
});
