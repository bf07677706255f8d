// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {KMSToken} from "../../../contracts/token/KMSToken.sol";
import {StakingEscrow} from "../../../contracts/staking/StakingEscrow.sol";
import {PolicyManager} from "../../../contracts/policy/PolicyManager.sol";
import {Adjudicator} from "../../../contracts/slashing/Adjudicator.sol";
import {IPolicyManager} from "../../../contracts/interfaces/IPolicyManager.sol";
import {Verdict} from "../../../contracts/lib/ReencryptionValidator.sol";
import {ICFragFixtures} from "../fixtures/CFragFixtures.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice The actor of the invariant suite: every fuzzed call is one bounded, mostly valid action on the deployed
/// system (stakers, policy owners, a reporter, the clock). It keeps ghost variables — an independent model of
/// what the contracts must hold — which the invariants in KMSInvariants.t.sol compare with the contracts' state.
/// @dev Handler functions never assert: a revert here would only count as a "revert" in forge's statistics. A
/// violation seen during a call is recorded in a ghost counter that an invariant then requires to be zero.
contract KMSHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 public constant STAKERS = 3;
    uint256 public constant OWNERS = 2;
    uint256 public constant MAX_POLICIES = 10;
    /// @dev Policies last at most this many periods, so the fee invariants walk few (node, period) pairs.
    uint256 public constant MAX_POLICY_PERIODS = 8;

    bytes32 private constant MINTED = keccak256("Minted(address,uint256)");
    bytes32 private constant SLASHED = keccak256("Slashed(address,uint256,address,uint256)");
    bytes32 private constant REVOKE_TYPEHASH = keccak256("Revoke(bytes16 policyId,uint256 nonce,uint256 deadline)");

    KMSToken public immutable token;
    StakingEscrow public immutable escrow;
    PolicyManager public immutable policyManager;
    Adjudicator public immutable adjudicator;
    uint256 public immutable periodDuration;

    address[STAKERS] public stakers; // strictly ascending, so any subset in order is a valid node list
    ICFragFixtures[] public fixtures; // two operator keys per staker: fixtures[2i], fixtures[2i + 1]
    address[] public operators;
    uint256[OWNERS] public ownerKeys;
    address[OWNERS] public owners;
    address public constant REPORTER = address(0xBEEF);
    address public constant RELAYER = address(0x7E1A);

    // ------------------------------------------------------------------------------------------------------
    // Ghost state
    // ------------------------------------------------------------------------------------------------------

    uint256 public ghostReserveFunded;
    uint256 public ghostReporterRewards;
    mapping(address => uint256) public ghostDeposited;
    mapping(address => uint256) public ghostWithdrawn;
    mapping(address => uint256) public ghostMinted;
    mapping(address => uint256) public ghostPenalties;
    mapping(address => uint256) public ghostCheats;

    /// @dev Periods any staker committed to, and each staker's weight in each (its lock while the period was open).
    uint256[] public touchedPeriods;
    mapping(uint256 => bool) private _touched;
    mapping(address => mapping(uint256 => uint256)) public ghostWeight;
    /// @dev Reward minted out of each period, as observed in Minted events.
    mapping(uint256 => uint256) public ghostMintedFromPeriod;
    uint256 public ghostMintFormulaMismatches;

    struct PolicyRecord {
        bytes16 id;
        uint256 ownerIndex;
        uint32 startPeriod;
        uint32 endPeriod;
        uint32 refundedThrough;
        uint96 feeRate;
        uint32 originalEnd;
        uint256 deposit;
        uint256 refunded;
        address[] nodes;
    }
    PolicyRecord[] internal _policies;
    uint256 private _policyNonce;
    mapping(address => uint256) public ghostFeesWithdrawn;
    uint256 public ghostRefundMismatches;
    uint256 public ghostPolicyIdReuseAccepted;
    uint256 public ghostRevokeSignatureReplayAccepted;
    /// @dev Actions the model says must succeed (withdrawing unlocked stake, an owner's revocation) that reverted.
    uint256 public ghostUnexpectedReverts;

    /// @dev Evidence hashes judged, with the number of successful evaluations of each.
    bytes32[] public evaluatedHashes;
    mapping(bytes32 => uint256) public ghostEvaluations;
    uint256 public ghostMaxEvaluations;
    uint256 public ghostHonestSlashed;
    uint256 public ghostVerdictMismatches;
    uint256 public ghostPenaltyMismatches;
    uint256 public ghostForgeryAccepted;
    uint256 public ghostSlashAfterRebond; // cheats caught after the key was replaced: must still slash
    mapping(bytes32 => uint256) private _fixtureOf; // hash → fixture key index + 1

    /// @dev How many times each action ran to completion, for the summary.
    mapping(bytes32 => uint256) public calls;

    constructor(
        KMSToken token_,
        StakingEscrow escrow_,
        PolicyManager policyManager_,
        Adjudicator adjudicator_,
        ICFragFixtures[] memory fixtures_,
        uint256 reserveFunded
    ) {
        token = token_;
        escrow = escrow_;
        policyManager = policyManager_;
        adjudicator = adjudicator_;
        periodDuration = escrow_.periodDuration();
        ghostReserveFunded = reserveFunded;
        for (uint256 i; i < STAKERS; ++i) stakers[i] = address(uint160(0x5000 + i));
        for (uint256 i; i < fixtures_.length; ++i) {
            fixtures.push(fixtures_[i]);
            operators.push(vm.addr(fixtures_[i].operatorKey()));
        }
        for (uint256 i; i < OWNERS; ++i) {
            ownerKeys[i] = 0xA1100 + i;
            owners[i] = vm.addr(ownerKeys[i]);
        }
    }

    /// @notice Hands out the handler's tokens: 5M KMS per staker and 1M per policy owner.
    function fund() external {
        for (uint256 i; i < STAKERS; ++i) token.transfer(stakers[i], 5_000_000e18);
        for (uint256 i; i < OWNERS; ++i) token.transfer(owners[i], 1_000_000e18);
    }

    // ------------------------------------------------------------------------------------------------------
    // Staking actions
    // ------------------------------------------------------------------------------------------------------

    function deposit(uint256 stakerSeed, uint256 value) external {
        address staker = stakers[stakerSeed % STAKERS];
        uint256 balance = token.balanceOf(staker);
        if (balance == 0) return;
        value = _bound(value, 1, balance);
        vm.startPrank(staker);
        token.approve(address(escrow), value);
        escrow.deposit(value);
        vm.stopPrank();
        ghostDeposited[staker] += value;
        calls["deposit"]++;
    }

    function depositAndLock(uint256 stakerSeed, uint256 value, uint256 periods) public {
        address staker = stakers[stakerSeed % STAKERS];
        (uint256 locked, ) = escrow.getLock(staker);
        uint256 room = escrow.maxStake() - locked;
        uint256 balance = token.balanceOf(staker);
        value = _bound(value, escrow.minStake(), room < balance ? room : balance);
        periods = _bound(periods, escrow.minLockPeriods(), escrow.minLockPeriods() + 15);
        (uint256[2] memory expected, uint256[2] memory settled) = _expectedReward(staker);
        vm.recordLogs();
        vm.startPrank(staker);
        token.approve(address(escrow), value);
        try escrow.depositAndLock(value, periods) {
            vm.stopPrank();
            ghostDeposited[staker] += value;
            _afterSettle(staker, expected, settled);
            calls["depositAndLock"]++;
        } catch {
            vm.stopPrank();
            vm.getRecordedLogs();
        }
    }

    function lock(uint256 stakerSeed, uint256 value, uint256 periods) external {
        address staker = stakers[stakerSeed % STAKERS];
        (uint256 locked, ) = escrow.getLock(staker);
        uint256 stake = escrow.stakeOf(staker);
        value = _bound(value, 1, stake > locked ? stake - locked : 1);
        periods = _bound(periods, 0, escrow.minLockPeriods() + 15);
        (uint256[2] memory expected, uint256[2] memory settled) = _expectedReward(staker);
        vm.recordLogs();
        vm.prank(staker);
        try escrow.lock(value, periods) {
            _afterSettle(staker, expected, settled);
            calls["lock"]++;
        } catch {
            vm.getRecordedLogs();
        }
    }

    function prolong(uint256 stakerSeed, uint256 periods) external {
        address staker = stakers[stakerSeed % STAKERS];
        periods = _bound(periods, 1, 10);
        vm.prank(staker);
        try escrow.prolong(periods) {
            calls["prolong"]++;
        } catch {}
    }

    function withdraw(uint256 stakerSeed, uint256 value) external {
        address staker = stakers[stakerSeed % STAKERS];
        (uint256 locked, uint256 unlockPeriod) = escrow.getLock(staker);
        if (_currentPeriod() >= unlockPeriod) locked = 0;
        uint256 stake = escrow.stakeOf(staker);
        if (stake <= locked) return;
        value = _bound(value, 1, stake - locked);
        uint256 before = token.balanceOf(staker);
        vm.prank(staker);
        try escrow.withdraw(value) {
            ghostWithdrawn[staker] += token.balanceOf(staker) - before;
            calls["withdraw"]++;
        } catch {
            // Unlocked stake must always be withdrawable.
            ghostUnexpectedReverts++;
        }
    }

    /// @notice Bonds one of the staker's two fixture keys (or unbonds): the key's signatures then recover to an
    /// operator of this staker for ever, even after it re-bonds to dodge a slash.
    function bondOperator(uint256 stakerSeed, uint256 keySeed) external {
        uint256 s = stakerSeed % STAKERS;
        uint256 choice = keySeed % 5; // 0-1: first key, 2-3: second key, 4: unbond
        address operator = choice == 4 ? address(0) : operators[2 * s + (choice < 2 ? 0 : 1)];
        vm.prank(stakers[s]);
        try escrow.bondOperator(operator) {
            calls["bondOperator"]++;
        } catch {}
    }

    function commit(uint256 stakerSeed) public {
        address staker = stakers[stakerSeed % STAKERS];
        address operator = escrow.operatorOf(staker);
        if (operator == address(0)) return;
        (uint256[2] memory expected, uint256[2] memory settled) = _expectedCommitReward(staker);
        vm.recordLogs();
        vm.prank(operator);
        try escrow.commitToNextPeriod() {
            _afterSettle(staker, expected, settled);
            calls["commit"]++;
        } catch {
            vm.getRecordedLogs();
        }
    }

    function mint(uint256 stakerSeed) external {
        address staker = stakers[stakerSeed % STAKERS];
        (uint256[2] memory expected, uint256[2] memory settled) = _expectedReward(staker);
        vm.recordLogs();
        vm.prank(staker);
        try escrow.mint() {
            _afterSettle(staker, expected, settled);
            calls["mint"]++;
        } catch {
            vm.getRecordedLogs();
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // Time
    // ------------------------------------------------------------------------------------------------------

    /// @notice Moves the clock by up to three periods and a fraction.
    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 3 * periodDuration + periodDuration / 2));
        calls["warp"]++;
    }

    /// @notice Moves to the next period and commits every bonded staker that can, as live nodes would.
    function nextPeriodAndCommitAll() external {
        vm.warp((block.timestamp / periodDuration + 1) * periodDuration + 1);
        for (uint256 i; i < STAKERS; ++i) commit(i);
        calls["nextPeriodAndCommitAll"]++;
    }

    // ------------------------------------------------------------------------------------------------------
    // Policy actions
    // ------------------------------------------------------------------------------------------------------

    function createPolicy(uint256 ownerSeed, uint256 nodeMask, uint256 periods, uint256 rateSeed) external {
        uint256 o = ownerSeed % OWNERS;
        uint256 current = _currentPeriod();
        periods = _bound(periods, 1, MAX_POLICY_PERIODS);
        address[] memory nodes = _eligibleNodes(nodeMask, current + periods);
        if (nodes.length == 0) return;
        uint256 feeRate = _bound(rateSeed, 1e6, 1e12) * 1e9; // 0.001 to 1000 KMS, multiples of FEE_UNIT
        bool reuse = _policies.length != 0 && rateSeed % 16 == 0;
        bytes16 id = reuse ? _policies[rateSeed % _policies.length].id : bytes16(keccak256(abi.encode(++_policyNonce)));
        if (!reuse && _policies.length >= MAX_POLICIES) return;
        uint256 deposit_ = feeRate * periods * nodes.length;
        if (token.balanceOf(owners[o]) < deposit_) return;
        vm.startPrank(owners[o]);
        token.approve(address(policyManager), deposit_);
        try policyManager.createPolicy(id, owners[o], nodes, current + periods, feeRate) returns (uint256 paid) {
            vm.stopPrank();
            if (reuse) {
                ghostPolicyIdReuseAccepted++;
                return;
            }
            _policies.push();
            PolicyRecord storage p = _policies[_policies.length - 1];
            p.id = id;
            p.ownerIndex = o;
            p.startPeriod = uint32(current);
            p.endPeriod = uint32(current + periods);
            p.originalEnd = uint32(current + periods);
            p.refundedThrough = uint32(current);
            p.feeRate = uint96(feeRate);
            p.deposit = paid;
            p.nodes = nodes;
            if (paid != deposit_) ghostRefundMismatches++;
            calls["createPolicy"]++;
        } catch {
            vm.stopPrank();
        }
    }

    function revokePolicy(uint256 policySeed) external {
        if (_policies.length == 0) return;
        PolicyRecord storage p = _policies[policySeed % _policies.length];
        if (p.endPeriod <= _currentPeriod() + 1) return;
        address owner = owners[p.ownerIndex];
        uint256 before = token.balanceOf(owner);
        vm.prank(owner);
        try policyManager.revokePolicy(p.id, _record(p)) returns (uint256 refund_) {
            _afterRevoke(p, refund_, token.balanceOf(owner) - before);
            calls["revokePolicy"]++;
        } catch {
            // The owner's revocation of a current record with a period left to refund must go through.
            ghostUnexpectedReverts++;
        }
    }

    /// @notice A relayer revokes with the owner's EIP-712 signature, then replays the same signature.
    function revokePolicyWithSig(uint256 policySeed) external {
        if (_policies.length == 0) return;
        PolicyRecord storage p = _policies[policySeed % _policies.length];
        if (p.endPeriod <= _currentPeriod() + 1) return;
        address owner = owners[p.ownerIndex];
        bytes memory signature = _revokeSignature(p.id, owner, p.ownerIndex, block.timestamp + 1 hours);
        uint256 before = token.balanceOf(owner);
        vm.prank(RELAYER);
        try policyManager.revokePolicyWithSig(p.id, _record(p), block.timestamp + 1 hours, signature) returns (
            uint256 refund_
        ) {
            _afterRevoke(p, refund_, token.balanceOf(owner) - before);
        } catch {
            ghostUnexpectedReverts++;
            return;
        }
        // The nonce is spent: the same signature must not work again (the record is the current one).
        vm.prank(RELAYER);
        try policyManager.revokePolicyWithSig(p.id, _record(p), block.timestamp + 1 hours, signature) {
            ghostRevokeSignatureReplayAccepted++;
        } catch {}
        calls["revokePolicyWithSig"]++;
    }

    function refundPolicy(uint256 policySeed) external {
        if (_policies.length == 0) return;
        PolicyRecord storage p = _policies[policySeed % _policies.length];
        address owner = owners[p.ownerIndex];
        uint256 to = _currentPeriod() + 1;
        if (to > p.endPeriod) to = p.endPeriod;
        if (to <= p.refundedThrough) return;
        uint256 missed;
        for (uint256 i; i < p.nodes.length; ++i) {
            for (uint256 period = p.refundedThrough; period < to; ++period) {
                if (!policyManager.hasCommitted(p.nodes[i], period)) missed++;
            }
        }
        uint256 before = token.balanceOf(owner);
        vm.prank(owner);
        try policyManager.refund(p.id, _record(p)) returns (uint256 amount) {
            if (amount != missed * p.feeRate || token.balanceOf(owner) - before != amount) ghostRefundMismatches++;
            p.refunded += amount;
            p.refundedThrough = uint32(to);
            calls["refundPolicy"]++;
        } catch {
            // Only "nothing to refund" may stop an owner's refund of a live record.
            if (missed != 0) ghostRefundMismatches++;
        }
    }

    function withdrawFees(uint256 stakerSeed) external {
        address staker = stakers[stakerSeed % STAKERS];
        uint256 before = token.balanceOf(staker);
        vm.prank(staker);
        try policyManager.withdrawFees() returns (uint256 amount) {
            uint256 received = token.balanceOf(staker) - before;
            if (received != amount) ghostRefundMismatches++;
            ghostFeesWithdrawn[staker] += received;
            calls["withdrawFees"]++;
        } catch {}
    }

    // ------------------------------------------------------------------------------------------------------
    // Slashing actions
    // ------------------------------------------------------------------------------------------------------

    /// @notice The reporter submits fixture evidence signed by one of the six operator keys: honest or cheating,
    /// bonded now, bonded before (re-bonded away) or never bonded. A second submission must be refused.
    function evaluate(uint256 keySeed, uint256 fixtureSeed) external {
        uint256 k = keySeed % fixtures.length;
        ICFragFixtures f = fixtures[k];
        (bytes memory evidence, bytes memory signature, bytes memory hints, uint8 verdict) = f.get(
            fixtureSeed % f.count()
        );
        _evaluate(k, evidence, signature, hints, verdict, false);
    }

    /// @notice Submits fixture evidence with one byte changed in the evidence, the signature or the hints.
    /// Changed evidence or signature must never slash the key's staker; changed hints may change gas only.
    function evaluateTampered(uint256 keySeed, uint256 fixtureSeed, uint256 part, uint256 at) external {
        uint256 k = keySeed % fixtures.length;
        ICFragFixtures f = fixtures[k];
        (bytes memory evidence, bytes memory signature, bytes memory hints, uint8 verdict) = f.get(
            fixtureSeed % f.count()
        );
        part %= 3;
        if (part == 0) {
            evidence[at % evidence.length] ^= bytes1(uint8(1 + ((at >> 16) % 255)));
        } else if (part == 1) {
            signature[at % 64] ^= bytes1(uint8(1 + ((at >> 16) % 255)));
        } else {
            // Half the time the recovery-id byte: a caller-chosen id must only reorder the contract's tries.
            uint256 i = at % 2 == 0 ? hints.length - 1 : (at >> 1) % hints.length;
            hints[i] ^= bytes1(uint8(1 + ((at >> 16) % 255)));
        }
        _evaluate(k, evidence, signature, hints, verdict, part != 2);
    }

    // ------------------------------------------------------------------------------------------------------
    // Views for the invariants
    // ------------------------------------------------------------------------------------------------------

    function touchedPeriodCount() external view returns (uint256) {
        return touchedPeriods.length;
    }

    function policyCount() external view returns (uint256) {
        return _policies.length;
    }

    function policy(uint256 i) external view returns (PolicyRecord memory) {
        return _policies[i];
    }

    function evaluatedCount() external view returns (uint256) {
        return evaluatedHashes.length;
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    // ------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------

    /// @dev What an evaluation is checked against, read before the call.
    struct Before {
        address staker;
        bytes32 hash;
        uint256 penalty;
        uint256 reward;
        uint256 offences;
        bool rebonded;
        uint256 reporterBalance;
        uint256[2] expected;
        uint256[2] settled;
    }

    function _evaluate(
        uint256 k,
        bytes memory evidence,
        bytes memory signature,
        bytes memory hints,
        uint8 verdict,
        bool forged
    ) private {
        Before memory b;
        b.staker = escrow.stakerFromOperator(operators[k]);
        b.hash = keccak256(evidence);
        (b.penalty, b.reward) = adjudicator.penaltyOf(b.staker);
        b.offences = adjudicator.offencesOf(b.staker);
        b.rebonded = b.staker != address(0) && escrow.operatorOf(b.staker) != operators[k];
        b.reporterBalance = token.balanceOf(REPORTER);
        // No penalty (an empty stake) means no call to the escrow, so nothing is settled either.
        if (b.penalty != 0) (b.expected, b.settled) = _expectedReward(b.staker);
        vm.recordLogs();
        vm.prank(REPORTER);
        try adjudicator.evaluateCFrag(evidence, signature, hints) returns (Verdict got) {
            if (forged) ghostForgeryAccepted++;
            if (uint8(got) != verdict) ghostVerdictMismatches++;
            _judged(b, got);
        } catch {
            vm.getRecordedLogs();
            calls["evaluateRefused"]++;
        }
    }

    function _judged(Before memory b, Verdict got) private {
        if (ghostEvaluations[b.hash] == 0) evaluatedHashes.push(b.hash);
        uint256 n = ++ghostEvaluations[b.hash];
        if (n > ghostMaxEvaluations) ghostMaxEvaluations = n;
        (uint256 minted, uint256 slashed, uint256 paid) = _readLogs(b.staker);
        if (got == Verdict.Correct) {
            if (slashed != 0 || minted != 0 || adjudicator.offencesOf(b.staker) != b.offences) ghostHonestSlashed++;
            calls["evaluateHonest"]++;
            return;
        }
        ghostCheats[b.staker]++;
        if (b.rebonded) ghostSlashAfterRebond++;
        if (slashed != b.penalty || paid != b.reward || token.balanceOf(REPORTER) - b.reporterBalance != b.reward) {
            ghostPenaltyMismatches++;
        }
        ghostPenalties[b.staker] += slashed;
        ghostReporterRewards += paid;
        _attribute(b.staker, minted, b.expected, b.settled);
        _syncWeights(b.staker);
        calls["evaluateCheat"]++;
    }

    /// @dev Sums this staker's Minted and Slashed events of the escrow in the recorded logs.
    function _readLogs(address staker) private returns (uint256 minted, uint256 slashed, uint256 reward) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory log = logs[i];
            if (log.emitter != address(escrow) || log.topics.length < 2) continue;
            if (address(uint160(uint256(log.topics[1]))) != staker) continue;
            if (log.topics[0] == MINTED) {
                minted += abi.decode(log.data, (uint256));
            } else if (log.topics[0] == SLASHED) {
                (uint256 penalty, uint256 paid) = abi.decode(log.data, (uint256, uint256));
                slashed += penalty;
                reward += paid;
            }
        }
    }

    function _afterSettle(address staker, uint256[2] memory expected, uint256[2] memory settled) private {
        (uint256 minted, , ) = _readLogs(staker);
        _attribute(staker, minted, expected, settled);
        _syncWeights(staker);
    }

    /// @dev Books an observed mint of `minted` against the periods that were due: the formula's share to the
    /// earlier period, the rest to the later one, so a reward rounded up shows in the per-period sums.
    function _attribute(address staker, uint256 minted, uint256[2] memory expected, uint256[2] memory settled) private {
        ghostMinted[staker] += minted;
        if (minted != expected[0] + expected[1]) ghostMintFormulaMismatches++;
        if (settled[0] != 0 && settled[1] != 0) {
            uint256 first = expected[0] < minted ? expected[0] : minted;
            ghostMintedFromPeriod[settled[0]] += first;
            ghostMintedFromPeriod[settled[1]] += minted - first;
        } else if (settled[0] != 0) {
            ghostMintedFromPeriod[settled[0]] += minted;
        } else if (settled[1] != 0) {
            ghostMintedFromPeriod[settled[1]] += minted;
        }
    }

    /// @dev The model: a staker weighs its current lock in each of its committed periods still open.
    function _syncWeights(address staker) private {
        (uint256 previous, uint256 last) = escrow.getCommittedPeriods(staker);
        (uint256 lockedValue, ) = escrow.getLock(staker);
        if (previous != 0) _weigh(staker, previous, lockedValue);
        if (last != 0) _weigh(staker, last, lockedValue);
    }

    function _weigh(address staker, uint256 period, uint256 lockedValue) private {
        if (!_touched[period]) {
            _touched[period] = true;
            touchedPeriods.push(period);
        }
        ghostWeight[staker][period] = lockedValue;
    }

    /// @dev Reward due now for the staker's fully past committed periods: lock × issuance / locked, rounded down.
    function _expectedReward(
        address staker
    ) private view returns (uint256[2] memory expected, uint256[2] memory settled) {
        if (staker == address(0)) return (expected, settled);
        (uint256 previous, uint256 last) = escrow.getCommittedPeriods(staker);
        (uint256 lockedValue, ) = escrow.getLock(staker);
        uint256 current = _currentPeriod();
        if (previous != 0 && previous < current) {
            settled[0] = previous;
            expected[0] = _share(lockedValue, previous);
        }
        if (last != 0 && last < current) {
            settled[1] = last;
            expected[1] = _share(lockedValue, last);
        }
    }

    /// @dev A commitment settles `previous` whenever set (it is always past then) and `last` once past.
    function _expectedCommitReward(
        address staker
    ) private view returns (uint256[2] memory expected, uint256[2] memory settled) {
        return _expectedReward(staker);
    }

    function _share(uint256 lockedValue, uint256 period) private view returns (uint256) {
        uint256 locked = escrow.lockedPerPeriod(period);
        if (lockedValue == 0 || locked == 0) return 0;
        // Both factors are below 2^96, so the product fits; rounds down like the reserve-favouring contract must.
        return (lockedValue * escrow.issuanceOf(period)) / locked;
    }

    function _eligibleNodes(uint256 mask, uint256 endPeriod) private view returns (address[] memory nodes) {
        address[] memory chosen = new address[](STAKERS);
        uint256 n;
        for (uint256 i; i < STAKERS; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            address s = stakers[i];
            (uint256 lockedValue, uint256 unlockPeriod) = escrow.getLock(s);
            if (escrow.operatorOf(s) == address(0) || lockedValue == 0 || unlockPeriod < endPeriod) continue;
            chosen[n++] = s;
        }
        nodes = new address[](n);
        for (uint256 i; i < n; ++i) nodes[i] = chosen[i];
    }

    function _record(PolicyRecord storage p) private view returns (IPolicyManager.Policy memory) {
        return
            IPolicyManager.Policy({
                owner: owners[p.ownerIndex],
                startPeriod: p.startPeriod,
                endPeriod: p.endPeriod,
                refundedThrough: p.refundedThrough,
                feeRate: p.feeRate,
                nodes: p.nodes
            });
    }

    function _afterRevoke(PolicyRecord storage p, uint256 refund_, uint256 received) private {
        uint256 newEnd = _currentPeriod() + 1;
        if (refund_ != received || refund_ != uint256(p.feeRate) * (p.endPeriod - newEnd) * p.nodes.length) {
            ghostRefundMismatches++;
        }
        p.refunded += refund_;
        p.endPeriod = uint32(newEnd);
    }

    function _revokeSignature(
        bytes16 id,
        address owner,
        uint256 ownerIndex,
        uint256 deadline
    ) private view returns (bytes memory) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("KMS PolicyManager"),
                keccak256("1"),
                block.chainid,
                address(policyManager)
            )
        );
        bytes32 structHash = keccak256(abi.encode(REVOKE_TYPEHASH, id, policyManager.nonces(owner), deadline));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            ownerKeys[ownerIndex],
            keccak256(abi.encodePacked("\x19\x01", domain, structHash))
        );
        return abi.encodePacked(r, s, v);
    }

    function _currentPeriod() private view returns (uint256) {
        return block.timestamp / periodDuration;
    }

    function _bound(uint256 x, uint256 min, uint256 max) private pure returns (uint256) {
        if (max < min) return min;
        return min + (x % (max - min + 1));
    }
}
