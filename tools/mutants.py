"""Mutation testing of the grader: does it fail every wrong col2im and Conv2d.backward?

    .venv/bin/python tools/mutants.py [--limit N | --only ID,...] [--jobs N] [--out DIR] [--report FILE]
                                      [--json FILE]

1. Mutate. A small AST mutator makes every single-point change of the reference's
   `col2im`, `batch_col2im` and `Conv2d.backward` (reference/conv2d.py) from this list:
   arithmetic operator swaps, `+=` -> `=` / `-=`, comparison swaps, unary minus
   dropped, integer constants +/-1, slice start/stop/step dropped or +/-1, adjacent
   call arguments or tuple elements swapped (reshape, transpose, unpacking, calls),
   keyword arguments dropped, `.T` dropped, a name read as its twin (kH/kW, H/W,
   H_out/W_out, ki/kj, H_pad/W_pad, in/out channels), statements dropped. Each mutant is a
   full conv2d.py: the reference file with the one mutated function.
2. Equivalent or not. Each mutant runs in-process (a worker pool, with a time and
   memory limit) and is compared with the independent oracle (reference/oracle.py;
   col2im by the adjoint of the direct convolution): values within 1e-12 (float64) /
   1e-5 (float32) of max(1, max|expected|), the contract's shapes and dtypes,
   grad_weight accumulating from a nonzero start, dY and the cache left unchanged.
   First on every hidden fixture case at the reference's default block sizes, one case
   at a time, as the grader sees it: a case answered wrongly without raising is recorded
   apart from a case it raises on (killed by values / only by a crash). A mutant that
   agrees there is then run on shapes that reach every code path of the blocked loops:
   the hidden cases (among them an N=32, C_in=16, 32x32 batch at stride 2; 8x8
   images, several per block; col2im over several channel blocks), 40 small random
   shapes and more realistic ones (32 channels; N=31 at stride 2, several images per
   block; col2im on images larger than a block), float64 and float32, each with the
   block sizes at their defaults, forced to one byte (one channel / image per block)
   and unbounded (one block). A mutant that agrees everywhere and raises nothing is
   equivalent; tools/EQUIVALENTS.md argues why each remaining one truly is.
3. Grade. Every non-equivalent mutant is graded as a submission by the batch grader
   (`autograder.staff.batch.run_batch`: one `python -m autograder grade` process each, in
   the sandbox, on the hidden fixtures). Killed: it loses points. Survived: full marks.

A full run writes tools/MUTANTS.md and tools/mutants.json (every verdict, the summary
and the hash of the inputs, which tests/labs/conv/test_mutants.py checks along with the README's
figures); a run with --limit or --only writes only where --report / --json say.
What to mutate, where the results go and the oracle's tolerances are the conv lab's settings, in
assignment/staff.toml's [mutants] table (the oracle and the reference: config.toml's [lab] table).
mutmut and cosmic-ray (on PyPI) mutate a package and drive its own test runner per
mutant; here the "tests" are a sandboxed grader and equivalence needs the oracle, so a
small mutator fits better.
"""

import argparse
import ast
import copy
import datetime
import importlib
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

from autograder.staff.catalogue import catalogue_dir, complete_with_template  # noqa: E402
from autograder.config import ConfigError, load_staff_settings  # noqa: E402
from autograder.lab_loader import load_lab  # noqa: E402
from autograder.fixtures import load_fixture_set  # noqa: E402

# The lab whose checks are mutation-tested: the [mutants] table of its staff file (config.toml's
# [lab] staff) holds the settings. The evaluation below (cases, layer runs, the oracle's calls) is
# written for this lab.
LAB = load_lab(KIT_ROOT / "assignment" / "config.toml")
CONFIG = LAB.config
STAFF = load_staff_settings(CONFIG)
if STAFF.mutants is None:
    raise ConfigError(f"{STAFF.path} has no [mutants] table: what to mutate, where the results go")
SETTINGS = STAFF.mutants
ORACLE = importlib.import_module(".".join(                      # [lab] oracle, e.g. reference.oracle
    CONFIG.resolve(CONFIG.lab.oracle).resolve().relative_to(KIT_ROOT).with_suffix("").parts))
