"""Tukey filtering and the selection rules, on hand-made scores."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from easyedit_plugins.selectors.lga import choose_layers, layers_to_choose, tukey_fences, window_around
from easyedit_plugins.selectors.lga.choose import ranking_value

# Layers 0 and 7 have the huge gradients of the first and last layers; 4 is the best ordinary one.
SCORES = [-900.0, 1.0, 2.0, 3.0, 5.0, 4.0, 2.5, 700.0]

#: The reconstructed paper rule: the largest signed score inside Tukey's fences (k = 1).
PAPER_RULE = {"tukey_k": 1.0, "rank_by": "signed"}

scores_lists = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=40
)


def test_the_fences_drop_the_extreme_layers_and_top1_takes_the_best_ordinary_one():
    fences = tukey_fences(SCORES, 1.0)
    assert (fences.q1, fences.q3) == (1.75, 4.25)
    assert (fences.low, fences.high) == (-0.75, 6.75)
    choice = choose_layers(SCORES, "top1", **PAPER_RULE)
    assert choice.kept == [1, 2, 3, 4, 5, 6]
    assert choice.layers == [4] and choice.best == 4


def test_without_fences_the_outliers_win():
    assert choose_layers(SCORES, "top1", tukey_k=None, rank_by="signed").layers == [7]
    assert choose_layers(SCORES, "top1", tukey_k=None, rank_by="absolute").layers == [0]
    assert choose_layers(SCORES, "top1", tukey_k=None, rank_by="negated").layers == [0]


def test_topk_takes_the_best_ranked_kept_layers_in_layer_order():
    assert choose_layers(SCORES, "topk", 3, **PAPER_RULE).layers == [3, 4, 5]
    assert choose_layers(SCORES, "topk", 3, tukey_k=1.0, rank_by="negated").layers == [1, 2, 6]
    assert choose_layers(SCORES, "topk", 20, **PAPER_RULE).layers == [1, 2, 3, 4, 5, 6]


def test_the_window_is_centred_on_the_best_layer_and_avoids_dropped_layers():
    assert choose_layers(SCORES, "window", 3, **PAPER_RULE).layers == [3, 4, 5]
    assert choose_layers(SCORES, "window", 4, **PAPER_RULE).layers == [3, 4, 5, 6]  # extra layer above the best
    # Centred on layer 1 would reach the dropped layer 0; the window slides up instead.
    assert choose_layers([-900.0, 5.0, 2.0, 3.0, 1.0, 0.0, 2.5, 700.0], "window", 3, **PAPER_RULE).layers == [1, 2, 3]
    # Only a window reaching a dropped layer fits: it is taken (contiguity first).
    assert window_around(1, 8, 8, kept=[1, 2, 3]) == list(range(8))


def test_the_number_of_layers_follows_the_methods_current_list():
    assert layers_to_choose("top1", [4, 8], 5) == 1
    assert layers_to_choose("window", [4, 8]) == 5
    assert layers_to_choose("topk", [4, 8]) == 2
    assert layers_to_choose("window", [4, 8], 3) == 3
    assert layers_to_choose("window", []) == 1


def test_two_layers_both_outside_narrow_fences_are_both_kept():
    assert choose_layers([0.0, 1.0], "top1", tukey_k=0.0, rank_by="signed").kept == [0, 1]


def test_non_finite_scores_are_refused():
    with pytest.raises(ValueError, match="not finite"):
        choose_layers([1.0, math.nan, 2.0], "top1", **PAPER_RULE)


@given(scores_lists, st.floats(min_value=0.0, max_value=3.0))
def test_kept_layers_are_exactly_those_inside_the_fences(scores, k):
    fences = tukey_fences(scores, k)
    kept = fences.kept(scores)
    if len(scores) != 2:  # quartiles of two values can leave both outside narrow fences
        assert fences.low <= sorted(scores)[len(scores) // 2] <= fences.high
    if any(fences.contains(value) for value in scores):
        assert all((fences.low <= value <= fences.high) == (layer in kept) for layer, value in enumerate(scores))
    else:
        assert kept == list(range(len(scores)))


@given(scores_lists, st.integers(min_value=1, max_value=12), st.sampled_from(["signed", "negated", "absolute"]))
def test_selection_rules_properties(scores, count, rank_by):
    top1 = choose_layers(scores, "top1", tukey_k=1.0, rank_by=rank_by)
    best_value = ranking_value(scores[top1.best], rank_by)
    assert top1.layers == [top1.best] and top1.best in top1.kept
    assert all(ranking_value(scores[layer], rank_by) <= best_value for layer in top1.kept)

    topk = choose_layers(scores, "topk", count, tukey_k=1.0, rank_by=rank_by)
    assert topk.layers == sorted(topk.layers) and len(topk.layers) == min(count, len(topk.kept))
    assert set(topk.layers) <= set(topk.kept) and top1.best in topk.layers
    left_out = [ranking_value(scores[layer], rank_by) for layer in topk.kept if layer not in topk.layers]
    assert all(ranking_value(scores[layer], rank_by) >= value for layer in topk.layers for value in left_out)

    window = choose_layers(scores, "window", count, tukey_k=1.0, rank_by=rank_by)
    layers = window.layers
    assert layers == list(range(layers[0], layers[0] + len(layers)))
    assert len(layers) == min(count, len(scores)) and 0 <= layers[0] and layers[-1] < len(scores)
    assert top1.best in layers
    dropped = sum(layer not in window.kept for layer in layers)
    for start in range(max(0, top1.best - len(layers) + 1), min(top1.best, len(scores) - len(layers)) + 1):
        assert dropped <= sum(layer not in window.kept for layer in range(start, start + len(layers)))
