"""`python -m signbridge_cli`: the `signbridge` command."""

from signbridge_cli.main import main

raise SystemExit(main())
