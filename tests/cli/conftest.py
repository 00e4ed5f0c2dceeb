"""The `credanchor` command run in-process (click's runner) on a fresh embedded-chain data dir:
``cli(*args, code=0)`` returns the output and asserts the exit code."""

import pytest
from click.testing import CliRunner

from credanchor.entry import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDANCHOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CREDANCHOR_KEYSTORE_PASSWORD", "cli-test-password")
    monkeypatch.setenv("CREDANCHOR_KDF_WORK_FACTOR", "1024")
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run
