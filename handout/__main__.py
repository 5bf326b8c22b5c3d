"""Entry point for `python -m handout`."""

from handout.cli import main

if __name__ == "__main__":
    main()
