"""The values the commands write out for a torch-free ``--help`` agree with the package's own."""

from __future__ import annotations

from typing import get_args

from easyedit_plugins.commands import lga, ruleedit, stats, world
from easyedit_plugins.core import stats as core_stats
from easyedit_plugins.core import stats_store
from easyedit_plugins.evaluation import judges
from easyedit_plugins.selectors.lga import hparams as lga_hparams
from easyedit_plugins.world import PRESETS
from easyedit_plugins.world.train import WORLD_ARCHES


def test_world_choices_are_the_presets_and_architectures():
    assert set(world.PRESET_HELP) == set(PRESETS)
    assert tuple(world.ARCHES) == tuple(WORLD_ARCHES)


def test_lga_choices_are_the_hparams_literals():
    assert lga.SELECTION_RULES == get_args(lga_hparams.SelectionRule)
    assert lga.RANK_BY == get_args(lga_hparams.RankBy)
    assert lga.SCORED_WEIGHTS == get_args(lga_hparams.ScoredWeights)
    assert lga.ORIGINAL_ANSWERS == get_args(lga_hparams.OriginalAnswer)


def test_stats_defaults_are_the_engines():
    assert stats.DEFAULT_MAX_LENGTH == core_stats.DEFAULT_MAX_LENGTH
    assert tuple(stats.STORAGE_DTYPES) == tuple(stats_store.STORAGE_DTYPES)


def test_judge_time_limit_default_is_the_judges():
    assert ruleedit.DEFAULT_JUDGE_TIME_LIMIT == judges.DEFAULT_TIME_LIMIT
