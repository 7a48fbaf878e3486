"""VIGOR's language server: guided generation streamed line by line into an editor buffer."""

__version__ = "0.1.0"
