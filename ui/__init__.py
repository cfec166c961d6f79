"""The Gradio web app: a thin layer over :mod:`coach` (no domain logic here)."""
