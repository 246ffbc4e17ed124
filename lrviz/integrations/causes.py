"""The names of the causes a deviation from the predicted schedule is put down to, in one place.

They are the stable ids ``lrviz check-run`` prints for the same departures in a finished run's log
(``lrviz/runcheck/check.py`` ``Finding.cause``), so that the guard, verify and check-run name a fault alike.
"""

from __future__ import annotations

SKIPPED_STEP = "skipped-step"  # the scheduler was not stepped for an update (fp16 overflow, a custom loop)
MICRO_BATCH_STEPPING = "micro-batch-stepping"  # the scheduler was stepped per micro-batch, not per update
FLOOR_MISSING = "floor-missing"  # the same schedule, decaying to 0 instead of the floor
DEEPSPEED_SCHEDULER = "deepspeed-scheduler"  # DeepSpeed's own scheduler replaced the Trainer's
RESUME_OFFSET = "resume-offset"  # a resume restored no (or another) scheduler state
SETTINGS_DIFFER = "settings-differ"  # the scheduler follows other settings (type, peak, warmup, length)
LR_CHANGED = "lr-changed"  # other code set the optimizer's LR: the scheduler holds another value

DESCRIPTIONS = {
    SKIPPED_STEP: "the scheduler was not stepped for {behind} update(s): it is at index {index} at update {update} "
                  "(an fp16 overflow skip, or a loop that skips scheduler.step())",
    MICRO_BATCH_STEPPING: "the scheduler is at index {index} at update {update}: it is stepped per micro-batch, not "
                          "once per optimizer update",
    FLOOR_MISSING: "the LR follows the same schedule without its floor: the floor setting (min_lr / min_lr_rate / "
                   "min_lr_ratio) did not reach the scheduler",
    DEEPSPEED_SCHEDULER: "DeepSpeed's scheduler ({scheduler}) drives the optimizer instead of the Trainer's "
                         "lr_scheduler_type: remove the \"scheduler\" block from the DeepSpeed config, or expect its schedule",
    RESUME_OFFSET: "after resuming at update {start}, the scheduler is at index {index}: the checkpoint's scheduler "
                   "state was not restored (or came from another checkpoint)",
    SETTINGS_DIFFER: "the scheduler ({scheduler}) is at the right index but follows other settings (type, peak, "
                     "warmup, run length or kwargs) than the ones predicted",
    LR_CHANGED: "the optimizer's LR was set by other code: the scheduler itself holds {scheduler_lr}",
}
