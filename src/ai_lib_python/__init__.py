"""ai-lib-python: one async, typed client for every LLM provider."""
from ai_lib_python._version import __version__
__all__ = ["__version__"]
