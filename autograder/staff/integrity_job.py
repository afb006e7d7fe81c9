"""The batch's integrity report, computed in a child process while the submissions are graded.

    job = IntegrityJob(config_path, sources, threshold)     # at the start of the batch
    report, problem = job.result()             # when the summary is written

Comparing every pair of submissions (copydetect) costs ~35 ms of CPU per submission at
200 and grows with the square of the class; run after grading, it kept one core idle at
the end of every batch. The child reads the submissions itself (the same reader as
grading, never student code run) and answers one JSON document on stdout.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from autograder.config import KIT_ROOT
from autograder.staff.integrity import IntegrityReport, SimilarPair

RESULT_TIMEOUT_S = 600          # a report that takes longer is left out of the summary, with the reason


class IntegrityJob:
    """One child process computing integrity.check_batch over [(id, path)]."""

    def __init__(self, config_path, sources, threshold, temp_dir=None, preexec_fn=None):
        """config_path: the lab's config.toml (the child loads that lab, named on its command line);
        temp_dir: the child's TMPDIR (copydetect writes there; the batch removes it, even after a
        kill); preexec_fn: run in the child before exec (the batch's die-with-parent)."""
        env = dict(os.environ, TMPDIR=str(temp_dir)) if temp_dir is not None else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.staff.integrity_job", "--config", str(Path(config_path).resolve())],
            cwd=KIT_ROOT, text=True, encoding="utf-8",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            env=env, preexec_fn=preexec_fn)
        try:                                   # the child reads it at once (blocks only while it starts)
            # absolute: the child runs in the kit's folder, and `batch lab7` names its folder relatively
            self.proc.stdin.write(json.dumps({"threshold": threshold,
                                              "sources": [[sid, os.path.abspath(path)] for sid, path in sources]}))
            self.proc.stdin.close()
        except OSError:                        # it died already: result() says why
            pass
        self.proc.stdin = None                 # communicate() must not flush it again

    def result(self, timeout_s=RESULT_TIMEOUT_S, stop=lambda: False):
        """(IntegrityReport, '') or (None, why not); never raises for the child's failure.
        stop() -> True (asked every 0.2 s) kills the child: the batch was interrupted."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                out, err = self.proc.communicate(timeout=0.2)     # a retry loses no output
                break
            except subprocess.TimeoutExpired:
                if stop() or time.monotonic() > deadline:
                    self.kill()
                    return None, ("integrity flags were not computed: the batch was interrupted" if stop() else
                                  f"integrity flags could not be computed: no answer within {timeout_s} s")
        if self.proc.returncode != 0:
            last = (err.strip().splitlines() or ["(no message)"])[-1]
            return None, f"integrity flags could not be computed: {last}"[:300]
        try:
            data = json.loads(out)
            data["similar"] = [SimilarPair(**pair) for pair in data["similar"]]
            return IntegrityReport(**data), ""
        except (ValueError, TypeError, KeyError) as exc:
            return None, f"integrity flags could not be computed: a malformed answer ({exc!r})"[:300]

    def kill(self):
        """Stops the child at once (an interrupted batch); safe to call twice, and result() after
        it answers at once (None, why)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()


def main(argv=None):
    from autograder.lab_loader import load_lab
    from autograder.staff import integrity
    parser = argparse.ArgumentParser(prog="python -m autograder.staff.integrity_job")
    parser.add_argument("--config", required=True, help="the lab's config.toml")
    lab = load_lab(parser.parse_args(argv).config)
    request = json.loads(sys.stdin.read())
    report = integrity.check_lab_batch(lab, request["sources"], request["threshold"])
    json.dump(asdict(report), sys.stdout)


if __name__ == "__main__":
    main()
