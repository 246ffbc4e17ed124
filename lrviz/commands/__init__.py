"""One module per command: the glue between parsed options and the core, owning the consoles."""
