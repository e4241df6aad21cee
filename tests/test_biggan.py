"""BigGAN, scaled (models/biggan.py, train/biggan.py): tiny configs only."""

import pytest
import torch

from models import biggan as B
from train import biggan as trainer
from train import common

TINY = dict(latent_dim=12, num_classes=4, shared_dim=8, channels=(16, 16, 8), attention_resolution=8)


def tiny() -> B.BigGAN:
    torch.manual_seed(0)
    return B.BigGAN(**TINY).eval()


def test_shapes_and_range():
    G = tiny()
    x = G(torch.randn(3, 12), torch.tensor([0, 1, 3]))
    assert x.shape == (3, 3, 16, 16) and x.abs().max() <= 1
    D = B.ProjectionDiscriminator((8, 16, 16), 4, attention_resolution=8, image_size=16)
    assert D(x, torch.tensor([0, 1, 3])).shape == (3,)
    assert any(isinstance(m, B.SelfAttention) for m in G.modules()) and any(isinstance(m, B.SelfAttention) for m in D.modules())


def test_hierarchical_latent_reaches_every_block_and_the_class_embedding_is_shared():
    G = tiny()
    z, y = torch.randn(2, 12), torch.tensor([1, 2])
    with torch.no_grad():
        base = G(z, y)
        for chunk in range(3):  # input chunk, then one per block
            moved = z.clone()
            moved[:, chunk * 4:(chunk + 1) * 4] += 1
            assert not torch.allclose(G(moved, y), base)
        assert not torch.allclose(G(z, torch.tensor([0, 3])), base)
    assert sum(isinstance(m, torch.nn.Embedding) for m in G.modules()) == 1
    with pytest.raises(ValueError, match="equal chunks"):
        B.BigGAN(latent_dim=10, channels=(16, 16, 8))


def test_self_attention_starts_as_identity():
    attention = B.SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(attention(x), x)
    attention.gamma.data.fill_(1.0)
    assert not torch.allclose(attention(x), x)


def test_truncated_latents():
    g = torch.Generator().manual_seed(0)
    z = B.truncated_latents(1000, 16, 0.5, g)
    assert z.abs().max() <= 0.5 and z.std() < 0.35
    plain = B.truncated_latents(4, 16, None, torch.Generator().manual_seed(1))
    assert torch.equal(plain, torch.randn(4, 16, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="> 0"):
        B.truncated_latents(2, 2, 0.0)


def test_orthogonal_regularization_only_penalises_off_diagonal():
    layer = torch.nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(4) * 3)  # orthogonal rows, not unit norm: the paper's variant does not care
    assert B.orthogonal_regularization(layer).item() == 0
    with torch.no_grad():
        layer.weight.fill_(1.0)
    assert B.orthogonal_regularization(layer, beta=1.0).item() == pytest.approx(12 * 16)


def test_save_and_load(tmp_path):
    G = tiny()
    common.save_export(G, tmp_path)
    loaded = B.BigGAN.from_pretrained(tmp_path).eval()
    z, y = torch.randn(2, 12), torch.tensor([0, 1])
    with torch.no_grad():
        assert torch.allclose(G(z, y), loaded(z, y))


def test_two_steps_and_resume(tmp_path):
    base = dict(fake_data=True, num_classes=4, image_size=16, latent_dim=12, shared_dim=8, g_channels="16,16,8",
                d_channels="8,16,16", attention_resolution=8, batch_size=8, kimg=1, save_every=2, replay_frames=1,
                bn_batches=1, device="cpu", evaluate=False)
    straight = trainer.main(trainer.Config(**base, max_steps=4, out_dir=str(tmp_path / "a")))
    trainer.main(trainer.Config(**base, max_steps=2, out_dir=str(tmp_path / "b")))
    resumed = trainer.main(trainer.Config(**base, max_steps=4, resume=True, out_dir=str(tmp_path / "b")))
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert (tmp_path / "a" / "checkpoint" / "README.md").exists()


def test_evaluate_only_needs_a_checkpoint_folder():
    with pytest.raises(SystemExit, match="--export_dir"):
        trainer.main(trainer.Config(evaluate_only=True))
