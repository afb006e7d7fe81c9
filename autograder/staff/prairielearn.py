"""PrairieLearn: a question, the kit for serverFilesCourse, and the grader image's build context.

    python -m autograder [--config CONFIG_TOML] package prairielearn --out build/prairielearn [--image NAME:TAG]

Writes OUT (replacing an earlier build, never another folder):

  course/questions/<q>/info.json       external grading: image, entrypoint, timeout, serverFilesCourse
  course/questions/<q>/question.html   the file upload for the lab's file, the contract in brief, the results
  course/questions/<q>/tests/run_grader   the entrypoint (from autograder/prairielearn/run_grader)
  course/serverFilesCourse/convkit_<q>/   the grader: packaging's manifest for graders, the same files
                                       as the Gradescope zip (engine, lab, hidden fixture set, LAB;
                                       never the reference, never the hidden seed)
  image/                               docker build context: Dockerfile, requirements-grader.txt
                                       (the Gradescope pins) and the engine, nothing of the lab

<q> is the lab's submission file's stem (conv2d). course/ is copied into the course
repository as it is. Every file is written in sorted order with fixed modes and a fixed
mtime, so the same inputs give a byte-identical tree. Every file is checked by
packaging.refuse_secrets first. The timeout is the lab's whole CPU budget per submission
plus a margin, so the sandbox's limits, not PrairieLearn's kill, decide a slow submission.
"""

import ast
import calendar
import html
import json
import math
import os
import shutil
import uuid
from pathlib import Path

from autograder import __version__
from autograder.config import KIT_ROOT
from autograder.limits import OUTER_MARGIN_S
from autograder.staff.packaging import (FIXED_TIME, GRADESCOPE_DIR, PackagingError, engine_files, grader_files,
                                        refuse_secrets)

PL_DIR = KIT_ROOT / "autograder" / "prairielearn"
MARKER = ".convkit-prairielearn"             # says OUT is a build of this module (only such a folder is replaced)
DEFAULT_IMAGE = f"convkit/grader:{__version__}"
DEADLINE_MARGIN_S = 15                       # run_grader stops the grader this much earlier, to write results.json
PL_MAX_TIMEOUT_S = 600                       # PrairieLearn's upper bound
FIXED_MTIME = calendar.timegm((*FIXED_TIME, 0, 0, 0))
EXECUTABLE = {"run_grader"}


def question_name(lab):
    return Path(lab.config.submission_file).stem


def kit_dir_name(lab):
    return f"convkit_{question_name(lab)}"


def timeout_s(lab):
    """info.json's timeout: the submission's whole CPU budget plus the kit's one outer margin, at
    most PrairieLearn's 600 s. The CPU budget, not total_wall_s (as Gradescope and a batch use):
    PrairieLearn's cap lies below the conv lab's 900 s, so run_grader's deadline, not the
    sandbox's outer bound, stops a submission that sleeps or waits that long (not gradable: no
    attempt used)."""
    return min(PL_MAX_TIMEOUT_S, math.ceil(lab.config.limits.total_cpu_s + OUTER_MARGIN_S))


def info_json(lab, image):
    config = lab.config
    name = question_name(lab)
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"convkit:{config.name}:{name}")),
        "title": config.name,
        "topic": "Autograded labs",
        "tags": ["convkit", "code", "v3"],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "serverFilesCourse": [f"{kit_dir_name(lab)}/"],
            "entrypoint": "/grade/tests/run_grader",
            "timeout": timeout_s(lab),
        },
    }


def _escape(text):
    """Text for question.html: HTML-escaped, and no mustache braces (PrairieLearn renders the file as a template)."""
    return html.escape(text).replace("{", "&#123;").replace("}", "&#125;")


def contract_parts(lab):
    """[(signature, docstring)] of what the student writes: the template's functions and methods of the
    contract whose docstring starts with TODO."""
    tree = ast.parse(lab.template.read_text(encoding="utf-8"))
    contract = lab.contract
    parts = []
    for node in tree.body:
        owner, members = "", [node]
        if isinstance(node, ast.ClassDef) and node.name in contract.classes:
            owner, members = f"{node.name}.", node.body
        elif not (isinstance(node, ast.FunctionDef) and node.name in contract.functions):
            continue
        for member in members:
            doc = ast.get_docstring(member) if isinstance(member, ast.FunctionDef) else None
            if doc and doc.startswith("TODO"):
                parts.append((f"{owner}{member.name}({ast.unparse(member.args)})", doc[len("TODO."):].strip()))
    return parts


