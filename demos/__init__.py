"""The app's tabs, in order. Each module exposes TITLE and build(); app.py makes one gr.Tab per entry."""

from demos import conditional, dcgan, objectives

TABS = [dcgan, objectives, conditional]
