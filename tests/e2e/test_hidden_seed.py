"""The hidden fixture seed is a staff secret (autograder/seeds.py, issue 21).

No file a student or a grading platform receives names it: every package is built and
searched for it (decimal, hex, any config's key), and the student's tools are run from the
unpacked handout and their output searched too (the attack on what remains:
tests/e2e/test_seed_attack.py). The staff's side: `fixtures` draws a random 128-bit seed when
there is none, keeps it, draws a new one on request, refuses a guessable one with a message
and no traceback, and never prints it.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from autograder.config import ConfigError, load_config
from autograder.fixtures import fixture_folder, load_fixture_set
from autograder.lab_loader import Lab
from autograder.seeds import MIN_HIDDEN_SEED, draw_hidden_seed, read_hidden_seed, seed_digest, store_hidden_seed
from autograder.staff import otter_bridge, packaging, prairielearn
from helpers import CONV_LAB, REPO, detached_config_text

try:
    import tomllib
except ImportError:                    # Python 3.10
    import tomli as tomllib

CONFIG = CONV_LAB.config
LINEAR = REPO / "examples" / "linear_lab" / "config.toml"
KIT = [sys.executable, "-m", "autograder"]


def run(args, cwd=REPO, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_CONFIG", "PYTHONPATH")}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def spellings(seed):
    """The hidden seed as a file might spell it: decimal, hex in either case."""
    return {str(seed), f"{seed:x}", f"{seed:X}"}


# --- every package, and what the student's tools print and write ------------------------------------

def zip_members(path):
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def folder_files(folder):
    """relative name -> bytes of every file under folder; a zip's members are listed as zip!member."""
    files = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        files[name] = path.read_bytes()
        if path.suffix == ".zip":
            files.update({f"{name}!{member}": data for member, data in zip_members(path).items()})
    return files


@pytest.fixture(scope="module")
def package_paths(tmp_path_factory):
    """The handout, Gradescope's zip, the otter build and the PrairieLearn build (folders), built as
    `make` builds them."""
    root = tmp_path_factory.mktemp("packages")
    otter_bridge.build(CONV_LAB, root / "otter")
    prairielearn.build(CONV_LAB, root / "prairielearn")
    return {"handout": packaging.build_handout_zip(root / "handout.zip", CONV_LAB),
            "gradescope": packaging.build_gradescope_zip(root / "autograder.zip", CONV_LAB), "otter": root / "otter",
            "prairielearn": root / "prairielearn"}


@pytest.fixture(scope="module")
def packages(package_paths):
    """package name -> {file name: bytes}, an otter zip's members as zip!member."""
    return {name: folder_files(path) if path.is_dir() else zip_members(path) for name, path in package_paths.items()}


