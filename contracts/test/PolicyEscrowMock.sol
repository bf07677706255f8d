// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPolicyCommitHook} from "../interfaces/IPolicyCommitHook.sol";
import {IStakingEscrow} from "../interfaces/IStakingEscrow.sol";

/// @title PolicyEscrowMock
/// @notice Test stand-in for the staking escrow: exactly the views the PolicyManager reads (token, period length,
/// operator, lock, pending reward) with settable values, and the commitment hook the real escrow calls.
/// @dev Test-only. Lets PolicyManager tests set any lock or operator state directly and commit on a node's behalf.
contract PolicyEscrowMock {
    /// @notice A period was committed to twice.
    error MockAlreadyCommitted(address staker, uint256 period);

    /// @notice The mock was told to fail its staker views.
    error MockBroken();

    /// @notice As the real escrow's: `staker` committed to `period` and the hook credited `feesCredited` (wei).
    event CommitmentMade(address indexed staker, uint256 indexed period, uint256 lockedValue, uint256 feesCredited);

    struct Lock {
        uint256 lockedValue;
        uint256 unlockPeriod;
    }

    // solhint-disable immutable-vars-naming
    /// @notice The staked token.
    IERC20 public immutable token;
    /// @notice Period length in seconds.
    uint256 public immutable periodDuration;
    // solhint-enable immutable-vars-naming
    /// @notice The accountability window the manager adds to a policy's end: 0 here, so unit tests set locks
    /// against the end period itself (the real escrow's window is tested on the deployed system).
    // solhint-disable-next-line const-name-snakecase
    uint256 public constant minOperatorPeriods = 0;
    /// @notice The hook told of commitments.
    address public policyManager;
    /// @notice When set, {getLock} and {getStakerInfo} revert (to test the manager's handling of a failing escrow).
    bool public broken;

    mapping(address staker => address) private _operators;
    mapping(address staker => Lock) private _locks;
    mapping(address staker => uint256) private _pendingRewards;
    mapping(address staker => uint256) private _lastCommitted;

    /// @param token_ The staked token.
    /// @param periodDuration_ Period length in seconds.
    constructor(IERC20 token_, uint256 periodDuration_) {
        token = token_;
        periodDuration = periodDuration_;
    }

    /// @notice Sets the hook (no access control: test-only).
    /// @param policyManager_ The hook.
    function setPolicyManager(address policyManager_) external {
        policyManager = policyManager_;
    }

    /// @notice Makes {getLock} and {getStakerInfo} revert, or work again.
    /// @param broken_ Whether it reverts.
    function setBroken(bool broken_) external {
        broken = broken_;
    }

    /// @notice Bonds `operator` to `staker` (0 unbonds).
    /// @param staker The staker.
    /// @param operator The operator.
    function setOperator(address staker, address operator) external {
        _operators[staker] = operator;
    }

    /// @notice Sets `staker`'s lock.
    /// @param staker The staker.
    /// @param lockedValue Locked amount.
    /// @param unlockPeriod First period it no longer counts.
    function setLock(address staker, uint256 lockedValue, uint256 unlockPeriod) external {
        _locks[staker] = Lock(lockedValue, unlockPeriod);
    }

    /// @notice Sets `staker`'s pending mining reward.
    /// @param staker The staker.
    /// @param value The reward.
    function setPendingReward(address staker, uint256 value) external {
        _pendingRewards[staker] = value;
    }

    /// @notice Commits `staker` to the next period, as the real escrow's `commitToNextPeriod` does for its operator.
    /// @param staker The staker.
    function commitToNextPeriod(address staker) external {
        uint256 next = getCurrentPeriod() + 1;
        if (_lastCommitted[staker] >= next) revert MockAlreadyCommitted(staker, next);
        _lastCommitted[staker] = next;
        uint256 feesCredited = IPolicyCommitHook(policyManager).onCommit(staker, next);
        emit CommitmentMade(staker, next, _locks[staker].lockedValue, feesCredited);
    }

    /// @notice Calls the hook with any period (to test the manager's own guard).
    /// @param staker The staker.
    /// @param period The period.
    function rawCommit(address staker, uint256 period) external {
        uint256 feesCredited = IPolicyCommitHook(policyManager).onCommit(staker, period);
        emit CommitmentMade(staker, period, _locks[staker].lockedValue, feesCredited);
    }

    /// @notice The current period.
    /// @return `block.timestamp / periodDuration`.
    function getCurrentPeriod() public view returns (uint256) {
        return block.timestamp / periodDuration;
    }

    /// @notice The operator of `staker`.
    /// @param staker The staker.
    /// @return The operator, 0 if none.
    function operatorOf(address staker) external view returns (address) {
        return _operators[staker];
    }

    /// @notice The lock of `staker`.
    /// @param staker The staker.
    /// @return lockedValue Locked amount.
    /// @return unlockPeriod First period it no longer counts.
    function getLock(address staker) external view returns (uint256 lockedValue, uint256 unlockPeriod) {
        if (broken) revert MockBroken();
        Lock storage lock = _locks[staker];
        return (lock.lockedValue, lock.unlockPeriod);
    }

    /// @notice The real escrow's packed states (40 bytes per staker: operator ‖ lockedValue ‖ unlockPeriod ‖
    /// lastCommittedPeriod), reverting when broken or when a value does not fit its field (the manager then
    /// falls back to {operatorOf} and {getLock}).
    /// @param stakers The stakers to read.
    /// @return states 40 bytes per staker.
    function samplingStates(address[] calldata stakers) external view returns (bytes memory states) {
        if (broken) revert MockBroken();
        for (uint256 i; i < stakers.length; ++i) {
            Lock storage lock = _locks[stakers[i]];
            uint256 last = _lastCommitted[stakers[i]];
            if (lock.lockedValue > type(uint96).max || lock.unlockPeriod > type(uint32).max) revert MockBroken();
            if (last > type(uint32).max) revert MockBroken();
            states = abi.encodePacked(
                states,
                _operators[stakers[i]],
                uint96(lock.lockedValue),
                uint32(lock.unlockPeriod),
                uint32(last)
            );
        }
    }

    /// @notice The staker record, with the fields the policy manager reads (others 0).
    /// @param staker The staker.
    /// @return info The record.
    function getStakerInfo(address staker) external view returns (IStakingEscrow.StakerInfo memory info) {
        if (broken) revert MockBroken();
        Lock storage lock = _locks[staker];
        info.operator = _operators[staker];
        info.lockedValue = lock.lockedValue;
        info.unlockPeriod = lock.unlockPeriod;
    }

    /// @notice The pending mining reward of `staker`.
    /// @param staker The staker.
    /// @return The reward.
    function pendingReward(address staker) external view returns (uint256) {
        return _pendingRewards[staker];
    }
}
