"""A lab's catalogue of known submissions: correct, buggy and hostile.

The folder its config.toml names (`[lab] catalogue`, default `catalogue/` beside it; the
conv lab's is assignment/catalogue/). Buggy and hostile entries are a correct base file plus exact
text edits, declared in its catalogue.toml, so each one differs from its base by one reviewable
bug. Used by the kit's tests, by `verify`, by `make grade`'s bundled examples and by the
benchmarks; never shipped to students or to Gradescope.
"""

import ast
import base64
import tomllib
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path



def catalogue_dir(lab):
    """The folder of a lab's catalogue, as its config names it."""
    config = lab.config
    return config.resolve(config.lab.catalogue)


@dataclass(frozen=True)
class KnownSubmission:
    key: str            # 'correct/NAME', 'bug/NAME' or 'hostile/NAME'
    story: str
    fails: tuple = ()
    passes: tuple = ()
    must_not: str = ""
    source: str = ""
    twin: str = ""          # hostile: the same code without the attack ('correct/..', 'bug/..', 'template')
    loses_all: str = ""     # hostile: why it scores 0 where its twin does not
    feedback_says: str = ""  # hostile: text its feedback must hold
    exposed_when: str = ""  # bug: the shape condition under which it shows (tests/labs/conv/test_catalogue.py)
    exposed_by: str = ""    # bug: the check it then fails
    exposed_when_unstated: str = ""   # bug: why no shape condition can be stated
    may_fail: tuple = ()    # bug: checks it may fail too (garbage values decide), beside `fails`


# Optional text fields of a [[bug]] or [[hostile]] table, read as they are.
OPTIONAL_TEXT = ("twin", "loses_all", "feedback_says", "exposed_when", "exposed_by", "exposed_when_unstated")


def _definitions(tree, cls):
    """{name: node} of top-level functions and of class `cls`'s methods ('Class.name')."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef) and node.name == cls:
            found.update({f"{cls}.{m.name}": m for m in node.body if isinstance(m, ast.FunctionDef)})
    return found


def complete_with_template(partial, template=None, *, lab):
    """A full submission file: the lab's template with the partial's definitions put in.

    A correct solution in the catalogue's correct/ may hold only what it writes
    itself (e.g. one function, one method, helpers); everything else is the
    template's given code, kept in one place. The partial's docstring and imports
    replace and join the template's; its functions and the methods of the contract's
    class replace the template's of the same name; new ones are added.
    """
    cls = lab.contract.classes[0]                  # the class whose methods a partial may rewrite
    template = lab.template.read_text(encoding="utf-8") if template is None else template
    lines = template.splitlines(keepends=True)
    mine, given = ast.parse(partial), ast.parse(template)
    theirs, ours = _definitions(given, cls), _definitions(mine, cls)
    segment = lambda node: ast.get_source_segment(partial, node, padded=True) + "\n"
    edits = []                                     # (first line, last line, new text), 1-based
    for name, node in ours.items():
        if name in theirs:
            edits.append((theirs[name].lineno, theirs[name].end_lineno, segment(node)))
    conv = next(n for n in given.body if isinstance(n, ast.ClassDef) and n.name == cls)
    new_methods = "".join("\n" + segment(n) for k, n in ours.items() if k.startswith(f"{cls}.") and k not in theirs)
    if new_methods:
        edits.append((conv.end_lineno + 1, conv.end_lineno, new_methods))
    new_functions = "".join(segment(n) + "\n\n" for k, n in ours.items() if "." not in k and k not in theirs)
    given_imports = {ast.dump(n) for n in given.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    imports = "".join(ast.get_source_segment(partial, n) + "\n" for n in mine.body
                      if isinstance(n, (ast.Import, ast.ImportFrom)) and ast.dump(n) not in given_imports)
    last_import = max(n.end_lineno for n in given.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    edits.append((last_import + 1, last_import, imports + ("\n\n" + new_functions if new_functions else "")))
    doc = ast.get_docstring(mine, clean=False)
    if doc is not None:
        edits.append((given.body[0].lineno, given.body[0].end_lineno, f'"""{doc}"""\n'))
    for first, last, text in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[first - 1:last] = [text]
    return "".join(lines)


def correct_solution(name, folder=None, *, lab):
    """The full source of the catalogue's correct/NAME.py (completed with the template)."""
    folder = folder or catalogue_dir(lab)
    return complete_with_template((folder / "correct" / f"{name}.py").read_text(encoding="utf-8"), lab=lab)


