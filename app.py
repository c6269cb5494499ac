"""Lessons KB web app: ``streamlit run app.py`` (settings from the ``KB_*`` environment)."""

import sys

from kb.ui.app import main
from kb.ui.warm import warm_in_background

if "streamlit.testing.v1" not in sys.modules:  # a real server, not AppTest
    # once per server: the store, model and indexes load while the first user types (a no-op
    # under `kb serve`, which warmed before the server started)
    warm_in_background()
main()
