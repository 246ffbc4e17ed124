"""Step arithmetic: optimizer updates of a Trainer run and the warmup length, against the real libraries.

The oracle builds a real ``torch.utils.data.DataLoader``, shards it the way accelerate does for each process
(``BatchSamplerShard`` / ``prepare_data_loader``, ``split_batches=False``, ``even_batches=True``), and runs the
real ``Trainer.set_initial_training_values`` and ``TrainingArguments.get_warmup_steps`` of transformers.
"""

from __future__ import annotations

import math
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from accelerate.data_loader import BatchSamplerShard, prepare_data_loader
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset
from transformers import Trainer, TrainingArguments

from lrviz.errors import SpecError
from lrviz.steps import hf_total_steps, hf_warmup_steps

# ------------------------------------------------------------------------------------ worked examples


def test_worked_example_total() -> None:
    got = hf_total_steps(dataset_size=10000, batch_size=4, grad_accum=4, gpus=2, epochs=3)
    assert got.value == 939
    assert got.arithmetic == "total = ceil(3 × ceil(ceil(10000 / (4×2)) / 4)) = 939"


def test_worked_example_warmup_ratio() -> None:
    got = hf_warmup_steps(939, 0.03)
    assert got.value == 29
    assert got.arithmetic == "warmup = ceil(0.03 × 939) = 29"


def test_ratio_rounding_gotcha() -> None:
    # 100 * 0.07 == 7.000000000000001 in binary floating point, so the ceiling is 8, not 7
    assert 100 * 0.07 > 7
    assert hf_warmup_steps(100, 0.07).value == 8


def test_fractional_warmup_count_is_truncated() -> None:
    got = hf_warmup_steps(939, 30.7)
    assert got.value == 30
    assert "30" in got.arithmetic and got.arithmetic.endswith("= 30")


@pytest.mark.parametrize(("warmup", "want"), [(0, 0), (0.0, 0), (1, 1), (1.0, 1), (30, 30), (0.5, 470), (0.999, 939)])
def test_warmup_edges(warmup: float, want: int) -> None:
    assert hf_warmup_steps(939, warmup).value == want


def test_max_steps_overrides_epochs() -> None:
    got = hf_total_steps(dataset_size=10000, batch_size=4, grad_accum=4, gpus=2, epochs=3, max_steps=500)
    assert got.value == 500
    assert "500" in got.arithmetic
    # max_steps <= 0 means "use the epochs"
    assert hf_total_steps(dataset_size=10000, batch_size=4, grad_accum=4, gpus=2, epochs=3, max_steps=0).value == 939
    assert hf_total_steps(dataset_size=10000, batch_size=4, grad_accum=4, gpus=2, epochs=3, max_steps=-1).value == 939


def test_fractional_epochs() -> None:
    # 313 updates per epoch; 2.5 epochs = ceil(782.5)
    got = hf_total_steps(dataset_size=10000, batch_size=4, grad_accum=4, gpus=2, epochs=2.5)
    assert got.value == 783
    assert got.arithmetic == "total = ceil(2.5 × ceil(ceil(10000 / (4×2)) / 4)) = 783"
    assert hf_total_steps(dataset_size=10000, batch_size=4, grad_accum=4, gpus=2, epochs=0.5).value == 157


def test_drop_last() -> None:
    # 10 samples in batches of 4: 3 batches, or 2 when the short last one is dropped
    assert hf_total_steps(dataset_size=10, batch_size=4, epochs=1).value == 3
    assert hf_total_steps(dataset_size=10, batch_size=4, epochs=1, drop_last=True).value == 2
    # per process: 10001 / (4 x 2) -> 1251 batches (ceil) or 1250 (floor); 4 accumulated per update
    assert hf_total_steps(dataset_size=10001, batch_size=4, grad_accum=4, gpus=2, epochs=1).value == 313
    got = hf_total_steps(dataset_size=10001, batch_size=4, grad_accum=4, gpus=2, epochs=1, drop_last=True)
    assert got.value == 313  # ceil(1250 / 4)
    got = hf_total_steps(dataset_size=9999, batch_size=4, grad_accum=1, gpus=2, epochs=1, drop_last=True)
    assert got.value == 1249  # floor(9999 / 8)
    assert "floor(" in got.arithmetic


