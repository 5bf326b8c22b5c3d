"""The `handout` command's entry point (`handout …` and `python -m handout …`): the process's settings, then the command line."""

import gc


def main() -> None:
    """Run the command line in a process tuned for it.

    Start-up makes a few hundred thousand objects that live as long as the process (modules,
    fonts, templates, styles); with the default threshold of 700 new objects the collector
    runs about 130 times while `handout leaflet` starts, and once over everything, for cycles
    that are not there (about 17 ms of a 0.1 s command). Collecting every 10,000 keeps cyclic
    garbage small in long runs (batch, serve) and leaves start-up alone. Only the command does
    this: a program using handout.api keeps its own settings.
    """
    gc.set_threshold(10_000, 10, 10)
    from handout.lazy_patterns import defer_reportlab_patterns

    defer_reportlab_patterns()  # ReportLab's seldom-used patterns compiled on first use: about a tenth of a leaflet's start
    from handout.cli import main as command_line

    command_line()


if __name__ == "__main__":
    main()
