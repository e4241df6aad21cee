"""Korean / English UI: one mechanism, one source of strings per tab.

Each tab module keeps its words at its top, `STRINGS = {key: (English, Korean)}`, and makes `t = Translator(__name__,
STRINGS)`; its build() passes `t("key")` (an I18nData) wherever it would pass text, so there is one layout for both
languages. `I18n()` gathers every Translator's strings (and SHARED's) into the gr.I18n that app.LAUNCH_OPTIONS hands
to launch(). The browser translates: gradio picks the language from the browser's locale (ko-* -> Korean, anything
else -> English), and language_switch() (English / 한국어, next to the header) switches every string live.

What gradio 6.31 translates: labels, info, Markdown and Button values, Tab and Accordion labels, Radio/Dropdown
choice labels, Examples labels, plot titles; one I18nData per string, which may be followed by untranslated text
(`t("slider") + " 3"`). Column headers are not translated: gr.Examples made by `examples()` show theirs in both
languages, and the metrics tables keep the metrics' English names with a translated legend above them. Numbers from
metrics files, train commands and what the prediction functions return stay as they are (those Markdown components
carry `elem_classes=VERBATIM`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import gradio as gr
from gradio.i18n import I18nData

LANGUAGES = ("en", "ko")  # the order of every STRINGS value
VERBATIM = ["genzoo-verbatim"]  # elem_classes of a Markdown that is data (numbers, commands), deliberately untranslated
KEY = re.compile(r"[a-z0-9_-]+")  # no dots (they nest keys in the browser) and no braces (they end the marker)

SHARED = {  # words several tabs use; a tab's own STRINGS take precedence
    "seed": ("Seed", "시드"),
    "count": ("Number of samples", "샘플 수"),
    "samples": ("Samples", "샘플"),
    "examples": ("Examples", "예시"),
    "language": ("Language", "언어"),
    "model": ("Model", "모델"),
    "temperature": ("Temperature", "온도"),
    "generate": ("Generate", "생성"),
    "sample": ("Sample", "샘플링"),
    "interpolate": ("Interpolate", "보간"),
    "steps": ("Steps", "단계 수"),
    "animation": ("Animation", "애니메이션"),
    "draw_digit": ("Draw a digit", "숫자 그리기"),
    "or_upload": ("…or upload one", "…또는 이미지 업로드"),
    "frame": ("Samples at this point of training", "학습의 이 시점에서 뽑은 샘플"),
    "metric_legend": (
        "Columns: **FD** = Fréchet distance in the evaluation classifier's feature space (lower is better) · "
        "**KID×1000** = kernel inception distance × 1000 (lower is better) · **precision** = share of samples that "
        "lie on the real data's manifold (fidelity) · **recall** = share of the real data the samples cover "
        "(diversity) · **classes %** = the rarest and the most frequent digit's share of the samples (10 % each "
        "when every class is drawn equally) · **confident %** = samples the classifier labels with probability "
        "≥ 0.9.",
        "열 설명: **FD** = 평가용 분류기의 특징 공간에서 잰 프레셰 거리(Fréchet distance, 낮을수록 좋음) · "
        "**KID×1000** = 커널 인셉션 거리(KID) × 1000(낮을수록 좋음) · **precision**(정밀도) = 실제 데이터 "
        "매니폴드 위에 놓이는 샘플의 비율(충실도) · **recall**(재현율) = 샘플이 덮는 실제 데이터의 비율(다양성) · "
        "**classes %** = 샘플 가운데 가장 드문 숫자와 가장 흔한 숫자의 비율(모든 클래스를 고르게 그리면 각각 "
        "10 %) · **confident %** = 분류기가 0.9 이상의 확률로 판정한 샘플의 비율."),
}
_REGISTRY: dict[str, dict[str, tuple[str, str]]] = {"shared": SHARED}


class Paper(NamedTuple):
    """One paper a tab cites; model_ko defaults to the English model name."""
    model: str
    authors: str
    title: str
    arxiv: str
    title_ko: str
    model_ko: str | None = None


def paper_list(papers: list[Paper]) -> tuple[str, str]:
    """(English, Korean) Markdown bullet lists of the papers, linked to arXiv; the Korean one adds the Korean title."""
    link = "- **{}**: {}, [*{}*](https://arxiv.org/abs/{})"
    return ("\n".join(link.format(p.model, p.authors, p.title, p.arxiv) for p in papers),
            "\n".join(link.format(p.model_ko or p.model, p.authors, p.title, p.arxiv) + f" (「{p.title_ko}」)"
                      for p in papers))


def check(namespace: str, strings: dict[str, tuple[str, str]]) -> None:
    """Every key is well formed and has one non-empty text per language."""
    for key, texts in strings.items():
        if not KEY.fullmatch(key):
            raise ValueError(f"{namespace}: key {key!r} must match {KEY.pattern}")
        if len(texts) != len(LANGUAGES) or not all(isinstance(s, str) and s.strip() for s in texts):
            raise ValueError(f"{namespace}.{key}: needs one non-empty text per language {LANGUAGES}; got {texts!r}")


class Translator:
    """t = Translator(__name__, STRINGS); t("seed") -> the I18nData of that module's (or SHARED's) "seed"."""

    def __init__(self, namespace: str, strings: dict[str, tuple[str, str]]):
        check(namespace, strings)
        self.namespace, self.strings = namespace, strings
        _REGISTRY[namespace] = strings  # re-importing a module replaces its strings

    def __call__(self, key: str) -> I18nData:
        if key in self.strings:
            return I18nData(f"{self.namespace}.{key}")
        if key in SHARED:
            return I18nData(f"shared.{key}")
        raise KeyError(f"{key!r} is in neither {self.namespace}.STRINGS nor demos.i18n.SHARED")

    def text(self, key: str, language: str = "en") -> str:
        """The plain text of a key in one language (for tests and for places that cannot take an I18nData)."""
        return (self.strings.get(key) or SHARED[key])[LANGUAGES.index(language)]


def text(key: str, language: str = "en") -> str:
    """The text of a full key ("demos.dcgan.seed", "shared.seed") in one language."""
    namespace, _, name = key.rpartition(".")
    return _REGISTRY[namespace][name][LANGUAGES.index(language)]


def bilingual(label) -> str:
    """An I18nData's text in both languages, "Seed · 시드", for the few places gradio shows text untranslated; any
    other label as it is."""
    if not isinstance(label, I18nData):
        return label or ""
    return " · ".join(dict.fromkeys(text(label.key, language) for language in LANGUAGES))


def examples(*args, headers: list[I18nData] | None = None, **kwargs) -> gr.Examples:
    """gr.Examples labelled "Examples"/"예시", whose column headers (which gradio 6.31 shows untranslated, unlike
    labels) read in both languages: `headers`, else the input components' labels."""
    block = gr.Examples(*args, label=I18nData("shared.examples"), **kwargs)
    block.dataset.headers = [bilingual(label) for label in headers or block.dataset.headers]
    return block


