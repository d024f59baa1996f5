"""`python -m gemma_chat`: the same as the `gemma-chat` command."""

from gemma_chat.cli.main import main

raise SystemExit(main())
