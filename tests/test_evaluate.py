import json
import math

import pytest
import torch

from train import evaluate


def test_precision_recall_on_hand_made_sets():
    real = torch.tensor([[0.0, 0], [1, 0], [0, 1], [1, 1]])
    inside, far = torch.tensor([[0.5, 0.5]]).repeat(4, 1), torch.tensor([[10.0, 10]]).repeat(4, 1)
    # Every fake inside the real balls: precision 1; the fakes' own balls have radius 0, so no real is covered.
    assert evaluate.precision_recall(real, inside) == (1.0, 0.0)
    assert evaluate.precision_recall(real, far) == (0.0, 0.0)
    assert evaluate.precision_recall(real, real.clone()) == (1.0, 1.0)


def test_frechet_distance_of_a_shift_is_its_squared_norm():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(5000, 8, generator=g)
    assert evaluate.frechet_distance(real, real.clone()) < 1e-6
    shifted = real + torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 2.0])
    assert math.isclose(evaluate.frechet_distance(real, shifted), 5.0, rel_tol=1e-4)


def test_kid_is_seeded_and_near_zero_for_the_same_distribution():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2000, 8, generator=g), torch.randn(2000, 8, generator=g)
    first, second = evaluate.kernel_distance(a, b), evaluate.kernel_distance(a, b)
    assert first == second and abs(first[0]) < 0.01
    assert evaluate.kernel_distance(a, b + 1)[0] > 10 * abs(first[0])


def test_fit_size_undoes_the_padding_of_32px_mnist():
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(evaluate.fit_size(torch.nn.functional.pad(x, (2, 2, 2, 2)), 28), x)
    assert evaluate.fit_size(torch.randn(2, 1, 64, 64), 28).shape == (2, 1, 28, 28)


def test_bundled_classifiers_meet_their_accuracy_bar():
    """The kit's feature extractors: >= 99.0 % on MNIST test, >= 91 % on Fashion-MNIST test (all 10k images), and
    >= 90 % on styled Fashion-MNIST: BigGAN's class-accuracy bar (90 %) cannot be read by a judge below it."""
    from train import data

    for dataset, loader, bar in (("mnist", data.mnist, 0.99), ("fashion-mnist", data.fashion_mnist, 0.91),
                                 ("fashion-styles", data.styled_fashion, 0.90)):
        try:
            x, y = loader("test")
        except data.DatasetMissing:
            continue
        _, probs = evaluate.classify(x, dataset)
        assert (probs.argmax(1) == y).float().mean() >= bar, dataset


def test_real_images_score_like_the_floor_and_noise_does_not():
    """The kit separates real digits from noise on a small protocol (1000 images)."""
    test, train_subset = evaluate.real_sets("mnist", 1000)
    real = evaluate.compare(test, train_subset, "mnist")
    noise = evaluate.compare(test, torch.rand(1000, 1, 28, 28) * 2 - 1, "mnist")
    assert real["FD"] < noise["FD"] / 10 and real["precision"] > 0.6 and noise["precision"] < 0.05
    assert real["confident_fraction"] > 0.9 and 0.06 < real["class_min_fraction"]


def test_cli_prints_a_table_and_writes_json(tmp_path, capsys):
    from models.dcgan import Generator

    torch.manual_seed(0)
    Generator(latent_dim=8, hidden_channels=4).eval().save_pretrained(tmp_path / "dcgan-mnist")
    out = tmp_path / "m.json"
    evaluate.main([str(tmp_path / "dcgan-mnist"), "--n=300", f"--out={out}"])
    printed = capsys.readouterr().out
    assert "Protocol: 300 samples" in printed and "not Inception" in printed and "precision" in printed
    metrics = json.loads(out.read_text())
    assert set(metrics["values"]) >= {"FD", "KIDx1000", "precision", "recall", "confident_fraction"}
    assert len(metrics["values"]["class_histogram"]) == 10


def test_cli_without_arguments_explains_itself():
    with pytest.raises(SystemExit, match="python -m train.evaluate"):
        evaluate.main([])


def test_restyled_judge_training_draws_a_new_style_for_every_use(tmp_path, monkeypatch):
    """--restyle: each batch is the grey items rendered with freshly drawn styles (the fixed set's one style per item
    would let the judge read style as class); two steps train and export a loadable classifier."""
    from models.classifier import Classifier
    from train import classifier, data

    drawn = []
    render = data.render_styled
    monkeypatch.setattr(data, "render_styled", lambda items, style: drawn.append(style["colour"]) or render(items, style))
    cfg = classifier.Config(dataset="fashion-styles", restyle=True, fake_data=True, epochs=1, batch_size=8,
                            max_steps=2, hidden_channels=4, feature_dim=8, out_dir=str(tmp_path), device="cpu")
    classifier.main(cfg)
    assert len(drawn) == 2 and drawn[0].shape == (8, 3) and not torch.allclose(drawn[0], drawn[1])
    clf = Classifier.from_pretrained(tmp_path / "checkpoint")
    assert clf(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(SystemExit, match="fashion-styles"):
        classifier.main(classifier.Config(dataset="mnist", restyle=True, fake_data=True, max_steps=1))


def test_save_metrics_rewrites_the_table_and_keeps_the_notes(tmp_path):
    from train.common import write_card
    from train.dcgan import Config

    old = {"protocol": "old protocol", "values": {"FD": 9.0}, "floor": {"FD": 0.5}}
    write_card(tmp_path, title="t", summary="s", command="c", config=Config(), data="d", data_checksum="x",
               wall_seconds=1.0, usage="u", metrics=old, notes="A note on how it was measured.")
    evaluate.save_metrics({"protocol": "new protocol", "values": {"FD": 1.5}, "floor": {"FD": 0.25}}, tmp_path)
    card = (tmp_path / "README.md").read_text()
    assert "new protocol" in card and "| FD | 1.5 | 0.25 |" in card
    assert "old protocol" not in card and "| FD | 9 |" not in card
    assert card.count("A note on how it was measured.") == 1 and card.index("| FD | 1.5") < card.index("A note")
    assert "## Use" in card and json.loads((tmp_path / "metrics.json").read_text())["values"]["FD"] == 1.5