def items_anywhere(value):
    """Every (key, value) of every table/object in a parsed TOML or JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from items_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            yield from items_anywhere(item)


def config_items(name, data):
    """The (key, value) pairs of a TOML or JSON file (a notebook too); none for any other file."""
    if name.endswith(".toml"):
        return list(items_anywhere(tomllib.loads(data.decode("utf-8"))))
    if name.endswith((".json", ".ipynb")):
        return list(items_anywhere(json.loads(data)))
    return []


def leaks(files, seed):
    """What in `files` gives the hidden seed away: its spelling, the seed file, a hidden_seed key,
    a number under a key named seed (a manifest's old format; otter's own "seed" setting is empty)."""
    found = []
    for name, data in files.items():
        found += [f"{name} spells it" for s in spellings(seed) if s.encode() in data]
        if packaging.SECRETS_DIR in PurePosixPath(name.replace("!", "/")).parts:
            found.append(f"{name} is a staff secret")
        found += [f"{name} has a '{k}' key" for k, v in config_items(name, data)
                  if k == "hidden_seed" or (k == "seed" and isinstance(v, int))]
    return found


def test_packages_are_built_and_hold_what_the_tests_search(packages):
    """The search below runs over real packages: the handout's config and both sets' manifests."""
    assert "assignment/config.toml" in packages["handout"]
    assert any(n.endswith("public/manifest.json") for n in packages["handout"])
    assert any(n.endswith("hidden/manifest.json") for n in packages["gradescope"])
    assert any(n.startswith("autograder.zip!") and n.endswith("hidden/manifest.json") for n in packages["otter"])
    assert any(n.startswith("tests/") for n in packages["otter"])
    assert any(n.startswith("course/serverFilesCourse/") and n.endswith("hidden/manifest.json")
               for n in packages["prairielearn"])


@pytest.mark.parametrize("package", ["handout", "gradescope", "otter", "prairielearn"])
def test_no_package_names_the_hidden_seed(packages, package):
    seed = CONFIG.hidden_seed
    assert seed >= MIN_HIDDEN_SEED, "the staff's hidden seed is small enough to guess: make fixtures NEW_SEED=1"
    assert leaks(packages[package], seed) == []


def test_the_search_finds_a_seed_planted_anywhere():
    """The search is not blind: the seed in decimal, in hex, as a config key, or the seed file itself."""
    seed = 2**100 + 12345
    assert leaks({"a.py": b"x = 1\n"}, seed) == []
    assert leaks({"notes.md": f"seed {seed}".encode()}, seed)
    assert leaks({"data.bin": f"\0{seed:X}\0".encode()}, seed)
    assert leaks({"assignment/config.toml": b"[fixtures]\nhidden_seed = 1\n"}, seed)
    assert leaks({"build/fixtures/hidden/manifest.json": b'{"seed": 3}'}, seed)
    assert leaks({"otter_config.json": b'{"seed": null}'}, seed) == []
    assert leaks({"assignment/secrets/hidden_seed": b"1\n"}, seed)


def test_the_hidden_manifest_records_a_digest_of_the_seed_not_the_seed():
    manifest = json.loads((fixture_folder("hidden", CONV_LAB.fixtures_root) / "manifest.json").read_text())
    assert manifest["seed_sha256"] == seed_digest(CONFIG.hidden_seed) and "seed" not in manifest


def test_the_student_tools_print_and_write_nothing_of_the_hidden_seed(package_paths, tmp_path):
    """`lab.py check` and `lab.py submit` in the unpacked handout: their output and every file
    the folder then holds."""
    folder = tmp_path / "handout"
    with zipfile.ZipFile(package_paths["handout"]) as zf:
        zf.extractall(folder)
    check = run([sys.executable, "lab.py", "check"], cwd=folder)
    submit = run([sys.executable, "lab.py", "submit", "--anyway"], cwd=folder)
    assert "Public checks on" in check.stdout, check.stdout + check.stderr
    assert (folder / "submission.zip").is_file(), submit.stdout + submit.stderr
    printed = {"check output": (check.stdout + check.stderr).encode(),
               "submit output": (submit.stdout + submit.stderr).encode()}
    assert leaks({**printed, **folder_files(folder)}, CONFIG.hidden_seed) == []


# --- the staff's side: config, seed file, fixtures command -----------------------------------------

def test_the_shipped_configs_name_a_seed_file_git_ignores_and_hold_no_seed():
    for path in (CONFIG.path, LINEAR):
        config = load_config(path)
        assert "hidden_seed" not in {k for k, _ in items_anywhere(tomllib.loads(path.read_text()))}
        assert config.hidden_seed_path.parent.name == packaging.SECRETS_DIR
        ignored = run(["git", "check-ignore", "-q", config.hidden_seed_path])
        assert ignored.returncode == 0, f"{config.hidden_seed_path} is not ignored by git"


def test_a_config_holding_hidden_seed_is_refused_saying_what_to_run(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(LINEAR.read_text().replace("[fixtures]\n", "[fixtures]\nhidden_seed = 11\n"))
    with pytest.raises(ConfigError, match=r"hidden_seed must not be in config.toml.*NEW_SEED=1"):
        load_config(path)
    proc = run(KIT + ["--config", path, "fixtures", "--out", tmp_path / "fx"])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "NEW_SEED=1" in proc.stderr


def test_a_drawn_seed_is_random_128_bit_and_stored_privately(tmp_path):
    seeds = {draw_hidden_seed() for _ in range(8)}
    assert len(seeds) == 8 and all(MIN_HIDDEN_SEED <= s < 2**128 for s in seeds)
    path = store_hidden_seed(tmp_path / "lab" / "secrets" / "hidden_seed", max(seeds))
    assert read_hidden_seed(path) == max(seeds)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert (path.parent / ".gitignore").read_text().splitlines()[-1] == "*"


def linear_copy(tmp_path):
    """A copy of the Linear lab's config (a fast builder) whose seed file and sets live in tmp_path."""
    path = tmp_path / "config.toml"
    path.write_text(detached_config_text(LINEAR))
    return path, load_config(path).hidden_seed_path, tmp_path / "fixtures"


def fixtures(config, out, *args):
    return run(KIT + ["--config", config, "fixtures", "--out", out, *args])


