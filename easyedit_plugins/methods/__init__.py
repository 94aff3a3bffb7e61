"""Editing methods, one module or folder each: a hyperparameter dataclass and an edit function.

Methods know nothing of pluggy or EasyEdit; :mod:`easyedit_plugins.plugin` registers them.
"""
