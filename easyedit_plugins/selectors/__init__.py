"""Layer selectors: strategies that choose which layers a method edits (``layer_selection``).

A selector stands beside the methods, not inside them: it edits nothing, and any method whose
hyperparameters take a selection (``with_layer_selection``) can use any selector. It answers
with a :class:`~easyedit_plugins.specs.LayerSelection`. The package's own is LGA
(:mod:`.lga`); :mod:`easyedit_plugins.plugin` registers it with the host.
"""
