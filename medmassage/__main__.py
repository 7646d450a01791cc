"""`python -m medmassage` runs the command line."""

from medmassage.cli import main

main()