def test_one_update_per_epoch_at_least() -> None:
    # fewer batches than grad_accum still makes one update per epoch
    assert hf_total_steps(dataset_size=3, batch_size=1, grad_accum=16, epochs=2).value == 2


def test_drop_last_with_every_batch_dropped() -> None:
    with pytest.raises(SpecError):
        hf_total_steps(dataset_size=7, batch_size=4, gpus=2, drop_last=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dataset_size": 0, "batch_size": 4},
        {"dataset_size": 100, "batch_size": 0},
        {"dataset_size": 100, "batch_size": 4, "grad_accum": 0},
        {"dataset_size": 100, "batch_size": 4, "gpus": 0},
        {"dataset_size": 100, "batch_size": 4, "epochs": 0},
        {"dataset_size": 100, "batch_size": 4, "epochs": float("nan")},
        {"dataset_size": True, "batch_size": 4},
    ],
)
def test_bad_inputs(kwargs: dict[str, Any]) -> None:
    with pytest.raises(SpecError):
        hf_total_steps(**kwargs)


@pytest.mark.parametrize("warmup", [-1, -0.1, float("nan"), float("inf"), True])
def test_bad_warmup(warmup: Any) -> None:
    with pytest.raises(SpecError):
        hf_warmup_steps(100, warmup)


# --------------------------------------------------------------------------------------------- oracle


def _args(tmp_path: Path, **kwargs: Any) -> TrainingArguments:
    return TrainingArguments(output_dir=str(tmp_path), report_to=[], **kwargs)


