"""Print the public API of the package ``diffusion_models`` found first on sys.path, as JSON.

Run as a script with the package's parent folder as working directory; the release/reference parity
test compares the two outputs. Names, signatures and docstrings of every public module-level
function and class and of every public method.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys


def describe(obj) -> dict:
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = None
    return {"signature": signature, "doc": inspect.getdoc(obj)}


def dump(package_name: str = "diffusion_models") -> dict:
    package = importlib.import_module(package_name)
    api: dict[str, dict] = {}
    modules = [package_name] + [
        info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}.")
    ]
    for module_name in sorted(modules):
        module = importlib.import_module(module_name)
        api[module_name] = {"__doc__": inspect.getdoc(module)}
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
                continue
            if inspect.isclass(obj):
                members = {
                    member: describe(value)
                    for member, value in vars(obj).items()
                    if (not member.startswith("_") or member == "__init__") and callable(value)
                }
                api[module_name][name] = {"class": describe(obj), "members": members}
            elif inspect.isfunction(obj):
                api[module_name][name] = describe(obj)
    return api


if __name__ == "__main__":
    sys.path.insert(0, ".")
    print(json.dumps(dump(), indent=1, sort_keys=True))
