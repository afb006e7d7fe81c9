"""The pooling-and-loss lab for the engine: contract, adapter and feedback vocabulary.

It needs what a layer protocol of one array in, one array out cannot give: a function that
returns a tuple of a number and an array (`loss, dlogits`), a method that takes a flag
(`forward(x, train)`), and a backward that depends on what an earlier forward stored (and on
what a later evaluation forward did not overwrite), all in one round trip.
"""

from autograder.adapter import CallResults, CodeAdapter, as_array
from autograder.lab_loader import Contract
from autograder.sandbox import StudentError

CONTRACT = Contract(functions=("softmax_cross_entropy",), classes=("MaxPool2d",),
                    methods={"MaxPool2d": ("forward", "backward")})
STUDENT_PARTS = ("softmax_cross_entropy", "MaxPool2d.forward", "MaxPool2d.backward")
LOSS = "softmax_cross_entropy"

# Answers of typical bugs stored in the fixtures ("variant_<name>") -> (what the student did, the
# check whose property that bug breaks).
BUG_VARIANTS = {
    "loss_sum": ("the loss was summed over the batch instead of averaged (use the mean)", "loss_value"),
    "dlogits_sum": ("dlogits was not divided by N: the loss is a mean over the batch, so is its gradient",
                    "loss_gradient"),
    "dX_spread": ("dY was copied to every place of its window: only the max of each window gets it",
                  "pool_backward"),
    "dX_eval_cached": ("an evaluation forward (train=False) overwrote what the training forward stored, so "
                       "backward used the evaluation input's max positions", "pool_eval_mode"),
}


def describe_case(case):
    p = case.params
    if case.kind == "softmax":
        shift = f" logits shifted by +{p['shift']:g}" if p["shift"] else ""
        return f"N={p['N']} K={p['K']} {p['dtype']}{shift}"
    return f"N={p['N']} C={p['C']} H={p['H']} W={p['W']} k={p['k']} {p['dtype']}"


class Adapter(CodeAdapter):
    """The loss on a softmax case; a pooling run on a pool case; each cached per case."""

    def loss(self, case):
        """CallResults with 'loss' (whatever number came back: the checks judge it) and 'dlogits' (an array)."""
        def make():
            run = CallResults()
            logits, labels = case.array("logits"), case.array("labels")
            try:
                value = self.call(LOSS, logits, labels, reply_shapes=[logits.shape])
                if not (isinstance(value, tuple) and len(value) == 2):
                    got = f"a tuple of {len(value)}" if isinstance(value, tuple) else type(value).__name__
                    raise StudentError("bad_reply", f"{LOSS} returned {got}, expected a tuple (loss, dlogits)", LOSS)
                loss, dlogits = value
                if loss is None:
                    raise StudentError("bad_reply", f"{LOSS} returned None as the loss, expected a number", LOSS)
                run.put("loss", loss)
                run.put("dlogits", as_array(dlogits, f"{LOSS}'s dlogits", call=LOSS))
            except StudentError as exc:        # kept: every check on this case reports it
                run.fail_rest(("loss", "dlogits"), exc)
            return run
        return self._cached(("loss", case.id), make)

    POOL_STEPS = (("y", "forward"), ("dX", "backward"), ("y_eval", "forward"), ("dX_after_eval", "backward"))

    def pool_run(self, case):
        """One fresh MaxPool2d, in one round trip: forward(x, train=True) -> y, backward(dY) -> dX,
        forward(x_eval, train=False) -> y_eval, backward(dY) again -> dX_after_eval (which must
        still be x's: an evaluation forward stores nothing). A failed step fails the stages from it on."""
        def make():
            run = CallResults()
            p = case.params
            x, x_eval, dY = case.array("x"), case.array("x_eval"), case.array("dY")
            stages = [stage for stage, _ in self.POOL_STEPS]
            try:
                pool = self.new_object("MaxPool2d", p["k"])
                values = pool.steps([("call", "forward", x, True), ("call", "backward", dY),
                                     ("call", "forward", x_eval, False), ("call", "backward", dY)],
                                    "MaxPool2d", [dY.shape, x.shape] * 2)
            except StudentError as exc:
                run.fail_rest(stages, exc)
                return run
            for (stage, method), value in zip(self.POOL_STEPS, values):
                what = f"MaxPool2d.{method}"
                try:
                    if isinstance(value, StudentError):
                        raise value
                    run.put(stage, as_array(value, what))
                except StudentError as exc:
                    exc.call = what                # the method that failed, whatever the round trip's name
                    run.fail_rest(stages, exc)
                    break
            return run
        return self._cached(("pool", case.id), make)