# The explicit switch. Gradio's own (Settings -> Language) re-translates only what is on screen: the names of tabs not
# yet opened stay in the old language, and a reload forgets the choice. This one sets the same locale (gradio's
# changeLocale, from the page's own module), waits until the language is loaded, then has the server resend every
# tab's label so that all of them are translated; the choice is kept in the browser (localStorage) for the next visit.
_SET_LOCALE = """
    const core = performance.getEntriesByType("resource").map((entry) => entry.name)
        .find((name) => /\\/assets\\/core-[^/]*\\.js$/.test(name));
    if (core && language && !document.documentElement.lang.startsWith(language)) {
        (await import(core)).changeLocale(language);
        for (let i = 0; i < 100 && !document.documentElement.lang.startsWith(language); i++) {
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
    }"""
_CHOOSE_JS = f"""async (language) => {{
    try {{ localStorage.setItem("genzoo-language", language); }} catch (error) {{}}{_SET_LOCALE}
    return language;
}}"""
_RESTORE_JS = f"""async () => {{
    let language = null;
    try {{ language = localStorage.getItem("genzoo-language"); }} catch (error) {{}}{_SET_LOCALE}
    return document.documentElement.lang.startsWith("ko") ? "ko" : "en";
}}"""
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}  # each in its own language


def language_switch() -> gr.Radio:
    """The English / 한국어 switch; wire it with connect_language_switch() once the tabs are built."""
    return gr.Radio([(name, code) for code, name in LANGUAGE_NAMES.items()], label=I18nData("shared.language"),
                    elem_id="genzoo-language", scale=0, min_width=240)


def connect_language_switch(switch: gr.Radio, blocks: gr.Blocks) -> None:
    """Choosing a language (or a stored choice, on load) sets it and resends the labels of all translated tabs."""
    tabs = [b for b in blocks.blocks.values() if isinstance(b, gr.Tab) and isinstance(b.label, I18nData)]

    def relabel(language):
        return [language if language in LANGUAGE_NAMES else None, *(gr.Tab(label=tab.label) for tab in tabs)]

    options = dict(queue=False, show_progress="hidden", api_visibility="private")
    switch.input(relabel, switch, [switch, *tabs], js=_CHOOSE_JS, api_name="choose_language", **options)
    blocks.load(relabel, switch, [switch, *tabs], js=_RESTORE_JS, api_name="restore_language", **options)


def tab_label(tab) -> I18nData | str:
    """A tab module's translated title (its Translator `t` and "title" in its STRINGS), else its plain TITLE."""
    t = getattr(tab, "t", None)
    return t("title") if isinstance(t, Translator) and "title" in t.strings else tab.TITLE


def translations() -> dict[str, dict[str, str]]:
    """{language: {namespace.key: text}} over every Translator made so far and SHARED."""
    table: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for namespace, strings in _REGISTRY.items():
        for key, texts in strings.items():
            for language, string in zip(LANGUAGES, texts, strict=True):
                table[language][f"{namespace}.{key}"] = string
    return table


def I18n() -> gr.I18n:
    """The gr.I18n for launch(i18n=...): call it after the tabs are imported."""
    return gr.I18n(**translations())