def test_fixtures_draws_a_seed_on_a_fresh_clone_keeps_it_and_never_prints_it(tmp_path):
    config, seed_file, out = linear_copy(tmp_path)
    first = fixtures(config, out)
    assert first.returncode == 0, first.stderr
    seed = read_hidden_seed(seed_file)
    assert seed >= MIN_HIDDEN_SEED and "drew a random one" in first.stdout and str(seed_file) in first.stdout
    again = fixtures(config, out)
    assert again.returncode == 0 and read_hidden_seed(seed_file) == seed and again.stdout.count("(unchanged)") == 2
    for proc in (first, again):
        assert not any(s in proc.stdout + proc.stderr for s in spellings(seed))
    assert not any(s.encode() in data for s in spellings(seed) for data in folder_files(out).values())


def test_new_seed_changes_the_hidden_set_and_a_given_seed_rebuilds_it_exactly(tmp_path):
    config, seed_file, out = linear_copy(tmp_path)
    assert fixtures(config, out).returncode == 0
    old_seed, old_hidden = read_hidden_seed(seed_file), folder_files(out / "hidden")
    renewed = fixtures(config, out, "--new-seed")
    assert renewed.returncode == 0 and "drew a new random hidden seed" in renewed.stdout
    assert read_hidden_seed(seed_file) != old_seed and folder_files(out / "hidden") != old_hidden
    assert "public fixtures: seed 5" in renewed.stdout and renewed.stdout.count("(unchanged)") == 1
    # A colleague's machine: the same seed, given with --seed, builds the same files.
    restored = fixtures(config, out, "--seed", str(old_seed))
    assert restored.returncode == 0 and read_hidden_seed(seed_file) == old_seed
    assert folder_files(out / "hidden") == old_hidden


@pytest.mark.parametrize("args, message", [
    (["--seed", "5"], "public seed"),
    (["--seed", "2027"], "below 2**64"),
    (["--seed", str(2**64 - 1)], "below 2**64"),
    (["--seed", "-3"], "below 2**64"),
    (["--seed", "lots"], "not a whole number"),
    (["--seed", str(2**70), "--new-seed"], "not allowed with"),
], ids=["public", "small", "just-below", "negative", "not-a-number", "both"])
def test_a_bad_seed_is_refused_with_a_message_and_no_traceback(tmp_path, args, message):
    config, seed_file, out = linear_copy(tmp_path)
    proc = fixtures(config, out, *args)
    assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not seed_file.exists() and not out.exists()


def test_a_stored_seed_too_small_to_keep_secret_is_refused(tmp_path):
    config, seed_file, out = linear_copy(tmp_path)
    store_hidden_seed(seed_file, 11)
    proc = fixtures(config, out)
    assert proc.returncode == 1 and "NEW_SEED=1" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(packaging.PackagingError, match="small enough to guess"):
        packaging.refuse_secrets({}, Lab(load_config(config)))


def test_a_lost_seed_is_never_replaced_silently(tmp_path):
    """Mid-term, a new seed would change the hidden set between two students' grades."""
    config, seed_file, out = linear_copy(tmp_path)
    assert fixtures(config, out).returncode == 0
    hidden = folder_files(out / "hidden")
    seed_file.unlink()
    proc = fixtures(config, out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "restore that file" in proc.stderr and "NEW_SEED=1" in proc.stderr
    assert not seed_file.exists() and folder_files(out / "hidden") == hidden


def test_packaging_refuses_the_seed_file_and_any_file_spelling_the_seed(tmp_path):
    config, seed_file, _ = linear_copy(tmp_path)
    seed = draw_hidden_seed()
    store_hidden_seed(seed_file, seed)
    lab = Lab(load_config(config))
    packaging.refuse_secrets({"lab/config.toml": config}, lab)
    for files in ({"lab/secrets/hidden_seed": seed_file}, {"renamed": seed_file},
                  {"notes.md": f"term seed: {seed}"}, {"x.npy": f"\0{seed:x}\0".encode()}):
        with pytest.raises(packaging.PackagingError):
            packaging.refuse_secrets(files, lab)


def test_a_packaged_grader_without_the_seed_file_still_loads_its_set(tmp_path):
    """Gradescope gets the built hidden set and never its seed: the set is verified by its manifest."""
    config, seed_file, out = linear_copy(tmp_path)
    assert fixtures(config, out).returncode == 0
    shutil.move(seed_file, tmp_path / "elsewhere")
    packaged = load_config(config)
    assert packaged.fixture_seed("hidden") is None
    assert load_fixture_set(out / "hidden", packaged.fixture_seed("hidden"), lab=Lab(packaged)).cases
    with pytest.raises(ConfigError, match="make fixtures"):
        packaged.hidden_seed
