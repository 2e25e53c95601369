"""`python -m dynaspark_sdk`: the `dynaspark` command line."""

from dynaspark_sdk.cli import main

raise SystemExit(main())
