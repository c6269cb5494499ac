"""The Streamlit app's helpers: strings in two languages, safe highlighting, page renderers.

``app.py`` stays thin: it sets the page up and hands over to :func:`kb.ui.app.main`.
"""
