"""One compact script per bundled checkpoint; `python -m train.<name> --key=value ...`."""
