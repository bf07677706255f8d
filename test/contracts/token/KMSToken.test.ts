// KMSToken: fixed supply, ERC-20 transfers, EIP-2612 permit, and the absence of any mint path.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { signPermit } from "../../../src/token/permit";

const SUPPLY = 1_000_000_000n * 10n ** 18n;

async function deployTokenFixture() {
  const [holder, alice, bob, spender] = await ethers.getSigners();
  const token = await ethers.deployContract("KMSToken", [holder.address, SUPPLY]);
  return { token, holder, alice, bob, spender };
}

describe("KMSToken", function () {
  describe("deployment", function () {
    it("has the name, symbol and decimals of the KMS token", async function () {
      const { token } = await loadFixture(deployTokenFixture);
      expect(await token.name()).to.equal("KMS Token");
      expect(await token.symbol()).to.equal("KMS");
      expect(await token.decimals()).to.equal(18n);
    });

    it("mints the whole fixed supply to the holder once", async function () {
      const { token, holder } = await loadFixture(deployTokenFixture);
      expect(await token.totalSupply()).to.equal(SUPPLY);
      expect(await token.balanceOf(holder.address)).to.equal(SUPPLY);
    });

    it("emits a single Transfer from the zero address for the supply", async function () {
      const [holder] = await ethers.getSigners();
      const token = await ethers.deployContract("KMSToken", [holder.address, SUPPLY]);
      await expect(token.deploymentTransaction())
        .to.emit(token, "Transfer")
        .withArgs(ethers.ZeroAddress, holder.address, SUPPLY);
    });

    it("exposes no function that could mint or burn after deployment", async function () {
      const { token } = await loadFixture(deployTokenFixture);
      const names = token.interface.fragments
        .filter((f) => f.type === "function")
        .map((f) => (f as unknown as { name: string }).name.toLowerCase());
      for (const name of names) {
        expect(name).to.not.match(/mint|burn/);
      }
    });

    describe("reverts", function () {
      it("when the holder is the zero address", async function () {
        const factory = await ethers.getContractFactory("KMSToken");
        await expect(ethers.deployContract("KMSToken", [ethers.ZeroAddress, SUPPLY])).to.be.revertedWithCustomError(
          factory,
          "KMSTokenZeroHolder",
        );
      });

      it("when the supply is zero", async function () {
        const [holder] = await ethers.getSigners();
        const factory = await ethers.getContractFactory("KMSToken");
        await expect(ethers.deployContract("KMSToken", [holder.address, 0n])).to.be.revertedWithCustomError(
          factory,
          "KMSTokenZeroSupply",
        );
      });
    });
  });

  describe("transfers", function () {
    it("moves tokens and keeps the supply constant", async function () {
      const { token, holder, alice } = await loadFixture(deployTokenFixture);
      await expect(token.transfer(alice.address, 1234n)).to.changeTokenBalances(
        token,
        [holder, alice],
        [-1234n, 1234n],
      );
      expect(await token.totalSupply()).to.equal(SUPPLY);
    });

    it("spends an allowance with transferFrom", async function () {
      const { token, holder, alice, bob } = await loadFixture(deployTokenFixture);
      await token.approve(alice.address, 500n);
      await expect(token.connect(alice).transferFrom(holder.address, bob.address, 300n))
        .to.emit(token, "Transfer")
        .withArgs(holder.address, bob.address, 300n);
      expect(await token.allowance(holder.address, alice.address)).to.equal(200n);
    });

    it("reverts a transfer above the balance with ERC20InsufficientBalance", async function () {
      const { token, alice, bob } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).transfer(bob.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(alice.address, 0n, 1n);
    });

    it("reverts a transferFrom above the allowance with ERC20InsufficientAllowance", async function () {
      const { token, holder, alice, bob } = await loadFixture(deployTokenFixture);
      await token.approve(alice.address, 10n);
      await expect(token.connect(alice).transferFrom(holder.address, bob.address, 11n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(alice.address, 10n, 11n);
    });

    it("reverts a transfer to the zero address", async function () {
      const { token } = await loadFixture(deployTokenFixture);
      await expect(token.transfer(ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe("permit (EIP-2612)", function () {
    it("sets an allowance from a valid signature and bumps the nonce", async function () {
      const { token, holder, spender } = await loadFixture(deployTokenFixture);
      const deadline = BigInt(await time.latest()) + 3600n;
      const sig = await signPermit(token, holder, { spender: spender.address, value: 777n, deadline });
      await expect(token.permit(holder.address, spender.address, 777n, deadline, sig.v, sig.r, sig.s))
        .to.emit(token, "Approval")
        .withArgs(holder.address, spender.address, 777n);
      expect(await token.allowance(holder.address, spender.address)).to.equal(777n);
      expect(await token.nonces(holder.address)).to.equal(1n);
    });

    it("reverts an expired permit with ERC2612ExpiredSignature", async function () {
      const { token, holder, spender } = await loadFixture(deployTokenFixture);
      const deadline = BigInt(await time.latest()) - 1n;
      const sig = await signPermit(token, holder, { spender: spender.address, value: 1n, deadline });
      await expect(token.permit(holder.address, spender.address, 1n, deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
        .withArgs(deadline);
    });

    it("reverts a replayed permit with ERC2612InvalidSigner", async function () {
      const { token, holder, spender } = await loadFixture(deployTokenFixture);
      const deadline = BigInt(await time.latest()) + 3600n;
      const sig = await signPermit(token, holder, { spender: spender.address, value: 5n, deadline });
      await token.permit(holder.address, spender.address, 5n, deadline, sig.v, sig.r, sig.s);
      await expect(
        token.permit(holder.address, spender.address, 5n, deadline, sig.v, sig.r, sig.s),
      ).to.be.revertedWithCustomError(token, "ERC2612InvalidSigner");
      expect(await token.nonces(holder.address)).to.equal(1n);
    });

    it("reverts a permit signed by someone other than the owner with ERC2612InvalidSigner", async function () {
      const { token, holder, alice, spender } = await loadFixture(deployTokenFixture);
      const deadline = BigInt(await time.latest()) + 3600n;
      // alice signs a permit that claims to be the holder's (nonce taken from the holder)
      const nonce = await token.nonces(holder.address);
      const sig = await signPermit(token, alice, {
        spender: spender.address,
        value: 9n,
        deadline,
        nonce,
        owner: holder.address,
      });
      await expect(token.permit(holder.address, spender.address, 9n, deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(alice.address, holder.address);
      expect(await token.allowance(holder.address, spender.address)).to.equal(0n);
    });

    it("reverts a permit whose value was changed after signing", async function () {
      const { token, holder, spender } = await loadFixture(deployTokenFixture);
      const deadline = BigInt(await time.latest()) + 3600n;
      const sig = await signPermit(token, holder, { spender: spender.address, value: 1n, deadline });
      await expect(
        token.permit(holder.address, spender.address, 2n, deadline, sig.v, sig.r, sig.s),
      ).to.be.revertedWithCustomError(token, "ERC2612InvalidSigner");
    });
  });
});
