"""The statistics behind the quality gates, on small in-memory tables (counts, not rows).

scipy and krippendorff do the work; the two formulas written here (PSI as a sum of
scipy's relative entropies, Cohen's kappa from a contingency table) are tested against
published worked examples. Imported lazily: nothing here loads at CLI start-up.
"""

from __future__ import annotations

from typing import Any

EPS = 1e-4  # share floor for empty bins/classes in PSI (a common convention; ln(0) is undefined)


def _shares(counts: Any) -> Any:
    import numpy as np

    arr = np.asarray(counts, dtype=float)
    total = arr.sum()
    return arr / total if total > 0 else None


def psi(expected: Any, actual: Any, eps: float = EPS) -> float | None:
    """Population stability index Σ (a_i − e_i) ln(a_i / e_i) over bins of two count vectors.

    Equal to KL(a‖e) + KL(e‖a) (the symmetrised Kullback–Leibler divergence), computed
    with scipy's `rel_entr`; shares are floored at `eps` so empty bins stay finite.
    """
    import numpy as np
    from scipy.special import rel_entr

    e, a = _shares(expected), _shares(actual)
    if e is None or a is None:
        return None
    e, a = np.maximum(e, eps), np.maximum(a, eps)
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))


def psi_numeric(a: Any, b: Any, nulls_a: int, nulls_b: int, bins: int = 10) -> float | None:
    """PSI of a numeric column from two sorted value arrays: bins cut at A's quantiles
    1/bins .. (bins-1)/bins (linear interpolation, as DuckDB's quantile_cont), closed on
    the right, plus one bin for null/NaN rows."""
    import numpy as np

    if len(a) == 0:
        return None
    edges = np.unique(np.quantile(a, [i / bins for i in range(1, bins)]))

    def counts(v: Any, nulls: int) -> list[int]:
        upto = np.searchsorted(v, edges, side="right")  # values <= each edge
        return [*np.diff(np.concatenate([[0], upto, [len(v)]])).tolist(), nulls]

    return psi(counts(a, nulls_a), counts(b, nulls_b))


def ks_sorted(a: Any, b: Any, points: int = 10_000) -> float | None:
    """Two-sample Kolmogorov–Smirnov D = sup |F_a − F_b| from two sorted arrays.

    Both empirical CDFs are evaluated at every data point (exact: the supremum of two step
    functions is reached at a jump) when each side has at most `points` values; above
    that, at every k-th order statistic of each side, which is within 2/points of D.
    Tested against scipy.stats.ks_2samp.
    """
    import numpy as np

    if len(a) == 0 or len(b) == 0:
        return None
    ka, kb = max(1, len(a) // points), max(1, len(b) // points)
    grid = np.concatenate([a[ka - 1 :: ka], b[kb - 1 :: kb], a[-1:], b[-1:]])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def class_shift(expected: Any, actual: Any) -> float | None:
    """The largest change of one class's share of rows between two count vectors (0..1)."""
    te, ta = sum(expected), sum(actual)
    if not te or not ta:
        return None
    return max(abs(a / ta - e / te) for e, a in zip(expected, actual))


def js_distance(expected: Any, actual: Any) -> float | None:
    """Jensen–Shannon distance (base 2, so 0 = identical, 1 = disjoint) of two count vectors."""
    from scipy.spatial.distance import jensenshannon

    e, a = _shares(expected), _shares(actual)
    if e is None or a is None:
        return None
    return float(jensenshannon(e, a, base=2))


def cohen_kappa(table: Any) -> float | None:
    """Cohen's kappa (po − pe) / (1 − pe) from a square contingency table of two raters.

    None when undefined (both raters used the same single category throughout).
    """
    import numpy as np

    t = np.asarray(table, dtype=float)
    n = t.sum()
    if n == 0:
        return None
    po = np.trace(t) / n
    pe = float((t.sum(axis=0) * t.sum(axis=1)).sum() / (n * n))
    if pe >= 1.0:
        return None
    return float((po - pe) / (1.0 - pe))


def krippendorff_alpha(value_counts: Any) -> float | None:
    """Krippendorff's alpha (nominal) from a units × categories matrix of rating counts.

    None when undefined (fewer than two categories used, or no unit with two ratings).
    """
    import krippendorff
    import numpy as np

    vc = np.asarray(value_counts, dtype=float)
    if vc.ndim != 2 or vc.shape[1] < 2 or not (vc.sum(axis=1) >= 2).any():
        return None
    try:
        alpha = float(krippendorff.alpha(value_counts=vc, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return None
    return None if alpha != alpha else alpha  # NaN → None


def independence(table: Any) -> dict[str, float | None]:
    """Chi-square test of independence (p-value) and Cramér's V of a groups × labels table."""
    import numpy as np
    from scipy.stats import chi2_contingency
    from scipy.stats.contingency import association

    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return {"chi2_p": None, "cramers_v": None}
    res = chi2_contingency(t)
    return {"chi2_p": float(res.pvalue), "cramers_v": float(association(t, method="cramer"))}
