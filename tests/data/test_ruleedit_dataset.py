"""RuleEditDataset (the EasyEdit-style dataset class) and the registration of ``ruleedit``."""

from __future__ import annotations

from ruleedit_fixture import rule_files

from easyedit_plugins.data import RuleEditDataset, load_ruleedit
from easyedit_plugins.host import get_registry


def test_dataset_behaves_like_easyedits_datasets(write_benchmark):
    path = write_benchmark({"0": rule_files(0), "1": rule_files(1)}, form="zip")

    dataset = RuleEditDataset(path)

    assert len(dataset) == 6
    assert dataset[0] == load_ruleedit(path).requests()[0]
    chunk = dataset[2:5]  # EasyEdit's edit_dataset slices it into batches
    assert [r["form"] for r in chunk] == ["instance", "formula", "description"]
    assert dataset.report.skipped == ()


def test_size_and_forms_select_requests(write_benchmark):
    path = write_benchmark({"0": rule_files(0), "1": rule_files(1)})

    assert len(RuleEditDataset(path, size=4)) == 4
    only_instances = RuleEditDataset(path, forms=["instance"])
    assert [r["rule_id"] for r in only_instances[:]] == ["0", "1"]


def test_ruleedit_is_registered_with_its_dataset_class():
    spec = get_registry().datasets["ruleedit"].spec

    assert spec.load is load_ruleedit
    assert spec.dataset_class is RuleEditDataset
