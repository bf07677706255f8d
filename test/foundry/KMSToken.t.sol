// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {KMSToken} from "../../contracts/token/KMSToken.sol";
import {TestBase} from "./utils/Vm.sol";

/// @notice Fuzz tests of the fixed-supply token: no sequence of transfers changes the supply.
contract KMSTokenFuzzTest is TestBase {
    KMSToken internal token;

    function setUp() public {
        token = new KMSToken(address(this), 1e27);
    }

    function testFuzz_transferKeepsSupply(address to, uint256 amount) public {
        vm.assume(to != address(0));
        amount = amount % (1e27 + 1);
        token.transfer(to, amount);
        assertEq(token.totalSupply(), 1e27, "supply");
        if (to != address(this)) assertEq(token.balanceOf(to), amount, "receiver balance");
    }
}
