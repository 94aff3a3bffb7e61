"""One module per ``easyedit-plugins`` command (see :mod:`easyedit_plugins.cli`)."""
