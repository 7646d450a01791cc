"""`python -m medmassage` runs the command line."""

from .cli import main

main()
