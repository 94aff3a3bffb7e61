"""Issue 10 §3: layer indices are checked against the model before anything touches it.

Every locate-then-edit method (BLUE, DMLE) and PAC refuse ``layers``, stage layers and
``v_loss_layer`` outside the model with one shared error naming the key and the layer count,
never torch's ``AttributeError: ModuleList has no attribute 99``.
"""

from __future__ import annotations

import pytest

from easyedit_plugins.core.validation import LayerIndexError, check_layers
from easyedit_plugins.hparams import HyperParamsError
from easyedit_plugins.methods.blue import BLUEHyperParams, blue_edit
from easyedit_plugins.methods.dmle import DMLEHyperParams, dmle_edit
from easyedit_plugins.methods.pac import PACHyperParams, pac_joint_edit

REQUEST = {"prompt": "The mother tongue of Danielle Darrieux", "subject": "Danielle Darrieux", "target_new": "Tokyo"}


def _blue(stats, **changes):
    settings = {"model_name": "tiny", "device": "cpu", "layers": [1, 2], **stats}
    settings.update(changes)
    return BLUEHyperParams(**settings)


@pytest.mark.parametrize(
    "changes, key, bad",
    [
        ({"layers": [99]}, "layers", 99),
        ({"layers": [1, 99]}, "layers", 99),
        ({"v_loss_layer": 99}, "v_loss_layer", 99),
    ],
)
def test_blue_refuses_layers_outside_the_model(model_tok, stats, changes, key, bad):
    model, tok = model_tok
    with pytest.raises(LayerIndexError, match=rf"'{key}'.*{bad}.*4 layers \(0-3\)"):
        blue_edit(model, tok, [REQUEST], _blue(stats, **changes))


@pytest.mark.parametrize("changes, key", [({"layers": [-1, 2]}, "layers"), ({"v_loss_layer": -2}, "v_loss_layer")])
def test_negative_layer_indices_are_refused_without_a_model(stats, changes, key):
    with pytest.raises(HyperParamsError, match=rf"'{key}'.*start at 0"):
        _blue(stats, **changes)


def test_the_shared_check_refuses_negative_and_non_integer_indices():
    with pytest.raises(LayerIndexError, match=r"key 'layers' names layer\(s\) \[-1\].*4 layers"):
        check_layers("key 'layers'", [-1, 2], 4)
    check_layers("key 'layers'", [0, 3], 4)


def test_dmle_refuses_stage_layers_and_loss_layer_outside_the_model(model_tok, stats):
    model, tok = model_tok
    stages = [{"name": "all", "forms": ["formula", "description", "instance"], "layers": [1, 7]}]
    hparams = DMLEHyperParams(model_name="tiny", device="cpu", stages=stages, **stats)
    with pytest.raises(LayerIndexError, match=r"stage 'all'.*7.*4 layers"):
        dmle_edit(model, tok, [REQUEST], hparams)
    hparams = DMLEHyperParams(model_name="tiny", device="cpu", v_loss_layer=4, **stats,
                              stages=[{**stages[0], "layers": [1]}])
    with pytest.raises(LayerIndexError, match=r"'v_loss_layer'.*4.*4 layers"):
        dmle_edit(model, tok, [REQUEST], hparams)


def test_pac_refuses_layers_outside_the_model(model_tok):
    model, tok = model_tok
    hparams = PACHyperParams(model_name="tiny", device="cpu", layers=[2, 12], num_epochs=1)
    with pytest.raises(LayerIndexError, match=r"'layers'.*12.*4 layers"):
        pac_joint_edit(model, tok, [REQUEST], hparams)


def test_the_error_is_a_value_error_for_callers_that_catch_those(model_tok, stats):
    model, tok = model_tok
    with pytest.raises(ValueError):
        blue_edit(model, tok, [REQUEST], _blue(stats, layers=[99]))
