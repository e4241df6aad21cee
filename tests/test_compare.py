"""The Compare tab and the leaderboard: same seed through every model, numbers that agree with the cards."""

import json

import pytest
import torch

from demos import compare
from models.dcgan import Generator
from models.hub import CHECKPOINTS, load_pretrained
from train import leaderboard


def test_leaderboard_row_agrees_with_the_card_and_the_weights():
    import demos.dcgan

    board = leaderboard.build([demos.dcgan])
    row, = board["rows"]
    card = json.loads((CHECKPOINTS / "dcgan-mnist" / "metrics.json").read_text())
    assert row["checkpoint"] == "dcgan-mnist" and row["FD"] == card["values"]["FD"]
    G = load_pretrained(Generator, "dcgan-mnist", device="cpu")
    assert row["parameters"] == sum(t.numel() for t in G.state_dict().values())
    assert row["sampling_ms_per_image"] > 0 and row["train_minutes"] > 0 and row["train_hardware"]
    assert board["floors"]["mnist"]["FD"] == card["floor"]["FD"] and "seed 2024" in board["protocols"]["mnist"]
    # every other bundled checkpoint is a row of "others", with its card's title and its own numbers
    others = {r["checkpoint"]: r for r in board["others"]}
    bundled = {f.name for f in CHECKPOINTS.iterdir() if (f / "model.safetensors").exists()}
    assert set(others) == bundled - {"dcgan-mnist"}
    judge = others["classifier-mnist"]
    assert judge["numbers"]["test_accuracy"] >= 0.99 and judge["model"] == "Evaluation classifier for mnist"
    assert judge["parameters"] > 0 and judge["train_minutes"] > 0


def test_same_seed_goes_through_every_unconditional_model_deterministically():
    first, again = compare.same_seed(0, 2), compare.same_seed(0, 2)
    titles = [s.title for s in compare.all_samplers().values()
              if s.unconditional and not s.slow and s.dataset == "mnist"]
    assert [c.split(" · ")[0] for _, c in first] == titles
    assert all(a.tobytes() == b.tobytes() for (a, _), (b, _) in zip(first, again))
    assert len({im.tobytes() for im, _ in first}) == len(first)  # different models, different pictures


def test_every_sampler_returns_images_in_range():
    for name, sampler in compare.all_samplers().items():
        if sampler.slow:  # PixelCNN++: ~25 s per image here; its sampler is tested on a tiny model (test_pixelcnn)
            continue
        images = sampler.sample(3, 2)
        assert images.shape[0] == 2 and images.min() >= -1 and images.max() <= 1, name
        assert torch.equal(images, sampler.sample(3, 2)), name  # seeded, never the global RNG


def test_leaderboard_table_has_a_floor_row(tmp_path, monkeypatch):
    board = {"rows": [{"checkpoint": "x-mnist", "model": "X", "family": "F", "FD": 3.14159, "KIDx1000": 40.0,
                       "precision": 0.5, "recall": 0.6, "class_min_fraction": 0.05, "class_max_fraction": 0.2,
                       "confident_fraction": 0.8, "sampling_ms_per_image": 1.5, "parameters": 10, "nll_nats": 90.0,
                       "bits_per_dim": 0.1656, "train_minutes": 3.0}],
             "floors": {"mnist": {"FD": 0.19, "KIDx1000": 1.1, "precision": 0.85, "recall": 0.88,
                                  "confident_fraction": 0.987, "class_min_fraction": 0.088, "class_max_fraction": 0.115}},
             "protocols": {"mnist": "10000 samples"}, "timing": "median",
             "others": [{"checkpoint": "judge", "model": "J", "parameters": 5, "train_minutes": 1.5, "protocol": "p",
                         "numbers": {"test_accuracy": 0.99612, "clips": 60}}]}
    path = tmp_path / "leaderboard.json"
    path.write_text(json.dumps(board))
    monkeypatch.setattr(leaderboard, "OUT", path)
    compare.leaderboard.cache_clear()
    try:
        rows = compare.leaderboard_rows()
        assert rows[0][:4] == ["x-mnist", "X", "F", 3.14] and rows[0][7] == "5.0–20.0" and "90.00 nats" in rows[0][9]
        assert rows[1][0] == "real-vs-real floor (mnist)" and rows[1][3] == 0.19
        assert "10000 samples" in compare.protocol_markdown()
        assert list(compare.cost_plot()["checkpoint"]) == ["x-mnist"]
        assert compare.other_rows() == [["judge", "J", "test_accuracy 0.996 · clips 60", "p", 5, 1.5]]
    finally:
        compare.leaderboard.cache_clear()


def test_replay_frames_and_bad_input():
    names = compare.with_replay()
    assert names, "the objective checkpoints ship replays"
    frame, gif = compare.replay(names[0], 0.0)
    last, _ = compare.replay(names[0], 1.0)
    assert frame.size == last.size and frame.tobytes() != last.tobytes() and gif.endswith(".gif")
    for call, message in [(lambda: compare.replay("nope", 0.5), "Checkpoint must be one of"),
                          (lambda: compare.replay(names[0], 2), "between 0 and 1"),
                          (lambda: compare.same_seed(0, 99), "between 1 and 16"),
                          (lambda: compare.same_seed(0, 2, "cifar"), "Dataset must be one of")]:
        with pytest.raises(Exception, match=message):
            call()
