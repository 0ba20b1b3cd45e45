"""TFLM vs LiteRT output comparison: 1-step rounding ties (even a flipped near-tie) pass, real mismatches stop."""
from __future__ import annotations

import numpy as np
import pytest

from tinyheat.deploy.tflm_check import TFLMParityError, compare_outputs, format_parity


def _outputs(n=400, k=4, seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.integers(-100, 100, (n, k))
    ref[:, 0] = ref.max(axis=1) + 10  # a clear winner everywhere ...
    ref[0] = [20, 19, -50, -50]  # ... except a near-tie on input 0
    return ref.astype(np.int8)


def test_a_one_step_tie_that_flips_a_near_tie_is_counted_not_fatal():
    ref = _outputs()
    micro = ref.astype(int)
    micro[0, :2] = [19, 20]  # 1 step each way: the top-1 of the near-tie flips
    micro[5, 2] += 1  # another rounding tie, top-1 unchanged
    rep = compare_outputs(ref, micro.astype(np.int8), allow_lsb=1)
    assert rep["differing_inputs"] == 2 and rep["max_abs_diff"] == 1
    assert rep["top1_differences"] == 1 and rep["tie_flips"] == 1 and rep["verdict"] == "rounding ties accepted"
    assert "1 top-1 change(s) on near-ties" in format_parity(rep) and "\n" not in format_parity(rep)


def test_identical_outputs_pass_even_bit_exact():
    ref = _outputs()
    rep = compare_outputs(ref, ref.copy(), allow_lsb=0)
    assert rep["identical"] and rep["tie_flips"] == 0


@pytest.mark.parametrize("edit, reason", [
    (lambda m: m.__setitem__((3, 1), m[3, 1] + 2), "max \\|diff\\| 2, allowed 1"),  # more than one step
    (lambda m: m.__setitem__((slice(0, 40), 3), m[0:40, 3] + 1), "systematic: 40 of 400"),  # 10 % of inputs
])
def test_real_mismatches_stop_with_one_line(edit, reason):
    micro = _outputs().astype(int)
    edit(micro)
    with pytest.raises(TFLMParityError, match=reason) as e:
        compare_outputs(_outputs(), micro.astype(np.int8), allow_lsb=1)
    assert "\n" not in str(e.value)


def test_many_flipped_near_ties_are_systematic():
    ref = _outputs().astype(int)
    ref[:10] = [20, 19, -50, -50]  # ten near-ties, all flipped: 2.5 % of inputs, above the 1 % allowance
    micro = ref.copy()
    micro[:10, :2] = [19, 20]
    with pytest.raises(TFLMParityError, match="systematic: 10 top-1 changes"):
        compare_outputs(ref.astype(np.int8), micro.astype(np.int8), allow_lsb=1)


def test_bit_exact_mode_refuses_a_single_step():
    ref = _outputs()
    micro = ref.astype(int)
    micro[7, 2] += 1
    with pytest.raises(TFLMParityError, match="allowed 0"):
        compare_outputs(ref, micro.astype(np.int8), allow_lsb=0)