def module_from_source(source, name):
    """Imports trusted source text (a catalogue solution) as a module, for tests and benchmarks."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    return module


def _apply(base_source, table, key):
    source = base_source
    for edit in table.get("replace", []):
        count = source.count(edit["old"])
        if count != 1:
            raise ValueError(f"{key}: text to replace occurs {count} times in its base, expected once: {edit['old']!r}")
        source = source.replace(edit["old"], _new_text(edit))
    if "prepend" in table:
        # After the module docstring and imports would be nicer, but first is what "at import" means.
        source = table["prepend"].lstrip("\n") + "\n" + source
    if "append_lines" in table:            # {line = "... {i} ...", count = N}: padding too long to write out
        lines = table["append_lines"]
        source += "\n" + "\n".join(lines["line"].format(i=i) for i in range(lines["count"])) + "\n"
    if "coding" in table:
        source = _with_coding(source, table["coding"], key)
    return source


def _new_text(edit):
    """An edit's new text; `{repeat}` in it stands for repeat.text written repeat.count times
    (an expression too long to write out)."""
    if "repeat" not in edit:
        return edit["new"]
    return edit["new"].replace("{repeat}", edit["repeat"]["text"] * edit["repeat"]["count"])


def _with_coding(source, coding, key):
    """The source as a file declaring `# coding: utf-7`, every character after that line in
    UTF-7's base64 form: what Python runs is the source, what a byte-wise comparison sees is noise."""
    if coding != "utf-7":
        raise ValueError(f"{key}: coding {coding!r} is not supported (only utf-7)")
    shifted = base64.b64encode(source.encode("utf-16-be")).decode("ascii").rstrip("=")
    return f"# coding: utf-7\n+{shifted}-\n"


def load_catalogue(folder=None, *, lab):
    """All entries by key, in a stable order: correct files, then bugs, then hostile ones.
    folder: default, the catalogue of `lab`."""
    folder = Path(folder or catalogue_dir(lab))
    data = tomllib.loads((folder / "catalogue.toml").read_text(encoding="utf-8"))
    entries = {}
    for path in sorted((folder / "correct").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        doc = text.split('"""')[1].strip().splitlines()[0]
        entries[f"correct/{path.stem}"] = KnownSubmission(f"correct/{path.stem}", doc,
                                                          source=correct_solution(path.stem, folder, lab=lab))
    for kind in ("bug", "hostile"):
        for table in data.get(kind, []):
            key = f"{kind}/{table['name']}"
            # "template": the untouched starter file, for submissions that do none of the work
            base = (lab.template.read_text(encoding="utf-8") if table["base"] == "template"
                    else entries[f"correct/{table['base']}"].source)
            fails = table.get("fails", ())
            fails = (fails,) if isinstance(fails, str) else tuple(fails)    # ("all",): must score 0
            entries[key] = KnownSubmission(key, table["story"], fails, tuple(table.get("passes", ())),
                                           table.get("must_not", ""), _apply(base, table, key),
                                           may_fail=tuple(table.get("may_fail", ())),
                                           **{name: table.get(name, "") for name in OPTIONAL_TEXT})
    return entries, data.get("examples", [])


def write_zip(entry, dest, *, lab):
    """Writes `dest` (a .zip) holding the entry's source under the lab's submission file name."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(lab.config.submission_file, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, entry.source)
    return dest


def write_examples(dest, keys=None, *, lab):
    """Writes the lab's bundled example submissions (or `keys`) as zips named after their key; returns paths."""
    entries, examples = load_catalogue(lab=lab)
    dest = Path(dest)
    return [write_zip(entries[k], dest / f"{k.replace('/', '__')}.zip", lab=lab) for k in (keys or examples)]


def bench_subjects(lab, pairs):
    """{label: what to grade} of a staff file's [bench] subjects ([label, key] pairs): a catalogue key
    stays a key; "reference" and "template" become those files of `lab` (autograder/config.py, Bench)."""
    files = {"reference": lab.reference, "template": lab.template}
    return {label: files.get(key, key) for label, key in pairs}
