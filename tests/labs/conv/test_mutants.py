"""The mutation score the README quotes is the committed full run of tools/mutants.py, of today's inputs.

A full run (`make mutants`, a few minutes) is too slow for every `make test`, so its result is
committed as tools/mutants.json with a hash of everything it depends on (the reference, the oracle,
the tool, the code and seed that build the hidden set, the graded parts of the config). Here:
- that hash equals the hash of the current inputs (else: rerun `make mutants` and commit);
- the result is a full, self-consistent run, meets the goal (>= 98 % killed by the hidden set), and
  every mutant it calls equivalent is argued in tools/EQUIVALENTS.md;
- the README's row and tools/MUTANTS.md say exactly what the result says;
- a few mutants really run through the real path (oracle comparison, then the sandboxed batch
  grader), among them one killed only by wrong values and ones that only realistic sizes or
  several blocks per loop expose, and get the committed verdicts.
"""

import json
import subprocess
import sys

import pytest

from assignment import fixture_builder as fb
from autograder.fixtures import fixture_folder, load_fixture_set
from helpers import CONV_LAB, REPO, hang_guard

sys.path.insert(0, str(REPO / "tools"))
import mutants  # noqa: E402

RERUN = "run `make mutants` and commit tools/mutants.json, tools/MUTANTS.md and the README row (mutants.readme_row)"
RESULT = json.loads(mutants.DEFAULT_JSON.read_text(encoding="utf-8")) if mutants.DEFAULT_JSON.is_file() \
    else {"summary": {}, "mutants": []}
SUMMARY = RESULT["summary"]
RECORDS = {m["id"]: m for m in RESULT["mutants"]}

# Run for real on every `make test`: the mutation (as MUTANTS.md describes it) -> expected verdict and
# how it is killed ('values': some hidden case answered wrongly without raising; 'crash': only raises).
REAL_PATH = {
    # dW of the last block of images only: right while the batch fits one block (every small case)
    "`dW_col += dY_col @ self.X_cols[:, n0 * L:n1 * L].T` -> `dW_col = dY_col @ self.X_cols[:, n0 * L:n1 * L].T`":
        ("killed", "values"),
    # right with one image per block and with one block; raises when several images share a block
    # and more follow (the 8x8 batch)
    "`dX[n0:n1] = dX_pad[:, :, p:p + H, p:p + W]` -> `dX[n0:] = dX_pad[:, :, p:p + H, p:p + W]`":
        ("killed", "crash"),
    # folds only the first channel block: wrong only where col2im needs several channel blocks
    "`for c in range(0, C, block):` -> `for c in range(0, block, C):`": ("killed", "values"),
    # [-1] of a batch of one image is [0]
    "`return batch_col2im(X_col, 1, C, H, W, kH, kW, stride)[0]` -> "
    "`return batch_col2im(X_col, 1, C, H, W, kH, kW, stride)[-1]`": ("equivalent", ""),
}


def _ids(descriptions):
    """Today's mutant id of each description (ids follow the reference's text)."""
    by_description = {m.description: m.id for m in mutants.generate_mutants(CONV_LAB)}
    missing = [d for d in descriptions if d not in by_description]
    assert not missing, f"no such mutant of today's reference: {missing}"
    return [by_description[d] for d in descriptions]


@pytest.fixture(scope="module")
def committed():
    assert RECORDS, f"tools/mutants.json is missing: {RERUN}"
    return RECORDS


def test_committed_result_is_of_the_current_inputs(committed):
    assert SUMMARY.get("inputs_hash") == mutants.inputs_hash(CONV_LAB), \
        f"tools/mutants.json was computed from other inputs than today's: {RERUN}"


