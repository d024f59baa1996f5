"""Model catalogue, downloads and the memory-fit planner."""
