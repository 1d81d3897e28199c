"""``wayfinder serve``: people in the loop (review queue, task inbox, preferences, operations overview)."""

from wayfinder.web.app import create_app
from wayfinder.web.backend import EmbeddedBackend, World
from wayfinder.web.settings import WebSettings

__all__ = ["EmbeddedBackend", "WebSettings", "World", "create_app"]
