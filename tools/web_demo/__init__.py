"""The web demo behind ``python tools/web_demo.py``: ``tasks`` (models, no gradio) and ``app`` (the gradio page)."""
