"""``python -m credanchor``: the ``credanchor`` program."""

from credanchor.entry import main

if __name__ == "__main__":  # pragma: no cover
    main()
