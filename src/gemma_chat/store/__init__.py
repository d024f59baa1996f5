"""SQLite storage for conversations and messages."""

from gemma_chat.errors import NotFound
from gemma_chat.store.database import DB_FILENAME, Database
from gemma_chat.store.repository import Conversation, Message, Store

__all__ = ["DB_FILENAME", "Conversation", "Database", "Message", "NotFound", "Store"]
