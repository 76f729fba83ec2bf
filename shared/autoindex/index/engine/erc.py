"""Equal risk contribution (ERC) weights from a Ledoit-Wolf shrunk covariance matrix.

Plain NumPy, no solver library: the shrinkage is the closed form of Ledoit and Wolf (2004, "A
well-conditioned estimator for large-dimensional covariance matrices", a scaled-identity target), and
the ERC problem is solved by Newton's method on its convex form (Spinu 2013, "An algorithm for
computing risk parity weights"). The rules and the tolerance: ``docs/index-method.md`` ("Risk parity").
"""

from __future__ import annotations

import math

import numpy as np

from autoindex.index.engine._arrays import FloatArray

#: The solve stops when every asset's share of risk is within this of 1/n.
ERC_TOLERANCE = 1e-10

#: Newton steps before giving up (it converges in under ten on well-posed problems).
ERC_MAX_STEPS = 200

#: The tolerance is widened to this many times ε·cond(Σ) when that is larger: what floating point allows.
_ROUNDING_ALLOWANCE = 64.0

#: n·f is self-concordant, so once its squared Newton decrement n·(g·step) is below this the full step
#: stays inside the domain and converges quadratically (Boyd and Vandenberghe, §9.6.3: λ < (3 - √5)/2).
_QUADRATIC_PHASE = 0.1


class ERCNotConverged(ArithmeticError):
    """The ERC solve did not reach its tolerance (never seen on a positive definite matrix)."""


def ledoit_wolf(returns: FloatArray) -> FloatArray:
    """Ledoit-Wolf shrunk covariance of the columns of ``returns`` (T x n, no NaN), shrunk toward mu·I.

    The sample covariance is the maximum-likelihood one (divided by T) of the demeaned returns;
    mu is its average variance; the shrinkage intensity is min(b², d²) / d², with d² the squared
    Frobenius distance of the sample covariance to mu·I and b² the estimated error of the sample
    covariance (both divided by n).
    """
    t, n = returns.shape
    x = returns - returns.mean(axis=0)
    sample = x.T @ x / t
    mu = float(np.trace(sample)) / n
    target = mu * np.eye(n)
    d2 = float(np.sum((sample - target) ** 2)) / n
    b2 = sum(float(np.sum((np.outer(row, row) - sample) ** 2)) for row in x) / (t * t) / n
    shrinkage = 0.0 if d2 == 0.0 else min(b2, d2) / d2
    shrunk: FloatArray = shrinkage * target + (1.0 - shrinkage) * sample
    return shrunk


def erc_weights(covariance: FloatArray, *, tolerance: float = ERC_TOLERANCE) -> FloatArray:
    """Weights (summing to 1, all positive) whose risk contributions w_i (Σw)_i / w'Σw are all 1/n.

    Minimises the strictly convex f(y) = ½ y'Σy - (1/n) Σ log y_i over y > 0 (Σ positive definite), whose
    minimiser normalised to sum 1 is the ERC portfolio (Σy = 1/(n y) there, so every y_i (Σy)_i = 1/n).
    Damped Newton steps: the gradient Σy - 1/(n y), the Hessian Σ + diag(1/(n y²)), each step halved
    until y stays positive and f decreases. It converges quadratically; it stops when every risk
    share is within ``tolerance`` of 1/n (or of 64·ε·cond(Σ), when a nearly singular Σ allows no better).
    """
    n = covariance.shape[0]
    if n == 1:
        return np.ones(1)
    # On an ill-conditioned matrix the shares cannot be computed closer than about ε·cond(Σ).
    tolerance = max(tolerance, _ROUNDING_ALLOWANCE * float(np.finfo(float).eps) * float(np.linalg.cond(covariance)))
    y = 1.0 / np.sqrt(np.diag(covariance))  # inverse volatility: the answer when correlations are equal
    y /= math.sqrt(float(y @ covariance @ y))

    def objective(z: FloatArray) -> float:
        return float(0.5 * (z @ covariance @ z) - np.sum(np.log(z)) / n)

    for _ in range(ERC_MAX_STEPS):
        weights: FloatArray = y / y.sum()
        marginal = covariance @ weights
        shares = weights * marginal / float(weights @ marginal)
        if float(np.max(np.abs(shares - 1.0 / n))) < tolerance:
            return weights
        gradient = covariance @ y - 1.0 / (n * y)
        hessian = covariance + np.diag(1.0 / (n * y * y))
        step = np.linalg.solve(hessian, gradient)
        # In the quadratic phase the full step is the right one: the line search is skipped because f's
        # rounding (the terms of y'Σy are far larger than their sum on an ill-conditioned Σ) can hide the
        # decrease, and an absolute threshold on it stalled short of the tolerance.
        near = n * float(gradient @ step) < _QUADRATIC_PHASE
        current, size = objective(y), 1.0
        while size > 1e-12:
            trial = y - size * step
            if bool(np.all(trial > 0.0)) and (near or objective(trial) <= current):
                break
            size /= 2.0
        else:
            break  # no descent left at floating-point precision
        y = trial
    raise ERCNotConverged(f"equal risk contributions not reached to {tolerance} in {ERC_MAX_STEPS} Newton steps")
