"""A lab's config.toml, read once into typed, validated sections.

Every table is a frozen dataclass below (`[limits]` is autograder/limits.py's Limits). A missing,
unknown or mistyped key fails here, naming the file, the key and the expected type. The lab's own
`[parameters]` is kept as read: its lab module's `Parameters` types it (autograder.lab_loader.Lab.parameters),
so reading a config imports no lab code (nor the sandbox it uses).
"""

import dataclasses
import os
import typing

try:
    import tomllib
except ImportError:                    # Python 3.10: the handout pins tomli for it
    import tomli as tomllib
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import ConfigError  # noqa: F401  (raised here; importers take it from here)
from autograder.limits import Limits     # [limits]: the one type the sandbox and its worker use too

KIT_ROOT = Path(__file__).resolve().parents[1]
# In a packaged grader: the file naming its lab's config.toml (packaging writes it; the CLI reads it).
LAB_POINTER = KIT_ROOT / "LAB"
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


def beside(path, relative):
    """`relative` from the folder of the file `path`, normalised: no "..", which messages would show
    (the paths are the staff's own, so no link is resolved)."""
    return Path(os.path.normpath(Path(path).parent / relative))


@dataclass(frozen=True)
class LabTable:
    """[lab]: what the lab is and where its parts are."""
    name: str
    package: str                # the lab's Python package (its interface.py, checks/, fixture builder)
    submission_file: str        # what the student hands in, e.g. "conv2d.py"
    # Every path below is relative to config.toml's folder, so a lab can live anywhere.
    reference: str              # the staff solution (never shipped)
    template: str               # the students' starting file; its folder is the handout's top level
    # staff only: the folder of known submissions (catalogue.toml, correct/) that `verify` and
    # `examples` read (autograder/staff/catalogue.py); never shipped
    catalogue: str = "catalogue"
    checks: str = "checks"                          # the graded checks' folder, in the lab's package
    fixture_builder: str = "fixture_builder.py"     # builds the fixture sets, in the lab's package; never shipped
    oracle: str = ""            # optional: an independent solution the builder checks answers with; never shipped
    # staff only: the settings of the staff's tools for this lab ([mutants], [bench]; load_staff_settings),
    # in a file of their own because config.toml ships with every package and they name the reference's parts
    staff: str = ""


@dataclass(frozen=True)
class Fixtures:
    public_seed: int                    # ships with the handout: students build nothing secret from it
    # The hidden seed's staff-only file, relative to config.toml's folder (autograder/seeds.py):
    # never the seed itself here, as config.toml ships with every package.
    hidden_seed_file: str = "secrets/hidden_seed"
    folder: str = "build/fixtures"      # holds hidden/ and public/, relative to config.toml's folder
    # The lab's fixture builder's version, recorded in every set it builds: bump it when the
    # builder's case list changes, so a grader refuses a set built by an older builder.
    builder_version: int = 1


@dataclass(frozen=True)
class Handout:
    """What students get besides the template's folder (the handout's top level). Paths are relative
    to config.toml's folder; a part left empty, or a default one that is absent, is not shipped."""
    text: str = "README.md"             # the handout's text: the maths, the contract, what is graded
    figures: str = "figures"            # its figures (*.png), shipped under figures/
    figures_source: str = ""            # the script that draws them (`make figures`)
    files: str = "handout"              # a folder whose files go at the top level (its Makefile, requirements)
    launcher: str = ""                  # the students' command file (e.g. lab.py: check, submit, demo)
    notebook: str = ""                  # the students' notebook (e.g. lab.ipynb)
    notebook_source: str = ""           # the script that writes the notebook (build_notebook(), NOTEBOOK)


@dataclass(frozen=True)
class Mutants:
    """Mutation testing of the lab's checks (tools/mutants.py, `make mutants`): today's tool evaluates
    mutants with the conv lab's oracle, so only that lab has this table. Paths are relative to the
    staff file's folder."""
    targets: tuple[str, ...]            # what is mutated in the reference: "function" or "Class.method"
    results: str = "mutants.json"       # the committed full run (tests/labs/conv/test_mutants.py checks it is current)
    report: str = "MUTANTS.md"
    equivalents: str = "EQUIVALENTS.md"     # why each equivalent mutant truly is one
    float64: float = 1e-12              # agreement with the oracle, relative to max(1, max|expected|)
    float32: float = 1e-5


