"""The lab being graded: the Python package that config.toml's `[lab] package` names.

The engine knows a lab only through this interface (docs/new-lab.md):

- `interface.py`: `CONTRACT` (what the submission defines, and so all the sandbox worker
  may call, build, and call or get and set on the objects it builds), `Adapter` (a CodeAdapter
  subclass: the calls the checks make), `describe_case(case)` and `BUG_VARIANTS` (feedback
  vocabulary), `STUDENT_PARTS` (what the students write), optionally `Parameters` (the typed
  `[parameters]` table) and `error_layout(case, expected)` (how feedback draws a wrong array);
- `checks/check_*.py`: the graded checks, `test_*` functions declared with `@check(name, cases=...)`
  (autograder/checks.py), which pytest also runs (autograder/pytest_plugin.py);
- `fixture_builder.py`: `build_fixture_set(folder, seed, config, public)`.
"""

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace

from autograder.checks import declared_check
from autograder.config import KIT_ROOT, ConfigError, load_config, read_table


def lab_module(package, what="interface", root=None):
    """The lab package's module `what` (interface.py, fixture_builder.py), imported from `root` (the
    folder holding the package: Config.lab_root), else from the kit's root."""
    for folder in (KIT_ROOT, root):
        if folder is not None and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(f"{package}.{what}")
    except ModuleNotFoundError as exc:
        raise ConfigError(f"cannot import the lab's {what} module {package}.{what}: {exc}") from None


@dataclass(frozen=True)
class Contract:
    """The top-level names a submission defines: the only functions the worker may call and
    the only classes it may build; for each class, the only methods it may call (`methods`)
    and the only attributes it may get and set (`attributes`) on those objects, e.g.
    ``Contract(functions=("col2im",), classes=("Conv2d",),
    methods={"Conv2d": ("forward", "backward")}, attributes={"Conv2d": ("weight",)})``.
    A class not in `methods` has no method the worker may call (nor attribute, likewise)."""
    functions: tuple = ()
    classes: tuple = ()
    methods: tuple = ()         # given as {class: (method, ...)}; kept as ((class, (method, ...)), ...)
    attributes: tuple = ()      # given as {class: (attribute, ...)}; kept likewise

    def __post_init__(self):
        object.__setattr__(self, "functions", tuple(self.functions))
        object.__setattr__(self, "classes", tuple(self.classes))
        for field in ("methods", "attributes"):
            given = getattr(self, field)
            pairs = []
            for cls, names in (given.items() if isinstance(given, dict) else given):
                if cls not in self.classes:
                    raise ValueError(f"Contract {field}: {cls!r} is not one of the contract's classes {self.classes}")
                if isinstance(names, str) or not all(isinstance(n, str) and n.isidentifier()
                                                     and not n.startswith("__") for n in names):
                    raise ValueError(f"Contract {field} of {cls}: {names!r} is not a tuple of plain names")
                pairs.append((cls, tuple(names)))
            object.__setattr__(self, field, tuple(pairs))

    def methods_of(self, cls):
        """The methods of class `cls` the worker may call."""
        return dict(self.methods).get(cls, ())

    def attributes_of(self, cls):
        """The attributes of class `cls` the worker may get and set."""
        return dict(self.attributes).get(cls, ())

    def defines(self, names):
        """Whether {(name, is_class)} of a module's top level holds every name of the contract."""
        return all((f, False) in names for f in self.functions) and all((c, True) in names for c in self.classes)

    def describe(self):
        return " and ".join(self.functions + self.classes)


# What a lab written for the engine's earlier names still says, and what it says now.
RENAMED_MODULES = {"autograder.lab": "autograder.lab_loader", "autograder.student": "autograder.adapter"}


def _has_old_interface_file(package):
    """Whether `package` has the lab.py that interface.py replaced, and no interface.py."""
    try:
        return (importlib.util.find_spec(f"{package}.interface") is None
                and importlib.util.find_spec(f"{package}.lab") is not None)
    except (ImportError, ValueError):
        return False


def _renaming_hint(package, error):
    """What a lab written for the engine's earlier names must rename, when that is why `error` happened."""
    if _has_old_interface_file(package):
        return (f"{package} has a lab.py but no interface.py: the module the engine reads is now called "
                f"interface.py, so rename lab.py to interface.py (docs/new-lab.md)")
    for old, new in RENAMED_MODULES.items():
        if f"No module named '{old}'" in error:
            return f"the engine's module {old} is now called {new}: change the lab's imports (docs/new-lab.md)"
    return ""


