// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Secp256k1
/// @notice Checks of secp256k1 facts supplied by a caller, at a fraction of the cost of computing them: a point's
/// y coordinate (decompression with a supplied y), a scalar product `q = k·p` (one `ecrecover`, the "ecrecover
/// trick") and a sum `c = a + b` (a supplied slope, no modular inversion).
/// @dev Every check either proves the supplied fact or reverts with an error naming the false hint; none returns
/// "false" for a hint that lies. Callers build verdicts on the facts only, so a hint can change gas but never an
/// answer. Points are affine with coordinates in [0, P); the point at infinity is never an input.
library Secp256k1 {
    /// @dev Field prime.
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    /// @dev Group order.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    /// @dev Largest low-S signature value, floor(N / 2).
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @dev (P + 1) / 4: since P ≡ 3 mod 4, a^((P+1)/4) is a square root of a whenever one exists.
    uint256 private constant SQRT_EXPONENT = 0x3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFBFFFFF0C;

    /// @notice No point of the curve has this x coordinate (x³ + 7 is not a square mod P).
    error PointNotOnCurve(uint256 x);
    /// @notice The supplied y is not the coordinate of the point with this x and parity.
    error WrongYHint(uint256 x, bool odd, uint256 y);
    /// @notice The supplied point `(qx, qy)` is not `k` times the point with x coordinate `px`.
    error WrongProductHint(uint256 px, uint256 k, uint256 qx, uint256 qy);
    /// @notice Neither the base nor the product has an x coordinate below N, so `ecrecover` can check neither
    /// direction. Reaching this needs about 2^128 work; it exists so that nothing is ever judged unchecked.
    error ProductUncheckable(uint256 px, uint256 qx);
    /// @notice The supplied slope is not the slope of the line through the two addends.
    error WrongSlopeHint(uint256 slope);
    /// @notice The modular-exponentiation precompile failed.
    error ModExpFailed();

    /// @notice Whether `(x, y)` is a point of the curve with canonical coordinates.
    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        return x < P && y < P && mulmod(y, y, P) == addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
    }

    /// @notice Proves that `y` is the y coordinate of the point `(x, odd)`, x already below P.
    /// @dev Three multiplications on the happy path; the square root is only computed to say which input was
    /// wrong, the point or the hint.
    function requireY(uint256 x, bool odd, uint256 y) internal view {
        bool ok;
        assembly ("memory-safe") {
            ok := and(
                and(lt(y, P), eq(and(y, 1), odd)),
                eq(mulmod(y, y, P), addmod(mulmod(mulmod(x, x, P), x, P), 7, P))
            )
        }
        if (ok) return;
        liftX(x, odd); // reverts with PointNotOnCurve when that is the reason
        revert WrongYHint(x, odd, y);
    }

    /// @notice Decompresses `(x, odd)` on-chain (about 1,500 gas): only for rare paths.
    function liftX(uint256 x, bool odd) internal view returns (uint256 y) {
        uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
        y = modExp(rhs, SQRT_EXPONENT, P);
        if (mulmod(y, y, P) != rhs) revert PointNotOnCurve(x);
        // y != 0 (a point of order 2 cannot exist on a curve of prime order), so P - y is the other root.
        if (((y & 1) == 1) != odd) y = P - y;
    }

    /// @notice The Ethereum address of the point `(x, y)`: the low 160 bits of keccak256(x ‖ y).
    function pointAddress(uint256 x, uint256 y) internal pure returns (address a) {
        assembly ("memory-safe") {
            mstore(0x00, x)
            mstore(0x20, y)
            a := and(keccak256(0x00, 0x40), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @notice Proves `(qx, qy) = k·(px, odd)` for a hinted q, or reverts naming the false input.
    function requireProduct(uint256 px, bool odd, uint256 k, uint256 qx, uint256 qy) internal view {
        if (!isProduct(px, odd, k, qx, qy)) revert WrongProductHint(px, k, qx, qy);
    }

    /// @notice Whether `(qx, qy) = k·(px, odd)`, for k in [1, N) and a canonical px. Reverts with {PointNotOnCurve}
    /// if px is not on the curve.
    /// @dev The ecrecover trick: `ecrecover(0, v, r, s)` returns the address of `r⁻¹·s·R`, R being the point with
    /// x coordinate r and y parity v − 27. With r = px and s = k·px mod N that is the address of k·p. The
    /// precompile returns 0 only when r or s is outside [1, N) or R does not exist; k and px are in [1, N), N is
    /// prime, so s != 0 and a 0 here means that px is not on the curve. An x coordinate in [N, P) (probability
    /// 2^-128 for an honest point, but a cheater can pick such an e1 on purpose) cannot be fed to ecrecover: then
    /// the product is checked the other way round, p = k⁻¹·q, with q as R.
    /// Comparing addresses compares 160 bits: finding q ≠ k·p with the same address is a 2^80 birthday search
    /// for a cheater who controls both sides, the security level of every use of this trick.
    function isProduct(uint256 px, bool odd, uint256 k, uint256 qx, uint256 qy) internal view returns (bool) {
        if (px != 0 && px < N) {
            address a;
            bool same;
            assembly ("memory-safe") {
                // ecrecover(0, v, px, k·px) in scratch memory at the free pointer, left unclaimed.
                let m := mload(0x40)
                mstore(m, 0)
                mstore(add(m, 0x20), add(27, odd))
                mstore(add(m, 0x40), px)
                mstore(add(m, 0x60), mulmod(k, px, N))
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
                a := mload(0x00)
                mstore(m, qx)
                mstore(add(m, 0x20), qy)
                same := eq(a, and(keccak256(m, 0x40), 0xffffffffffffffffffffffffffffffffffffffff))
            }
            if (a == address(0)) revert PointNotOnCurve(px);
            return same;
        }
        uint256 py = liftX(px, odd); // x = 0 lands here too, and is not on the curve (7 is not a square mod P)
        if (!isOnCurve(qx, qy)) return false;
        if (qx == 0 || qx >= N) revert ProductUncheckable(px, qx);
        uint256 kInverse = modExp(k, N - 2, N); // Fermat: N is prime and k != 0
        address back = ecrecover(0, (qy & 1) == 1 ? 28 : 27, bytes32(qx), bytes32(mulmod(kInverse, qx, N)));
        return back == pointAddress(px, py);
    }

    /// @notice a + b for curve points a, b, given the slope of the line through them (the tangent when a = b).
    /// Reverts with {WrongSlopeHint} if `slope` is not that slope.
    /// @return finite False when a = −b (the sum is the point at infinity; no slope is needed then).
    /// @return x The sum's x coordinate (0 if not finite).
    /// @return y The sum's y coordinate (0 if not finite).
    /// @dev All inputs must be proven curve points with coordinates below P.
    function add(
        uint256 ax,
        uint256 ay,
        uint256 bx,
        uint256 by,
        uint256 slope
    ) internal pure returns (bool finite, uint256 x, uint256 y) {
        if (ax == bx && ay != by) return (false, 0, 0);
        requireSlope(ax, ay, bx, by, slope);
        x = addmod(mulmod(slope, slope, P), P - addmod(ax, bx, P), P);
        y = addmod(mulmod(slope, addmod(ax, P - x, P), P), P - ay, P);
        finite = true;
    }

    /// @notice a + b for a compressed point a = (ax, aOdd) and a curve point b, given the slope of the line through
    /// them (the tangent when a = b). a's y is not supplied: it is derived from the slope as
    /// y_a = y_b − slope·(x_b − x_a) and must then be a's y (on the curve, right parity), which only the true slope
    /// gives. Reverts with {PointNotOnCurve} if a is not on the curve, else {WrongSlopeHint} for a wrong slope.
    /// @return finite False when a = −b (the sum is the point at infinity; no slope is needed then).
    /// @return x The sum's x coordinate (0 if not finite).
    /// @return y The sum's y coordinate (0 if not finite).
    function addCompressed(
        uint256 ax,
        bool aOdd,
        uint256 bx,
        uint256 by,
        uint256 slope
    ) internal view returns (bool finite, uint256 x, uint256 y) {
        uint256 ay;
        if (ax == bx) {
            // a is b or −b; the parity tells which (y != 0, so the two roots differ in parity).
            if (((by & 1) == 1) != aOdd) return (false, 0, 0);
            ay = by;
            requireSlope(bx, by, bx, by, slope);
        } else {
            ay = addmod(by, P - mulmod(slope, addmod(bx, P - ax, P), P), P);
            bool ok;
            assembly ("memory-safe") {
                ok := and(eq(and(ay, 1), aOdd), eq(mulmod(ay, ay, P), addmod(mulmod(mulmod(ax, ax, P), ax, P), 7, P)))
            }
            if (!ok) {
                liftX(ax, aOdd); // reverts with PointNotOnCurve when that is the reason
                revert WrongSlopeHint(slope);
            }
        }
        x = addmod(mulmod(slope, slope, P), P - addmod(ax, bx, P), P);
        y = addmod(mulmod(slope, addmod(ax, P - x, P), P), P - ay, P);
        finite = true;
    }

    /// @notice Proves that `slope` is the slope of the line through a and b (the tangent at a when a = b), a != −b.
    function requireSlope(uint256 ax, uint256 ay, uint256 bx, uint256 by, uint256 slope) internal pure {
        // Doubling: 3x² / 2y, with y != 0 on a curve of odd order. Otherwise (by − ay) / (bx − ax).
        (uint256 rise, uint256 run) = ax == bx
            ? (mulmod(3, mulmod(ax, ax, P), P), mulmod(2, ay, P))
            : (addmod(by, P - ay, P), addmod(bx, P - ax, P));
        // run != 0, so exactly one slope mod P satisfies this.
        if (mulmod(slope, run, P) != rise) revert WrongSlopeHint(slope);
    }

    /// @notice `base^exponent mod modulus` through the precompile at address 5 (EIP-198).
    function modExp(uint256 base, uint256 exponent, uint256 modulus) internal view returns (uint256 result) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), base)
            mstore(add(m, 0x80), exponent)
            mstore(add(m, 0xa0), modulus)
            ok := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
            result := mload(m)
        }
        if (!ok) revert ModExpFailed();
    }
}
