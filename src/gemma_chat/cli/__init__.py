"""Front ends for the terminal: `gemma-chat` and its sub-commands.

The top layer: it may import everything below it and nothing imports it.
"""
