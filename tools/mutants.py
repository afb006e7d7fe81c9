"""Mutation testing of the grader: does it fail every wrong col2im and Conv2d.backward?

    .venv/bin/python tools/mutants.py [--limit N] [--jobs N] [--out DIR] [--report FILE] [--json FILE]

1. Mutate. A small AST mutator makes every single-point change of the reference's
   `col2im`, `batch_col2im` and `Conv2d.backward` (reference/conv2d.py) from this list:
   arithmetic operator swaps, `+=` -> `=` / `-=`, comparison swaps, unary minus
   dropped, integer constants +/-1, slice start/stop/step dropped or +/-1, adjacent
   call arguments or tuple elements swapped (reshape, transpose, unpacking, calls),
   keyword arguments dropped, `.T` dropped, a name read as its twin (kH/kW, H/W,
   H_out/W_out, ki/kj, H_pad/W_pad, in/out channels), statements dropped. Each mutant is a
   full conv2d.py: the reference file with the one mutated function.
2. Equivalent or not. Each mutant runs in-process (a worker pool, with a time and
   memory limit) on the inputs of every hidden fixture case and is compared with the
   independent oracle (reference/oracle.py; col2im by the adjoint of the direct
   convolution): values within 1e-12 (float64) / 1e-5 (float32) of max(1, max|expected|),
   the contract's shapes and dtypes, grad_weight accumulating from a nonzero start,
   dY and the cache left unchanged. A mutant that agrees everywhere and raises
   nothing is equivalent. Equivalent mutants are also run on extra shapes the
   fixtures lack; one that differs there is listed as a gap in the fixtures' shapes.
3. Grade. Every non-equivalent mutant is graded as a submission by the batch grader
   (`autograder.staff.batch.run_batch`: one `python -m autograder grade` process each, in
   the sandbox, on the hidden fixtures). Killed: it loses points. Survived: full marks.

Prints the summary and writes it as markdown (tools/MUTANTS.md for a full run; a run
with --limit writes a report only where --report says). mutmut and cosmic-ray (on
PyPI) mutate a package and drive its own test runner per mutant; here the "tests" are
a sandboxed grader and equivalence needs the oracle, so a small mutator fits better.
"""

import argparse
import ast
import copy
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import sys
import textwrap
import time
import types
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[1]
if str(KIT_ROOT) not in sys.path:
    sys.path.insert(0, str(KIT_ROOT))

import numpy as np  # noqa: E402

from autograder.staff.catalogue import CATALOGUE_DIR, complete_with_template  # noqa: E402
from autograder.config import load_config  # noqa: E402
from assignment.fixture_builder import oracle_col2im  # noqa: E402
from autograder.fixtures import fixture_folder, load_fixture_set  # noqa: E402
from reference.oracle import conv2d_backward, conv2d_forward  # noqa: E402

REFERENCE = KIT_ROOT / "reference" / "conv2d.py"
TARGETS = ("col2im", "batch_col2im", "Conv2d.backward")
DEFAULT_REPORT = KIT_ROOT / "tools" / "MUTANTS.md"
DEFAULT_OUT = KIT_ROOT / "build" / "mutants"
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
MUTANT_TIME_S = 20          # in-process evaluation of one mutant on every case
MUTANT_MEMORY = 2 * 2**30   # address space of an evaluation worker

# --------------------------------------------------------------------------- mutate

BINOP_SWAPS = {ast.Add: (ast.Sub, ast.Mult), ast.Sub: (ast.Add,), ast.Mult: (ast.Div, ast.Add),
               ast.Div: (ast.Mult,), ast.FloorDiv: (ast.Div, ast.Mult), ast.Mod: (ast.FloorDiv,)}
AUG_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
# Names that are easy to mix up: the height/width and input/output twins of the handout's symbols.
TWINS = {"kH": "kW", "kW": "kH", "H": "W", "W": "H", "H_out": "W_out", "W_out": "H_out", "ki": "kj", "kj": "ki",
         "H_pad": "W_pad", "W_pad": "H_pad", "C_in": "C_out", "C_out": "C_in",
         "in_channels": "out_channels", "out_channels": "in_channels"}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                 ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass
class Mutant:
    id: str
    function: str              # 'col2im', 'batch_col2im' or 'Conv2d.backward'
    line: int                  # in reference/conv2d.py
    operator: str              # kind of mutation
    description: str           # `before` -> `after`
    source: str = field(repr=False, default="")
    verdict: str = ""          # 'equivalent', 'killed', 'survived', 'error'
    difference: str = ""       # how it differs from the oracle (non-equivalent mutants)
    gap: str = ""              # equivalent on the fixtures, but differs on an extra shape
    score: float = None
    lost: str = ""             # checks that lost points