def real_dataloader_length(dataset_size: int, batch_size: int, gpus: int, drop_last: bool) -> tuple[int, Any]:
    """Batches process 0 sees per epoch, as accelerate shards a real DataLoader; and that dataloader."""
    loader = DataLoader(TensorDataset(torch.zeros(dataset_size)), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == (dataset_size // batch_size if drop_last else math.ceil(dataset_size / batch_size))
    shard = BatchSamplerShard(loader.batch_sampler, num_processes=gpus, process_index=0, split_batches=False,
                              even_batches=True)  # fmt: skip
    prepared = prepare_data_loader(
        loader, num_processes=gpus, process_index=0, split_batches=False, put_on_device=False, even_batches=True
    )
    assert len(prepared) == len(shard)
    if gpus == 1:
        assert len(shard) == len(loader)
    return len(shard), prepared


def real_trainer_total(args: TrainingArguments, dataloader: Any, batch_size: int, gpus: int) -> int:
    """``max_steps`` from the real ``Trainer.set_initial_training_values`` (no model, no accelerator)."""
    fake_trainer = types.SimpleNamespace(
        get_total_train_batch_size=lambda a: batch_size * a.gradient_accumulation_steps * gpus,
        get_sp_size=lambda: 1,
        num_examples=lambda dl: len(dl.dataset),
        args=args,
    )
    values = Trainer.set_initial_training_values(fake_trainer, args, dataloader)
    return values[-1]


epochs_grid = st.integers(1, 10).map(lambda n: n * 0.5)


@settings(max_examples=150)
@given(
    dataset_size=st.one_of(st.integers(1, 100), st.integers(100, 10_000), st.integers(10_000, 100_000)),
    batch_size=st.integers(1, 64),
    grad_accum=st.integers(1, 16),
    gpus=st.integers(1, 8),
    epochs=epochs_grid,
    drop_last=st.booleans(),
    max_steps=st.one_of(st.just(-1), st.just(-1), st.integers(1, 5000)),
)
def test_total_steps_match_trainer(
    tmp_path_factory: pytest.TempPathFactory,
    dataset_size: int,
    batch_size: int,
    grad_accum: int,
    gpus: int,
    epochs: float,
    drop_last: bool,
    max_steps: int,
) -> None:
    batches, dataloader = real_dataloader_length(dataset_size, batch_size, gpus, drop_last)
    kwargs = dict(dataset_size=dataset_size, batch_size=batch_size, grad_accum=grad_accum, gpus=gpus, epochs=epochs,
                  max_steps=max_steps, drop_last=drop_last)  # fmt: skip
    if batches == 0 and max_steps < 0:
        # drop_last dropped every batch: the Trainer would count epochs of an empty dataloader; lrviz refuses
        with pytest.raises(SpecError):
            hf_total_steps(**kwargs)
        return
    args = _args(
        tmp_path_factory.getbasetemp(),
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        num_train_epochs=epochs,
        max_steps=max_steps,
        dataloader_drop_last=drop_last,
    )
    want = real_trainer_total(args, dataloader, batch_size, gpus)
    got = hf_total_steps(**kwargs)
    assert got.value == want
    assert got.arithmetic.endswith(f"= {want}")


@settings(max_examples=200)
@given(
    dataset_size=st.one_of(st.integers(1, 100), st.integers(100, 10_000), st.integers(10_000, 100_000)),
    batch_size=st.integers(1, 64),
    gpus=st.integers(1, 8),
    drop_last=st.booleans(),
)
def test_one_epoch_without_accumulation_is_the_shard_length(dataset_size: int, batch_size: int, gpus: int,
                                                             drop_last: bool) -> None:  # fmt: skip
    """With grad_accum 1 and one epoch, the updates are the batches accelerate gives process 0."""
    batches, _ = real_dataloader_length(dataset_size, batch_size, gpus, drop_last)
    kwargs = dict(dataset_size=dataset_size, batch_size=batch_size, gpus=gpus, epochs=1, drop_last=drop_last)
    if batches == 0:
        with pytest.raises(SpecError):
            hf_total_steps(**kwargs)
    else:
        assert hf_total_steps(**kwargs).value == batches


@settings(max_examples=150)
@given(
    total=st.one_of(st.integers(1, 200), st.integers(1, 10**7)),
    warmup=st.one_of(
        st.floats(min_value=0.0, max_value=1.0, exclude_max=True, allow_nan=False),
        st.sampled_from([0.01, 0.03, 0.05, 0.07, 0.1, 0.2, 0.3, 0.6]),
        st.integers(0, 5000),
        st.floats(min_value=1.0, max_value=5000.0, allow_nan=False),
    ),
)
def test_warmup_steps_match_training_arguments(tmp_path_factory: pytest.TempPathFactory, total: int,
                                               warmup: float) -> None:  # fmt: skip
    args = _args(tmp_path_factory.getbasetemp(), warmup_steps=warmup)
    want = args.get_warmup_steps(total)
    got = hf_warmup_steps(total, warmup)
    assert got.value == want
    assert got.arithmetic.endswith(f"= {want}") or got.arithmetic == f"warmup = {want}"


def test_worked_example_against_the_real_libraries(tmp_path: Path) -> None:
    batches, dataloader = real_dataloader_length(10000, 4, 2, False)
    assert batches == 1250
    args = _args(tmp_path, per_device_train_batch_size=4, gradient_accumulation_steps=4, num_train_epochs=3,
                 warmup_steps=0.03)  # fmt: skip
    total = real_trainer_total(args, dataloader, 4, 2)
    assert total == 939 == hf_total_steps(dataset_size=10000, batch_size=4, grad_accum=4, gpus=2, epochs=3).value
    assert args.get_warmup_steps(total) == 29 == hf_warmup_steps(total, 0.03).value
    assert _args(tmp_path, warmup_steps=0.07).get_warmup_steps(100) == 8
    assert _args(tmp_path, warmup_steps=30.7).get_warmup_steps(939) == 30
