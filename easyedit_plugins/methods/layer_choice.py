"""``layer_selection``: letting a layer selector (LGA, or a third party's) choose the layers.

EasyEdit's MEMIT files say ``layer_selection: all``, meaning "edit the layers listed"; that
value (and none) keeps ``layers`` as written. Any other value names a registered layer
selector, which the host consults before the edit; ``layer_selection_config`` carries its
settings (a mapping, or the path of a file the selector reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..hparams import HyperParamsError, PluginHyperParams

#: Values of ``layer_selection`` that mean "use the layers as written".
KEEP_LAYERS = ("all", "")


@dataclass(kw_only=True)
class LayerSelectable(PluginHyperParams):
    layer_selection: str | None = None
    layer_selection_config: dict[str, Any] | str | None = None

    def __post_init__(self) -> None:
        if self.layer_selection in KEEP_LAYERS:
            self.layer_selection = None
        super().__post_init__()

    def with_layer_selection(self, selection: Any) -> "LayerSelectable":
        """A copy editing the selected layers (a flat list), with the selector switched off."""
        layers = selection.layers
        if not isinstance(layers, list):
            raise HyperParamsError(
                f"{type(self).__name__} edits one group of layers, but selector {selection.selector!r} returned groups {sorted(layers)}"
            )
        return self.replace(layers=sorted(layers), layer_selection=None)
