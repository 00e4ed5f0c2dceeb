"""credanchor: Open Badges 3.0 micro-credentials anchored in batches on an Ethereum chain."""

__version__ = "0.1.0"
