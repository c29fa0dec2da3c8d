"""The web demo (`i2i serve`); needs the serve extra (Gradio)."""
from .app import Demo, build_app, serve

__all__ = ["Demo", "build_app", "serve"]