@dataclass(frozen=True)
class Bench:
    """What the lab's benchmarks (bench/, `make bench`) grade and the targets their reports check. A
    subject is [label, key]: a catalogue key ("correct/NAME", "hostile/NAME"), or "reference" or
    "template" for those files of the lab."""
    grading_subjects: tuple[tuple[str, ...], ...]       # bench/grading.py: one grade's time each
    realistic_subjects: tuple[tuple[str, ...], ...]     # bench/realistic.py: the realistic cases' cost
    memory_subjects: tuple[tuple[str, ...], ...]        # bench/integrity.py: the grader's memory and floods
    isolation_subject: str = "reference"                # bench/isolation.py: graded at every level
    per_vectorised_s: float = 0.4       # one vectorised submission's grade, median
    per_loops_s: float = 1.5            # one lecture-loop submission's grade, median
    batch_per_min: float = 300          # a batch's throughput
    worker_mb: float = 250              # the sandbox worker's peak RSS
    realistic_vectorised_s: float = 0.5     # the realistic cases' cost for a vectorised submission
    grader_peak_rss_mb: float = 300     # the grading process's peak RSS under memory-hoarding submissions
    flood_s: float = 30                 # grading a submission that floods its output
    isolation_ratio: float = 1.5        # chroot's time within this factor of bwrap's


@dataclass(frozen=True)
class StaffSettings:
    """The staff file config.toml's [lab] staff names (never shipped): its tables, each optional."""
    path: Path
    mutants: Mutants = None
    bench: Bench = None

    def resolve(self, relative):
        """A path the staff file names, relative to its folder."""
        return beside(self.path, relative)


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


@dataclass(frozen=True)
class Tolerances:
    float64: Tolerance
    float32: Tolerance


@dataclass(frozen=True)
class Integrity:
    similarity_threshold: float = 0.8   # pairs at or above it are listed (advisory)


@dataclass(frozen=True)
class CheckSpec:
    """One graded check: its weight and how it is shown."""
    name: str
    title: str
    points: float
    visibility: str
    public: bool
    category: str
    hint: str
    # Checks whose property this one's cases rely on: when one of them fails on its own, a case
    # here that fails for no reason of its own is "blocked" by it (no credit, not a failure of
    # this check's property; autograder/attribution.py).
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path
    lab: LabTable
    fixtures: Fixtures
    tolerances: Tolerances
    limits: Limits
    integrity: Integrity
    handout: Handout
    checks: dict                # check name -> CheckSpec, in file order
    parameters_table: dict = None   # the lab's own [parameters] as read, or None (Lab.parameters types it)

    name = property(lambda self: self.lab.name)
    submission_file = property(lambda self: self.lab.submission_file)
    public_seed = property(lambda self: self.fixtures.public_seed)
    similarity_threshold = property(lambda self: self.integrity.similarity_threshold)

    @property
    def max_score(self):
        return sum(c.points for c in self.checks.values())

    def tolerance(self, dtype):
        try:
            return getattr(self.tolerances, str(dtype))
        except AttributeError:
            raise ConfigError(f"no tolerance for dtype {dtype} in {self.path}") from None

    def resolve(self, relative):
        """A path the config names, relative to config.toml's folder."""
        return beside(self.path, relative)

    def make_command(self, target):
        """`make TARGET LAB=...` for this lab, for messages (LAB relative to the kit's folder when inside it)."""
        path = Path(os.path.normpath(self.path.resolve()))
        return f"make {target} LAB={path.relative_to(KIT_ROOT) if KIT_ROOT in path.parents else path}"

    @property
    def lab_root(self):
        return lab_root(self.path, self.lab.package)

    @property
    def hidden_seed_path(self):
        """The hidden seed's staff-only file ([fixtures] hidden_seed_file, from config.toml's folder)."""
        return self.path.parent / self.fixtures.hidden_seed_file

    @property
    def hidden_seed(self):
        """The hidden seed, read from its staff-only file; SeedError (a ConfigError) when it is absent."""
        from autograder.seeds import SeedError, read_hidden_seed
        seed = read_hidden_seed(self.hidden_seed_path)
        if seed is None:
            raise SeedError(f"no hidden seed at {self.hidden_seed_path}: run `{self.make_command('fixtures')}` "
                            f"(it draws one when there is none), or restore the staff's copy of that file")
        return seed

    def fixture_seed(self, which):
        """The seed the `which` set ("hidden" or "public") must have been built from, or None for a
        hidden set whose seed file is absent on purpose: a packaged grader gets the built set, never
        its seed, and verifies the set by its manifest's sha256 alone."""
        if which == "public":
            return self.public_seed
        from autograder.seeds import read_hidden_seed
        return read_hidden_seed(self.hidden_seed_path)


