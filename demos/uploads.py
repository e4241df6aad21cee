"""gradio's gr.Image, gr.Sketchpad and gr.Number with what a client sends checked before gradio's preprocessing.

gradio's own preprocessing opens every uploaded file with PIL, so random bytes, an empty or truncated file or a
20k x 20k PNG fail inside gradio with its generic "the app raised an exception". These subclasses first run
common.check_image_file (bytes, format, pixel count from the header) and turn any decoder failure into a gr.Error
naming what is allowed. gr.Number compares whatever arrives with its bounds, so an API client's string ("NaN",
"ten") fails there with the same generic error; CheckedNumber refuses it by name first. The browser side is gradio's
own component (get_block_name), nothing else changes.
"""

from __future__ import annotations

import math

import gradio as gr

from demos import common, i18n


def checked(preprocess, files, payload):
    """Check every uploaded file of `payload`, then run gradio's `preprocess` with its failures made clear."""
    for file in files:
        if file is not None and getattr(file, "path", None):
            common.check_image_file(file.path)
    try:
        return preprocess(payload)
    except gr.Error:
        raise
    except Exception as error:  # a corrupt or truncated file that passed the header checks
        raise gr.Error(f"The image file is corrupt or truncated ({type(error).__name__}); "
                       f"{common.ALLOWED_UPLOAD}") from None


class ImageUpload(gr.Image):
    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload):
        return checked(super().preprocess, [payload], payload)


class SketchUpload(gr.Sketchpad):
    def get_block_name(self) -> str:
        return "imageeditor"  # gr.Sketchpad is itself gradio's ImageEditor with other defaults

    def preprocess(self, payload):
        files = [] if payload is None else [payload.background, payload.composite, *(payload.layers or [])]
        return checked(super().preprocess, files, payload)


class CheckedNumber(gr.Number):
    def get_block_name(self) -> str:
        return "number"

    def preprocess(self, payload):
        if payload is None:
            return None
        try:
            number = float(payload)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(payload, bool) or not math.isfinite(number):
            bounds = f" between {self.minimum} and {self.maximum}" if self.minimum is not None else ""
            raise gr.Error(f"{i18n.bilingual(self.label) or 'This field'} must be a number{bounds}; got {payload!r}")
        return super().preprocess(number)


def integer_box(label, value: int = 0, maximum: int = common.MAX_SEED) -> CheckedNumber:
    """A whole-number field from 0 to maximum (seeds, test-set indices)."""
    return CheckedNumber(value=value, label=label, precision=0, minimum=0, maximum=maximum)
