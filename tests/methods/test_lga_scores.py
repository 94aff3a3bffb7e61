"""LGA's scores: exactly the summed gradient inner products, reproducible, side-effect free."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from easyedit_plugins.selectors.lga import LGAHyperParams, ProxyItem, lga_scores, proxy_items
from easyedit_plugins.selectors.lga.answers import answer_pairs, greedy_continuations
from easyedit_plugins.selectors.lga.search import EditTarget, run_lga
from easyedit_plugins.testing import tiny_model

ITEMS = [
    ProxyItem("The mother tongue of Danielle Darrieux", "English", "French"),
    ProxyItem("The capital of France is", "Rome", "Paris"),
    ProxyItem("Toko Yasuda plays the", "piano", "guitar and the violin"),
]


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def reference_scores(model, tok, items, modules_per_layer):
    """Brute force: autograd of each answer's loss w.r.t. each scored weight, one layer at a time."""
    pairs = answer_pairs(model, tok, items, "ground_truth", batch_size=8)
    scores = torch.zeros(len(items), len(modules_per_layer), dtype=torch.float64)
    for i, pair in enumerate(pairs):
        for layer, names in enumerate(modules_per_layer):
            weights = [model.get_submodule(name).weight for name in names]

            def gradients(answer):
                ids = torch.tensor([pair.prompt_ids + answer[:-1]])
                logits = model(input_ids=ids).logits[0, len(pair.prompt_ids) - 1 :]
                return torch.autograd.grad(F.cross_entropy(logits, torch.tensor(answer)), weights)

            for g_old, g_new in zip(gradients(pair.old_ids), gradients(pair.new_ids)):
                scores[i, layer] += (g_old.double() * g_new.double()).sum()
    return scores


@pytest.mark.parametrize(("arch", "weights"), [("gpt2", "mlp_out"), ("gpt2", "mlp_all"), ("llama", "mlp_all")])
def test_inner_products_equal_a_brute_force_reference(arch, weights):
    model, tok = tiny_model(arch, layers=3)
    scores = lga_scores(model, tok, ITEMS, weights=weights, batch_size=2)
    expected = reference_scores(model, tok, ITEMS, scores.modules)
    torch.testing.assert_close(scores.per_item, expected, rtol=1e-4, atol=1e-6 * expected.abs().max().item())
    assert scores.total() == pytest.approx(expected.sum(0).tolist(), rel=1e-4)
    if weights == "mlp_all" and arch == "llama":
        assert scores.modules[0] == ["model.layers.0.mlp.up_proj", "model.layers.0.mlp.gate_proj",
                                     "model.layers.0.mlp.down_proj"]


def test_scores_do_not_depend_on_the_batch_size():
    model, tok = tiny_model("gpt2", layers=3)
    one = lga_scores(model, tok, ITEMS, batch_size=1).per_item
    three = lga_scores(model, tok, ITEMS, batch_size=3).per_item
    # Padding changes the attention kernels' summation order: float32 noise of about 1e-5 relative
    # (transformers 5.24); an item mixed with another of its batch would differ at order 1.
    torch.testing.assert_close(one, three, rtol=1e-4, atol=1e-6)


def test_scoring_leaves_the_model_as_it_was():
    model, tok = tiny_model("gpt2", layers=2)
    model.train()
    model.transformer.h[0].mlp.c_fc.weight.requires_grad_(False)
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    lga_scores(model, tok, ITEMS[:1])
    assert model.training
    assert {name: p.requires_grad for name, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[name], p) for name, p in model.named_parameters())


def test_prediction_mode_scores_the_models_own_greedy_answer():
    model, tok = tiny_model("gpt2", layers=2)
    pairs = answer_pairs(model, tok, ITEMS, "prediction", batch_size=2)
    greedy = greedy_continuations(model, tok, [p.prompt_ids for p in pairs], [len(p.new_ids) for p in pairs], 1)
    assert [p.old_ids for p in pairs] == greedy
    assert all(p.predicted and len(p.old_ids) == len(p.new_ids) for p in pairs)


def test_a_missing_ground_truth_falls_back_to_the_prediction():
    model, tok = tiny_model("gpt2", layers=2)
    items = [ProxyItem("The capital of France is", "Rome", None), ITEMS[0]]
    scores = lga_scores(model, tok, items, original_answer="ground_truth")
    assert scores.predicted == [True, False]


def requests(count):
    return [{"prompt": f"The mother tongue of person {n}", "subject": f"person {n}", "target_new": "English",
             "ground_truth": "French"} for n in range(count)]


def test_the_proxy_sample_and_the_scores_are_reproducible_for_a_seed():
    model, tok = tiny_model("gpt2", layers=3)
    config = LGAHyperParams(proxy_size=3, seed=7)
    first = run_lga(model, tok, requests(9), config, EditTarget())
    second = run_lga(model, tok, requests(9), config, EditTarget())
    assert torch.equal(first.scores.per_item, second.scores.per_item)
    assert first.layers == second.layers
    same = proxy_items(requests(9), size=3, seed=7)
    assert same == proxy_items(requests(9), size=3, seed=7)
    assert any(proxy_items(requests(9), size=3, seed=seed) != same for seed in range(8, 12))
    assert len(proxy_items(requests(10), fraction=0.2, seed=0)) == 2
