"""The Korean / English UI: one table of strings, complete in both languages, and no tab that bypasses it."""

import re

import gradio as gr
import pytest
from gradio.i18n import I18nData

import demos
from demos import i18n

MARKER = re.compile(r'__i18n__\{"__type__": "translation_metadata", "key": "([^"}]+)"\}')
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")  # "c2", "A", "0.5" carry no words to translate; "Seed" does
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def table():
    import app  # noqa: F401  (imports every tab, so every Translator is registered)

    return i18n.translations()


@pytest.fixture(scope="module")
def identifiers():
    """Names that are data, shown as they are in both languages: checkpoints, objectives, datasets."""
    from demos import compare
    from train.objectives import OBJECTIVES

    return {*OBJECTIVES, *compare.all_samplers(), *compare.datasets(), "mnist"}


def test_every_key_has_both_languages_and_no_empty_string(table):
    assert set(table) == {"en", "ko"} and i18n.LANGUAGES == ("en", "ko")
    assert table["en"].keys() == table["ko"].keys()
    assert len(table["en"]) > 100  # every tab, not just a few
    for language, strings in table.items():
        empty = [key for key, text in strings.items() if not text.strip()]
        assert not empty, f"empty {language} strings: {empty}"


def test_korean_is_korean(table):
    """A Korean string may equal the English one only where it is a name (InfoGAN, PixelRNN (Row LSTM), VAE: z ~
    N(0, I)); as soon as the English has a lowercase word, the Korean must have Hangul."""
    untranslated = [key for key, text in table["en"].items()
                    if re.search(r"\b[a-z]{2,}\b", text) and not HANGUL.search(table["ko"][key])]
    assert not untranslated, untranslated


def test_every_tab_has_strings_and_a_translated_title(table):
    for tab in demos.TABS:
        assert isinstance(tab.t, i18n.Translator) and tab.t.strings is tab.STRINGS, tab.__name__
        assert tab.STRINGS["title"][0] == tab.TITLE  # the English tab name is the TITLE the API tests know
        label = i18n.tab_label(tab)
        assert isinstance(label, I18nData) and label.key in table["ko"]


def test_explanations_name_their_papers_in_both_languages():
    """Each family's explanation cites its papers, the same arXiv links in both languages, with authors and year; the
    Korean one also gives each paper's name in Korean, in 「」."""
    arxiv = re.compile(r"arxiv\.org/abs/(\d{4}\.\d{5})")
    for tab in demos.TABS:
        if tab is demos.compare:  # compares the others; no paper of its own
            continue
        english, korean = tab.STRINGS["intro"]
        assert arxiv.findall(english) and arxiv.findall(english) == arxiv.findall(korean), tab.__name__
        assert re.search(r"(et al\.|& \w+) 20\d\d", english) and "「" in korean, tab.__name__
    assert "「심층 합성곱 생성적 적대 신경망" in demos.dcgan.STRINGS["intro"][1]
    objectives = demos.objectives.STRINGS["intro"][1]
    assert len(re.findall(r"「[^」]+」", objectives)) == len(demos.objectives.PAPERS)


def test_translator_refuses_what_would_show_a_raw_key():
    try:
        t = i18n.Translator("tests.i18n_probe", {"ok": ("Fine", "좋음")})
        assert t("ok").key == "tests.i18n_probe.ok" and t("seed").key == "shared.seed"
        assert i18n.bilingual(t("ok")) == "Fine · 좋음" and i18n.text("tests.i18n_probe.ok", "ko") == "좋음"
        with pytest.raises(KeyError):
            t("typo")
        with pytest.raises(ValueError, match="one non-empty text per language"):
            i18n.Translator("tests.i18n_probe", {"half": ("Only English", "")})
        with pytest.raises(ValueError, match="must match"):
            i18n.Translator("tests.i18n_probe", {"two words": ("A", "가")})
    finally:
        i18n._REGISTRY.pop("tests.i18n_probe", None)


def texts(block) -> list[tuple[str, object]]:
    """(field, value) of everything a block shows as text and gradio translates: label, info, placeholder, plot title,
    Markdown and Button values, choice labels. Column headers are checked apart: gradio 6.31 does not translate them."""
    out = [(field, getattr(block, field, None)) for field in ("label", "info", "placeholder", "title")]
    if isinstance(block, (gr.Markdown, gr.Button)):
        out.append(("value", block.value))
    for choice in getattr(block, "choices", None) or []:
        out.append(("choice", choice[0] if isinstance(choice, tuple) else choice))
    return out


def untranslated(value, identifiers) -> str | None:
    """The English a value would show untranslated, or None when it is an I18nData, a number or a name."""
    if value is None or isinstance(value, (I18nData, int, float)):
        return None
    rest = MARKER.sub("", value) if isinstance(value, str) else str(value)
    words = [w for w in re.split(r"[\s,;:.()]+", rest) if w not in identifiers]
    return rest if ENGLISH_WORD.search(" ".join(words)) else None


@pytest.mark.parametrize("tab", demos.TABS, ids=lambda tab: tab.TITLE)
def test_build_passes_no_hard_coded_english(tab, table, identifiers):
    """Build the tab and walk its components: every text is a key of the table (or a number, or a checkpoint name);
    a Markdown of numbers from a metrics file says so with elem_classes=i18n.VERBATIM."""
    with gr.Blocks() as blocks:
        tab.build()
    problems, keys = [], []
    for block in blocks.blocks.values():
        # Column headers are shown as they are: a marker there would reach the page raw; Examples' are bilingual.
        headers = [str(h) for h in getattr(block, "headers", None) or []]
        assert not any("__i18n__" in h for h in headers), (type(block).__name__, headers)
        if isinstance(block, gr.Dataset):
            assert all(HANGUL.search(h) or not ENGLISH_WORD.search(h) for h in headers), headers
        if i18n.VERBATIM[0] in (getattr(block, "elem_classes", None) or []):
            assert isinstance(block, gr.Markdown)
            continue
        for field, value in texts(block):
            keys += [value.key] if isinstance(value, I18nData) else MARKER.findall(str(value or ""))
            if (english := untranslated(value, identifiers)) is not None:
                problems.append(f"{type(block).__name__}.{field} = {english!r}")
    assert not problems, problems
    assert keys and all(key in table["en"] and key in table["ko"] for key in keys)
    assert sum(key.startswith(tab.__name__ + ".") for key in keys) >= 3  # the tab's own strings, not only shared ones


def test_the_app_passes_its_translations_to_launch(table):
    import app

    assert app.LAUNCH_OPTIONS["i18n"].translations_dict == table
    header = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Markdown))
    assert MARKER.fullmatch(header.value) and "언어" in table["ko"][MARKER.fullmatch(header.value)[1]]
    tabs = [b for b in app.demo.blocks.values() if isinstance(b, gr.Tab)]
    assert len(tabs) > len(demos.TABS) and all(isinstance(tab.label, I18nData) for tab in tabs)
    # The explicit switch: both languages, and choosing one resends every tab's label (the browser test clicks it).
    switch = next(b for b in app.demo.blocks.values() if getattr(b, "elem_id", None) == "genzoo-language")
    assert [value for _, value in switch.choices] == list(i18n.LANGUAGES)
    choose = next(f for f in app.demo.fns.values() if f.api_name == "choose_language")
    assert choose.js and "changeLocale" in choose.js and choose.queue is False
    value, *updates = choose.fn("ko")
    assert value == "ko" and [u.label.key for u in updates] == [tab.label.key for tab in tabs]
