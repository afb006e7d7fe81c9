"""The grader's command line, for staff and for the Makefile.

    python -m autograder [--config LAB/config.toml] COMMAND ...   (default: assignment/config.toml)
    python -m autograder grade SUBMISSION --out DIR     grade one zip / folder / .py file
    python -m autograder batch FOLDER --out OUT         grade every submission in FOLDER
    python -m autograder batch --examples --out OUT     grade the bundled example submissions
    python -m autograder fixtures [--new-seed|--seed N] build the hidden and public fixture sets (the
                                                        hidden seed: a staff-only file, autograder/seeds.py)
    python -m autograder verify                         reference full marks, template zero, examples
    python -m autograder package gradescope|handout     build autograder.zip / handout.zip
    python -m autograder package otter --out DIR        otter-grader tests and autograder zip in DIR
    python -m autograder export canvas --grades OUT/grades.csv --roster roster.csv --assignment "Lab 7"
                                                        the LMS's gradebook CSV on stdout, leftovers on stderr
    python -m autograder check [FILE]                   (students) public checks with points
    python -m autograder submit [FILE]                  (students) validate and write submission.zip

Exit codes of `grade`: 0 graded (whatever the score), 2 the submission is invalid,
1 grading could not run (a staff problem: config, fixtures, grader). results.json
is written in every case.
"""

import argparse
import os
import sys
import traceback
from pathlib import Path

from autograder.config import KIT_ROOT, LAB_POINTER, ConfigError
from autograder.results import GradeReport, write_report
from autograder.sandbox.levels import ISOLATION_LEVELS, LevelUnusable, level_class

EXIT_GRADED, EXIT_ERROR, EXIT_INVALID = 0, 1, 2
CONFIG_ENV = "AUTOGRADER_CONFIG"                        # the lab's config.toml when --config is not given
DEFAULT_CONFIG = KIT_ROOT / "assignment" / "config.toml"


def lab_config_path(given=None):
    """The config.toml of the lab to work on: `given` (--config), else $AUTOGRADER_CONFIG, else the
    one the LAB file of a packaged grader names, else assignment/config.toml. The only place that
    reads either; everything else is passed the lab, and child processes get this path as --config."""
    if given:
        path = Path(given)
    elif os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    elif LAB_POINTER.is_file():
        path = KIT_ROOT / LAB_POINTER.read_text(encoding="utf-8").strip()
    else:
        path = DEFAULT_CONFIG
    return path.resolve()      # absolute: a child process may start in another folder


def _lab(args):
    """The lab that --config (or its default) names, loaded once for this command."""
    from autograder.lab_loader import load_lab
    return load_lab(args.config)


def cmd_grade(args):
    from autograder.grading import GradingOptions, grade_submission
    if args.isolation:
        try:
            level_class(args.isolation)
        except LevelUnusable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
    options = GradingOptions(which="public" if args.public else "hidden", public_only=args.public,
                             isolation=args.isolation,
                             fixtures_root=Path(args.fixtures) if args.fixtures else None)
    try:
        report = grade_submission(_lab(args), args.submission, args.out, options)
    except Exception as exc:     # never leave without results.json, whatever went wrong
        report = GradeReport(status="error", message=f"The grader failed (staff problem): {exc}", checks=[],
                             max_score=0, extra={"traceback": traceback.format_exc()[-4000:]})
        write_report(report, args.out)
    if not args.quiet:
        print(f"{args.submission}: {report.status}, {report.score:g} / {report.max_score:g}")
        if report.status != "graded":
            print(f"  {report.message}")
        for c in report.checks:
            if c.total and c.passed < c.total:
                print(f"  FAIL {c.name}: {c.score:g} / {c.points:g} ({c.passed}/{c.total} cases)")
        print(f"  wrote {Path(args.out) / 'results.json'} and feedback.md")
    return {"graded": EXIT_GRADED, "invalid": EXIT_INVALID}.get(report.status, EXIT_ERROR)


def cmd_batch(args):
    from autograder.staff.batch import BatchError, BatchInterrupted, run_batch
    from autograder.staff.batch_console import grade_table
    from autograder.staff.catalogue import write_examples
    lab = _lab(args)
    if args.examples:
        folder = Path(args.out) / "example-submissions"
        write_examples(folder, lab=lab)
    elif args.folder:
        folder = Path(args.folder)
    else:
        print("error: give a FOLDER of submissions, or --examples", file=sys.stderr)
        return EXIT_INVALID
    try:
        records = run_batch(lab, folder, Path(args.out), jobs=args.jobs, force=args.force, only=args.only)
    except BatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BatchInterrupted as exc:
        print(f"\n{exc}: {exc.kept} finished grade(s) kept in {Path(args.out) / 'grades.csv'}, "
              "temporary files deleted; run the same command again to grade the rest", file=sys.stderr)
        return 128 + exc.signum
    print(grade_table(records, lab.config))
    out = Path(args.out)
    print(f"\nwrote {out / 'grades.csv'}, {out / 'summary.md'}, {out / 'report.html'} (+ scores.png, checks.png) and "
          f"per-submission feedback in {out / 'submissions'}/")
    return 0 if all(r["status"] != "error" for r in records) else EXIT_ERROR


