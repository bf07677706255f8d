// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {KMSToken} from "../../../contracts/token/KMSToken.sol";
import {StakingEscrow} from "../../../contracts/staking/StakingEscrow.sol";
import {PolicyManager} from "../../../contracts/policy/PolicyManager.sol";
import {Adjudicator} from "../../../contracts/slashing/Adjudicator.sol";
import {IAdjudicator} from "../../../contracts/interfaces/IAdjudicator.sol";
import {IPolicyManager} from "../../../contracts/interfaces/IPolicyManager.sol";
import {Verdict} from "../../../contracts/lib/ReencryptionValidator.sol";
import {ICFragFixtures} from "../fixtures/CFragFixtures.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice The actor of the invariant suite: every fuzzed call is one bounded, mostly valid action on the deployed
/// system (stakers, policy owners, a reporter, the clock, and the cheater of issue 12 finding 1 with its spare
/// operator keys on throw-away stakers). It keeps ghost variables — an independent model of what the contracts
/// must hold — which the invariants in KMSInvariants.t.sol compare with the contracts' state.
/// @dev Handler functions never assert: a revert here would only count as a "revert" in forge's statistics. A
/// violation seen during a call is recorded in a ghost counter that an invariant then requires to be zero.
contract KMSHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 public constant STAKERS = 3;
    uint256 public constant OWNERS = 2;
    /// @dev Throw-away stakers of the squatting attack, each with one spare operator key.
    uint256 public constant SPARES = 2;
    uint256 public constant MAX_POLICIES = 10;
    /// @dev Policies last at most this many periods, so the fee invariants walk few (node, period) pairs.
    uint256 public constant MAX_POLICY_PERIODS = 8;

    bytes32 private constant MINTED = keccak256("Minted(address,uint256)");
    bytes32 private constant SLASHED = keccak256("Slashed(address,uint256,address,uint256,uint256)");
    bytes32 private constant REVOKE_TYPEHASH = keccak256("Revoke(bytes16 policyId,uint256 nonce,uint256 deadline)");
    bytes32 private constant PERMIT_TYPEHASH = keccak256(
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    );
    /// @dev Extensions stop at this many periods after a policy's start, so the fee invariants stay short walks.
    uint256 public constant MAX_POLICY_SPAN = 12;

    KMSToken public immutable token;
    StakingEscrow public immutable escrow;
    PolicyManager public immutable policyManager;
    Adjudicator public immutable adjudicator;
    uint256 public immutable periodDuration;

    address[STAKERS] public stakers; // strictly ascending, so any subset in order is a valid node list
    ICFragFixtures[] public fixtures; // two operator keys per staker: fixtures[2i], fixtures[2i + 1]
    address[] public operators;
    /// @dev The cheater's: a staker that locks the minimum, waits and withdraws, and its spare operator key.
    address[SPARES] public spareStakers;
    uint256[SPARES] internal _spareKeys;
    address[SPARES] public spareOperators;
    uint256[OWNERS] public ownerKeys;
    address[OWNERS] public owners;
    address public constant REPORTER = address(0xBEEF);
    address public constant RELAYER = address(0x7E1A);

    // ------------------------------------------------------------------------------------------------------
    // Ghost state
    // ------------------------------------------------------------------------------------------------------

    uint256 public ghostReserveFunded;
    /// @dev Reporter rewards paid out by claims (tokens that left the escrow).
    uint256 public ghostReporterRewards;
    /// @dev Reporter rewards of cheating verdicts (claimed or not), and penalties still held by the escrow.
    uint256 public ghostRewardsCredited;
    uint256 public ghostHeldPenalties;
    /// @dev Claims that paid or refused against the model: wrong amount, wrong payee, a refused due claim.
    uint256 public ghostClaimMismatches;
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
        address[] nodes; // the current holder of each slot
        // The slot moves, oldest first: slot `movedSlot[k]` went from `movedFrom[k]` to its next holder, which
        // serves from `movedAt[k]`. With `nodes`, they give each slot's holder at any period ({holderAt}).
        uint256[] movedSlot;
        address[] movedFrom;
        uint32[] movedAt;
    }
    PolicyRecord[] internal _policies;
    uint256 private _policyNonce;
    mapping(address => uint256) public ghostFeesWithdrawn;
    uint256 public ghostRefundMismatches;
    uint256 public ghostPolicyIdReuseAccepted;
    uint256 public ghostRevokeSignatureReplayAccepted;
    /// @dev Actions the model says must succeed (withdrawing unlocked stake, an owner's revocation, extension or
    /// slot move to an eligible node) that reverted.
    uint256 public ghostUnexpectedReverts;
    /// @dev Extensions or slot moves the model says must fail (a node not locked through the end, a duplicate) that
    /// went through.
    uint256 public ghostInvalidChangeAccepted;

    /// @dev Judgements made, as (attestation digest, staker charged), with the number of successful evaluations of
    /// each pair (keyed by keccak256(digest, staker)).
    bytes32[] internal _judgedDigests;
    address[] internal _judgedStakers;
    mapping(bytes32 => uint256) public ghostEvaluations;
    uint256 public ghostMaxEvaluations;
    /// @dev A judged cfrag submitted again that was not refused with EvidenceAlreadyEvaluated(digest, staker).
    uint256 public ghostReplayNotRefused;
    uint256 public ghostHonestSlashed;
    uint256 public ghostVerdictMismatches;
    uint256 public ghostPenaltyMismatches;
    uint256 public ghostForgeryAccepted;
    uint256 public ghostSlashAfterRebond; // cheats caught after the key was replaced: must still slash
    /// @dev Cheats attested by an operator confirmed for a staker with a stake, not yet judged against that staker,
    /// that did not slash it exactly once (first report refused, wrong verdict or penalty, or a replay not
    /// refused). The last failure: 1 report refused (`ghostLastUnslashableError` = its error selector), 2 judged
    /// Correct or another verdict, 3 offence or penalty wrong, 4 replay judged, 5 replay refused with another error.
    uint256 public ghostUnslashableCheats;
    uint256 public ghostLastUnslashableFailure;
    bytes32 public ghostLastUnslashableError;

    /// @dev Node signatures by (private key, attestation digest), made by {presign}.
    mapping(bytes32 => bytes) private _signatures;

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
        for (uint256 i; i < SPARES; ++i) {
            spareStakers[i] = address(uint160(0x6000 + i));
            _spareKeys[i] = 0x5BA4E0 + i;
            spareOperators[i] = vm.addr(_spareKeys[i]);
        }
    }

    /// @notice Hands out the handler's tokens: 5M KMS per staker, 1M per policy owner, 100k per throw-away staker.
    function fund() external {
        for (uint256 i; i < STAKERS; ++i) token.transfer(stakers[i], 5_000_000e18);
        for (uint256 i; i < OWNERS; ++i) token.transfer(owners[i], 1_000_000e18);
        for (uint256 i; i < SPARES; ++i) token.transfer(spareStakers[i], 100_000e18);
    }

    /// @notice Signs, in this Adjudicator's EIP-712 domain, every fixture with its own key and every cheat with the
    /// keys that may squat on it (the spare keys and the other fixture keys). forge's `vm.sign` takes about half a
    /// millisecond, far more than a whole action otherwise, so the test's setUp signs once for all its runs.
    function presign() external {
        for (uint256 k; k < fixtures.length; ++k) {
            ICFragFixtures f = fixtures[k];
            uint256 n = f.count();
            for (uint256 i; i < n; ++i) {
                (bytes memory evidence, , ) = f.get(i);
                bytes32 digest = adjudicator.attestationDigest(evidence);
                _presign(f.operatorKey(), digest);
                if (i < 2) continue; // honest cfrags: only their own key signs them
                for (uint256 j; j < SPARES; ++j) _presign(_spareKeys[j], digest);
                for (uint256 o; o < fixtures.length; ++o) if (o != k) _presign(fixtures[o].operatorKey(), digest);
            }
        }
    }

    function _presign(uint256 key, bytes32 digest) private {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        _signatures[keccak256(abi.encode(key, digest))] = abi.encodePacked(r, s, v);
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

    /// @notice Proposes one of the staker's two fixture keys (or another node's key or a spare key, or unbonds),
    /// and the key confirms three times in four (a spare key never: a real node cannot capture it). Once confirmed,
    /// the key's signatures recover to an operator of this staker for ever, even after it re-bonds to dodge a slash;
    /// an unconfirmed proposal counts for nothing and blocks nothing. Half the time the staker first waits out
    /// what stops a re-bond (the re-bond delay, a commitment to the next period), as a cheater hopping keys would.
    function bondOperator(uint256 stakerSeed, uint256 keySeed) external {
        uint256 s = stakerSeed % STAKERS;
        if ((keySeed >> 5) % 2 == 0) _waitForRebond(stakers[s]);
        uint256 choice = keySeed % 8; // 0-2: first key, 3-5: second key, 6: someone else's key, 7: unbond
        address operator;
        if (choice < 6) {
            operator = operators[2 * s + (choice < 3 ? 0 : 1)];
        } else if (choice == 6) {
            uint256 other = (keySeed >> 8) % (operators.length + SPARES);
            operator = other < operators.length ? operators[other] : spareOperators[other - operators.length];
        }
        vm.prank(stakers[s]);
        try escrow.bondOperator(operator) {
            calls["bondOperator"]++;
        } catch {
            calls["bondRefused"]++;
            return;
        }
        if (operator == address(0)) return;
        if ((keySeed >> 3) % 4 == 3) {
            calls["bondLeftUnconfirmed"]++;
            return;
        }
        _confirm(s);
    }

    /// @dev Warps to the first period in which `staker` may change its operator (at most minOperatorPeriods on).
    function _waitForRebond(address staker) private {
        StakingEscrow.StakerInfo memory info = escrow.getStakerInfo(staker);
        uint256 current = _currentPeriod();
        uint256 target = current;
        if (info.operatorConfirmed && info.operatorBondedPeriod + escrow.minOperatorPeriods() > target) {
            target = info.operatorBondedPeriod + escrow.minOperatorPeriods();
        }
        if (info.lastCommittedPeriod > target) target = info.lastCommittedPeriod;
        if (target == current) return;
        vm.warp(target * periodDuration + 1);
        calls["waitForRebond"]++;
    }

    /// @notice The operator key a staker proposed confirms it (late), unless it is a spare key.
    function confirmOperator(uint256 stakerSeed) external {
        _confirm(stakerSeed % STAKERS);
    }

    function _confirm(uint256 s) private {
        address operator = escrow.pendingOperatorOf(stakers[s]);
        if (operator == address(0) || _isSpareOperator(operator)) return;
        vm.prank(operator);
        try escrow.confirmOperator(stakers[s]) {
            calls["confirmOperator"]++;
        } catch {}
    }

    /// @notice A throw-away staker of issue 12 finding 1: with no stake, it locks the minimum for the minimum time
    /// and bonds its spare operator key (the key confirms); while locked it waits the lock out (half the time);
    /// once unlocked it withdraws everything. The key stays confirmed for it, with nothing left to slash.
    function spareCycle(uint256 spareSeed, uint256 waitSeed) external {
        uint256 j = spareSeed % SPARES;
        address t = spareStakers[j];
        uint256 stake = escrow.stakeOf(t);
        if (stake == 0) {
            _spareLock(j);
            return;
        }
        (uint256 locked, uint256 unlockPeriod) = escrow.getLock(t);
        if (locked != 0 && _currentPeriod() < unlockPeriod) {
            if (waitSeed % 2 == 0) {
                vm.warp(unlockPeriod * periodDuration + 1 + ((waitSeed >> 1) % periodDuration));
                calls["spareWait"]++;
            }
            return;
        }
        uint256 before = token.balanceOf(t);
        vm.prank(t);
        try escrow.withdraw(stake) {
            ghostWithdrawn[t] += token.balanceOf(t) - before;
            calls["spareWithdraw"]++;
        } catch {
            ghostUnexpectedReverts++;
        }
    }

    function _spareLock(uint256 j) private {
        address t = spareStakers[j];
        address operator = spareOperators[j];
        uint256 value = escrow.minStake();
        if (token.balanceOf(t) < value) return;
        vm.startPrank(t);
        token.approve(address(escrow), value);
        try escrow.depositAndLock(value, escrow.minLockPeriods()) {
            vm.stopPrank();
            ghostDeposited[t] += value;
            calls["spareLock"]++;
        } catch {
            vm.stopPrank();
            ghostUnexpectedReverts++;
            return;
        }
        if (escrow.stakerFromOperator(operator) != address(0)) return; // confirmed in an earlier cycle
        // Real stakers may have proposed this key (unconfirmed): that must not keep its own staker from bonding it.
        vm.prank(t);
        try escrow.bondOperator(operator) {} catch {
            ghostUnexpectedReverts++;
            return;
        }
        vm.prank(operator);
        try escrow.confirmOperator(t) {
            calls["spareBond"]++;
        } catch {
            ghostUnexpectedReverts++;
        }
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

    /// @notice The owner extends a live policy by 1 or more periods, up to MAX_POLICY_SPAN after its start, with an
    /// approval or (odd `permitSeed`) an EIP-2612 permit. It must succeed exactly when every node is still eligible
    /// through the new end, and take feeRate × added periods × nodes.
    function extendPolicy(uint256 policySeed, uint256 periods, uint256 permitSeed) external {
        if (_policies.length == 0) return;
        PolicyRecord storage p = _policies[policySeed % _policies.length];
        if (p.endPeriod <= _currentPeriod() + 1) return;
        uint256 span = p.startPeriod + MAX_POLICY_SPAN;
        if (p.endPeriod >= span) return;
        uint256 newEnd = p.endPeriod + _bound(periods, 1, span - p.endPeriod);
        address owner = owners[p.ownerIndex];
        uint256 added = uint256(p.feeRate) * (newEnd - p.endPeriod) * p.nodes.length;
        if (token.balanceOf(owner) < added) return;
        bool eligible = true;
        for (uint256 i; i < p.nodes.length; ++i) eligible = eligible && _eligible(p.nodes[i], newEnd);
        uint256 before = token.balanceOf(owner);
        bool ok;
        uint256 paid;
        if (permitSeed % 2 == 1) {
            IPolicyManager.PermitSignature memory permit = _permit(p.ownerIndex, added);
            vm.prank(owner);
            try policyManager.extendPolicyWithPermit(p.id, _record(p), newEnd, permit) returns (uint256 got) {
                (ok, paid) = (true, got);
            } catch {}
        } else {
            vm.startPrank(owner);
            token.approve(address(policyManager), added);
            try policyManager.extendPolicy(p.id, _record(p), newEnd) returns (uint256 got) {
                (ok, paid) = (true, got);
            } catch {}
            vm.stopPrank();
        }
        if (!ok) {
            if (eligible) ghostUnexpectedReverts++;
            return;
        }
        if (!eligible) ghostInvalidChangeAccepted++;
        if (paid != added || before - token.balanceOf(owner) != added) ghostRefundMismatches++;
        p.deposit += paid;
        p.endPeriod = uint32(newEnd);
        calls[permitSeed % 2 == 1 ? bytes32("extendPolicyWithPermit") : bytes32("extendPolicy")]++;
    }

    /// @notice The owner moves a slot of a live policy to a staker. It must succeed exactly when that staker is not
    /// in the policy and is eligible through the end, and must refund the missed periods through the next period.
    function moveSlot(uint256 policySeed, uint256 slotSeed, uint256 nodeSeed) external {
        if (_policies.length == 0) return;
        PolicyRecord storage p = _policies[policySeed % _policies.length];
        uint256 from = _currentPeriod() + 1;
        if (p.endPeriod <= from) return;
        uint256 index = slotSeed % p.nodes.length;
        address node = stakers[nodeSeed % STAKERS];
        bool eligible = _eligible(node, p.endPeriod);
        uint256 missed;
        for (uint256 i; i < p.nodes.length; ++i) {
            if (p.nodes[i] == node) eligible = false;
            for (uint256 period = p.refundedThrough; period < from; ++period) {
                if (!policyManager.hasCommitted(p.nodes[i], period)) missed++;
            }
        }
        address owner = owners[p.ownerIndex];
        uint256 before = token.balanceOf(owner);
        vm.prank(owner);
        try policyManager.moveSlot(p.id, _record(p), index, node) returns (uint256 refunded) {
            if (!eligible) ghostInvalidChangeAccepted++;
            if (refunded != missed * p.feeRate || token.balanceOf(owner) - before != refunded) {
                ghostRefundMismatches++;
            }
            p.refunded += refunded;
            p.refundedThrough = uint32(from);
            p.movedSlot.push(index);
            p.movedFrom.push(p.nodes[index]);
            p.movedAt.push(uint32(from));
            p.nodes[index] = node;
            calls["moveSlot"]++;
        } catch {
            if (eligible) ghostUnexpectedReverts++;
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

    /// @notice The reporter submits fixture evidence signed (now, in this Adjudicator's EIP-712 domain) by one of
    /// the six operator keys: honest or cheating, confirmed now, confirmed before (re-bonded away), only proposed or
    /// never bonded. A cheat of a key confirmed for a staker with a stake must slash it once; a second submission
    /// must be refused.
    function evaluate(uint256 keySeed, uint256 fixtureSeed) external {
        uint256 k = keySeed % fixtures.length;
        ICFragFixtures f = fixtures[k];
        (bytes memory evidence, bytes memory hints, uint8 verdict) = f.get(fixtureSeed % f.count());
        _evaluate(Submission(operators[k], REPORTER, evidence, _sign(f.operatorKey(), evidence), hints, verdict, 0));
    }

    /// @notice Submits fixture evidence with one byte changed in the evidence (after signing), the signature or the
    /// hints. Changed evidence or signature must never slash the key's staker; changed hints may change gas only.
    function evaluateTampered(uint256 keySeed, uint256 fixtureSeed, uint256 part, uint256 at) external {
        uint256 k = keySeed % fixtures.length;
        ICFragFixtures f = fixtures[k];
        (bytes memory evidence, bytes memory hints, uint8 verdict) = f.get(fixtureSeed % f.count());
        bytes memory signature = _sign(f.operatorKey(), evidence);
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
        _evaluate(Submission(operators[k], REPORTER, evidence, signature, hints, verdict, part == 2 ? 2 : 1));
    }

    /// @notice Issue 12 finding 1, the attack: a real node's cheat is signed with a spare key (confirmed for a
    /// throw-away staker, often one with nothing left) or, one time in four, with another node's key, and submitted
    /// first by that key's holder. Then Bob reports the real node's own attestation of the same bytes: as an action
    /// half the time, else in a probe that is rolled back (so the squat stays for later actions). Either way, if the
    /// real key is confirmed for a staker with a stake that was not yet judged for this cfrag, it must be slashed.
    function squat(uint256 squatterSeed, uint256 keySeed, uint256 fixtureSeed, uint256 modeSeed) external {
        uint256 k = keySeed % fixtures.length;
        ICFragFixtures f = fixtures[k];
        (bytes memory evidence, bytes memory hints, uint8 verdict) = f.get(2 + (fixtureSeed % (f.count() - 2)));
        (address squatter, uint256 squatterKey) = _squatter(squatterSeed, k);
        _evaluate(Submission(squatter, squatter, evidence, _sign(squatterKey, evidence), hints, verdict, 0));
        calls["squat"]++;
        Submission memory report = Submission(
            operators[k],
            REPORTER,
            evidence,
            _sign(f.operatorKey(), evidence),
            hints,
            verdict,
            0
        );
        if (modeSeed % 2 == 0) {
            _evaluate(report);
            return;
        }
        address staker = escrow.stakerFromOperator(report.operator);
        bytes32 digest = adjudicator.attestationDigest(evidence);
        if (!_slashable(staker, _judgementKey(digest, staker))) return;
        (uint256 failure, bytes32 why) = _probe(report, staker, digest);
        if (failure != 0) _unslashable(failure, why);
        calls["squatReportProbed"]++;
    }

    /// @notice Anyone (a staker, the reporter or the relayer) settles one judgement: the recorded reporter is paid
    /// penalty / rewardCoefficient, the rest returns to the reserve, and the claim is gone; a judgement with nothing
    /// held (a zero penalty, or claimed) is refused with NothingToClaim.
    function claimReward(uint256 judgedSeed, uint256 callerSeed) external {
        uint256 count = _judgedDigests.length;
        if (count == 0) return;
        uint256 i = judgedSeed % count;
        bytes32 digest = _judgedDigests[i];
        address staker = _judgedStakers[i];
        (address reporter, uint256 penalty, uint256 reward) = adjudicator.judgementOf(digest, staker);
        uint256 c = callerSeed % (STAKERS + 2);
        address caller = c < STAKERS ? stakers[c] : (c == STAKERS ? REPORTER : RELAYER);
        uint256 balance = token.balanceOf(reporter);
        uint256 reserve = escrow.unallocatedReserve();
        uint256 held = escrow.heldPenalties();
        vm.prank(caller);
        try adjudicator.claimReward(digest, staker) returns (uint256 paid) {
            (address after_, uint256 left, ) = adjudicator.judgementOf(digest, staker);
            if (
                penalty == 0 ||
                paid != reward ||
                reward != penalty / adjudicator.rewardCoefficient() ||
                token.balanceOf(reporter) != balance + reward ||
                escrow.unallocatedReserve() != reserve + penalty - reward ||
                escrow.heldPenalties() != held - penalty ||
                after_ != reporter ||
                left != 0
            ) ghostClaimMismatches++;
            ghostReporterRewards += reward;
            ghostHeldPenalties -= penalty;
            calls["claimReward"]++;
        } catch (bytes memory err) {
            bytes memory expected = abi.encodeWithSelector(IAdjudicator.NothingToClaim.selector, digest, staker);
            if (penalty != 0 || keccak256(err) != keccak256(expected)) ghostClaimMismatches++;
            calls["claimRefused"]++;
        }
    }

    function _squatter(uint256 seed, uint256 k) private view returns (address operator, uint256 key) {
        if (seed % 4 != 0) {
            uint256 j = (seed >> 2) % SPARES;
            return (spareOperators[j], _spareKeys[j]);
        }
        uint256 other = (k + 1 + ((seed >> 2) % (fixtures.length - 1))) % fixtures.length;
        return (operators[other], fixtures[other].operatorKey());
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

    function judgedCount() external view returns (uint256) {
        return _judgedDigests.length;
    }

    /// @notice Judgement `i`: the attestation digest and the staker it was charged to.
    function judged(uint256 i) external view returns (bytes32 digest, address staker) {
        return (_judgedDigests[i], _judgedStakers[i]);
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    /// @notice Every staker the handler moves tokens for: the real ones, then the throw-away ones.
    function stakerCount() external pure returns (uint256) {
        return STAKERS + SPARES;
    }

    function stakerAt(uint256 i) external view returns (address) {
        return i < STAKERS ? stakers[i] : spareStakers[i - STAKERS];
    }

    // ------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------

    /// @dev One evaluateCFrag call and what the model expects of it.
    struct Submission {
        address operator; // the key the signature was made with (before any tampering)
        address reporter; // the caller
        bytes evidence;
        bytes signature;
        bytes hints;
        uint8 verdict; // the fixture's
        uint8 tamper; // 0 none, 1 evidence or signature (must not be judged), 2 hints (may only change gas)
    }

    /// @dev What an evaluation is checked against, read before the call.
    struct Before {
        address staker;
        bytes32 digest;
        bytes32 key;
        bool mustSlash;
        uint256 penalty;
        uint256 reward;
        uint256 offences;
        bool rebonded;
        uint256 reporterBalance;
        uint256 held;
        uint256[2] expected;
        uint256[2] settled;
    }

    /// @dev The outcome of {probe}: always its revert.
    error ProbeOutcome(uint256 failure, bytes32 why);
    error OnlySelf();

    function _evaluate(Submission memory sub) private {
        Before memory b;
        b.staker = escrow.stakerFromOperator(sub.operator);
        b.digest = adjudicator.attestationDigest(sub.evidence);
        b.key = _judgementKey(b.digest, b.staker);
        // The new invariant's premise: an untampered cheat of a key confirmed for a staker with a stake, not yet
        // judged against that staker, must slash it.
        b.mustSlash = sub.tamper == 0 && sub.verdict != uint8(Verdict.Correct) && _slashable(b.staker, b.key);
        (b.penalty, b.reward) = adjudicator.penaltyOf(b.staker);
        b.offences = adjudicator.offencesOf(b.staker);
        b.rebonded = b.staker != address(0) && escrow.operatorOf(b.staker) != sub.operator;
        b.reporterBalance = token.balanceOf(sub.reporter);
        b.held = escrow.heldPenalties();
        // No penalty (an empty stake) means no call to the escrow, so nothing is settled either.
        if (b.penalty != 0) (b.expected, b.settled) = _expectedReward(b.staker);
        vm.recordLogs();
        vm.prank(sub.reporter);
        try adjudicator.evaluateCFrag(sub.evidence, sub.signature, sub.hints) returns (Verdict got) {
            if (sub.tamper == 1) ghostForgeryAccepted++;
            if (uint8(got) != sub.verdict) ghostVerdictMismatches++;
            _judged(b, got, sub.reporter);
            // A cheat that had to slash: the same report again must be refused as judged, for this digest and
            // this staker (other replays come from the actions' random re-submissions).
            if (b.mustSlash) _requireReplayRefused(sub, b);
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            calls["evaluateRefused"]++;
            if (b.mustSlash) _unslashable(1, bytes32(bytes4(err)));
        }
    }

    function _judged(Before memory b, Verdict got, address reporter) private {
        (uint256 minted, uint256 slashed, uint256 paid) = _readLogs(b.staker);
        if (got == Verdict.Correct) {
            // Not recorded (judging it again changes nothing), so it may come again: not booked as a judgement.
            if (slashed != 0 || minted != 0 || adjudicator.offencesOf(b.staker) != b.offences) ghostHonestSlashed++;
            if (adjudicator.isEvaluated(b.digest, b.staker)) ghostHonestSlashed++;
            if (b.mustSlash) _unslashable(2, bytes32(0));
            calls["evaluateHonest"]++;
            return;
        }
        if (ghostEvaluations[b.key] == 0) {
            _judgedDigests.push(b.digest);
            _judgedStakers.push(b.staker);
        }
        uint256 n = ++ghostEvaluations[b.key];
        if (n > ghostMaxEvaluations) ghostMaxEvaluations = n;
        ghostCheats[b.staker]++;
        if (b.rebonded) ghostSlashAfterRebond++;
        // Pull payment: the verdict moves no tokens; the penalty is held and the reporter's claim recorded.
        (address recorded, uint256 claimable, uint256 reward) = adjudicator.judgementOf(b.digest, b.staker);
        if (
            slashed != b.penalty ||
            paid != b.reward ||
            token.balanceOf(reporter) != b.reporterBalance ||
            escrow.heldPenalties() != b.held + b.penalty ||
            recorded != reporter ||
            claimable != b.penalty ||
            reward != b.reward
        ) {
            ghostPenaltyMismatches++;
        }
        if (b.mustSlash) {
            if (slashed != b.penalty || adjudicator.offencesOf(b.staker) != b.offences + 1) _unslashable(3, 0);
            calls["cheatSlashChecked"]++;
        }
        ghostPenalties[b.staker] += slashed;
        ghostRewardsCredited += paid;
        ghostHeldPenalties += slashed;
        _attribute(b.staker, minted, b.expected, b.settled);
        _syncWeights(b.staker);
        calls["evaluateCheat"]++;
    }

    /// @dev Whether a cheat charged to `staker` (judgement key `key`) must slash it now: a staker (the key was
    /// confirmed for it), with a stake, and this cfrag never judged against it.
    function _slashable(address staker, bytes32 key) private view returns (bool) {
        return staker != address(0) && escrow.stakeOf(staker) != 0 && ghostEvaluations[key] == 0;
    }

    function _unslashable(uint256 failure, bytes32 why) private {
        ghostUnslashableCheats++;
        ghostLastUnslashableFailure = failure;
        ghostLastUnslashableError = why;
    }

    /// @dev Submits `sub` again, expecting EvidenceAlreadyEvaluated(digest, staker); a replay that is judged is booked
    /// as a second evaluation (so invariant_noEvidenceEvaluatedTwice fails too).
    function _requireReplayRefused(Submission memory sub, Before memory b) private {
        vm.prank(sub.reporter);
        try adjudicator.evaluateCFrag(sub.evidence, sub.signature, sub.hints) {
            ghostReplayNotRefused++;
            uint256 n = ++ghostEvaluations[b.key];
            if (n > ghostMaxEvaluations) ghostMaxEvaluations = n;
            _unslashable(4, 0);
        } catch (bytes memory err) {
            bytes memory expected = abi.encodeWithSelector(
                IAdjudicator.EvidenceAlreadyEvaluated.selector,
                b.digest,
                b.staker
            );
            if (keccak256(err) != keccak256(expected)) {
                ghostReplayNotRefused++;
                _unslashable(5, bytes32(bytes4(err)));
            }
        }
    }

    /// @dev Runs {probe} and returns its verdict; nothing it did stays.
    function _probe(
        Submission memory sub,
        address staker,
        bytes32 digest
    ) private returns (uint256 failure, bytes32 why) {
        try this.probe(sub, staker, digest) {
            failure = 6; // unreachable: probe always reverts
        } catch (bytes memory err) {
            if (err.length != 68 || bytes4(err) != ProbeOutcome.selector) return (7, bytes32(bytes4(err)));
            assembly ("memory-safe") {
                failure := mload(add(err, 36))
                why := mload(add(err, 68))
            }
        }
    }

    /// @notice Only for the handler itself, and always reverts with {ProbeOutcome}, so it changes nothing: submits
    /// `sub` and requires a cheat verdict charged to `staker` (its offences + 1, its penalty as `penaltyOf` said);
    /// then submits it again and requires EvidenceAlreadyEvaluated(digest, staker).
    function probe(Submission calldata sub, address staker, bytes32 digest) external {
        if (msg.sender != address(this)) revert OnlySelf();
        uint256 failure;
        bytes32 why;
        (uint256 penalty, ) = adjudicator.penaltyOf(staker);
        uint256 offences = adjudicator.offencesOf(staker);
        vm.recordLogs();
        vm.prank(sub.reporter);
        try adjudicator.evaluateCFrag(sub.evidence, sub.signature, sub.hints) returns (Verdict got) {
            (, uint256 slashed, ) = _readLogs(staker);
            if (got == Verdict.Correct || uint8(got) != sub.verdict) failure = 2;
            else if (slashed != penalty || adjudicator.offencesOf(staker) != offences + 1) failure = 3;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            (failure, why) = (1, bytes32(bytes4(err)));
        }
        if (failure == 0) {
            vm.recordLogs();
            vm.prank(sub.reporter);
            try adjudicator.evaluateCFrag(sub.evidence, sub.signature, sub.hints) {
                failure = 4;
            } catch (bytes memory err) {
                bytes memory expected = abi.encodeWithSelector(
                    IAdjudicator.EvidenceAlreadyEvaluated.selector,
                    digest,
                    staker
                );
                if (keccak256(err) != keccak256(expected)) (failure, why) = (5, bytes32(bytes4(err)));
            }
            vm.getRecordedLogs();
        }
        revert ProbeOutcome(failure, why);
    }

    /// @dev The node signature of `evidence` by `key`: `vm.sign(key, adjudicator.attestationDigest(evidence))`,
    /// r ‖ s ‖ v, as {presign} made it (signed here if it did not).
    function _sign(uint256 key, bytes memory evidence) private view returns (bytes memory signature) {
        bytes32 digest = adjudicator.attestationDigest(evidence);
        signature = _signatures[keccak256(abi.encode(key, digest))];
        if (signature.length != 0) return signature;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The model's key of one judgement: the attested cfrag and the staker charged.
    function _judgementKey(bytes32 digest, address staker) private pure returns (bytes32) {
        return keccak256(abi.encode(digest, staker));
    }

    function _isSpareOperator(address operator) private view returns (bool) {
        for (uint256 i; i < SPARES; ++i) if (spareOperators[i] == operator) return true;
        return false;
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
                (uint256 penalty, uint256 paid, ) = abi.decode(log.data, (uint256, uint256, uint256));
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
            if (_eligible(stakers[i], endPeriod)) chosen[n++] = stakers[i];
        }
        nodes = new address[](n);
        for (uint256 i; i < n; ++i) nodes[i] = chosen[i];
    }

    /// @dev Whether `s` may serve a policy until `endPeriod`: confirmed, and locked through the policy plus the
    /// escrow's accountability window.
    function _eligible(address s, uint256 endPeriod) private view returns (bool) {
        (uint256 lockedValue, uint256 unlockPeriod) = escrow.getLock(s);
        return
            escrow.operatorOf(s) != address(0) &&
            lockedValue != 0 &&
            unlockPeriod >= endPeriod + escrow.minOperatorPeriods();
    }

    /// @dev Owner `ownerIndex`'s EIP-2612 permit of `value` for the PolicyManager, valid for an hour.
    function _permit(uint256 ownerIndex, uint256 value) private view returns (IPolicyManager.PermitSignature memory) {
        address owner = owners[ownerIndex];
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, owner, address(policyManager), value, token.nonces(owner), deadline)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            ownerKeys[ownerIndex],
            keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash))
        );
        return IPolicyManager.PermitSignature({value: value, deadline: deadline, v: v, r: r, s: s});
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
