"""The real app, launched and called through gradio_client, as a Space's API user would."""

import pytest
from gradio_client import Client
from PIL import Image

import demos

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_every_tab_is_built_from_demos_tabs():
    import app

    assert [t.TITLE for t in demos.TABS] == ["DCGAN", "GAN objectives", "Conditional GANs", "VAE & AE", "PixelCNN / PixelRNN",
                                            "Diffusion (DDPM)", "Image-to-image", "Style transfer", "Style-based GANs", "Wav2Lip",
                                            "Compare"]
    assert app.demo.title.startswith("genzoo")


def test_generate_endpoint_returns_the_grid(client):
    path = client.predict(7, 16, True, api_name="/dcgan_generate")
    with Image.open(path) as im:
        assert im.size == ((8 * 34 + 2) * 4, (2 * 34 + 2) * 4)
        assert len(set(im.convert("L").getdata())) > 10  # not a blank image


def test_interpolate_endpoint_returns_strip_and_animation(client):
    strip, animation = client.predict(1, 2, 6, api_name="/dcgan_interpolate")
    with Image.open(animation) as gif:
        assert gif.format == "GIF" and gif.n_frames == 6 + 4
    with Image.open(strip) as im:
        assert im.width > 5 * im.height


def test_arithmetic_endpoints(client):
    grid = client.predict(3, api_name="/dcgan_grid")
    result = client.predict(3, "0 1", "2", "3", api_name="/dcgan_arithmetic")
    with Image.open(grid) as g, Image.open(result) as r:
        assert g.size == ((8 * 34 + 2) * 4,) * 2 and r.width == (12 * 34 + 2) * 4


def test_bad_input_gets_a_clear_error_and_the_app_keeps_serving(client):
    # Bounds are checked twice: by gradio's component (min/max) and by our function (what an API client can bypass).
    with pytest.raises(Exception, match="greater than maximum value 64|between 1 and 64"):
        client.predict(0, 5000, True, api_name="/dcgan_generate")
    with pytest.raises(Exception, match="less than minimum value 0|Seed must be"):
        client.predict(-3, 4, True, api_name="/dcgan_generate")
    with pytest.raises(Exception, match="not a sample number"):
        client.predict(0, "1", "2", "999", api_name="/dcgan_arithmetic")
    assert client.predict(0, 1, False, api_name="/dcgan_generate")  # still serving


def test_objectives_endpoint_shows_every_bundled_objective(client):
    from models.hub import CHECKPOINTS
    from train.objectives import OBJECTIVES

    bundled = [n for n in OBJECTIVES if (CHECKPOINTS / f"{n}-mnist" / "model.safetensors").exists()]
    if not bundled:
        with pytest.raises(Exception, match="No objective checkpoints are bundled yet"):
            client.predict(0, 4, api_name="/objectives_compare")
        return
    gallery = client.predict(0, 4, api_name="/objectives_compare")
    assert [item["caption"].split(" · ")[0] for item in gallery] == [OBJECTIVES[n].title for n in bundled]


def test_conditional_endpoint_samples_or_names_the_train_command(client):
    from models.hub import CHECKPOINTS

    if not (CHECKPOINTS / "acgan-mnist" / "model.safetensors").exists():
        with pytest.raises(Exception, match="python -m train.conditional --model=acgan"):
            client.predict("acgan", "3", 0, 8, api_name="/conditional_class_samples")
        return
    with Image.open(client.predict("acgan", "3", 0, 8, api_name="/conditional_class_samples")) as im:
        assert im.size == ((8 * 34 + 2) * 2, 36 * 2)


def test_compare_endpoint_shows_every_unconditional_model(client):
    from demos import compare

    expected = [s.title for s in compare.all_samplers().values()
                if s.unconditional and not s.slow and s.dataset == "mnist"]
    gallery = client.predict(0, 2, "mnist", api_name="/compare_same_seed")
    assert [item["caption"].split(" · ")[0] for item in gallery] == expected and len(expected) >= 2
