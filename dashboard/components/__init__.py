"""Widgets shared by several pages: figure cards and badges, grids, the page preamble.

Widgets used by one page only live beside that page (``pages/<page>_widgets.py``).
"""