def _src(node):
    return ast.unparse(node)


def _plus(node, k):
    """node + k (k = +1 or -1) as an expression."""
    return ast.BinOp(copy.deepcopy(node), ast.Add() if k > 0 else ast.Sub(), ast.Constant(1))


def _node_mutations(node, names):
    """(operator, replacement) pairs for one node; the replacement takes the node's place.

    names: the names the function binds (a twin is only read where it exists)."""
    out = []
    if isinstance(node, ast.BinOp):
        for alt in BINOP_SWAPS.get(type(node.op), ()):
            out.append(("arithmetic swap", ast.BinOp(copy.deepcopy(node.left), alt(), copy.deepcopy(node.right))))
    elif isinstance(node, ast.AugAssign):
        out.append(("augmented assignment to plain", ast.Assign([copy.deepcopy(node.target)],
                                                               copy.deepcopy(node.value))))
        if type(node.op) in AUG_SWAPS:
            out.append(("augmented assignment swap", ast.AugAssign(copy.deepcopy(node.target),
                                                                   AUG_SWAPS[type(node.op)](),
                                                                   copy.deepcopy(node.value))))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE_SWAPS:
        out.append(("comparison swap", ast.Compare(copy.deepcopy(node.left), [COMPARE_SWAPS[type(node.ops[0])]()],
                                                   copy.deepcopy(node.comparators))))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        out.append(("unary minus dropped", copy.deepcopy(node.operand)))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        out += [("integer constant", ast.Constant(node.value + 1)), ("integer constant", ast.Constant(node.value - 1))]
    elif isinstance(node, ast.Slice):
        for part in ("lower", "upper", "step"):
            value = getattr(node, part)
            if value is None:
                continue
            out.append((f"slice {part} dropped", ast.Slice(**{p: copy.deepcopy(getattr(node, p)) if p != part else None
                                                             for p in ("lower", "upper", "step")})))
            for k in (1, -1):
                out.append((f"slice {part} {k:+d}", ast.Slice(**{p: copy.deepcopy(getattr(node, p)) if p != part
                                                                  else _plus(value, k)
                                                                  for p in ("lower", "upper", "step")})))
    elif isinstance(node, ast.Call):
        for i in range(len(node.args) - 1):
            if _src(node.args[i]) != _src(node.args[i + 1]) and not any(isinstance(a, ast.Starred) for a in node.args):
                new = copy.deepcopy(node)
                new.args[i], new.args[i + 1] = new.args[i + 1], new.args[i]
                out.append(("arguments swapped", new))
        for i in range(len(node.keywords)):
            new = copy.deepcopy(node)
            del new.keywords[i]
            out.append(("keyword argument dropped", new))
    elif isinstance(node, ast.Tuple):
        for i in range(len(node.elts) - 1):
            if _src(node.elts[i]) != _src(node.elts[i + 1]):
                new = copy.deepcopy(node)
                new.elts[i], new.elts[i + 1] = new.elts[i + 1], new.elts[i]
                out.append(("tuple elements swapped", new))
    elif isinstance(node, ast.Attribute) and node.attr == "T":
        out.append((".T dropped", copy.deepcopy(node.value)))
    elif isinstance(node, ast.Attribute) and node.attr in TWINS:
        out.append(("twin name swapped", ast.Attribute(copy.deepcopy(node.value), TWINS[node.attr], node.ctx)))
    elif isinstance(node, ast.Name) and TWINS.get(node.id) in names and isinstance(node.ctx, ast.Load):
        out.append(("twin name swapped", ast.Name(TWINS[node.id], ast.Load())))
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)):
        out.append(("statement dropped", ast.Pass()))
    return out


def _walk(node, path=()):
    """(path, node) for node and every descendant, depth first; path = ((field, index or None), ...)."""
    yield path, node
    for name, value in ast.iter_fields(node):
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield from _walk(item, path + ((name, i),))
        elif isinstance(value, ast.AST):
            yield from _walk(value, path + ((name, None),))


def _at(root, path):
    node = root
    for name, index in path:
        node = getattr(node, name) if index is None else getattr(node, name)[index]
    return node


def _statement_line(fn, path):
    """The first line of the innermost statement holding the node at `path`."""
    while not isinstance(_at(fn, path), ast.stmt):
        path = path[:-1]
    return _src(_at(fn, path)).splitlines()[0]


