"""Security rules of a public Space, checked on the code base itself: nothing is unpickled or executed, Hub repo ids
are validated, the app's temporary files are cleaned up and never named after anything a user sent."""

import ast
import os
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for folder in ("demos", "models", "train", "bench", "tests") for p in (ROOT / folder).rglob("*.py"))
SOURCES.append(ROOT / "app.py")


def calls(path: Path):
    """(dotted name, ast.Call) for every call in a file, e.g. ("torch.load", node)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func, parts = node.func, []
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            parts.append(func.id if isinstance(func, ast.Name) else "<expr>")  # f().eval() is a method, not eval()
            yield ".".join(reversed(parts)), node


def keyword(node: ast.Call, name: str):
    return next((k.value for k in node.keywords if k.arg == name), None)


def is_true(value) -> bool:
    return isinstance(value, ast.Constant) and value.value is True


def test_the_scan_sees_the_whole_code_base():
    assert len(SOURCES) > 40 and ROOT / "models" / "hub.py" in SOURCES and ROOT / "train" / "common.py" in SOURCES
    # The scanner finds what it looks for: the one torch.load the project has, with its keyword.
    loads = [n for path in SOURCES for name, n in calls(path) if name == "torch.load"]
    assert loads and all(is_true(keyword(n, "weights_only")) for n in loads)


FORBIDDEN_CALLS = {
    "eval": "runs arbitrary code", "exec": "runs arbitrary code", "compile": "builds code from strings",
    "os.system": "runs a shell", "os.popen": "runs a shell", "pickle.load": "unpickles", "pickle.loads": "unpickles",
    "marshal.loads": "loads code objects", "yaml.load": "can construct objects (use yaml.safe_load)",
    "__import__": "imports by string", "torch.jit.load": "loads TorchScript (code)",
}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_execution_or_unpickling(path):
    problems = []
    for name, node in calls(path):
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        if name in FORBIDDEN_CALLS and not (path.parent.name == "tests" and name == "__import__"):
            problems.append(f"{where}: {name}() {FORBIDDEN_CALLS[name]}")
        if name == "torch.load" and not is_true(keyword(node, "weights_only")):
            problems.append(f"{where}: torch.load without weights_only=True unpickles")
        if name.endswith(("numpy.load", "np.load")) and is_true(keyword(node, "allow_pickle")):
            problems.append(f"{where}: np.load(allow_pickle=True) unpickles")
        if name.startswith("subprocess.") and is_true(keyword(node, "shell")):
            problems.append(f"{where}: subprocess with shell=True")
        if is_true(keyword(node, "trust_remote_code")):
            problems.append(f"{where}: trust_remote_code=True runs a repo's code")
    text = path.read_text()
    if path.name != "test_security.py":
        for pattern in (r"^\s*import (c?pickle|dill|joblib|shelve)\b", r"^\s*from (c?pickle|dill|joblib|shelve) import"):
            if re.search(pattern, text, re.M):
                problems.append(f"{path.relative_to(ROOT)}: imports a pickle-based serializer ({pattern})")
    assert not problems, "\n".join(problems)


def test_only_safetensors_and_plain_data_are_fetched_or_bundled():
    from models import hub

    assert hub.WEIGHT_FILES == ["config.json", "model.safetensors"]
    assert all(not f.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt")) for f in hub.RECORD_FILES)
    bundled = [p for p in (ROOT / "assets").rglob("*") if p.is_file()]
    assert bundled and not [p for p in bundled if p.suffix in {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}]


@pytest.mark.parametrize("bad", ["a/b/c", "user/na me", "user/../etc", "../../etc/passwd", "user/" + "x" * 100,
                                 "user/name\n", "user//name", "-user/name"])
def test_hub_repo_ids_are_validated(monkeypatch, bad):
    from models import hub

    monkeypatch.setenv("GENZOO_HUB_NAMESPACE", "genzoo")
    assert hub.repo_id("dcgan-mnist") == "genzoo/dcgan-mnist"
    with pytest.raises(ValueError, match="Not a valid Hugging Face repo id"):
        hub.checked_repo_id(bad)


def test_push_with_a_malformed_repo_id_fails_before_training():
    from train import common

    with pytest.raises(SystemExit, match="Not a valid Hugging Face repo id.*Nothing was trained"):
        common.require_hub_token("me/../../etc")


def test_temporary_outputs_get_random_names_and_are_cleaned_up(monkeypatch, tmp_path):
    import tempfile

    from demos import common

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = Path(common.temporary_file(".gif"))
    assert old.parent == tmp_path / common.TEMP_FOLDER and old.name.startswith("genzoo-")
    stale = time.time() - common.TEMP_MAX_AGE_S - 1
    os.utime(old, (stale, stale))
    recent = Path(common.temporary_file(".png"))
    new = Path(common.temporary_file(".gif"))
    assert not old.exists() and recent.exists() and new.exists() and new != recent
