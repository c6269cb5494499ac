"""Lessons KB web app: ``streamlit run app.py`` (settings from the ``KB_*`` environment)."""

from kb.ui.app import main

main()
