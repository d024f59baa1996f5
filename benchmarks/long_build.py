"""Build rounds past the context limit: `long_context.py --build` (see there), under a
name of its own so that run_all.py lists it as a benchmark of its own.

    uv run python benchmarks/long_build.py [--quick] [--json PATH]
"""

from long_context import main

if __name__ == "__main__":
    main(build=True)
