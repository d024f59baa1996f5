"""Conversation turns: history for the model, running and streaming one turn."""