def test_committed_result_is_one_full_consistent_run(committed):
    generated = mutants.generate_mutants(CONV_LAB)
    assert SUMMARY["total"] == SUMMARY["generated"] == len(generated) == len(RECORDS) > 200
    assert [(m.id, m.description) for m in generated] == [(m["id"], m["description"]) for m in RESULT["mutants"]]
    verdicts = [m["verdict"] for m in RECORDS.values()]
    assert set(verdicts) <= {"equivalent", "killed", "survived", "error"}
    for verdict in ("equivalent", "killed", "survived", "error"):
        assert SUMMARY[verdict] == verdicts.count(verdict), verdict
    assert SUMMARY["non_equivalent"] == SUMMARY["killed"] + SUMMARY["survived"] + SUMMARY["error"]
    assert SUMMARY["killed_by_values"] + SUMMARY["killed_by_crash"] == SUMMARY["killed"]
    assert SUMMARY["score"] == round(100.0 * SUMMARY["killed"] / SUMMARY["non_equivalent"], 2)
    for m in RECORDS.values():
        differs = bool(m["wrong_values"] or m["crash"] or m["elsewhere"])
        assert differs == (m["verdict"] != "equivalent"), m["id"]
        if m["verdict"] == "killed" and mutants.kind(mutants.from_record(m)) == "crash":
            assert m["crash"] and not m["wrong_values"], m["id"]


def test_hidden_set_kills_at_least_98_percent_and_every_equivalent_is_argued(committed):
    assert SUMMARY["score"] >= 98.0, f"{SUMMARY['killed']} / {SUMMARY['non_equivalent']}"
    notes = mutants.EQUIVALENCE_NOTES.read_text(encoding="utf-8")
    unargued = [i for i, m in RECORDS.items() if m["verdict"] == "equivalent" and i not in notes]
    assert not unargued, f"equivalent mutants that tools/EQUIVALENTS.md does not argue: {unargued}"


def test_readme_row_and_mutants_md_quote_the_committed_result(committed):
    readme = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    row = mutants.readme_row(SUMMARY)
    assert row in readme, f"README.md's mutation row must read:\n{row}\n({RERUN})"
    assert sum("automatic mutants" in line for line in readme) == 1
    notes = mutants.EQUIVALENCE_NOTES.read_text(encoding="utf-8")
    expected = mutants.markdown(SUMMARY, [mutants.from_record(m) for m in RESULT["mutants"]], SUMMARY["command"], notes)
    assert mutants.DEFAULT_REPORT.read_text(encoding="utf-8") == expected, \
        "tools/MUTANTS.md is not the committed result: `.venv/bin/python tools/mutants.py --rewrite-report`"


def _realistic_case_ids():
    """Ids of the hidden cases with one of fixture_builder's REALISTIC_* shapes."""
    config = CONV_LAB.config
    hidden = load_fixture_set(fixture_folder("hidden", CONV_LAB.fixtures_root), config.hidden_seed, lab=CONV_LAB)
    return {c.id for c in hidden.cases if fb.is_realistic(c)}


def test_real_path_sample_is_what_it_claims(committed):
    """In the committed result too, the sample below is what it is there for: each killed one's first
    failing hidden case is a realistic one (no small case exposes it)."""
    realistic = _realistic_case_ids()
    assert len(realistic) == len(fb.REALISTIC_COL2IM_SHAPES) + sum(map(len, fb.REALISTIC_LAYER_DTYPES)), sorted(realistic)
    for i, (verdict, how) in zip(_ids(REAL_PATH), REAL_PATH.values()):
        m = committed[i]
        assert m["verdict"] == verdict, m
        if verdict == "killed":
            assert mutants.kind(mutants.from_record(m)) == how, m
            assert (m["wrong_values"] or m["crash"]).split(":")[0] in realistic, m


def test_a_few_mutants_through_the_real_path(tmp_path):
    """tools/mutants.py --only: generated, compared with the oracle case by case, graded by the batch
    grader in the sandbox; each gets its expected verdict and way of being killed."""
    ids = _ids(REAL_PATH)
    summary_file = tmp_path / "run.json"
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "mutants.py"), "--only", ",".join(ids),
                           "--jobs", "2", "--out", str(tmp_path / "work"), "--json", str(summary_file)],
                          cwd=REPO, capture_output=True, text=True, timeout=hang_guard(90))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = {m["id"]: m for m in json.loads(summary_file.read_text())["mutants"]}
    assert sorted(run) == sorted(ids)
    for i, (description, (verdict, how)) in zip(ids, REAL_PATH.items()):
        got = run[i]
        assert got["verdict"] == verdict, (description, got)
        assert mutants.kind(mutants.from_record(got)) == how, (description, got)
        if i in RECORDS:
            assert got["verdict"] == RECORDS[i]["verdict"], (i, got, RECORDS[i])