def cmd_batch_grader(args):
    from autograder.staff.batch_grader import serve_grading_process
    return serve_grading_process(_lab(args), Path(args.out), args.fixture_hash)


KEEP_A_COPY = "keep a copy where the staff keep secrets: the same seed rebuilds the same hidden set"


def _store_seed(config, seed, what):
    """Stores `seed` as the lab's hidden seed and says so, never printing it (logs can be public)."""
    from autograder.seeds import store_hidden_seed
    path = store_hidden_seed(config.hidden_seed_path, seed)
    print(f"{what}, stored in {path} (mode 0600, ignored by git, never packaged); {KEEP_A_COPY}")
    return seed


def _refuse_lost_seed(config, hidden_folder):
    """A hidden set built from a seed file that is gone is never replaced silently: mid-term, a new
    seed would change the hidden set between two students' grades."""
    from autograder.seeds import NEW_SEED_COMMAND, SeedError
    manifest = _old_manifest(hidden_folder)
    if manifest and "seed_sha256" in manifest:
        raise SeedError(f"the hidden seed file {config.hidden_seed_path} is missing, but the hidden set in "
                        f"{hidden_folder} was built from it: restore that file from the staff's copy, or run "
                        f"`{NEW_SEED_COMMAND}` to draw a new seed (the hidden set changes: do it between terms)")


def hidden_seed_for(config, args, hidden_folder):
    """The hidden seed to build from: --seed N or --new-seed (stored first), else the stored one, else
    (a fresh clone) a random one, stored. SeedError, saying what to run, for a seed unfit to be secret."""
    from autograder.seeds import check_hidden_seed, draw_hidden_seed, read_hidden_seed
    if args.seed is not None:
        check_hidden_seed(args.seed, config.public_seed)
        return _store_seed(config, args.seed, "hidden seed set as given")
    if args.new_seed:
        return _store_seed(config, draw_hidden_seed(), "drew a new random hidden seed")
    seed = read_hidden_seed(config.hidden_seed_path)
    if seed is None:
        _refuse_lost_seed(config, hidden_folder)
        return _store_seed(config, draw_hidden_seed(), "no hidden seed yet (a fresh clone?): drew a random one")
    check_hidden_seed(seed, config.public_seed)
    return seed


def cmd_fixtures(args):
    lab = _lab(args)
    config = lab.config
    root = Path(args.out) if args.out else lab.fixtures_root
    hidden_seed = hidden_seed_for(config, args, root / "hidden")
    for which, seed, source in (("hidden", hidden_seed, f"the seed in {config.hidden_seed_path}"),
                                ("public", config.public_seed, f"seed {config.public_seed}")):
        folder = root / which
        before = (_old_manifest(folder) or {}).get("set_hash")
        manifest = lab.builder.build_fixture_set(folder, seed, lab, public=(which == "public"))
        change = "unchanged" if before == manifest["set_hash"] else f"was {before[:12] if before else 'absent'}"
        print(f"{which} fixtures: {source}, {len(manifest['files'])} files, "
              f"set hash {manifest['set_hash'][:12]} ({change}) -> {folder}")
    return 0


def _old_manifest(folder):
    """The manifest of the set in `folder`, or None when there is no readable one."""
    import json
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def cmd_check(args):
    from autograder.student_tools import cmd_check as check
    lab = _lab(args)
    return check(lab, args.file or lab.config.submission_file)


def cmd_submit(args):
    from autograder.student_tools import cmd_submit as submit
    lab = _lab(args)
    return submit(lab, args.file or lab.config.submission_file, args.out, anyway=args.anyway)


def cmd_verify(args):
    from autograder.staff.verify import verify
    return verify(_lab(args))


def cmd_package(args):
    from autograder.staff import packaging
    if args.what == "otter":
        from autograder.staff.otter_bridge import build_command
        return build_command(_lab(args), args.out)
    try:
        if args.what == "prairielearn":
            from autograder.staff.prairielearn import build_command
            return build_command(_lab(args), args.out, args.image)
        build = {"gradescope": packaging.build_gradescope_zip, "handout": packaging.build_handout_zip}[args.what]
        dest = build(args.out, _lab(args))
    except (FileNotFoundError, packaging.PackagingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"wrote {dest}")
    return 0


BATCH_DESCRIPTION = """\
Grade every entry of FOLDER into OUT, in parallel, one row per entry in OUT/grades.csv:
'graded', 'invalid' (not a submission, with the reason) or 'error' (a grader problem,
retried on the next run). An entry's id is its name without .zip/.py; ids that clash
(alice/ and alice.zip) keep their whole names. Hidden entries (.DS_Store, __MACOSX) are
left out."""