def question_html(lab):
    config = lab.config
    file = config.submission_file
    launcher = config.handout.launcher         # the students' command file, when the lab has one
    check_command = f"python {Path(launcher).name} check" if launcher else "python -m autograder check"
    contract = "\n".join(f"    <p><code>{_escape(sig)}</code></p>\n    <pre>{_escape(doc)}</pre>"
                         for sig, doc in contract_parts(lab))
    rows = "\n".join(f"      <tr><td>{_escape(spec.title)}</td><td>{spec.points:g}</td></tr>"
                     for spec in config.checks.values())
    return f"""<pl-question-panel>
  <p><strong>{_escape(config.name)}</strong></p>
  <p>
    Upload your <code>{_escape(file)}</code>: the handout's template with the parts marked TODO written
    (the handout has the maths, the pitfalls and <code>{_escape(check_command)}</code>, the public checks with
    points). Keep every given function and signature as it is.
  </p>
  <details>
    <summary>What you write</summary>
{contract}
  </details>
  <details>
    <summary>What is graded ({config.max_score:g} points, on hidden test cases)</summary>
    <table class="table table-sm">
      <tr><th>check</th><th>points</th></tr>
{rows}
    </table>
  </details>
  <pl-file-upload file-names="{_escape(file)}"></pl-file-upload>
</pl-question-panel>

<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""


def run_grader(lab):
    text = (PL_DIR / "run_grader").read_text(encoding="utf-8")
    return (text.replace("@KIT_DIR@", kit_dir_name(lab))
                .replace("@DEADLINE_S@", str(timeout_s(lab) - DEADLINE_MARGIN_S)))


def prairielearn_files(lab, image=DEFAULT_IMAGE):
    """Path in OUT -> Path, str or bytes: the whole build."""
    q = f"course/questions/{question_name(lab)}"
    kit = f"course/serverFilesCourse/{kit_dir_name(lab)}"
    files = {f"{kit}/{name}": source for name, source in grader_files("hidden", lab).items()}
    files[f"{q}/info.json"] = json.dumps(info_json(lab, image), indent=2) + "\n"
    files[f"{q}/question.html"] = question_html(lab)
    files[f"{q}/tests/run_grader"] = run_grader(lab)
    files["image/Dockerfile"] = PL_DIR / "Dockerfile"
    files["image/requirements-grader.txt"] = GRADESCOPE_DIR / "requirements-grader.txt"
    files.update({f"image/{name}": path for name, path in engine_files().items()})
    return files


def _data(source):
    return source if isinstance(source, bytes) else \
        source.encode() if isinstance(source, str) else Path(source).read_bytes()


def write_tree(out, files):
    """Writes files into a fresh folder beside out, sorted, mode 0644 (0755 for EXECUTABLE), folders
    0755, every mtime FIXED_MTIME, then puts it in out's place. An existing out is replaced only when
    it is empty or an earlier build (it holds MARKER)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise PackagingError(f"{out} exists and is not a build of `make prairielearn`: choose another --out")
    staging = out.with_name(f".{out.name}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        files = {**files, MARKER: f"written by python -m autograder package prairielearn {__version__}\n"}
        for name in sorted(files):
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_data(files[name]))
            path.chmod(0o755 if path.name in EXECUTABLE else 0o644)
        for folder, dirs, names in os.walk(staging, topdown=False):
            for entry in names:
                os.utime(Path(folder) / entry, (FIXED_MTIME, FIXED_MTIME))
            Path(folder).chmod(0o755)
            os.utime(folder, (FIXED_MTIME, FIXED_MTIME))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def build_command(lab, out, image=None):
    """`package prairielearn`: builds and prints what it wrote (exit status 0); a missing fixture set or
    a secret in the build raises, for the CLI to tell (FileNotFoundError, PackagingError)."""
    summary = build(lab, out, image or os.environ.get("PL_IMAGE") or DEFAULT_IMAGE)
    print(f"wrote {out}: {summary['files']} files")
    print(f"  question      {summary['question']} (image {summary['image']}, timeout {summary['timeout']} s)")
    print(f"  grader        {summary['kit']}")
    print(f"  image context {summary['image_context']}: docker build -t {summary['image']} {summary['image_context']}")
    return 0


def build(lab, out, image=DEFAULT_IMAGE):
    """Writes the PrairieLearn build into out; returns a summary dict."""
    files = prairielearn_files(lab, image)
    refuse_secrets(files, lab)
    write_tree(out, files)
    return dict(question=Path(out) / "course" / "questions" / question_name(lab),
                kit=Path(out) / "course" / "serverFilesCourse" / kit_dir_name(lab),
                image_context=Path(out) / "image", image=image, timeout=timeout_s(lab), files=len(files))
