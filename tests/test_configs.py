"""Config readers and option resolution: real file formats in, values with provenance out."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from lrviz.configs import read_config
from lrviz.errors import ConfigError, SpecError
from lrviz.resolve import Options, resolve


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


LLAMAFACTORY_LORA = textwrap.dedent("""\
    model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct
    stage: sft
    do_train: true
    finetuning_type: lora
    lora_target: all
    dataset: identity,alpaca_en_demo
    template: llama3
    cutoff_len: 2048
    max_samples: 1000
    per_device_train_batch_size: 1
    gradient_accumulation_steps: 8
    learning_rate: 1.0e-4
    num_train_epochs: 3.0
    lr_scheduler_type: cosine_with_min_lr
    lr_scheduler_kwargs:
      min_lr: 1.0e-6
    warmup_ratio: 0.1
    bf16: true
""")


def test_llamafactory_yaml_worked_example(tmp_path):
    # users.md / schedulers.md §2: N=1000, bs=1, GA=8 -> 125 updates/epoch -> T=375 -> W=ceil(37.5)=38
    config = read_config(write(tmp_path, "lora.yaml", LLAMAFACTORY_LORA))
    assert config.flavor == "llamafactory"
    spec = resolve(Options(dataset_size=1000), config)
    assert (spec.total_steps, spec.warmup_steps) == (375, 38)
    assert spec.peak_lr == 1e-4
    assert dict(spec.scheduler_kwargs) == {"min_lr": 1e-6}
    assert str(spec.provenance["peak_lr"]) == "lora.yaml:learning_rate"
    assert str(spec.provenance["kwargs.min_lr"]) == "lora.yaml:lr_scheduler_kwargs.min_lr"
    assert "ceil(0.1 × 375) = 38" in str(spec.provenance["warmup_steps"])
    assert any("warmup_ratio" in note and "warmup_steps: 0.1" in note for note in spec.notes)


def test_flags_override_file_values(tmp_path):
    config = read_config(write(tmp_path, "lora.yaml", LLAMAFACTORY_LORA))
    spec = resolve(Options(dataset_size=1000, lr=3e-4, min_lr_rate=0.05, warmup_steps=10), config)
    assert spec.peak_lr == 3e-4 and str(spec.provenance["peak_lr"]) == "flag --lr"
    # the flag replaces the file's floor as a whole: min_lr from the file must not survive beside min_lr_rate
    assert dict(spec.scheduler_kwargs) == {"min_lr_rate": 0.05}
    assert spec.warmup_steps == 10


def test_lr_scheduler_kwargs_as_json_string_is_parsed_like_transformers(tmp_path):
    text = LLAMAFACTORY_LORA.replace("lr_scheduler_kwargs:\n  min_lr: 1.0e-6", """lr_scheduler_kwargs: '{"min_lr": 1e-6, "num_cycles": "1"}'""")
    config = read_config(write(tmp_path, "lora.yaml", text))
    # transformers' _convert_str_dict turns "1" into 1 and leaves JSON numbers as they are
    assert {key: item.value for key, item in config.scheduler_kwargs.items()} == {"min_lr": 1e-6, "num_cycles": 1}


def test_pyyaml_string_float_is_an_error_for_hf_yaml(tmp_path):
    path = write(tmp_path, "args.yaml", "output_dir: out\nlearning_rate: 2e-5\nmax_steps: 100\n")
    assert yaml.safe_load(open(path))["learning_rate"] == "2e-5"  # the pitfall is real
    with pytest.raises(ConfigError, match=r"learning_rate is the string '2e-5'.*write 2\.0e-5"):
        read_config(path)


def test_pyyaml_string_float_is_read_as_float_for_llamafactory_with_a_warning(tmp_path):
    text = LLAMAFACTORY_LORA.replace("min_lr: 1.0e-6", "min_lr: 2e-6")
    config = read_config(write(tmp_path, "lora.yaml", text))
    assert config.scheduler_kwargs["min_lr"].value == 2e-6
    assert any("2.0e-6" in note and "OmegaConf" in note for note in config.notes)


def test_quoted_number_in_kwargs_is_rejected_with_the_fix(tmp_path):
    path = write(tmp_path, "args.yaml", "max_steps: 100\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs:\n  min_lr: '2e-6'\n")
    with pytest.raises(SpecError, match=r"args.yaml.*min_lr = the string '2e-6' is text.*write 2e-06"):
        resolve(Options(), read_config(path))


def test_unknown_scheduler_kwarg_suggests_the_right_key(tmp_path):
    path = write(tmp_path, "args.json", json.dumps({"max_steps": 100, "lr_scheduler_type": "cosine_with_min_lr",
                                                   "lr_scheduler_kwargs": {"eta_min": 1e-6}}))
    with pytest.raises(SpecError, match=r"'eta_min' is not accepted by cosine_with_min_lr.*did you mean 'min_lr'"):
        resolve(Options(), read_config(path))


def test_min_lr_ratio_on_cosine_with_min_lr_suggests_min_lr_rate(tmp_path):
    path = write(tmp_path, "args.json", json.dumps({"max_steps": 100, "lr_scheduler_type": "cosine_with_min_lr",
                                                   "lr_scheduler_kwargs": {"min_lr_ratio": 0.1}}))
    with pytest.raises(SpecError, match=r"did you mean 'min_lr_rate'"):
        resolve(Options(), read_config(path))


def test_config_defaults_are_the_frameworks_not_lrvizs(tmp_path):
    spec = resolve(Options(), read_config(write(tmp_path, "args.json", json.dumps({"max_steps": 200}))))
    # transformers' TrainingArguments defaults: linear, 5e-5, no warmup
    assert (spec.scheduler, spec.peak_lr, spec.warmup_steps) == ("linear", 5e-5, 0)
    assert str(spec.provenance["scheduler"]) == "default (transformers)"


def test_cosine_with_min_lr_without_floor_in_config_is_the_transformers_error(tmp_path):
    path = write(tmp_path, "args.json", json.dumps({"max_steps": 100, "lr_scheduler_type": "cosine_with_min_lr"}))
    with pytest.raises(SpecError, match=r"args.json.*--min-lr.*--min-lr-rate"):
        resolve(Options(), read_config(path))


def test_llamafactory_fills_wsd_phases_one_third_stable(tmp_path):
    text = LLAMAFACTORY_LORA.replace("lr_scheduler_type: cosine_with_min_lr", "lr_scheduler_type: warmup_stable_decay")
    text = text.replace("lr_scheduler_kwargs:\n  min_lr: 1.0e-6\n", "")
    spec = resolve(Options(dataset_size=1000), read_config(write(tmp_path, "wsd.yaml", text)))
    # LLaMA-Factory create_custom_scheduler: remaining = 375 - 38 = 337; stable = 337 // 3 = 112; decay = 225
    assert spec.scheduler_kwargs["num_stable_steps"] == 112
    assert spec.scheduler_kwargs["num_decay_steps"] == 225


def test_deepspeed_reference_is_flagged(tmp_path):
    text = LLAMAFACTORY_LORA + "deepspeed: examples/deepspeed/ds_z3_config.json\n"
    config = read_config(write(tmp_path, "lora.yaml", text))
    assert any("DeepSpeed" in note and "scheduler" in note for note in config.notes)


def test_max_steps_in_file_overrides_dataset_size_with_a_note(tmp_path):
    path = write(tmp_path, "args.json", json.dumps({"max_steps": 120, "num_train_epochs": 3}))
    spec = resolve(Options(dataset_size=5000), read_config(path))
    assert spec.total_steps == 120
    assert any("overrides the epochs" in note for note in spec.notes)


@pytest.mark.parametrize(
    "content, message",
    [
        ("a: [1, 2\n", "invalid YAML at line"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("", "expected a mapping"),
        ("learning_rate: fast\nmax_steps: 3\n", "learning_rate = 'fast' must be a number"),
        ("max_steps: 10.5\n", "max_steps = 10.5 must be a whole number"),
        ("learning_rate: .nan\n", "must be a finite number"),
        ("lr_scheduler_kwargs: [1]\n", "lr_scheduler_kwargs must be a mapping"),
        ("lr_scheduler_kwargs: 'min_lr=1'\n", "only parses strings that start with '{'"),
        ("lr_scheduler_kwargs: '{min_lr: 1}'\n", "not valid JSON"),
    ],
)
def test_malformed_configs_name_file_and_problem(tmp_path, content, message):
    path = write(tmp_path, "bad.yaml", content)
    with pytest.raises(ConfigError, match=message) as raised:
        read_config(path)
    assert "bad.yaml" in str(raised.value)


def test_malformed_json_reports_line_and_column(tmp_path):
    path = write(tmp_path, "bad.json", '{"learning_rate": 1e-4,\n "max_steps": }\n')
    with pytest.raises(ConfigError, match=r"bad.json: invalid JSON at line 2, column 15"):
        read_config(path)
