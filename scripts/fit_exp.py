"""Fits and checks the polynomial of the float32 exp in Kernels/softmax.cl (DEFINE_EXP).

e^x = 2^n · e^r with n = round(x / ln 2) and r = x − n·ln 2, so |r| ≤ ln 2 / 2, and
e^r = 1 + r + r²·q(r). This fits q, a degree-5 polynomial, to (e^r − 1 − r)/r² on that interval,
minimising the largest error relative to e^r (Lawson's iteratively reweighted least squares), then
runs the kernel's arithmetic step by step in float32 (each fma rounded once) on every float32 x in
[−87.3, 0] and reports the largest error in units in the last place of the exact e^x.

    python3 scripts/fit_exp.py          # needs numpy
"""

import numpy as np

HALF_LN2 = np.log(2.0) / 2
DEGREE = 5
SHIFTER = np.float32(12582912.0)  # 1.5 · 2^23: adding it rounds to an integer
LOG2E = np.float32(1.44269504088896341)
LN2_HIGH = np.float32(0.693359375)  # ln 2 to 9 bits, so n · LN2_HIGH is exact for |n| < 2^15
LN2_LOW = np.float32(np.log(2.0) - 0.693359375)


def fit() -> np.ndarray:
    """q's coefficients, lowest power first, rounded to float32."""
    r = np.cos(np.linspace(0, np.pi, 8001)) * HALF_LN2
    r = r[np.abs(r) > 1e-6]
    target = (np.expm1(r) - r) / r**2
    # An error d in q moves e^r by r²·d; weigh each point by r² / e^r to get relative error.
    weight = r**2 / np.exp(r)
    powers = np.vander(r, DEGREE + 1, increasing=True)
    lawson = np.ones_like(r)
    for _ in range(300):
        w = weight * np.sqrt(lawson)
        coefficients = np.linalg.lstsq(powers * w[:, None], target * w, rcond=None)[0]
        error = np.abs((powers @ coefficients - target) * weight)
        lawson = lawson * error
        lawson /= lawson.sum()
    return coefficients.astype(np.float32)


def fma32(a, b, c):
    """a·b + c rounded once to float32 (float64 holds a float32 product exactly)."""
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def kernel_exp(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """DEFINE_EXP's arithmetic, operation by operation, in float32."""
    shifted = fma32(x, LOG2E, SHIFTER)
    n = shifted - SHIFTER
    r = fma32(n, -LN2_LOW, fma32(n, -LN2_HIGH, x))
    p = np.full_like(r, q[DEGREE])
    for k in range(DEGREE - 1, -1, -1):
        p = fma32(p, r, q[k])
    er = fma32(p * r, r, r + np.float32(1))
    exponent = shifted.view(np.int32) - SHIFTER.view(np.int32) + 127
    two_to_n = (exponent << 23).astype(np.int32).view(np.float32)
    return np.where(x < np.float32(-87.3), np.float32(0), er * two_to_n)


def main() -> None:
    q = fit()
    print("q (lowest power first):", ", ".join(f"{c:.8e}" for c in q))
    print("ln 2 = LN2_HIGH + LN2_LOW:", f"{LN2_HIGH:.9g} + ({LN2_LOW:.8e})")
    # Every float32 in [−87.3, −0], by bit pattern (−0 is 0x80000000), a chunk at a time.
    first = int(np.float32(-0.0).view(np.uint32))
    last = int(np.float32(-87.3).view(np.uint32))
    largest, total = 0.0, 0.0
    for start in range(first, last + 1, 1 << 24):
        bits = np.arange(start, min(start + (1 << 24), last + 1), dtype=np.uint32)
        x = bits.view(np.float32)
        exact = np.exp(x.astype(np.float64))
        ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
        error = np.abs(kernel_exp(x, q) - exact) / ulp
        largest, total = max(largest, float(error.max())), total + float(error.sum())
    count = last - first + 1
    print(f"{count} inputs in [-87.3, -0]: largest error {largest:.3f} ulp, mean {total / count:.3f} ulp")
    print("e^0 =", kernel_exp(np.zeros(1, np.float32), q)[0])


if __name__ == "__main__":
    main()
