"""Every advise rule, firing and not firing at its boundary, with the numbers in its message checked.

Expected numbers come from the rule as documented (practice.md §7, the issue's user rules) and plain arithmetic
on the inputs, e.g. a floor of 1e-8 under a peak of 2e-4 is 1/20000 of it, 200× below the 1/100 bound 2e-6.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from lrviz import ScheduleSpec
from lrviz.advise.deepspeed import DeepSpeedConfig
from lrviz.advise.facts import Facts, gather
from lrviz.advise.inputs import Trap
from lrviz.advise.profiles import PROFILES
from lrviz.advise.rules import RULES, RULES_BY_ID, SEVERITIES, evaluate, exit_code

PEAK = 2e-4
UP = 1 + 1e-6  # just past a bound (the rules forgive 1e-9 relative rounding, not this)
DOWN = 1 - 1e-6


def facts(scheduler: str = "cosine_with_min_lr", peak: float = PEAK, total: int = 1000, warmup: int = 30,
          profile: str = "generic", beta2: float | None = None, group_lrs: tuple[float, ...] = (), **kwargs) -> Facts:
    if scheduler in ("cosine_with_min_lr", "cosine_warmup_with_min_lr") and not {"min_lr", "min_lr_rate"} & set(kwargs):
        kwargs["min_lr_rate"] = 0.1
    spec = ScheduleSpec(scheduler, peak, total, warmup, kwargs)
    return gather(spec, PROFILES[profile], beta2=beta2, group_lrs=group_lrs)


def hits(rule: str, f: Facts):
    return RULES_BY_ID[rule].check(f)


def one(rule: str, f: Facts):
    found = hits(rule, f)
    assert len(found) == 1, (rule, found)
    return found[0]


def severity(rule: str, f: Facts) -> str:
    hit = one(rule, f)
    return hit.severity or RULES_BY_ID[rule].severity


# ------------------------------------------------------------------------------------- rules as data


def test_rules_are_data_with_id_severity_source_and_strength():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.severity in SEVERITIES
        assert rule.title and rule.condition and rule.source
        assert rule.strength in ("strong", "consensus", "weak", "contested", "logic", "framework")


def test_contested_and_weak_rules_are_never_errors():
    for rule in RULES:
        if rule.strength in ("weak", "contested"):
            assert rule.severity != "error", rule.id


def test_user_rule_sources_state_the_strength_honestly():
    assert "well supported" in RULES_BY_ID["F07"].source and RULES_BY_ID["F07"].strength == "consensus"
    assert "weak" in RULES_BY_ID["F08"].source and RULES_BY_ID["F08"].strength == "weak"
    assert "No paper or official recipe" in RULES_BY_ID["F09"].source and RULES_BY_ID["F09"].strength == "weak"


def test_rules_never_print(capsys):
    for profile in PROFILES:
        evaluate(facts(profile=profile, min_lr=1e-8, warmup=0))
        evaluate(facts("cosine", profile=profile, warmup=1000))
    assert capsys.readouterr() == ("", "")


def test_exit_code_from_findings():
    ok = evaluate(facts(min_lr=2e-6))
    assert exit_code(ok) == 0 and exit_code(ok, strict=True) == 0
    warned = evaluate(facts(min_lr=1e-8))
    assert exit_code(warned) == 0 and exit_code(warned, strict=True) == 1
    assert exit_code(evaluate(facts(min_lr=3e-4))) == 1


# ---------------------------------------------------------------------------------------- floor rules


def test_f01_floor_above_peak_is_an_error_naming_both():
    hit = one("F01", facts(min_lr=3e-4))
    assert severity("F01", facts(min_lr=3e-4)) == "error"
    assert "floor 3e-4" in hit.message and "peak 2e-4" in hit.message and "1.5× the peak" in hit.message
    assert "2.0e-5" in hit.fix  # 1/10 of the peak


def test_f01_boundary_floor_equal_to_peak_fires_just_below_does_not():
    assert "equals the peak 2e-4" in one("F01", facts(min_lr=PEAK)).message
    assert "equals" in one("F01", facts(min_lr_rate=1.0)).message
    assert hits("F01", facts(min_lr=PEAK * DOWN)) == []
    assert hits("F01", facts("warmup_stable_decay", num_decay_steps=100, min_lr_ratio=1.5))  # WSD floor above the peak


def test_f06_decays_to_zero_is_a_warning_not_an_error():
    hit = one("F06", facts("cosine"))
    assert RULES_BY_ID["F06"].severity == "warning"
    assert "cosine decays to 0" in hit.message
    assert "min_lr between 2.0e-6 and 2.0e-5" in hit.fix  # 1/100 – 1/10 of 2e-4
    assert "min_lr = 0" in one("F06", facts(min_lr=0.0)).message
    assert "min_lr_ratio = 0, the default" in one("F06", facts("warmup_stable_decay", num_decay_steps=100)).message
    assert hits("F06", facts(min_lr=1e-12)) == []
    assert hits("F06", facts("constant")) == []  # no floor at all: nothing decays


def test_f07_above_one_tenth_says_by_how_much():
    hit = one("F07", facts(min_lr=5e-5))  # 5e-5 / 2e-4 = 1/4
    assert "floor 5e-5 is 1/4 of the peak 2e-4" in hit.message
    assert "2.5× above the 1/10 bound (2e-5)" in hit.message
    assert "Chinchilla" in hit.message  # a decay under 5×
    assert "min_lr: 2.0e-5" in hit.fix
    assert "Chinchilla" not in one("F07", facts(min_lr=4e-5)).message  # exactly 5× decay (ratio 0.2)


def test_f07_boundary():
    assert hits("F07", facts(min_lr_rate=0.1)) == []
    assert hits("F07", facts(min_lr=2e-5)) == []  # 2e-5 / 2e-4 rounds below 0.1: still on the bound
    assert hits("F07", facts(min_lr_rate=0.1 * UP))
    assert hits("F07", facts(min_lr=PEAK)) == []  # F01's case


def test_f08_below_one_hundredth_says_by_how_much():
    hit = one("F08", facts(min_lr=1e-8))
    assert "floor 1e-8 is 1/20000 of the peak 2e-4" in hit.message
    assert "200× below the 1/100 bound (2e-6)" in hit.message
    assert "min_lr: 2.0e-6" in hit.fix
    assert "min_lr_rate: 0.01" in one("F08", facts(min_lr_rate=0.001)).fix  # the user's spelling


def test_f08_boundary():
    assert hits("F08", facts(min_lr=2e-6)) == []
    assert hits("F08", facts(min_lr_rate=0.01)) == []
    assert hits("F08", facts(min_lr_rate=0.01 * DOWN))
    assert hits("F08", facts(min_lr=0.0)) == []  # F06's case


def test_f09_absolute_band_for_fine_tuning_profiles_only():
    for profile in ("full", "lora", "dpo", "dpo-lora"):
        assert hits("F09", facts(profile=profile, min_lr=1e-6)) == []
        assert hits("F09", facts(profile=profile, min_lr=1e-5)) == []
        assert hits("F09", facts(profile=profile, min_lr=1e-6 * DOWN))
        assert hits("F09", facts(profile=profile, min_lr=1e-5 * UP))
    for profile in ("generic", "pretrain"):
        assert hits("F09", facts(profile=profile, min_lr=1e-8)) == []


def test_f09_messages_and_fix_inside_both_bands():
    below = one("F09", facts(profile="lora", min_lr=1e-8))
    assert "floor 1e-8 is below 1e-6" in below.message and "(100× below)" in below.message
    assert "min_lr: 2.0e-6" in below.fix  # max(1e-6, 2e-4/100)
    above = one("F09", facts(profile="lora", min_lr=5e-5, peak=5e-4))
    assert "floor 5e-5 is above 1e-5" in above.message and "(5× above)" in above.message
    assert "min_lr: 1.0e-5" in above.fix and "5e-6 – 1e-5" in above.fix
    assert severity("F09", facts(profile="lora", min_lr=5e-5, peak=5e-4)) == "warning"


def test_f09_conflict_with_ratio_rules_is_info_and_says_which_wins():
    # DPO at 5e-7: 1/100 – 1/10 of the peak is 5e-9 – 5e-8, wholly below the band's 1e-6
    f = facts(profile="dpo", peak=5e-7, min_lr=5e-8)
    assert severity("F09", f) == "info"
    hit = one("F09", f)
    assert "5e-9 – 5e-8" in hit.message and "the ratio rules win" in hit.message


def test_f04_standard_floor_in_pretraining_is_info():
    assert severity("F04", facts(profile="pretrain", min_lr_rate=0.1)) == "info"
    assert "1/10 of the peak" in one("F04", facts(profile="pretrain", min_lr_rate=0.1)).message
    assert hits("F04", facts(profile="pretrain", min_lr_rate=0.05))
    assert hits("F04", facts(profile="pretrain", min_lr_rate=0.01)) == []
    assert hits("F04", facts(profile="pretrain", min_lr_rate=0.15)) == []  # F07 says it
    assert hits("F04", facts(profile="lora", min_lr_rate=0.1)) == []


# --------------------------------------------------------------------------------------- warmup rules


def test_w01_warmup_not_shorter_than_the_run():
    hit = one("W01", facts(warmup=1000))
    assert "warmup 1,000 updates" in hit.message and "(1,000 updates)" in hit.message
    assert "warmup_steps: 30 (3% of the run)" == hit.fix  # ceil(0.03 × 1000)
    assert hits("W01", facts(warmup=999)) == []


def test_w02_warmup_over_a_quarter():
    assert hits("W02", facts(warmup=250)) == []
    hit = one("W02", facts(warmup=251))
    assert "251 of 1,000 updates is 25.1% of the run" in hit.message
    assert hits("W02", facts(warmup=1000)) == []  # W01's case


def test_w03_second_moment_time_constant():
    # 2 / (1 - 0.95) = 40
    assert hits("W03", facts(profile="pretrain", beta2=0.95, warmup=40)) == []
    hit = one("W03", facts(profile="pretrain", beta2=0.95, warmup=39))
    assert "2/(1−β2) = 40 updates at β2 = 0.95" in hit.message
    assert severity("W03", facts(profile="pretrain", beta2=0.95, warmup=39)) == "warning"
    assert severity("W03", facts(profile="lora", beta2=0.95, warmup=39)) == "info"
    assert severity("W03", facts(profile="full", beta2=0.95, warmup=39)) == "info"
    # 2 / (1 - 0.999) = 2000 (1999.9999999999982 in floats)
    assert hits("W03", facts(profile="pretrain", total=10_000, warmup=2000)) == []
    assert "= 2000 updates at β2 = 0.999 (transformers default)" in one("W03", facts(profile="pretrain", total=10_000, warmup=1999)).message


def test_w03_fix_when_the_time_constant_does_not_fit():
    hit = one("W03", facts(profile="pretrain", total=1000, warmup=30))  # 2000 > a quarter of 1000
    assert "adam_beta2: 0.95" in hit.fix and "2000 would be over a quarter" in hit.fix


def test_w04_no_warmup_in_pretraining():
    assert hits("W04", facts(profile="pretrain", warmup=0))
    assert hits("W04", facts(profile="pretrain", warmup=1)) == []
    assert hits("W04", facts(profile="lora", warmup=0)) == []


def test_w05_both_warmup_keys():
    trap = Trap("both_warmup_keys", "run.yaml:warmup_ratio", "warmup_ratio", 0.03, {"warmup_steps": 10})
    f = replace(facts(warmup=30), traps=(trap,))
    hit = one("W05", f)
    assert "run.yaml:warmup_ratio = 0.03 and warmup_steps = 10" in hit.message and "30 updates" in hit.message
    assert hit.fix == "keep one key: warmup_steps: 30"
    assert hits("W05", facts()) == []


# ---------------------------------------------------------------------------------------- decay rules


def test_d01_horizon_overshoot_boundary():
    # cosine reaches its floor at W + (T - W) / (2 num_cycles); W = 0: T / (2 c) > 1.25 T  <=>  c < 0.4
    assert hits("D01", facts(warmup=0, num_cycles=0.4)) == []
    hit = one("D01", facts(warmup=0, num_cycles=0.39))
    assert "at update 1,282" in hit.message and "1.28× the run's 1,000 updates" in hit.message  # 1000 / 0.78
    assert hit.fix.startswith("num_cycles: 0.5")
    # WSD: warmup + stable + decay
    assert hits("D01", facts("warmup_stable_decay", warmup=0, num_decay_steps=250, num_stable_steps=1000)) == []
    assert "at update 1,251" in one("D01", facts("warmup_stable_decay", warmup=0, num_decay_steps=251, num_stable_steps=1000)).message


def test_d02_d03_tail_at_the_floor():
    # plateau from update S + D to the end: share (1000 - 900) / 1000 = 10% does not fire, 10.1% does
    assert hits("D02", facts("warmup_stable_decay", warmup=0, num_decay_steps=100, num_stable_steps=800)) == []
    hit = one("D02", facts("warmup_stable_decay", warmup=0, num_decay_steps=100, num_stable_steps=799))
    assert "0 from update 899 on" in hit.message and "10.1%" in hit.message and "(101 updates)" in hit.message
    f = facts("warmup_stable_decay", warmup=0, num_decay_steps=100, num_stable_steps=799, min_lr_ratio=0.1)
    assert hits("D02", f) == [] and severity("D03", f) == "info"
    assert "floor 2e-5 from update 899 on" in one("D03", f).message


def test_d04_constant_in_pretraining():
    assert "constant never anneals" in one("D04", facts("constant", profile="pretrain")).message
    assert hits("D04", facts("constant_with_warmup", profile="pretrain"))
    assert "num_decay_steps: 200" in one("D04", facts("constant", profile="pretrain")).fix  # 20% of 1000
    assert hits("D04", facts("constant", profile="lora")) == []
    assert hits("D04", facts(profile="pretrain")) == []


def test_d05_d06_wsd_decay_share():
    assert hits("D05", facts("warmup_stable_decay", num_decay_steps=50)) == []
    hit = one("D05", facts("warmup_stable_decay", num_decay_steps=49))
    assert "49 of 1,000 updates (4.9%)" in hit.message and "num_decay_steps: 200" in hit.fix
    assert hits("D06", facts("warmup_stable_decay", num_decay_steps=300)) == []
    assert "30.1%" in one("D06", facts("warmup_stable_decay", num_decay_steps=301)).message


def test_d07_run_ends_far_above_the_floor():
    hit = one("D07", facts(num_cycles=1.0))  # a full wave ends back at the peak
    assert "the last update uses 2e-4 (100% of the peak, floor 2e-5)" in hit.message and hit.fix == "num_cycles: 0.5"
    # 4 decay updates: the last uses 0.1 + 0.9 × 0.5(1 + cos(0.75π)) = 0.2318 of the peak > 0.2; 5: 0.1859
    assert "only 4 update(s)" in one("D07", facts(warmup=996)).message
    assert hits("D07", facts(warmup=995)) == []
    assert hits("D07", facts()) == []
    assert hits("D07", facts(warmup=0, num_cycles=0.3)) == []  # D01's case


# ------------------------------------------------------------------------------------------ peak rules


@pytest.mark.parametrize("rule, profile, inside, outside, text", [
    ("P01", "full", 1e-4, 1e-4 * UP, "5× the usual full fine-tuning LR 2e-5"),
    ("P02", "full", 3e-5, 3e-5 * UP, "outside the common full fine-tuning band"),
    ("P02", "full", 1e-6, 1e-6 * DOWN, "outside the common full fine-tuning band"),
    ("P03", "lora", 2e-5, 2e-5 * DOWN, "5× below 1e-4"),
    ("P04", "lora", 1e-3, 1e-3 * UP, "5× the highest cited LoRA recipe LR (2e-4)"),
    ("P05", "dpo", 5e-6, 5e-6 * UP, "5× the TRL DPO default 1e-6"),
    ("P06", "dpo-lora", 5e-7, 5e-7 * DOWN, "outside 5e-7 – 5e-5"),
    ("P06", "dpo-lora", 5e-5, 5e-5 * UP, "outside 5e-7 – 5e-5"),
    ("P07", "pretrain", 2e-5, 2e-5 * DOWN, "more than 3× outside every cited pretraining peak"),
    ("P07", "pretrain", 3e-3, 3e-3 * UP, "more than 3× outside every cited pretraining peak"),
])
def test_peak_band_boundaries(rule, profile, inside, outside, text):
    assert hits(rule, facts(profile=profile, peak=inside)) == []
    hit = one(rule, facts(profile=profile, peak=outside))
    assert text in hit.message
    assert hits(rule, facts(profile="generic", peak=outside)) == []


def test_peak_rule_severities_and_fixes():
    assert severity("P01", facts(profile="full", peak=2e-4)) == "warning"
    assert one("P01", facts(profile="full", peak=2e-4)).fix == "learning_rate: 2.0e-5"
    assert "10×" in one("P01", facts(profile="full", peak=2e-4)).message
    assert one("P03", facts(profile="lora", peak=1e-5)).fix == "learning_rate: 0.0002"
    assert severity("P02", facts(profile="full", peak=5e-5)) == "info"
    assert severity("P07", facts(profile="pretrain", peak=1e-2)) == "info"


# ---------------------------------------------------------------------------------------- epochs rules


def test_epochs_rules():
    sft = replace(facts(profile="lora"), epochs=3.0, epochs_from="run.yaml:num_train_epochs")
    assert hits("E01", sft) == []
    hit = one("E01", replace(sft, epochs=3.5))
    assert "3.5 epochs (run.yaml:num_train_epochs)" in hit.message and severity("E01", replace(sft, epochs=3.5)) == "info"
    assert hits("E01", replace(sft, epochs=None)) == []  # a run length in updates: epochs do not matter
    assert hits("E03", replace(facts(profile="dpo", peak=1e-6), epochs=3.0)) == []
    dpo = replace(facts(profile="dpo", peak=1e-6), epochs=4.0)
    assert "4 epochs" in one("E03", dpo).message and hits("E01", dpo) == []


# ------------------------------------------------------------------------------------ framework traps


def with_traps(*traps: Trap, **kwargs) -> Facts:
    return replace(facts(**kwargs), traps=traps)


def test_t01_both_floors():
    trap = Trap("both_floors", "a.yaml:lr_scheduler_kwargs.min_lr_rate", "min_lr_rate", 0.01,
                {"min_lr": 2e-6, "min_lr_where": "a.yaml:lr_scheduler_kwargs.min_lr", "scheduler": "cosine_with_min_lr"})
    hit = one("T01", with_traps(trap, min_lr=2e-6))
    assert "min_lr (2e-06)" in hit.message and "min_lr_rate (0.01)" in hit.message and "ValueError" in hit.message
    assert "min_lr: 2.0e-6" in hit.fix and "min_lr_rate: 0.01" in hit.fix
    assert RULES_BY_ID["T01"].severity == "error" and hits("T01", facts()) == []


def test_t02_no_floor():
    trap = Trap("no_floor", "a.yaml:lr_scheduler_kwargs", "lr_scheduler_kwargs", None,
                {"scheduler": "cosine_with_min_lr", "assumed_rate": 0.1})
    hit = one("T02", with_traps(trap))
    assert "needs min_lr or min_lr_rate" in hit.message and "a.yaml sets neither" in hit.message
    assert "min_lr: 2.0e-5" in hit.fix  # 0.1 × 2e-4


def test_t03_unaccepted_keys():
    eta = Trap("bad_kwarg", "a.yaml:lr_scheduler_kwargs.eta_min", "eta_min", 1e-6,
               {"scheduler": "cosine", "reason": "unknown", "hint": None, "translated": False, "floor_like": True})
    hit = one("T03", with_traps(eta))
    assert "eta_min = 1e-06 is not a keyword of cosine" in hit.message and "TypeError" in hit.message
    assert "has no floor setting" in hit.message
    assert hit.fix == "lr_scheduler_type: cosine_with_min_lr with min_lr: 1.0e-6"
    ratio = Trap("bad_kwarg", "--scheduler-kwargs min_lr_ratio", "min_lr_ratio", 0.01,
                 {"scheduler": "cosine_with_min_lr", "reason": "unknown", "hint": "min_lr_rate", "translated": True, "floor_like": True})
    hit = one("T03", with_traps(ratio))
    assert hit.fix == "write min_lr_rate: 0.01 instead" and "reads it as min_lr_rate" in hit.message
    wsd = Trap("bad_kwarg", "a.yaml:lr_scheduler_kwargs.min_lr", "min_lr", 2e-6,
               {"scheduler": "warmup_stable_decay", "reason": "unknown", "hint": None, "translated": False, "floor_like": True})
    assert "min_lr_ratio: 0.01 (= 2e-6 / 2e-4)" in one("T03", with_traps(wsd)).fix
    trainer = Trap("bad_kwarg", "a.yaml:lr_scheduler_kwargs.num_warmup_steps", "num_warmup_steps", 10,
                   {"scheduler": "cosine", "reason": "trainer"})
    assert "got multiple values" in one("T03", with_traps(trainer)).message


def test_t04_numbers_read_as_text():
    hf = Trap("text_number", "a.yaml:lr_scheduler_kwargs.min_lr", "lr_scheduler_kwargs.min_lr", "2e-6", {"flavor": "hf", "quoted": False})
    hit = one("T04", with_traps(hf))
    assert "written 2e-6" in hit.message and "string '2e-6'" in hit.message and hit.fix == "write 2.0e-6"
    assert severity("T04", with_traps(hf)) == "error"
    lf = replace(hf, detail={"flavor": "llamafactory", "quoted": False})
    assert severity("T04", with_traps(lf)) == "warning" and "OmegaConf" in one("T04", with_traps(lf)).message
    quoted = replace(hf, detail={"flavor": "llamafactory", "quoted": True})
    assert severity("T04", with_traps(quoted)) == "error" and "TypeError" in one("T04", with_traps(quoted)).message


def test_t05_warmup_ratio_key():
    trap = Trap("warmup_ratio_key", "a.yaml:warmup_ratio", "warmup_ratio", 0.1, {"flavor": "llamafactory"})
    f = replace(facts(warmup=38), traps=(trap,), transformers_version="5.24.0")
    hit = one("T05", f)
    assert "a.yaml:warmup_ratio = 0.1" in hit.message and "5.24 removed warmup_ratio" in hit.message
    assert "LLaMA-Factory pins transformers ≤ 5.8" in hit.message and "installed here: transformers 5.24.0" in hit.message
    assert "warmup_steps: 0.1" in hit.fix and "warmup_steps: 38" in hit.fix


def test_t06_deepspeed_scheduler_block():
    def ds(block=None, problem=None):
        return replace(facts(), deepspeed=DeepSpeedConfig("a.yaml:deepspeed", "ds.json", "ds.json", block, problem))

    warmup_lr = ds({"type": "WarmupLR", "params": {"warmup_num_steps": "auto"}})
    hit = one("T06", warmup_lr)
    assert severity("T06", warmup_lr) == "error"
    assert "ds.json has a \"scheduler\" block (WarmupLR)" in hit.message and "never decays" in hit.message
    assert "log-shaped" in hit.message and "delete the \"scheduler\" block from ds.json" in hit.fix
    cosine = ds({"type": "WarmupCosineLR", "params": {"warmup_type": "linear"}})
    assert severity("T06", cosine) == "warning" and "log-shaped" not in one("T06", cosine).message
    assert severity("T06", ds(problem="ds.json was not found")) == "info"
    assert hits("T06", ds()) == [] and hits("T06", facts()) == []


def test_t07_absolute_floor_with_param_groups():
    f = facts(min_lr=2e-6, group_lrs=(3.2e-3,))
    hit = one("T07", f)
    assert "min_lr 2e-6 is absolute" in hit.message and "1/100 of optimizer.defaults['lr'] (2e-4)" in hit.message
    assert "(LR 3.2e-3) ends at 3.2e-5, not 2e-6" in hit.message
    assert hit.fix.startswith("write min_lr_rate: 0.01")
    assert hits("T07", facts(min_lr=2e-6, group_lrs=(PEAK,))) == []  # same LR: nothing differs
    assert hits("T07", facts(min_lr_rate=0.01, group_lrs=(3.2e-3,))) == []  # a ratio already
    assert hits("T07", facts(min_lr=2e-6)) == []


def test_t07_reads_lora_plus_from_the_config():
    from lrviz.advise.facts import group_lrs_from

    groups = group_lrs_from({"loraplus_lr_ratio": 16, "embedding_lr": 1e-6, "lr_groups": [{"lr": 5e-5}, {"name": "x"}]}, "a.yaml", PEAK)
    assert [value for _, value in groups] == [PEAK * 16, 1e-6, 5e-5]


def test_t08_update_zero_at_lr_zero():
    hit = one("T08", facts())
    assert "update 0 runs at LR 0" in hit.message and "the first of 1,000 updates" in hit.message
    assert "6.667e-6" in hit.fix  # cosine_warmup_with_min_lr starts at 2e-4 / 30
    assert hits("T08", facts(warmup=0)) == []
    assert hits("T08", facts("cosine_warmup_with_min_lr")) == []  # starts at peak / W


def test_findings_sorted_by_severity():
    found = evaluate(facts(min_lr=3e-3, profile="lora", peak=2e-3, warmup=0))
    order = [SEVERITIES.index(f.severity) for f in found]
    assert order == sorted(order) and found[0].severity == "error"
