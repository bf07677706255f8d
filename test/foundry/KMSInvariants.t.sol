// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {KMSToken} from "../../contracts/token/KMSToken.sol";
import {StakingEscrow} from "../../contracts/staking/StakingEscrow.sol";
import {PolicyManager} from "../../contracts/policy/PolicyManager.sol";
import {Adjudicator} from "../../contracts/slashing/Adjudicator.sol";
import {ISlashableEscrow} from "../../contracts/interfaces/IAdjudicator.sol";
import {
    ICFragFixtures,
    CFragFixtures0,
    CFragFixtures1,
    CFragFixtures2,
    CFragFixtures3,
    CFragFixtures4,
    CFragFixtures5
} from "./fixtures/CFragFixtures.sol";
import {KMSHandler} from "./handlers/KMSHandler.sol";
import {TestBase} from "./utils/Vm.sol";
import {console} from "hardhat/console.sol";

/// @notice Stateful fuzzing of the whole system, deployed and wired as ignition/modules/KMS.ts does it with its
/// default parameters: forge calls random sequences of the handler's actions and checks every invariant below
/// after each call. Sizing: foundry.toml ([invariant] for CI, [profile.deep] for long local runs).
contract KMSInvariantTest is TestBase {
    uint256 internal constant TOTAL_SUPPLY = 1_000_000_000e18;
    uint256 internal constant MINING_RESERVE = (TOTAL_SUPPLY * 3) / 4;

    KMSToken internal token;
    StakingEscrow internal escrow;
    PolicyManager internal policyManager;
    Adjudicator internal adjudicator;
    KMSHandler internal handler;

    function setUp() public {
        // A realistic clock: period ~19,675 of one-day periods.
        vm.warp(1_700_000_000);
        token = new KMSToken(address(this), TOTAL_SUPPLY);
        escrow = new StakingEscrow(token, 86_400, 15_000e18, 10_000_000e18, 30, 7, 949_066_037_374_331, address(this));
        token.approve(address(escrow), MINING_RESERVE);
        escrow.fundReserve(MINING_RESERVE);
        policyManager = new PolicyManager(escrow, address(this), 1e15, 1_000e18);
        escrow.setPolicyManager(address(policyManager));
        adjudicator = new Adjudicator(ISlashableEscrow(address(escrow)), 100e18, 50e18, 10, 4);
        escrow.setAdjudicator(address(adjudicator));

        ICFragFixtures[] memory fixtures = new ICFragFixtures[](6);
        fixtures[0] = new CFragFixtures0();
        fixtures[1] = new CFragFixtures1();
        fixtures[2] = new CFragFixtures2();
        fixtures[3] = new CFragFixtures3();
        fixtures[4] = new CFragFixtures4();
        fixtures[5] = new CFragFixtures5();
        handler = new KMSHandler(token, escrow, policyManager, adjudicator, fixtures, MINING_RESERVE);
        token.transfer(address(handler), 20_000_000e18);
        handler.fund();
        handler.presign();

        // Start from a live network: every staker locked and bonded (the first key, confirmed), two of them
        // committed; and one throw-away staker locked with its spare key confirmed, ready to squat.
        for (uint256 i; i < handler.STAKERS(); ++i) {
            handler.depositAndLock(i, 1_000_000e18 * (i + 1), 40);
            handler.bondOperator(i, 0);
        }
        handler.commit(0);
        handler.commit(1);
        handler.spareCycle(0, 1);

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](23);
        selectors[0] = KMSHandler.deposit.selector;
        selectors[1] = KMSHandler.depositAndLock.selector;
        selectors[2] = KMSHandler.lock.selector;
        selectors[3] = KMSHandler.prolong.selector;
        selectors[4] = KMSHandler.withdraw.selector;
        selectors[5] = KMSHandler.bondOperator.selector;
        selectors[6] = KMSHandler.commit.selector;
        selectors[7] = KMSHandler.mint.selector;
        selectors[8] = KMSHandler.warp.selector;
        selectors[9] = KMSHandler.nextPeriodAndCommitAll.selector;
        selectors[10] = KMSHandler.createPolicy.selector;
        selectors[11] = KMSHandler.revokePolicy.selector;
        selectors[12] = KMSHandler.revokePolicyWithSig.selector;
        selectors[13] = KMSHandler.refundPolicy.selector;
        selectors[14] = KMSHandler.withdrawFees.selector;
        selectors[15] = KMSHandler.evaluate.selector;
        selectors[16] = KMSHandler.evaluateTampered.selector;
        selectors[17] = KMSHandler.confirmOperator.selector;
        selectors[18] = KMSHandler.spareCycle.selector;
        selectors[19] = KMSHandler.squat.selector;
        selectors[20] = KMSHandler.extendPolicy.selector;
        selectors[21] = KMSHandler.moveSlot.selector;
        selectors[22] = KMSHandler.claimReward.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ----------------------------------------------------------------------------------------------------------
    // Tokens
    // ----------------------------------------------------------------------------------------------------------

    /// @notice No token is created or lost: every holder's balance sums to the fixed supply.
    function invariant_tokenConservation() public view {
        uint256 sum =
            token.balanceOf(address(this)) +
                token.balanceOf(address(handler)) +
                token.balanceOf(address(escrow)) +
                token.balanceOf(address(policyManager)) +
                token.balanceOf(address(adjudicator)) +
                token.balanceOf(handler.REPORTER()) +
                token.balanceOf(handler.RELAYER());
        for (uint256 i; i < handler.stakerCount(); ++i) sum += token.balanceOf(handler.stakerAt(i));
        for (uint256 i; i < handler.OWNERS(); ++i) sum += token.balanceOf(handler.owners(i));
        for (uint256 i; i < handler.operatorCount(); ++i) sum += token.balanceOf(handler.operators(i));
        for (uint256 i; i < handler.SPARES(); ++i) sum += token.balanceOf(handler.spareOperators(i));
        assertEq(sum, token.totalSupply(), "sum of balances != total supply");
        assertEq(token.totalSupply(), TOTAL_SUPPLY, "supply changed");
    }

    /// @notice The escrow's balance moves only by the reserve funding, deposits, withdrawals and claimed reporter
    /// rewards, and always covers every stake plus the unallocated reserve plus the penalties it holds.
    function invariant_escrowBalance() public view {
        uint256 deposited;
        uint256 withdrawn;
        uint256 stakes;
        for (uint256 i; i < handler.stakerCount(); ++i) {
            address s = handler.stakerAt(i);
            deposited += handler.ghostDeposited(s);
            withdrawn += handler.ghostWithdrawn(s);
            stakes += escrow.stakeOf(s);
        }
        uint256 balance = token.balanceOf(address(escrow));
        assertEq(
            balance,
            handler.ghostReserveFunded() + deposited - withdrawn - handler.ghostReporterRewards(),
            "escrow balance != funded + deposited - withdrawn - reporter rewards"
        );
        assertLe(
            stakes + escrow.unallocatedReserve() + escrow.heldPenalties(),
            balance,
            "escrow insolvent: stakes + reserve + held penalties > balance"
        );
    }

    /// @notice Each stake is exactly deposits − withdrawals + minted rewards − penalties.
    function invariant_stakeAccounting() public view {
        for (uint256 i; i < handler.stakerCount(); ++i) {
            address s = handler.stakerAt(i);
            assertEq(
                escrow.stakeOf(s),
                handler.ghostDeposited(s) +
                    handler.ghostMinted(s) -
                    handler.ghostWithdrawn(s) -
                    handler.ghostPenalties(s),
                "stake != deposited + minted - withdrawn - penalties"
            );
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Mining
    // ----------------------------------------------------------------------------------------------------------

    /// @notice The rewards minted out of a period never exceed its issuance.
    function invariant_rewardsWithinIssuance() public view {
        uint256 n = handler.touchedPeriodCount();
        for (uint256 i; i < n; ++i) {
            uint256 p = handler.touchedPeriods(i);
            assertLe(handler.ghostMintedFromPeriod(p), escrow.issuanceOf(p), "period rewards > issuance");
        }
    }

    /// @notice Every mint pays lock × issuance / lockedPerPeriod, rounded down (towards the reserve).
    function invariant_rewardsFollowFormula() public view {
        assertEq(handler.ghostMintFormulaMismatches(), 0, "a mint differed from the floor of the reward formula");
    }

    /// @notice lockedPerPeriod(p) is the sum of the locks of the stakers committed to p, each weighed at its lock
    /// while p was open.
    function invariant_lockedPerPeriod() public view {
        uint256 n = handler.touchedPeriodCount();
        for (uint256 i; i < n; ++i) {
            uint256 p = handler.touchedPeriods(i);
            uint256 sum;
            // Throw-away stakers never commit, so they weigh in no period.
            for (uint256 j; j < handler.STAKERS(); ++j) sum += handler.ghostWeight(handler.stakers(j), p);
            assertEq(escrow.lockedPerPeriod(p), sum, "lockedPerPeriod != sum of committed locks");
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Fees
    // ----------------------------------------------------------------------------------------------------------

    /// @notice Per policy: deposit = credited (node periods committed) + refunded + held (missed, not yet settled).
    function invariant_policyFeeConservation() public view {
        uint256 count = handler.policyCount();
        for (uint256 i; i < count; ++i) {
            KMSHandler.PolicyRecord memory p = handler.policy(i);
            uint256 credited;
            uint256 held;
            for (uint256 j; j < p.nodes.length; ++j) {
                for (uint256 period = p.startPeriod; period < p.endPeriod; ++period) {
                    if (policyManager.hasCommitted(_holderAt(p, j, period), period)) credited += p.feeRate;
                    else if (period >= p.refundedThrough) held += p.feeRate;
                }
            }
            assertEq(credited + p.refunded + held, p.deposit, "policy: credited + refunded + held != deposit");
            bytes32 modelled = keccak256(
                abi.encode(
                    handler.owners(p.ownerIndex),
                    uint256(p.startPeriod),
                    uint256(p.endPeriod),
                    uint256(p.refundedThrough),
                    uint256(p.feeRate),
                    keccak256(abi.encodePacked(p.nodes))
                )
            );
            assertTrue(policyManager.policyCommitment(p.id) == modelled, "policy record drifted from the model");
        }
        assertEq(
            handler.ghostRefundMismatches(),
            0,
            "a refund, revocation, extension or withdrawal paid a wrong amount"
        );
        assertEq(
            handler.ghostInvalidChangeAccepted(),
            0,
            "an extension or slot move to an ineligible node went through"
        );
    }

    /// @notice Per node: fees held + withdrawn = Σ over its policies of feeRate × the policy periods it committed to.
    /// Globally: the manager holds exactly deposits − refunds − withdrawn fees.
    function invariant_nodeFees() public view {
        uint256 count = handler.policyCount();
        uint256 deposits;
        uint256 refunds;
        uint256 withdrawn;
        for (uint256 j; j < handler.STAKERS(); ++j) {
            address node = handler.stakers(j);
            uint256 earned;
            for (uint256 i; i < count; ++i) earned += _earnedFrom(handler.policy(i), node);
            withdrawn += handler.ghostFeesWithdrawn(node);
            assertEq(
                policyManager.getNodeFees(node).fees + handler.ghostFeesWithdrawn(node),
                earned,
                "node fees + withdrawn != fee rate x committed policy periods"
            );
        }
        for (uint256 i; i < count; ++i) {
            KMSHandler.PolicyRecord memory p = handler.policy(i);
            deposits += p.deposit;
            refunds += p.refunded;
        }
        assertEq(token.balanceOf(address(policyManager)), deposits - refunds - withdrawn, "manager balance drifted");
    }

    // ----------------------------------------------------------------------------------------------------------
    // Slashing and replay
    // ----------------------------------------------------------------------------------------------------------

    /// @notice No honest cfrag ever slashes; verdicts are the ones computed off-chain; tampered evidence or
    /// signatures are never accepted; penalties and rewards follow the schedule; offences count the cheats.
    function invariant_noHonestNodeSlashed() public view {
        assertEq(handler.ghostHonestSlashed(), 0, "an honest cfrag slashed or minted");
        assertEq(handler.ghostVerdictMismatches(), 0, "a verdict differed from the off-chain one");
        assertEq(handler.ghostForgeryAccepted(), 0, "tampered evidence or signature was judged");
        assertEq(handler.ghostPenaltyMismatches(), 0, "penalty or reward off the schedule");
        for (uint256 i; i < handler.stakerCount(); ++i) {
            address s = handler.stakerAt(i);
            assertEq(adjudicator.offencesOf(s), handler.ghostCheats(s), "offences != cheating verdicts");
        }
    }

    /// @notice No cfrag is judged twice against one staker, every judgement is marked for its (attestation digest,
    /// staker), and a judged cfrag submitted again is refused with EvidenceAlreadyEvaluated(digest, staker).
    function invariant_noEvidenceEvaluatedTwice() public view {
        assertLe(handler.ghostMaxEvaluations(), 1, "evidence evaluated twice against one staker");
        assertEq(handler.ghostReplayNotRefused(), 0, "a replay was not refused with EvidenceAlreadyEvaluated");
        uint256 n = handler.judgedCount();
        for (uint256 i; i < n; ++i) {
            (bytes32 digest, address staker) = handler.judged(i);
            assertTrue(adjudicator.isEvaluated(digest, staker), "judged evidence not marked");
        }
    }

    /// @notice Pull rewards: the penalties the escrow holds are exactly the unclaimed judgements' penalties (the
    /// Adjudicator's record and the model agree), claimed rewards never exceed the rewards credited by verdicts nor
    /// the penalties taken, and every claim paid its reporter penalty / rewardCoefficient, once.
    function invariant_heldPenaltiesMatchClaims() public view {
        uint256 n = handler.judgedCount();
        uint256 unclaimed;
        for (uint256 i; i < n; ++i) {
            (bytes32 digest, address staker) = handler.judged(i);
            (, uint256 penalty, ) = adjudicator.judgementOf(digest, staker);
            unclaimed += penalty;
        }
        assertEq(escrow.heldPenalties(), unclaimed, "held penalties != unclaimed judgements");
        assertEq(escrow.heldPenalties(), handler.ghostHeldPenalties(), "held penalties != model");
        assertLe(handler.ghostReporterRewards(), handler.ghostRewardsCredited(), "claimed more than credited");
        uint256 penalties;
        for (uint256 i; i < handler.stakerCount(); ++i) penalties += handler.ghostPenalties(handler.stakerAt(i));
        assertLe(handler.ghostRewardsCredited(), penalties, "rewards credited above the penalties taken");
        assertEq(handler.ghostClaimMismatches(), 0, "a claim paid or refused against the model");
    }

    /// @notice Issue 12 finding 1: every cheat attested by a bonded (confirmed), staked operator can be slashed
    /// once, whatever else the handler did first — squatting on it with spare keys of throw-away stakers (or
    /// another node's key), re-bonding, leaving proposals unconfirmed, withdrawing. Checked by the handler on
    /// every untampered cheat whose key is confirmed for a staker with a stake and that was never judged against
    /// that staker: the report (the action itself, or a rolled-back probe right after a squat) must be judged a
    /// cheat, add one offence and take the scheduled penalty, and the same report again must revert
    /// EvidenceAlreadyEvaluated(digest, staker).
    function invariant_everyCheatSlashableOnce() public view {
        assertEq(
            handler.ghostUnslashableCheats(),
            0,
            string.concat(
                "a cheat by a confirmed, staked operator was not slashed exactly once (failure ",
                _decimal(handler.ghostLastUnslashableFailure()),
                ", error ",
                _hex4(handler.ghostLastUnslashableError()),
                ")"
            )
        );
    }

    /// @notice Policy ids are never reused, revocation signatures never replayed, and valid actions never refused.
    function invariant_noReplayOrReuse() public view {
        assertEq(handler.ghostPolicyIdReuseAccepted(), 0, "a policy id was reused");
        assertEq(handler.ghostRevokeSignatureReplayAccepted(), 0, "a revocation signature was replayed");
        assertEq(
            handler.ghostUnexpectedReverts(),
            0,
            "a withdrawal, revocation, extension or slot move the model allows reverted"
        );
    }

    /// @notice The handler's extension (approval and permit) and slot-move actions go through on the live network of
    /// setUp, so the invariants see them, and the fee and replay invariants hold after each.
    function test_handlerExtendsAndMovesSlots() public {
        handler.createPolicy(0, 1, 4, 5); // staker 0 only, 4 periods
        assertEq(handler.policyCount(), 1, "policy not created");
        handler.extendPolicy(0, 2, 0);
        handler.extendPolicy(0, 1, 1);
        assertEq(handler.calls("extendPolicy"), 1, "extension with an approval did not go through");
        assertEq(handler.calls("extendPolicyWithPermit"), 1, "extension with a permit did not go through");
        handler.moveSlot(0, 0, 1); // to staker 1
        handler.nextPeriodAndCommitAll();
        handler.nextPeriodAndCommitAll();
        handler.moveSlot(0, 0, 2); // to staker 2, settling the periods since the first move
        assertEq(handler.calls("moveSlot"), 2, "slot moves did not go through");
        handler.moveSlot(0, 0, 2); // a duplicate: must be refused
        assertEq(handler.calls("moveSlot"), 2, "a move to a node already in the policy went through");
        invariant_policyFeeConservation();
        invariant_nodeFees();
        invariant_noReplayOrReuse();
    }

    /// @notice After each run, with `forge test -vv`: what the run actually did (actions completed, value moved).
    function afterInvariant() public view {
        console.log(
            "run summary: periods touched %s, policies %s, evidence judged %s",
            handler.touchedPeriodCount(),
            handler.policyCount(),
            handler.judgedCount()
        );
        console.log(
            "  deposits %s, commits %s, mints %s",
            handler.calls("deposit") + handler.calls("depositAndLock"),
            handler.calls("commit"),
            handler.calls("mint")
        );
        console.log(
            "  honest judged %s, cheats slashed %s, refused %s",
            handler.calls("evaluateHonest"),
            handler.calls("evaluateCheat"),
            handler.calls("evaluateRefused")
        );
        console.log(
            "  revokes %s (+%s by signature), refunds %s",
            handler.calls("revokePolicy"),
            handler.calls("revokePolicyWithSig"),
            handler.calls("refundPolicy")
        );
        console.log(
            "  extensions %s (+%s with a permit), slot moves %s",
            handler.calls("extendPolicy"),
            handler.calls("extendPolicyWithPermit"),
            handler.calls("moveSlot")
        );
        console.log(
            "  fee withdrawals %s, withdrawals %s, re-bonds %s",
            handler.calls("withdrawFees"),
            handler.calls("withdraw"),
            handler.calls("bondOperator")
        );
        console.log(
            "  confirmations %s, proposals left unconfirmed %s, bonds refused %s",
            handler.calls("confirmOperator"),
            handler.calls("bondLeftUnconfirmed"),
            handler.calls("bondRefused")
        );
        console.log(
            "  spare locks %s, spare withdrawals %s, squats %s",
            handler.calls("spareLock"),
            handler.calls("spareWithdraw"),
            handler.calls("squat")
        );
        console.log(
            "  reports probed after a squat %s, cheats checked slashable once as actions %s",
            handler.calls("squatReportProbed"),
            handler.calls("cheatSlashChecked")
        );
        console.log(
            "  rewards claimed %s, claims refused %s",
            handler.calls("claimReward"),
            handler.calls("claimRefused")
        );
        uint256 minted;
        uint256 penalties;
        for (uint256 i; i < handler.stakerCount(); ++i) {
            minted += handler.ghostMinted(handler.stakerAt(i));
            penalties += handler.ghostPenalties(handler.stakerAt(i));
        }
        console.log(
            "  minted %s wei, slashed %s wei, slashes after a re-bond %s",
            minted,
            penalties,
            handler.ghostSlashAfterRebond()
        );
    }

    function _decimal(uint256 x) private pure returns (string memory) {
        if (x == 0) return "0";
        bytes memory out;
        for (; x != 0; x /= 10) out = abi.encodePacked(bytes1(uint8(48 + (x % 10))), out);
        return string(out);
    }

    function _hex4(bytes32 x) private pure returns (string memory) {
        bytes memory digits = "0123456789abcdef";
        bytes memory out = new bytes(10);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i; i < 4; ++i) {
            out[2 + 2 * i] = digits[uint8(x[i]) >> 4];
            out[3 + 2 * i] = digits[uint8(x[i]) & 15];
        }
        return string(out);
    }

    function _earnedFrom(KMSHandler.PolicyRecord memory p, address node) private view returns (uint256 earned) {
        for (uint256 j; j < p.nodes.length; ++j) {
            for (uint256 period = p.startPeriod; period < p.endPeriod; ++period) {
                if (_holderAt(p, j, period) == node && policyManager.hasCommitted(node, period)) earned += p.feeRate;
            }
        }
    }

    /// @dev The node holding slot `slot` of `p` at `period`: the previous node of the earliest move of that slot
    /// from a later period, else the current holder.
    function _holderAt(KMSHandler.PolicyRecord memory p, uint256 slot, uint256 period) private pure returns (address) {
        address holder = p.nodes[slot];
        for (uint256 k = p.movedSlot.length; k != 0; --k) {
            if (p.movedSlot[k - 1] == slot && period < p.movedAt[k - 1]) holder = p.movedFrom[k - 1];
        }
        return holder;
    }
}
