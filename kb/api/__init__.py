"""The HTTP API (``kb api``): JSON over the library for other systems, OpenAI-compatible chat.

Imported only by ``kb api`` (FastAPI and uvicorn are not loaded by the other faces).
"""

from kb.api.app import create_app, serve

__all__ = ["create_app", "serve"]
