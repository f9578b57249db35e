"""Renderers over the same Grade: each format is one module with a `render` function."""
