"""The one packaging setting pyproject.toml cannot express: ship the top-level ``hparams/``
folder inside the package, as ``easyedit_plugins/hparams_files/``, so that a wheel or a
non-editable install carries it (see :mod:`easyedit_plugins.shipped`). Everything else is
declared in pyproject.toml."""

from setuptools import find_packages, setup

SHIPPED_HPARAMS = "easyedit_plugins.hparams_files"

setup(
    packages=find_packages(include=["easyedit_plugins", "easyedit_plugins.*"]) + [SHIPPED_HPARAMS],
    package_dir={SHIPPED_HPARAMS: "hparams"},
    package_data={"easyedit_plugins": ["py.typed"], SHIPPED_HPARAMS: ["*/*.yaml", "*/*.yml", "*/*.json"]},
)
