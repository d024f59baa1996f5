"""Dependency-free helpers with one home each (atomic writes, units): the bottom layer, so
every package may use them and none of them imports the rest of the app."""
