#!/usr/bin/python3
"""Fits the polynomials of the float erf in tensor/cpu/vec_math.h (run once; the printed
coefficients are pasted there). Two pieces, each a least-squares fit on Chebyshev nodes in
double precision (mpmath-free: math.erf / math.erfc are accurate to an ulp of double):

  |x| <= 1:        erf(x) = x * P(t),  t = x^2,              P of degree 6
  1 < |x| < 3.92:  erf(x) = 1 - exp(Q(u)), u = |x| - 2.46,   Q of degree 9 (log erfc)

Beyond 3.92 erf is 1 to float precision. Prints the coefficients (highest degree first, for
Horner) and the fit's maximum relative error.
"""
import math

import numpy as np


def fit(f, lo, hi, degree, nodes=2000):
    k = np.arange(nodes)
    x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * (k + 0.5) / nodes)
    y = np.array([f(v) for v in x])
    coef = np.polyfit(x, y, degree)
    return coef, x, y


def main():
    p, t, y = fit(lambda t: math.erf(math.sqrt(t)) / math.sqrt(t) if t > 0 else 2 / math.sqrt(math.pi),
                  0.0, 1.0, 6)
    err_p = np.max(np.abs(np.polyval(p, t) / y - 1))
    c = 2.46
    q, u, yq = fit(lambda u: math.log(math.erfc(u + c)), 1.0 - c, 3.92 - c, 9)
    xs = u + c
    approx = 1 - np.exp(np.polyval(q, u))
    err_q = np.max(np.abs(approx / np.array([math.erf(v) for v in xs]) - 1))
    print("P (t = x^2, |x| <= 1), max rel err %.2e:" % err_p)
    print(", ".join("%.9e" % v for v in p))
    print("Q (u = |x| - %.2f, 1 < |x| < 3.92), max rel err of erf %.2e:" % (c, err_q))
    print(", ".join("%.9e" % v for v in q))


if __name__ == "__main__":
    main()