class Lab:
    """A lab's config and modules, loaded once (by the command line) and passed to whatever needs them."""

    def __init__(self, config):
        self.config = config
        try:
            self.module = lab_module(config.lab.package, root=config.lab_root)
        except ConfigError as exc:
            hint = _renaming_hint(config.lab.package, str(exc))
            raise ConfigError(f"{config.path} [lab] package: {hint or exc}") from None
        if not hasattr(self.module, "Adapter") and hasattr(self.module, "Student"):
            raise ConfigError(f"{config.path}: the lab module {self.module.__name__} defines Student but no "
                              f"Adapter: the adapter class is now called Adapter, so rename Student to Adapter "
                              f"(and its base class StudentCode to autograder.adapter.CodeAdapter; docs/new-lab.md)")
        for name in ("CONTRACT", "Adapter", "describe_case", "BUG_VARIANTS", "STUDENT_PARTS"):
            if not hasattr(self.module, name):
                raise ConfigError(f"{config.path}: the lab module {self.module.__name__} defines no {name} "
                                  f"(see docs/new-lab.md)")
        self.parameters = self._typed_parameters()

    def _typed_parameters(self):
        """The config's [parameters] table typed by the lab module's Parameters (None when it declares none)."""
        parameters, table = getattr(self.module, "Parameters", None), self.config.parameters_table
        if parameters is None:
            if table is not None:
                raise ConfigError(f"{self.config.path}: [parameters] given, but {self.package}.interface declares no "
                                  f"Parameters")
            return None
        return read_table(parameters, table or {}, f"{self.config.path} [parameters]")

    package = property(lambda self: self.config.lab.package)
    contract = property(lambda self: self.module.CONTRACT)
    adapter_class = property(lambda self: self.module.Adapter)
    student_parts = property(lambda self: tuple(self.module.STUDENT_PARTS))

    @property
    def folder(self):
        return Path(self.module.__file__).parent

    @property
    def checks_dir(self):
        return self.config.resolve(self.config.lab.checks)

    def module_name(self, path, key):
        """The import name of a module or folder of the lab's package ([lab] `key` names it)."""
        try:
            parts = Path(path).resolve().relative_to(self.folder.resolve()).with_suffix("").parts
        except ValueError:
            raise ConfigError(f"{self.config.path} [lab] {key}: {path} is not inside the lab's package "
                              f"folder {self.folder}") from None
        return ".".join((self.package, *parts))

    @property
    def fixtures_root(self):
        return self.config.resolve(self.config.fixtures.folder)

    @property
    def reference(self):
        return self.config.resolve(self.config.lab.reference)

    @property
    def template(self):
        return self.config.resolve(self.config.lab.template)

    @cached_property
    def check_functions(self):
        """[(check name, test function, select(case) -> bool or None, takes a case)] of the lab's
        check modules' `test_*` functions declared with autograder.checks' `@check(name, cases=select)`,
        in pytest's collection order (files by name, functions as defined)."""
        found = []
        for path in sorted(self.checks_dir.glob("check_*.py")):
            module = importlib.import_module(f"{self.module_name(self.checks_dir, 'checks')}.{path.stem}")
            for attr, function in vars(module).items():
                if not (attr.startswith("test_") and callable(function)):
                    continue
                declared = declared_check(function)
                if declared is not None:
                    found.append((declared.name, function, declared.cases, declared.takes_case))
                elif any(getattr(mark, "name", None) == "check" for mark in getattr(function, "pytestmark", ())):
                    raise ConfigError(f"{path}: {attr} is marked with pytest.mark.check, which the grader no "
                                      f"longer reads: declare it with `from autograder.checks import check` "
                                      f"(docs/new-lab.md)")
        return found

    @cached_property
    def case_selectors(self):
        """{check name: select(case) -> bool} of the checks that declare one (e.g. for a fixture builder)."""
        return {name: select for name, _, select, _ in self.check_functions if select}

    def checks_for(self, kind, params):
        """The names of the checks whose selectors take a case of this kind and params, in config order."""
        case = SimpleNamespace(kind=kind, params=params)
        selectors = self.case_selectors
        return [name for name in self.config.checks if name in selectors and selectors[name](case)]

    @cached_property
    def builder(self):
        path = self.config.resolve(self.config.lab.fixture_builder)
        name = self.module_name(path, "fixture_builder")
        return lab_module(self.package, name[len(self.package) + 1:], root=self.config.lab_root)

    def describe_case(self, case):
        return self.module.describe_case(case)

    def bug_message(self, variant):
        entry = self.module.BUG_VARIANTS.get(variant, variant)
        return entry[0] if isinstance(entry, tuple) else entry

    def bug_owner(self, variant):
        """The check whose property a stored bug answer breaks (BUG_VARIANTS' optional second item), or ''."""
        entry = self.module.BUG_VARIANTS.get(variant)
        return entry[1] if isinstance(entry, tuple) else ""

    def error_layout(self, case, expected):
        """The lab's error_map.Layout for an array of a case, or None (the default drawing)."""
        layout = getattr(self.module, "error_layout", None)
        return layout(case, expected) if layout else None


def load_lab(path):
    """The lab that the config file `path` describes (the command line picks which: autograder/cli.py)."""
    return Lab(load_config(path))
