"""EasyEdit's MEMIT on a world: efficacy is reported per place of the subject in the edit prompt.

MEMIT writes at the subject's last token, so whether an edit lands depends on what follows the
subject; the natural world's results are only readable with that split.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_world_easyedit_memit  # noqa: E402


def test_edits_are_grouped_by_where_the_subject_stands():
    per_edit = [
        {"subject": "Tomas Lerin", "prompt": "Tomas Lerin works as a", "efficacy": 1.0},
        {"subject": "Lerin Tomas", "prompt": "The mother tongue of Lerin Tomas is", "efficacy": 0.0},
        {"subject": "Ana Bel", "prompt": "The profession of Ana Bel", "efficacy": 1.0},
        {"subject": "Bel Ana", "prompt": "The home of Bel Ana is the city of", "efficacy": 1.0},
    ]
    groups = dict(bench_world_easyedit_memit.by_position(per_edit))
    assert groups == {"start": [1.0], "middle": [0.0, 1.0], "end": [1.0]}
    assert list(dict(bench_world_easyedit_memit.by_position(per_edit[1:2]))) == ["middle"]  # empty groups left out