def _type_name(kind):
    if dataclasses.is_dataclass(kind):
        return "a table"
    origin = typing.get_origin(kind)
    if origin in (tuple, list):
        return f"a list of {_type_name(typing.get_args(kind)[0])}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(kind, str(kind))


def _value(kind, value, where, key):
    """value converted to `kind` (an int is a fine float; a list becomes a tuple), or ConfigError."""
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{key}' should be {_type_name(kind)}, got {value!r}")
        return read_table(kind, value, f"{where[:-1]}.{key}]" if where.endswith("]") else f"{where} [{key}]")
    origin = typing.get_origin(kind)
    if origin in (tuple, list):
        item = typing.get_args(kind)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: '{key}' should be {_type_name(kind)}, got {value!r}")
        return tuple(_value(item, v, where, key) for v in value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
        raise ConfigError(f"{where}: '{key}' should be {_type_name(kind)}, got {value!r}")
    return value


def read_table(cls, table, where, **known):
    """An instance of dataclass `cls` from a TOML table: every field present (unless it has a
    default and is not in the class's REQUIRED_KEYS) and of its declared type, no other key; a
    value the class itself refuses (ValueError) is named too. `known`: fields not read from the table."""
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.name not in known]
    unknown = set(table) - {f.name for f in fields}
    if unknown:
        expected = ", ".join(f"{f.name} ({_type_name(hints[f.name])})" for f in fields)
        raise ConfigError(f"{where}: unknown key '{sorted(unknown)[0]}' (the keys are: {expected})")
    values = dict(known)
    required = getattr(cls, "REQUIRED_KEYS", ())
    for f in fields:
        if f.name in table:
            values[f.name] = _value(hints[f.name], table[f.name], where, f.name)
        elif f.default is dataclasses.MISSING or f.name in required:
            raise ConfigError(f"{where}: missing key '{f.name}' ({_type_name(hints[f.name])})")
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def lab_root(path, package):
    """The folder a lab's package imports from. config.toml sits in the package's own folder
    (`package = "examples.linear_lab"` in examples/linear_lab/), so it is that folder's ancestor one
    level per dotted part; None for a config.toml kept elsewhere (its package must be importable)."""
    folder = Path(path).resolve().parent
    parts = package.split(".")
    if len(folder.parts) <= len(parts) or list(folder.parts[-len(parts):]) != parts:
        return None
    return folder.parents[len(parts) - 1]


def _check_spec(name, table, path):
    where = f"{path} [checks.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: should be a table")
    spec = read_table(CheckSpec, table, where, name=name)
    if spec.visibility not in VISIBILITIES:
        raise ConfigError(f"{where}: visibility must be one of {', '.join(VISIBILITIES)}")
    if spec.points < 0:
        raise ConfigError(f"{where}: points must not be negative")
    return spec


def read_toml(path, what, named_by=""):
    """The TOML file `path` (`what` it is: "config file") as a dict; ConfigError, after `named_by`
    (where the path is given) when the file is absent, unreadable (a folder, no permission: e.g.
    --config given a folder) or not TOML."""
    where = f"{named_by}: " if named_by else ""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}{what} not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"{where}cannot read the {what} {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


