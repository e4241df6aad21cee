"""gradio's gr.Image and gr.Sketchpad with their uploads checked before gradio decodes them.

gradio's own preprocessing opens every uploaded file with PIL, so random bytes, an empty or truncated file or a
20k x 20k PNG fail inside gradio with its generic "the app raised an exception". These subclasses first run
common.check_image_file (bytes, format, pixel count from the header) and turn any decoder failure into a gr.Error
naming what is allowed. The browser side is gradio's own component (get_block_name), nothing else changes.
"""

from __future__ import annotations

import gradio as gr

from demos import common


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