def _replace(root, path, new):
    parent = root
    for name, index in path[:-1]:
        parent = getattr(parent, name) if index is None else getattr(parent, name)[index]
    name, index = path[-1]
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new


def _targets(tree):
    """{qualified name: FunctionDef} for the functions to mutate."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return {name: found[name] for name in TARGETS if name in found}


def read_solution(path):
    """A full conv2d.py: catalogue solutions hold only their own parts (the rest is the template's)."""
    source = Path(path).read_text(encoding="utf-8")
    return complete_with_template(source) if Path(path).resolve().parent == CATALOGUE_DIR / "correct" else source


def generate_mutants(reference=REFERENCE):
    """Every distinct single-point mutant of the target functions, in a fixed order."""
    source = read_solution(reference)
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    mutants, seen = [], set()
    for name, fn in _targets(tree).items():
        original = _src(fn)
        names = {a.arg for a in fn.args.args} | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
        start = 1 if body is not fn.body else 0
        for offset, stmt in enumerate(body):
            for path, node in _walk(stmt, (("body", start + offset),)):
                for operator, replacement in _node_mutations(node, names):
                    mutated = copy.deepcopy(fn)
                    _replace(mutated, path, replacement)
                    try:
                        text = _src(ast.fix_missing_locations(mutated))
                        compile(text, "<mutant>", "exec")
                    except (SyntaxError, ValueError, TypeError):
                        continue
                    if text == original or (name, text) in seen:
                        continue
                    seen.add((name, text))
                    indent = " " * fn.col_offset
                    full = "".join(lines[:fn.lineno - 1]) + textwrap.indent(text, indent) + "\n" \
                        + "".join(lines[fn.end_lineno:])
                    before, after = _statement_line(fn, path), _statement_line(mutated, path)
                    mutants.append(Mutant(id=f"m{len(mutants):04d}", function=name, line=node.lineno,
                                          operator=operator, description=f"`{_short(before)}` -> `{_short(after)}`",
                                          source=full))
    return mutants


def _short(text, width=90):
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


# --------------------------------------------------------------------------- equivalence

def _case_inputs(fixture_set):
    """Plain tuples describing every hidden case's inputs and the oracle's answers."""
    rng = np.random.default_rng(0)
    col2im_cases, layer_cases = [], []
    for case in fixture_set.cases:
        p = case.params
        if case.kind == "col2im":
            Y = case.array("Y")
            args = (p["C"], p["H"], p["W"], p["kH"], p["kW"], p["stride"])
            col2im_cases.append((case.id, Y, args, oracle_col2im(Y, *args)))
        elif case.kind == "layer":
            x, weight, dY = (case.array(n) for n in ("x", "weight", "dY"))
            grad0 = case.array("grad0").astype(weight.dtype)    # grad_weight is like the weight
            layer_cases.append(_layer_case(case.id, x, weight, dY, grad0, tuple(p["kernel_size"]),
                                           p["stride"], p["padding"]))
        elif case.kind == "training":
            x, w0 = case.array("x"), case.array("w0")
            y = conv2d_forward(x, w0, 1, 1)
            layer_cases.append(_layer_case(case.id, x, w0, rng.standard_normal(y.shape), np.zeros_like(w0),
                                           (3, 3), 1, 1))
    return col2im_cases, layer_cases


def _layer_case(case_id, x, weight, dY, grad0, k, s, p):
    f64 = [np.asarray(a, np.float64) for a in (x, weight, dY)]
    y = conv2d_forward(f64[0], f64[1], s, p)
    dX, dW = conv2d_backward(*f64, s, p)
    return case_id, x, weight, dY, grad0, (weight.shape[1], weight.shape[0], k, s, p), y, dX, dW


def extra_cases(count=40, seed=1):
    """Random small shapes (N<=3, C<=3, H,W<=7, k<=4, s<=3, p<=2) in float64, float32, and float32
    with float64 weights, with the oracle's answers: for finding mutants that look equivalent only
    because the fixtures lack some shape."""
    rng = np.random.default_rng(seed)
    col2im_cases, layer_cases = [], []
    while len(layer_cases) < count:
        N, C_in, C_out = (int(v) for v in rng.integers(1, 4, 3))
        H, W = (int(v) for v in rng.integers(1, 8, 2))
        kH, kW = (int(v) for v in rng.integers(1, 5, 2))
        s = int(rng.integers(1, 4))
        p = int(rng.integers(0, 3))
        if kH > H + 2 * p or kW > W + 2 * p:
            continue
        dtype = ("float64", "float32", "float32")[len(layer_cases) % 3]
        x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
        w_dtype = "float64" if len(layer_cases) % 3 == 2 else dtype      # float32 data, float64 weights
        weight = rng.standard_normal((C_out, C_in, kH, kW)).astype(w_dtype)
        H_out, W_out = (H + 2 * p - kH) // s + 1, (W + 2 * p - kW) // s + 1
        dY = rng.standard_normal((N, C_out, H_out, W_out)).astype(dtype)
        grad0 = rng.standard_normal(weight.shape).astype(w_dtype)
        layer_cases.append(_layer_case(f"extra{len(layer_cases)}", x, weight, dY, grad0, (kH, kW), s, p))
        Hp, Wp = H + 2 * p, W + 2 * p
        Y = rng.standard_normal((C_in * kH * kW, H_out * W_out)).astype(dtype)
        args = (C_in, Hp, Wp, kH, kW, s)
        col2im_cases.append((f"extra{len(col2im_cases)}", Y, args, oracle_col2im(Y, *args)))
    return col2im_cases, layer_cases


def _close(actual, expected, dtype, precision=None):
    """'' when actual is an array of expected's shape, of `dtype`, within the tolerance of `precision`
    (default: dtype) times max(1, max|expected|); else what is wrong."""
    if not isinstance(actual, np.ndarray):
        return f"returned {type(actual).__name__}"
    if actual.shape != expected.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    if actual.dtype != np.dtype(dtype):
        return f"dtype {actual.dtype}, expected {dtype}"
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    with np.errstate(all="ignore"):
        error = float(np.max(np.abs(actual.astype(np.float64) - expected))) if expected.size else 0.0
    if not error <= TOLERANCE[precision or dtype] * scale:         # also catches NaN
        return f"values differ by {error:.2e}"
    return ""


def _run_layer(module, case):
    """'' when the mutant's Conv2d agrees with the oracle on this layer case, else what differs."""
    case_id, x, weight, dY, grad0, (C_in, C_out, k, s, p), y_o, dX_o, dW_o = case
    dtype, w_dtype = str(dY.dtype), str(weight.dtype)
    precision = "float32" if "float32" in (dtype, w_dtype) else "float64"
    layer = module.Conv2d(C_in, C_out, k, stride=s, padding=p)
    layer.weight = weight.copy()
    layer.grad_weight = grad0.copy()
    x_in, dY_in = x.copy(), dY.copy()
    why = _close(layer.forward(x_in), y_o, dtype)
    if why:
        return f"{case_id}: forward {why}"
    for calls in (1, 2):
        dX = layer.backward(dY_in)
        why = _close(dX, dX_o, dtype)
        if why:
            return f"{case_id}: dX (backward call {calls}) {why}"
        why = _close(layer.grad_weight, grad0.astype(np.float64) + calls * dW_o, w_dtype, precision)
        if why:
            return f"{case_id}: grad_weight after {calls} backward call(s) from a nonzero start {why}"
        if not (np.array_equal(dY_in, dY) and dY_in.shape == dY.shape):
            return f"{case_id}: backward modified dY"
        if not np.array_equal(x_in, x):
            return f"{case_id}: the forward input was modified"
    return ""


def disagreement(module, cases):
    """'' when the module agrees with the oracle on every case, else the first difference."""
    col2im_cases, layer_cases = cases
    for case_id, Y, args, expected in col2im_cases:
        Y_in = Y.copy()
        why = _close(module.col2im(Y_in, *args), expected, str(Y.dtype))
        if why or not np.array_equal(Y_in, Y):
            return f"{case_id}: col2im {why or 'modified X_col'}"
    for case in layer_cases:
        why = _run_layer(module, case)
        if why:
            return why
    return ""


_CASES = {}


def _init_worker():
    resource.setrlimit(resource.RLIMIT_AS, (MUTANT_MEMORY, MUTANT_MEMORY))
    config = load_config()
    hidden = load_fixture_set(fixture_folder("hidden"), config.hidden_seed)
    _CASES["hidden"] = _case_inputs(hidden)
    _CASES["extra"] = extra_cases()


class _TimeUp(Exception):
    pass


def _on_alarm(signum, frame):
    raise _TimeUp()


def _attempt(run):
    """run()'s difference from the oracle ('' = none), or what the mutant raised."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return run()
    except _TimeUp:
        return f"took more than {MUTANT_TIME_S} s"
    except BaseException as exc:          # a mutant may raise anything, MemoryError included
        return f"raised {type(exc).__name__}: {_short(str(exc), 120)}"


def classify(source):
    """(difference on the hidden cases, difference on the extra shapes); '' means agreement."""
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(MUTANT_TIME_S)
    module = types.ModuleType("mutant_conv2d")

    def import_and_compare():
        exec(compile(source, "mutant_conv2d.py", "exec"), module.__dict__)
        return disagreement(module, _CASES["hidden"])
    try:
        hidden = _attempt(import_and_compare)
        extra = "" if hidden else _attempt(lambda: disagreement(module, _CASES["extra"]))
        return hidden, extra
    finally:
        signal.alarm(0)


# --------------------------------------------------------------------------- grade

def grade_mutants(mutants, out_dir, jobs):
    """Grades each mutant as a submission with the batch grader; fills in verdict, score, lost."""
    from autograder.staff.batch import run_batch
    submissions = out_dir / "submissions-in"
    shutil.rmtree(submissions, ignore_errors=True)
    for m in mutants:
        (submissions / m.id).mkdir(parents=True)
        (submissions / m.id / "conv2d.py").write_text(m.source, encoding="utf-8")
    records = {r["id"]: r for r in run_batch(submissions, out_dir / "graded", jobs=jobs, force=True)}
    config = load_config()
    for m in mutants:
        r = records[m.id]
        m.score = r["score"]
        if r["status"] != "graded":
            m.verdict = "error"
            m.lost = _short(str(r["message"]), 200)
        else:
            m.verdict = "killed" if r["score"] < r["max_score"] else "survived"
            m.lost = ", ".join(c for c, spec in config.checks.items() if r["checks"].get(c, 0.0) < spec.points)


# --------------------------------------------------------------------------- report

def summarise(mutants, seconds, jobs, generated):
    counts = {v: sum(m.verdict == v for m in mutants) for v in ("equivalent", "killed", "survived", "error")}
    graded = counts["killed"] + counts["survived"] + counts["error"]
    quiet = [m for m in mutants if m.verdict and m.verdict != "equivalent" and not _raises(m)]
    return dict(quiet=len(quiet), quiet_killed=sum(m.verdict == "killed" for m in quiet), date=datetime.datetime.now().isoformat(timespec="seconds"), total=len(mutants), **counts,
                non_equivalent=graded, score=round(100.0 * counts["killed"] / graded, 2) if graded else None,
                gaps=sum(bool(m.gap) for m in mutants), seconds=round(seconds, 1), jobs=jobs, generated=generated,
                machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
                python=platform.python_version(), numpy=np.__version__)


def _raises(mutant):
    return mutant.difference.startswith(("raised ", "took more than"))


def markdown(summary, mutants, command):
    s = summary
    lines = [
        "# Mutation testing of the grader",
        "",
        f"Written by `{command}` on {s['date']} ({s['machine']}; Python {s['python']}, NumPy {s['numpy']}; "
        f"{s['jobs']} jobs), in {s['seconds'] / 60:.1f} min. What the figures mean: tools/mutants.py's docstring.",
        "",
        "| mutants of `col2im`, `batch_col2im`, `Conv2d.backward` | count |",
        "|---|---:|",
        f"| generated | {s['generated']} |",
        *([f"| run (`--limit`: a sample spread over all of them) | {s['total']} |"]
          if s["total"] < s["generated"] else []),
        f"| equivalent (agree with the oracle on every hidden case) | {s['equivalent']} |",
        f"| non-equivalent, graded | {s['non_equivalent']} |",
        f"| killed (lose points) | {s['killed']} |",
        f"| survived (full marks) | {s['survived']} |",
        f"| grader errors | {s['error']} |",
        f"| **mutation score** (killed / non-equivalent) | **{s['score']} %** |",
        f"| non-equivalent mutants that never raise, only answer wrongly: killed / all | "
        f"{s['quiet_killed']} / {s['quiet']} |",
        f"| equivalent on the fixtures but wrong on another shape | {s['gaps']} |",
        "",
        "## Per function and kind of mutation",
        "",
        "| function | mutation | generated | equivalent | killed | survived |",
        "|---|---|---:|---:|---:|---:|",
    ]
    groups = {}
    for m in mutants:
        groups.setdefault((m.function, m.operator), []).append(m.verdict)
    for (function, operator), verdicts in sorted(groups.items()):
        lines.append(f"| `{function}` | {operator} | {len(verdicts)} | {verdicts.count('equivalent')} | "
                     f"{verdicts.count('killed')} | {verdicts.count('survived')} |")
    survivors = [m for m in mutants if m.verdict in ("survived", "error")]
    lines += ["", "## Survivors", ""]
    if survivors:
        lines += ["| id | function | line | mutation | how it differs from the oracle |", "|---|---|---:|---|---|"]
        lines += [f"| {m.id} | `{m.function}` | {m.line} | {m.description} | {m.verdict}: {m.difference} |"
                  for m in survivors]
    else:
        lines.append("None: the grader took points from every non-equivalent mutant.")
    gaps = [m for m in mutants if m.gap]
    lines += ["", "## Equivalent on the fixtures, wrong on another shape", ""]
    if gaps:
        lines += ["| id | function | line | mutation | difference |", "|---|---|---:|---|---|"]
        lines += [f"| {m.id} | `{m.function}` | {m.line} | {m.description} | {m.gap} |" for m in gaps]
    else:
        lines.append("None: every equivalent mutant also agrees with the oracle on 40 extra random shapes.")
    lines += ["", "## Equivalent mutants", "",
              "They compute the same thing as the reference on every input tried (no grader can tell them apart).",
              "", "| id | function | line | mutation |", "|---|---|---:|---|"]
    lines += [f"| {m.id} | `{m.function}` | {m.line} | {m.description} |"
              for m in mutants if m.verdict == "equivalent" and not m.gap]
    return "\n".join(lines) + "\n"


def _sample(items, limit):
    """`limit` items spread evenly over the list (every function gets some)."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only N mutants, spread over the whole list")
    parser.add_argument("--source", default=str(REFERENCE),
                        help="the conv2d.py to mutate (default the reference; e.g. a file of tests/submissions/correct)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers and graders")
    parser.add_argument("--out", default=None, help=f"working folder for mutants and grades (default {DEFAULT_OUT})")
    parser.add_argument("--report", default=None, help=f"markdown report (default {DEFAULT_REPORT} for a full run)")
    parser.add_argument("--json", default=None, help="also write the summary and every mutant as JSON")
    args = parser.parse_args(argv)
    started = time.monotonic()
    out_dir = Path(args.out) if args.out else DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)

    source = Path(args.source)
    every = generate_mutants(source)
    mutants = _sample(every, args.limit)
    print(f"{len(mutants)} mutants of {', '.join(sorted({m.function for m in every}))} in {source.name}; "
          f"checking equivalence with the oracle ...", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init_worker) as pool:
        hidden, extra = pool.submit(classify, read_solution(source)).result()
        if hidden or extra:      # then every verdict below would be meaningless
            raise SystemExit(f"the unmutated {source} disagrees with the oracle: {hidden or extra}")
        for m, (hidden, extra) in zip(mutants, pool.map(classify, [m.source for m in mutants], chunksize=4)):
            m.difference, m.gap = hidden, extra
            m.verdict = "" if hidden else "equivalent"
    to_grade = [m for m in mutants if not m.verdict]
    print(f"{len(mutants) - len(to_grade)} equivalent; grading {len(to_grade)} non-equivalent mutants "
          f"with {args.jobs} jobs ...", flush=True)
    if to_grade:
        grade_mutants(to_grade, out_dir, args.jobs)
    summary = summarise(mutants, time.monotonic() - started, args.jobs, len(every))

    print(f"\nkilled {summary['killed']}, survived {summary['survived']}, equivalent {summary['equivalent']}, "
          f"grader errors {summary['error']} (of {summary['total']}); mutation score {summary['score']} % "
          f"of non-equivalent mutants ({summary['quiet_killed']} of the {summary['quiet']} that answer wrongly "
          f"without raising killed); {summary['seconds']:.0f} s")
    for m in mutants:
        if m.verdict in ("survived", "error"):
            print(f"  {m.verdict.upper()} {m.id} {m.function} line {m.line}: {m.description} ({m.difference})")
    if summary["gaps"]:
        print(f"  {summary['gaps']} equivalent mutant(s) differ from the oracle on shapes the fixtures lack")
    command = " ".join([".venv/bin/python tools/mutants.py", *(argv if argv is not None else sys.argv[1:])])
    report = Path(args.report) if args.report else (None if args.limit else DEFAULT_REPORT)
    if report:
        report.write_text(markdown(summary, mutants, command), encoding="utf-8")
        print(f"wrote {report}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(summary=summary, mutants=[
            {k: v for k, v in asdict(m).items() if k != "source"} for m in mutants]), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
