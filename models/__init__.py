"""One self-contained file per model family; `hub.load_pretrained` is the one way weights are loaded."""