TABLES = {"lab": LabTable, "fixtures": Fixtures, "tolerances": Tolerances, "limits": Limits,
          "integrity": Integrity, "handout": Handout}
OPTIONAL_TABLES = ("integrity", "handout")      # every key has a default


def load_config(path):
    """Reads and validates the config file `path` (the TOML only: no lab code); raises ConfigError
    with the file and key."""
    path = Path(path)
    data = read_toml(path, "config file")
    _refuse_hidden_seed(data, path)
    _refuse_old_names(data, path)
    if "mutants" in data:
        raise ConfigError(f"{path}: [mutants] belongs in the staff file [lab] staff names (it names the "
                          f"reference's parts, and config.toml ships with every package): move it there")
    unknown = set(data) - set(TABLES) - {"checks", "parameters"}
    if unknown:
        raise ConfigError(f"{path}: unknown table [{sorted(unknown)[0]}] (the tables are: "
                          f"{', '.join(TABLES)}, checks, parameters)")
    sections = {}
    for table, cls in TABLES.items():
        if table not in data and table not in OPTIONAL_TABLES:
            raise ConfigError(f"{path}: missing table [{table}]")
        sections[table] = _value(cls, data.get(table, {}), str(path), table)
    checks = data.get("checks")
    if not isinstance(checks, dict) or not checks:
        raise ConfigError(f"{path}: missing table [checks.NAME] (at least one graded check)")
    if not isinstance(data.get("parameters", {}), dict):
        raise ConfigError(f"{path}: 'parameters' should be a table, got {data['parameters']!r}")
    specs = {name: _check_spec(name, t, path) for name, t in checks.items()}
    for spec in specs.values():
        for need in spec.needs:
            if need not in specs or need == spec.name:
                raise ConfigError(f"{path} [checks.{spec.name}] needs: '{need}' is not another check of this file")
    config = Config(path=path, checks=specs, parameters_table=data.get("parameters"), **sections)
    if not 0 < config.similarity_threshold <= 1:
        raise ConfigError(f"{path} [integrity]: similarity_threshold must be in (0, 1], a share of the code")
    return config


def _refuse_old_names(data, path):
    """A config.toml written before [assignment] became [lab] is refused, saying what to rename."""
    if "assignment" in data:
        raise ConfigError(f"{path}: the table [assignment] is now called [lab]: rename it, and its key 'lab' "
                          f"(the lab's package) to 'package'; the lab's own tables [lab.NAME] are now "
                          f"[parameters.NAME] (docs/new-lab.md)")


def _refuse_hidden_seed(data, path):
    """A config.toml that still holds the hidden seed (it ships to students) is refused, saying what to run."""
    fixtures = data.get("fixtures")
    if isinstance(fixtures, dict) and "hidden_seed" in fixtures:
        raise ConfigError(f"{path} [fixtures]: hidden_seed must not be in config.toml, which ships with the handout "
                          f"and every grader package: delete that line (students may have that seed) and run "
                          f"`make fixtures NEW_SEED=1`, which draws a new one into the staff-only file "
                          f"hidden_seed_file names (default secrets/hidden_seed beside config.toml)")


STAFF_TABLES = {"mutants": Mutants, "bench": Bench}


def load_staff_settings(config):
    """The staff file of `config`'s lab ([lab] staff), typed; ConfigError naming the file and key when
    the lab names none, or the file is missing or wrong."""
    if not config.lab.staff:
        raise ConfigError(f"{config.path} [lab]: no 'staff' file (the settings of the staff's tools, e.g. "
                          f"staff = \"staff.toml\" with its [mutants] and [bench] tables)")
    path = config.resolve(config.lab.staff)
    data = read_toml(path, "staff file", named_by=f"{config.path} [lab] staff")
    unknown = set(data) - set(STAFF_TABLES)
    if unknown:
        raise ConfigError(f"{path}: unknown table [{sorted(unknown)[0]}] (the tables are: {', '.join(STAFF_TABLES)})")
    return StaffSettings(path=path, **{name: _value(cls, data[name], str(path), name)
                                       for name, cls in STAFF_TABLES.items() if name in data})
