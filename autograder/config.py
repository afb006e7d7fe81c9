"""The assignment's configuration (assignment/config.toml), read once and validated.

Everything a course changes between terms lives in that file: points,
visibility, tolerances, limits and seeds. Code reads it through `load_config`,
so a typo in the file is a clear message, not a KeyError deep in grading.
"""

try:
    import tomllib
except ImportError:                    # Python 3.10: the handout pins tomli for it
    import tomli as tomllib
from dataclasses import dataclass
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = KIT_ROOT / "assignment" / "config.toml"
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


class ConfigError(Exception):
    """The configuration file is missing, malformed or inconsistent."""


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


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    submission_file: str
    hidden_seed: int
    public_seed: int
    tolerances: dict            # dtype name ('float64', 'float32') -> Tolerance
    fd_eps: float
    fd_rtol: float
    training_kernels: tuple
    training_epochs: int
    training_lr: float
    max_kernel_error: float
    limits: dict                # name -> number, see [limits]
    checks: dict                # check name -> CheckSpec, in file order
    similarity_threshold: float = 0.8   # [integrity]: pairs at or above it are listed (advisory)

    @property
    def max_score(self):
        return sum(c.points for c in self.checks.values())

    def tolerance(self, dtype):
        try:
            return self.tolerances[str(dtype)]
        except KeyError:
            raise ConfigError(f"no tolerance for dtype {dtype} in {self.path}") from None


def _get(table, key, kind, where):
    if key not in table:
        raise ConfigError(f"{where}: missing '{key}'")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: '{key}' should be {kind.__name__}, got {value!r}")
    return value


def _check_spec(name, table, path):
    where = f"{path} [checks.{name}]"
    spec = CheckSpec(
        name=name,
        title=_get(table, "title", str, where),
        points=_get(table, "points", float, where),
        visibility=_get(table, "visibility", str, where),
        public=_get(table, "public", bool, where),
        category=_get(table, "category", str, where),
        hint=_get(table, "hint", str, where),
    )
    if spec.visibility not in VISIBILITIES:
        raise ConfigError(f"{where}: visibility must be one of {', '.join(VISIBILITIES)}")
    if spec.points < 0:
        raise ConfigError(f"{where}: points must not be negative")
    return spec


def load_config(path=DEFAULT_CONFIG):
    """Reads and validates the assignment config; raises ConfigError with the file and key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    try:
        assignment, fixtures, tol = data["assignment"], data["fixtures"], data["tolerances"]
        training, limits, checks = data["training"], data["limits"], data["checks"]
    except KeyError as exc:
        raise ConfigError(f"{path}: missing table [{exc.args[0]}]") from None
    tolerances = {
        dtype: Tolerance(_get(tol[dtype], "rtol", float, f"{path} [tolerances.{dtype}]"),
                         _get(tol[dtype], "atol", float, f"{path} [tolerances.{dtype}]"))
        for dtype in ("float64", "float32") if dtype in tol
    }
    fd = tol.get("finite_difference", {})
    config = Config(
        path=path,
        name=_get(assignment, "name", str, f"{path} [assignment]"),
        submission_file=_get(assignment, "submission_file", str, f"{path} [assignment]"),
        hidden_seed=_get(fixtures, "hidden_seed", int, f"{path} [fixtures]"),
        public_seed=_get(fixtures, "public_seed", int, f"{path} [fixtures]"),
        tolerances=tolerances,
        fd_eps=_get(fd, "eps", float, f"{path} [tolerances.finite_difference]"),
        fd_rtol=_get(fd, "rtol", float, f"{path} [tolerances.finite_difference]"),
        training_kernels=tuple(_get(training, "kernels", list, f"{path} [training]")),
        training_epochs=_get(training, "epochs", int, f"{path} [training]"),
        training_lr=_get(training, "lr", float, f"{path} [training]"),
        max_kernel_error=_get(training, "max_kernel_error", float, f"{path} [training]"),
        limits={k: v for k, v in limits.items()},
        checks={name: _check_spec(name, table, path) for name, table in checks.items()},
        similarity_threshold=_get(data.get("integrity", {"similarity_threshold": Config.similarity_threshold}),
                                  "similarity_threshold", float, f"{path} [integrity]"),
    )
    if not 0 < config.similarity_threshold <= 1:
        raise ConfigError(f"{path} [integrity]: similarity_threshold must be in (0, 1], a share of the code")
    if config.hidden_seed == config.public_seed:
        raise ConfigError(f"{path}: hidden_seed and public_seed must differ (students see the public set)")
    missing = {"float64", "float32"} - set(tolerances)
    if missing:
        raise ConfigError(f"{path}: [tolerances] lacks {', '.join(sorted(missing))}")
    return config
