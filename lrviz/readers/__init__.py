"""Readers for the config files of frameworks other than transformers (DeepSpeed JSON, Axolotl YAML, ...).

Each reader validates the file the way the framework would (a key the framework would reject is exit 2, naming
the file and key) and keeps, per value, the key it came from. ``lrviz.effective`` turns them into specs.
"""
