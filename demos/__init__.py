"""The app's tabs, in order. Each module exposes TITLE and build(); app.py makes one gr.Tab per entry. Tabs that
serve image checkpoints also expose samplers(), which the Compare tab and train/leaderboard.py read."""

from demos import compare, conditional, dcgan, diffusion, objectives, pixelcnn, style, vae

TABS = [dcgan, objectives, conditional, vae, pixelcnn, diffusion, style, compare]
