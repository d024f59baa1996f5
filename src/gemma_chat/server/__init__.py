"""The HTTP server: JSON API, turn event streams and the web UI."""
