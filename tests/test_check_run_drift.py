"""Skipped scheduler steps anywhere (the warmup included), one to ten of them: check-run finds each one, at
the logged steps around it, and the total it reports equals the number of steps the run lost. The logs are
transformers' own scheduler stepped as the Trainer steps it, with ``scheduler.step()`` left out after the
chosen updates (what a skipped optimizer step does)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import invoke

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.slow


def trainer_lrs(scheduler: str, peak: float, warmup: int, total: int, skipped: set[int]) -> list[float]:
    """The LR each update used, stepping the scheduler after every update not in ``skipped``."""
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=peak)
    built = transformers.get_scheduler(scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total)
    out = []
    for update in range(total):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if update not in skipped:
            built.step()
    return out


@st.composite
def drifting_runs(draw):
    scheduler = draw(st.sampled_from(["linear", "cosine"]))
    total = draw(st.integers(30, 400))
    warmup = draw(st.integers(2, total // 4))
    count = draw(st.sampled_from([1, 2, 3, 5, 10]))
    # odd updates: skips at least two updates apart (runs of consecutive skips are in the Trainer tests), none at
    # update 0, where a skip reads as a different warmup
    slots = draw(st.sets(st.integers(0, (total - 4) // 2), min_size=count, max_size=count))
    skipped = {2 * slot + 1 for slot in slots}
    return scheduler, draw(st.sampled_from([1e-5, 2e-4, 3e-4])), warmup, total, skipped


@settings(max_examples=25, deadline=None)
@given(drifting_runs())
def test_every_skipped_step_is_found(tmp_path_factory, run):
    scheduler, peak, warmup, total, skipped = run
    lrs = trainer_lrs(scheduler, peak, warmup, total, skipped)
    path = tmp_path_factory.mktemp("drift") / "trainer_state.json"
    history = [{"step": s + 1, "learning_rate": lr} for s, lr in enumerate(lrs)]  # logged step s+1: update s
    path.write_text(json.dumps({"max_steps": total, "global_step": total, "best_global_step": None, "log_history": history}))
    document = json.loads(invoke(["check-run", path, "--scheduler", scheduler, "--lr", peak, "--warmup-steps", warmup,
                                  "--steps", total, "--json"], 1).stdout)
    spans = [f["steps"] for f in document["findings"] if f["cause"] == "skipped-step"]
    assert spans and {f["cause"] for f in document["findings"] if f["severity"] == "error"} == {"skipped-step"}
    for update in skipped:  # update u's skip shows from logged step u + 2 (update u + 1) on
        assert any(low <= update + 1 < high for low, high in spans), (update, spans)
    last = document["points"][-1]
    assert last["update"] - last["matches_update"] == len(skipped)
