"""The project's rule: no overrides of Django's private methods (they change without notice
between releases). A class of ours may add private helpers, never replace Django's."""

import importlib
import inspect
import pkgutil

import xinan


def _project_classes():
    for info in pkgutil.walk_packages(xinan.__path__, "xinan."):
        if ".tests" in info.name or info.name.endswith((".bench", ".wsgi", ".asgi")):
            continue
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name:
                yield cls


def test_no_project_class_overrides_a_private_method_of_django():
    overrides = []
    for cls in _project_classes():
        for attr, value in vars(cls).items():
            if not attr.startswith("_") or attr.startswith("__"):
                continue
            if not inspect.isfunction(value) or value.__module__ != cls.__module__:
                continue  # what Django's metaclasses put on a model or choices class
            for base in cls.__mro__[1:]:
                if base.__module__.startswith("django.") and attr in vars(base):
                    overrides.append(f"{cls.__module__}.{cls.__qualname__}.{attr}")
                    break
    assert overrides == []
