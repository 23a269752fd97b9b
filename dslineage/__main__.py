"""`python -m dslineage` runs the command line."""

from dslineage.cli import main

main()
