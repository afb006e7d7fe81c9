"""The pure parts of autograder/staff/prairielearn.py, with a fake lab: its info.json (a stable uuid, a
timeout within PrairieLearn's bound), the parts a student writes read from a template, and text safe in
question.html. (Building and running the package: tests/e2e/test_prairielearn.py.)"""

from types import SimpleNamespace

from autograder.lab_loader import Contract
from autograder.limits import OUTER_MARGIN_S, Limits
from autograder.staff import prairielearn


def pl_lab(tmp_path, total_cpu_s=120.0):
    template = tmp_path / "lab.py"
    template.write_text('''\
def helper():
    """Given."""


def scale(x, k):
    """TODO. Multiply x by k."""
    raise NotImplementedError


class Layer:
    def forward(self, x):
        """Given: the forward pass."""

    def backward(self, dY, *, keep=False):
        """TODO. The gradient {of} the loss."""
''')
    config = SimpleNamespace(name="Mini lab", submission_file="lab.py", limits=Limits(total_cpu_s=total_cpu_s))
    return SimpleNamespace(config=config, template=template, contract=Contract(("scale",), ("Layer",)))


def test_info_json_is_stable_and_its_timeout_bounded(tmp_path):
    lab = pl_lab(tmp_path)
    info = prairielearn.info_json(lab, "registry/image:1")
    assert info == prairielearn.info_json(pl_lab(tmp_path), "registry/image:1")       # the same uuid every build
    options = info["externalGradingOptions"]
    assert options["image"] == "registry/image:1" and options["serverFilesCourse"] == ["convkit_lab/"]
    assert options["timeout"] == 120 + OUTER_MARGIN_S <= prairielearn.PL_MAX_TIMEOUT_S    # the CPU budget, padded
    assert prairielearn.timeout_s(pl_lab(tmp_path, total_cpu_s=5000)) == prairielearn.PL_MAX_TIMEOUT_S
    renamed = pl_lab(tmp_path)
    renamed.config.name = "Another lab"
    assert prairielearn.info_json(renamed, "registry/image:1")["uuid"] != info["uuid"]   # another question


def test_the_parts_a_student_writes_are_the_todo_functions_and_methods(tmp_path):
    parts = prairielearn.contract_parts(pl_lab(tmp_path))
    assert parts == [("scale(x, k)", "Multiply x by k."), ("Layer.backward(self, dY, *, keep=False)",
                                                          "The gradient {of} the loss.")]


def test_question_text_is_escaped_and_has_no_template_braces():
    assert prairielearn._escape("<b>{{x}}</b> & y") == "&lt;b&gt;&#123;&#123;x&#125;&#125;&lt;/b&gt; &amp; y"