conv2d_backward, conv2d_forward = ORACLE.conv2d_backward, ORACLE.conv2d_forward
oracle_col2im = LAB.builder.oracle_col2im                       # col2im by the oracle's adjoint

REFERENCE = LAB.reference
TARGETS = SETTINGS.targets
DEFAULT_REPORT = STAFF.resolve(SETTINGS.report)
DEFAULT_OUT = KIT_ROOT / "build" / "mutants"
TOLERANCE = {"float64": SETTINGS.float64, "float32": SETTINGS.float32}
MUTANT_TIME_S = 30          # in-process evaluation of one mutant on one case (or one set of cases)
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
    wrong_values: str = ""     # first hidden case answered wrongly without raising ('' = none)
    crash: str = ""            # first hidden case it raised on or timed out ('' = none)
    elsewhere: str = ""        # agrees on every hidden case but differs on other shapes / block sizes
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


def read_solution(path, lab):
    """A full conv2d.py: catalogue solutions hold only their own parts (the rest is `lab`'s template's)."""
    source = Path(path).read_text(encoding="utf-8")
    return (complete_with_template(source, lab=lab) if Path(path).resolve().parent == catalogue_dir(lab) / "correct"
            else source)


def generate_mutants(lab, reference=REFERENCE):
    """Every distinct single-point mutant of the target functions, in a fixed order."""
    source = read_solution(reference, lab)
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


# Realistic sizes beside the hidden set's own (N=32, C_in=16, 32x32 at stride 2; 8x8 images
# several to a block; col2im over several channel blocks): 32 channels (more than one channel block
# of backward's col2im at the default sizes), images several to a block at stride 2 with a shorter
# last block (N=31), and col2im images of more than COL2IM_BLOCK_BYTES, in both dtypes. (N, C_in, C_out, H, W, (kH, kW), s, p).
REALISTIC_LAYERS = [(4, 32, 8, 34, 30, (3, 2), 1, 0), (31, 8, 4, 20, 20, (3, 3), 2, 1)]
REALISTIC_COL2IM = [(16, 48, 48, 3, 3, 1), (1, 182, 182, 3, 3, 1)]