BATCH_EPILOG = """\
resuming: a rerun grades only new or changed entries and retries errors; grades of
  unchanged entries with the same fixtures and grader are kept (--force regrades all,
  --only regrades the named ids).
interrupting: Ctrl-C (SIGINT) or SIGTERM stops the batch, keeps every finished grade in
  grades.csv and deletes the temporary folders; rerun the same command to finish.
exit status: 0 done, 1 some entries are 'error', 2 bad arguments or folder, 128+signal
  when interrupted.
make: make grade SUBMISSIONS=folder [OUT=out/grades] [JOBS=N] [FORCE=1] [ONLY=alice,bob]"""


def _whole_number(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_export(args):
    from autograder.staff.lms_export import GradebookError, export, unmatched_report
    try:
        text, joined = export(args.lms, args.grades, args.roster, args.assignment)
    except GradebookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(text)
    print(unmatched_report(joined), file=sys.stderr)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    parser.add_argument("--config", metavar="CONFIG_TOML",
                        help=f"the lab's config.toml (default: ${CONFIG_ENV}, else the LAB file of a packaged "
                        f"grader, else assignment/config.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade one submission (zip, folder or .py file)")
    g.add_argument("submission")
    g.add_argument("--out", required=True, help="folder for grade.json (the record), results.json and feedback.md")
    g.add_argument("--public", action="store_true", help="public checks on the public fixtures (self-check)")
    g.add_argument("--fixtures", help="folder holding hidden/ and public/ fixture sets")
    g.add_argument("--isolation", choices=ISOLATION_LEVELS, help="force a sandbox level")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_grade)
    b = sub.add_parser("batch", help="grade a folder of submissions in parallel (resumable)",
                       description=BATCH_DESCRIPTION, epilog=BATCH_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("folder", nargs="?", help="folder of submissions: .zip files, folders, .py files; "
                   "every other entry gets an 'invalid' row saying why")
    b.add_argument("--examples", action="store_true", help="grade the bundled example submissions")
    b.add_argument("--out", required=True, help="folder for grades.csv, summary.md and feedback")
    b.add_argument("--jobs", type=_positive_int, metavar="N",
                   help="submissions graded at once (default: the number of cores)")
    b.add_argument("--force", action="store_true",
                   help="regrade every entry, even those already graded with these fixtures")
    b.add_argument("--only", metavar="ID,ID,...", action="append",
                   help="regrade exactly these ids (as in grades.csv, or entry names), whatever their "
                   "state; every other row is kept as it is (may be repeated)")
    b.set_defaults(func=cmd_batch)
    w = sub.add_parser("batch-grader", help="(internal) one of batch's grading processes")
    w.add_argument("--out", required=True)
    w.add_argument("--fixture-hash", required=True)
    w.set_defaults(func=cmd_batch_grader)
    f = sub.add_parser("fixtures", help="build the hidden and public fixture sets from the reference")
    seed = f.add_mutually_exclusive_group()
    seed.add_argument("--new-seed", action="store_true",
                      help="draw a new random hidden seed (a new term): the hidden set changes")
    seed.add_argument("--seed", type=_whole_number, metavar="N",
                      help="use N as the hidden seed (at least 2**64, not the public seed)")
    f.add_argument("--out", help="folder for hidden/ and public/ (default: the config's [fixtures] folder)")
    f.set_defaults(func=cmd_fixtures)
    for name, func, text in (("check", cmd_check, "public checks on your file, with points"),
                             ("submit", cmd_submit, "check your file and write submission.zip")):
        c = sub.add_parser(name, help=text)
        c.add_argument("file", nargs="?", help="default: the lab's submission file")
        if name == "submit":
            c.add_argument("--out", default="submission.zip")
            c.add_argument("--anyway", action="store_true",
                           help="write the zip even if a TODO still raises NotImplementedError or the import fails")
        c.set_defaults(func=func)
    v = sub.add_parser("verify", help="grade the reference, the template and the examples; fail if wrong")
    v.set_defaults(func=cmd_verify)
    k = sub.add_parser("package", help="build the Gradescope autograder zip, the students' handout zip, "
                       "the otter-grader folder (its tests and autograder zip) or the PrairieLearn folder "
                       "(question, serverFilesCourse, the grader image's build context)")
    k.add_argument("what", choices=["gradescope", "handout", "otter", "prairielearn"])
    k.add_argument("--out", required=True, help="the zip (gradescope, handout) or folder (otter, prairielearn) to write")
    k.add_argument("--image", help="prairielearn: the grader image info.json names, as `docker pull` takes it "
                   "(default $PL_IMAGE, else convkit/grader:<version>)")
    k.set_defaults(func=cmd_package)
    x = sub.add_parser("export", help="grades.csv joined with a roster, as an LMS gradebook import CSV (stdout)")
    # checked by lms_export (not imported here: the Gradescope zip and the handout ship cli.py without it)
    x.add_argument("lms", help="the gradebook format: canvas, or csv (name, sid, email, grade: for any other)")
    x.add_argument("--grades", required=True, help="grades.csv written by `batch`")
    x.add_argument("--roster", required=True, help="the LMS's gradebook export, or a CSV with name, SID and/or email")
    x.add_argument("--assignment", required=True, help="the assignment's column title in the LMS, e.g. \"Lab 7\"")
    x.set_defaults(func=cmd_export)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.config = lab_config_path(args.config)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
