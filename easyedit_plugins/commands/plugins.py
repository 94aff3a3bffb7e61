"""List every registered editing method, dataset, evaluator and layer selector, with the
package each comes from, and whether the methods are installed into EasyEdit."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _rows(registry) -> list[dict[str, str]]:
    rows = []
    for name, entry in sorted(registry.methods.items()):
        extra = "batchable" if entry.spec.batchable else "single"
        rows.append({"kind": "method", "name": name, "provider": entry.provider, "notes": extra,
                     "description": entry.spec.description})
    for kind, table in (("dataset", registry.datasets), ("evaluator", registry.evaluators),
                        ("layer selector", registry.layer_selectors)):
        for name, entry in sorted(table.items()):
            rows.append({"kind": kind, "name": name, "provider": entry.provider, "notes": "",
                         "description": entry.spec.description})
    return rows


def run(args: argparse.Namespace) -> int:
    from ..easyedit_bridge import easyedit_installed, loaded_generation
    from ..host import get_registry, install

    registry = get_registry()
    installed = install() if easyedit_installed() else []
    rows = _rows(registry)
    if args.json:
        print(json.dumps({"entries": rows, "easyedit": loaded_generation(), "installed": installed,
                          "load_errors": registry.load_errors}, indent=2))
        return 0
    widths = {key: max([len(key)] + [len(row[key]) for row in rows]) for key in ("kind", "name", "provider", "notes")}
    header = "  ".join(key.upper().ljust(widths[key]) for key in widths) + "  DESCRIPTION"
    print(header)
    for row in rows:
        print("  ".join(row[key].ljust(widths[key]) for key in widths) + "  " + row["description"])
    generation = loaded_generation()
    status = f"EasyEdit {generation} editor: installed {len(installed)} method(s)" if generation else "EasyEdit: not importable (integration off)"
    print(f"\n{status}")
    for error in registry.load_errors:
        print(f"warning: {error}")
    return 0
