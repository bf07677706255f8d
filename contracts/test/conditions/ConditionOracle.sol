// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ConditionOracle
/// @notice Test double for access conditions on an arbitrary view call: views of every ABI type a return-value
/// test compares (a tuple of them, so a test can index into it) and one that reverts.
/// Never deployed outside tests.
contract ConditionOracle {
    /// @notice The view that always reverts was asked `key`.
    error AlwaysReverts(uint256 key);

    /// @notice A value set for `key` changed.
    event ValueSet(address indexed key, uint256 value);

    mapping(address key => uint256 value) private _values;

    /// @notice Sets the value of `key`. Emits a {ValueSet} event.
    /// @param key The account.
    /// @param value Its new value.
    function setValue(address key, uint256 value) external {
        _values[key] = value;
        emit ValueSet(key, value);
    }

    /// @notice The value of `key` (0 if never set).
    /// @param key The account.
    /// @return The value.
    function valueOf(address key) external view returns (uint256) {
        return _values[key];
    }

    /// @notice A tuple of one value of each type a test compares, computed from `seed`.
    /// @param seed Any number.
    /// @return amount `seed`.
    /// @return delta `-seed` (as int256; `seed` is at most type(int256).max).
    /// @return flag Whether `seed` is even.
    /// @return who The caller-independent address `address(uint160(seed))`.
    /// @return tag `keccak256(abi.encode(seed))`.
    function describe(
        uint256 seed
    ) external pure returns (uint256 amount, int256 delta, bool flag, address who, bytes32 tag) {
        return (seed, -int256(seed), seed % 2 == 0, address(uint160(seed)), keccak256(abi.encode(seed)));
    }

    /// @notice Always reverts with {AlwaysReverts}.
    /// @param key Any number, echoed in the error.
    /// @return Never returns.
    function broken(uint256 key) external pure returns (uint256) {
        revert AlwaysReverts(key);
    }
}