def realistic_cases(seed=2):
    """The REALISTIC_* shapes in float64 and float32, with the oracle's answers."""
    rng = np.random.default_rng(seed)
    col2im_cases, layer_cases = [], []
    for dtype in ("float64", "float32"):
        for N, C_in, C_out, H, W, k, s, p in REALISTIC_LAYERS:
            x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
            weight = rng.standard_normal((C_out, C_in) + k).astype(dtype)
            H_out, W_out = (H + 2 * p - k[0]) // s + 1, (W + 2 * p - k[1]) // s + 1
            dY = rng.standard_normal((N, C_out, H_out, W_out)).astype(dtype)
            grad0 = rng.standard_normal(weight.shape).astype(dtype)
            layer_cases.append(_layer_case(f"realistic_N{N}_C{C_in}_{H}x{W}_s{s}_{dtype}", x, weight, dY, grad0,
                                           k, s, p))
        for C, H, W, kH, kW, s in REALISTIC_COL2IM:
            L = ((H - kH) // s + 1) * ((W - kW) // s + 1)
            Y = rng.standard_normal((C * kH * kW, L)).astype(dtype)
            args = (C, H, W, kH, kW, s)
            col2im_cases.append((f"realistic_col2im_C{C}_{H}x{W}_{dtype}", Y, args, oracle_col2im(Y, *args)))
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


# Block sizes the reference's blocked loops are run with. The hidden set is graded at the default
# sizes; equivalence also needs one channel and one image per block (every block boundary in use)
# and a single block whatever the shape (no boundary at all), as tests/labs/conv/test_reference.py does.
BLOCK_REGIMES = {"default": None, "one-byte blocks": 1, "unbounded blocks": 2**62}
BLOCK_NAMES = ("COL2IM_BLOCK_BYTES", "BACKWARD_BLOCK_BYTES")

_CASES = {}


def _init_worker(config_path):
    resource.setrlimit(resource.RLIMIT_AS, (MUTANT_MEMORY, MUTANT_MEMORY))
    lab = load_lab(config_path)
    hidden = load_fixture_set(lab.fixtures_root / "hidden", lab.config.hidden_seed, lab=lab)
    _CASES["hidden"] = _case_inputs(hidden)
    _CASES["extra"] = extra_cases()
    _CASES["realistic"] = realistic_cases()


class _TimeUp(Exception):
    pass


def _on_alarm(signum, frame):
    raise _TimeUp()


def _attempt(run):
    """run()'s difference from the oracle ('' = none), or what the mutant raised (prefixed 'raised' /
    'took more than', so a crash is told apart from a wrong answer)."""
    signal.alarm(MUTANT_TIME_S)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return run()
    except _TimeUp:
        return f"took more than {MUTANT_TIME_S} s"
    except BaseException as exc:          # a mutant may raise anything, MemoryError included
        return f"raised {type(exc).__name__}: {_short(str(exc), 120)}"
    finally:
        signal.alarm(0)


def _per_case(module, cases):
    """[(case id, difference)] for the cases whose answer differs from the oracle's, each case on its
    own so that one that raises does not hide another that answers wrongly; stops at the first wrong
    answer (what decides 'killed by values'), so only mutants that raise run every case."""
    col2im_cases, layer_cases = cases
    out = []
    for case in [([c], []) for c in col2im_cases] + [([], [c]) for c in layer_cases]:
        why = _attempt(lambda: disagreement(module, case))
        if why:
            out.append(((case[0] or case[1])[0][0], why))
            if not _is_crash(why):
                break
    return out


def _is_crash(why):
    return ": raised " in why or ": took more than" in why or why.startswith(("raised ", "took more than"))


def classify(source):
    """What one mutant does, as a dict:

    wrong_values: the first hidden case (default block sizes, as graded) it answers wrongly without
                  raising; crash: the first hidden case it raises on or times out; '' when none.
    elsewhere:    when it agrees on every hidden case, the first difference on the other shapes
                  (40 small random ones, realistic N=32 batches) or block sizes; '' when none."""
    signal.signal(signal.SIGALRM, _on_alarm)
    module = types.ModuleType("mutant_conv2d")
    why = _attempt(lambda: exec(compile(source, "mutant_conv2d.py", "exec"), module.__dict__))
    if why:
        return dict(wrong_values="", crash=f"import {why}", elsewhere="")
    defaults = {name: getattr(module, name) for name in BLOCK_NAMES if hasattr(module, name)}
    hidden = _per_case(module, _CASES["hidden"])
    result = dict(wrong_values=next((f"{c}: {w}" for c, w in hidden if not _is_crash(w)), ""),
                  crash=next((f"{c}: {w}" for c, w in hidden if _is_crash(w)), ""), elsewhere="")
    if hidden:
        return result
    for regime, size in BLOCK_REGIMES.items():
        for name in defaults:
            setattr(module, name, defaults[name] if size is None else size)
        for which in ("hidden", "extra", "realistic"):
            if which == "hidden" and size is None:
                continue                  # done above
            why = _attempt(lambda: disagreement(module, _CASES[which]))
            if why:
                result["elsewhere"] = f"{regime}, {which} shapes: {why}"
                return result
    return result


# --------------------------------------------------------------------------- grade

def grade_mutants(lab, mutants, out_dir, jobs):
    """Grades each mutant as a submission to `lab` with the batch grader; fills in verdict, score, lost."""
    from autograder.staff.batch import run_batch
    submissions = out_dir / "submissions-in"
    shutil.rmtree(submissions, ignore_errors=True)
    for m in mutants:
        (submissions / m.id).mkdir(parents=True)
        (submissions / m.id / lab.config.submission_file).write_text(m.source, encoding="utf-8")
    records = {r["id"]: r for r in run_batch(lab, submissions, out_dir / "graded", jobs=jobs, force=True)}
    config = lab.config
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

# What defines the committed result (tools/mutants.json): the code mutated and the reference's folder
# (the oracle, the training problem), this tool, the code that builds the hidden set (its arrays are
# not hashed: GEMM rounding may differ in the last bit between CPUs, the cases do not), and the graded
# parts of the config. Not the hidden seed: a staff secret that each clone draws for itself
# (autograder/seeds.py), which a committed file must not name.
HASHED_FILES = tuple(sorted({p.resolve().relative_to(KIT_ROOT).as_posix() for p in (
    *REFERENCE.parent.glob("*.py"), Path(__file__), CONFIG.resolve(CONFIG.lab.fixture_builder),
    *([CONFIG.resolve(CONFIG.lab.oracle)] if CONFIG.lab.oracle else []))}))
DEFAULT_JSON = STAFF.resolve(SETTINGS.results)


def inputs_hash(lab):
    """sha256 over everything the full run's figures of `lab` depend on (see HASHED_FILES)."""
    import hashlib
    config = lab.config
    h = hashlib.sha256()
    for name in HASHED_FILES:
        h.update(name.encode() + b"\0" + (KIT_ROOT / name).read_bytes() + b"\0")
    graded = dict(generator_version=config.fixtures.builder_version, numpy=np.__version__,
                  training_kernels=list(lab.parameters.training.kernels),
                  tolerances={d: config.tolerance(d) for d in ("float64", "float32")},
                  points={name: spec.points for name, spec in sorted(config.checks.items())},
                  mutants=dict(targets=list(SETTINGS.targets), float64=SETTINGS.float64, float32=SETTINGS.float32))
    h.update(json.dumps(graded, sort_keys=True, default=str).encode())
    return h.hexdigest()


def kind(mutant):
    """'values' when the mutant answers some hidden case wrongly without raising, 'crash' when it only
    ever raises or times out there, 'elsewhere' when it agrees on every hidden case (and differs only
    on other shapes or block sizes), '' for an equivalent mutant."""
    if mutant.wrong_values:
        return "values"
    if mutant.crash:
        return "crash"
    return "elsewhere" if mutant.elsewhere else ""


def _difference(mutant):
    """How the mutant first differs from the oracle ('' for an equivalent one)."""
    return mutant.wrong_values or mutant.crash or mutant.elsewhere


def summarise(mutants, seconds, jobs, generated):
    counts = {v: sum(m.verdict == v for m in mutants) for v in ("equivalent", "killed", "survived", "error")}
    graded = counts["killed"] + counts["survived"] + counts["error"]
    killed = [m for m in mutants if m.verdict == "killed"]
    return dict(date=datetime.datetime.now().isoformat(timespec="seconds"), total=len(mutants), **counts,
                killed_by_values=sum(kind(m) != "crash" for m in killed),
                killed_by_crash=sum(kind(m) == "crash" for m in killed),
                not_on_hidden=sum(kind(m) == "elsewhere" for m in mutants),
                non_equivalent=graded, score=round(100.0 * counts["killed"] / graded, 2) if graded else None,
                seconds=round(seconds, 1), jobs=jobs, generated=generated,
                machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
                python=platform.python_version(), numpy=np.__version__)


def readme_row(s):
    """The README's 'Grader quality' row for the mutation score: tests/labs/conv/test_mutants.py checks that the
    README holds exactly this text, built from the committed result."""
    return (f"| automatic mutants of the reference's `col2im`, `batch_col2im`, `Conv2d.backward` (`make mutants`) | "
            f"{s['killed']} of {s['non_equivalent']} non-equivalent mutants killed by the hidden set: "
            f"{s['killed_by_values']} by wrong values, {s['killed_by_crash']} only by a crash; "
            f"{s['survived']} survived; {s['equivalent']} equivalent (agree with the oracle at the default, "
            f"one-byte and unbounded block sizes, on the hidden cases, 40 random shapes and realistic N=32 "
            f"batches, float64 and float32): **mutation score {s['score']} %** | [tools/MUTANTS.md](tools/MUTANTS.md) |")


OLD_FIGURES = """Before issue 15 (run of 2026-11-26, small shapes only, default block sizes): 264 generated,
44 called equivalent, 220 of 220 non-equivalent killed, "mutation score 100 %", of which 33 killed by
wrong values and 187 only by a crash. Forcing one-byte blocks showed 21 of those 44 "equivalent"
mutants to be wrong, and a realistic batch 10 of them; the honest score was about 91 %."""


def markdown(summary, mutants, command, notes=""):
    s = summary
    lines = [
        "# Mutation testing of the grader",
        "",
        f"Written by `{command}` on {s['date']} ({s['machine']}; Python {s['python']}, NumPy {s['numpy']}; "
        f"{s['jobs']} jobs), in {s['seconds'] / 60:.1f} min. What the figures mean: tools/mutants.py's docstring. "
        "The same figures, and every mutant's verdict, are in tools/mutants.json with the hash of their "
        "inputs; `make test` checks that hash and that the README quotes these figures.",
        "",
        "| mutants of `col2im`, `batch_col2im`, `Conv2d.backward` | count |",
        "|---|---:|",
        f"| generated | {s['generated']} |",
        *([f"| run (`--limit` / `--only`: a sample) | {s['total']} |"] if s["total"] < s["generated"] else []),
        f"| equivalent (agree with the oracle on every shape and block size tried) | {s['equivalent']} |",
        f"| non-equivalent, graded | {s['non_equivalent']} |",
        f"| killed (lose points on the hidden set) | {s['killed']} |",
        f"| killed, answering some hidden case wrongly without raising | {s['killed_by_values']} |",
        f"| killed only by raising or timing out | {s['killed_by_crash']} |",
        f"| survived (full marks) | {s['survived']} |",
        f"| grader errors | {s['error']} |",
        f"| non-equivalent but right on every hidden case (wrong only on other shapes or block sizes) | "
        f"{s['not_on_hidden']} |",
        f"| **mutation score** (killed / non-equivalent) | **{s['score']} %** |",
        "",
        "## Before and after", "", OLD_FIGURES.replace("\n", " "), "",
        f"Now: {s['killed']} of {s['non_equivalent']} killed ({s['killed_by_values']} by values, "
        f"{s['killed_by_crash']} by a crash), {s['survived']} survived, {s['equivalent']} equivalent.",
        "",
        "## Per function and kind of mutation",
        "",
        "| function | mutation | generated | equivalent | killed by values | killed by a crash | survived |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    groups = {}
    for m in mutants:
        groups.setdefault((m.function, m.operator), []).append(m)
    for (function, operator), ms in sorted(groups.items()):
        killed = [m for m in ms if m.verdict == "killed"]
        lines.append(f"| `{function}` | {operator} | {len(ms)} | {sum(m.verdict == 'equivalent' for m in ms)} | "
                     f"{sum(kind(m) != 'crash' for m in killed)} | {sum(kind(m) == 'crash' for m in killed)} | "
                     f"{sum(m.verdict in ('survived', 'error') for m in ms)} |")
    survivors = [m for m in mutants if m.verdict in ("survived", "error")]
    lines += ["", "## Survivors", ""]
    if survivors:
        lines += ["| id | function | line | mutation | how it differs from the oracle |", "|---|---|---:|---|---|"]
        lines += [f"| {m.id} | `{m.function}` | {m.line} | {m.description} | {m.verdict}: "
                  f"{_difference(m)} |" for m in survivors]
    else:
        lines.append("None: the grader took points from every non-equivalent mutant.")
    lines += ["", "## Equivalent mutants", ""]
    if notes:
        lines += [notes.strip(), ""]
    lines += ["| id | function | line | mutation |", "|---|---|---:|---|"]
    lines += [f"| {m.id} | `{m.function}` | {m.line} | {m.description} |"
              for m in mutants if m.verdict == "equivalent"]
    return "\n".join(lines) + "\n"


def from_record(record):
    """A Mutant from one of the JSON's records (without its source)."""
    return Mutant(**{k: v for k, v in record.items() if k != "difference"})


def _sample(items, limit):
    """`limit` items spread evenly over the list (every function gets some)."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


EQUIVALENCE_NOTES = STAFF.resolve(SETTINGS.equivalents)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only N mutants, spread over the whole list")
    parser.add_argument("--only", default="", help="only these mutant ids, comma-separated (e.g. m0012,m0204)")
    parser.add_argument("--source", default=str(REFERENCE),
                        help="the conv2d.py to mutate (default the reference; e.g. a file of assignment/catalogue/correct)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers and graders")
    parser.add_argument("--out", default=None, help=f"working folder for mutants and grades (default {DEFAULT_OUT})")
    parser.add_argument("--report", default=None, help=f"markdown report (default {DEFAULT_REPORT} for a full run)")
    parser.add_argument("--json", default=None,
                        help=f"the summary and every mutant as JSON (default {DEFAULT_JSON} for a full run)")
    parser.add_argument("--rewrite-report", action="store_true",
                        help=f"only rewrite {DEFAULT_REPORT.name} from {DEFAULT_JSON.name} (after editing "
                             f"{EQUIVALENCE_NOTES.name}); runs nothing")
    args = parser.parse_args(argv)
    if args.rewrite_report:
        data = json.loads(DEFAULT_JSON.read_text(encoding="utf-8"))
        mutants = [from_record(m) for m in data["mutants"]]
        notes = EQUIVALENCE_NOTES.read_text(encoding="utf-8") if EQUIVALENCE_NOTES.is_file() else ""
        DEFAULT_REPORT.write_text(markdown(data["summary"], mutants, data["summary"]["command"], notes), encoding="utf-8")
        print(f"wrote {DEFAULT_REPORT}")
        return 0
    started = time.monotonic()
    lab = LAB
    out_dir = Path(args.out) if args.out else DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)

    source = Path(args.source)
    every = generate_mutants(lab, source)
    only = [i for i in args.only.split(",") if i]
    unknown = set(only) - {m.id for m in every}
    if unknown:
        raise SystemExit(f"no mutant {', '.join(sorted(unknown))} (ids run from m0000 to m{len(every) - 1:04d})")
    mutants = [m for m in every if m.id in only] if only else _sample(every, args.limit)
    full = len(mutants) == len(every) and source.resolve() == REFERENCE.resolve()
    print(f"{len(mutants)} mutants of {', '.join(sorted({m.function for m in every}))} in {source.name}; "
          f"checking equivalence with the oracle ...", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init_worker, initargs=(LAB.config.path,)) as pool:
        unmutated = pool.submit(classify, read_solution(source, lab)).result()
        if any(unmutated.values()):      # then every verdict below would be meaningless
            raise SystemExit(f"the unmutated {source} disagrees with the oracle: {unmutated}")
        for m, result in zip(mutants, pool.map(classify, [m.source for m in mutants], chunksize=2)):
            m.wrong_values, m.crash, m.elsewhere = result["wrong_values"], result["crash"], result["elsewhere"]
            m.verdict = "" if any(result.values()) else "equivalent"
    to_grade = [m for m in mutants if not m.verdict]
    print(f"{len(mutants) - len(to_grade)} equivalent; grading {len(to_grade)} non-equivalent mutants "
          f"with {args.jobs} jobs ...", flush=True)
    if to_grade:
        grade_mutants(lab, to_grade, out_dir, args.jobs)
    summary = summarise(mutants, time.monotonic() - started, args.jobs, len(every))
    command = " ".join([".venv/bin/python tools/mutants.py", *(argv if argv is not None else sys.argv[1:])])
    summary["command"] = command

    print(f"\nkilled {summary['killed']}, survived {summary['survived']}, equivalent {summary['equivalent']} "
          f"(killed by values {summary['killed_by_values']}, only by a crash {summary['killed_by_crash']}), "
          f"grader errors {summary['error']} (of {summary['total']}); mutation score {summary['score']} % "
          f"of non-equivalent mutants; {summary['seconds']:.0f} s")
    for m in mutants:
        if m.verdict in ("survived", "error"):
            print(f"  {m.verdict.upper()} {m.id} {m.function} line {m.line}: {m.description} ({_difference(m)})")
    report = Path(args.report) if args.report else (DEFAULT_REPORT if full else None)
    if report:
        notes = EQUIVALENCE_NOTES.read_text(encoding="utf-8") if EQUIVALENCE_NOTES.is_file() else ""
        report.write_text(markdown(summary, mutants, command, notes), encoding="utf-8")
        print(f"wrote {report}")
    json_path = Path(args.json) if args.json else (DEFAULT_JSON if full else None)
    if json_path:
        if full:
            summary["inputs_hash"] = inputs_hash(lab)
        json_path.write_text(json.dumps(dict(summary=summary, mutants=[
            {k: v for k, v in asdict(m).items() if k != "source"} | {"difference": _difference(m)}
            for m in mutants]), indent=1) + "\n")
        print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
