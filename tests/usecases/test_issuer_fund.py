"""`credanchor issuer fund` (issue 12): the admin sends test ETH to an issuer's anchoring
address, on development chains only unless --force. The embedded chain in tmp_path, through
click's runner; tests/integration/test_readme_anvil.py does the same over a real anvil."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from credanchor.cli.main import EXIT_ERROR, main
from credanchor.errors import ConfigError
from credanchor.usecases.config import is_development_chain, load_settings
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import eth_to_wei, wei_to_eth

ETH = 10**18


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDANCHOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CREDANCHOR_KEYSTORE_PASSWORD", "fund-test-password")
    monkeypatch.setenv("CREDANCHOR_KDF_WORK_FACTOR", "1024")
    monkeypatch.delenv("CREDANCHOR_DEVELOPMENT_CHAIN", raising=False)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def balance_of_issuer_1(tmp_path) -> tuple[str, int]:
    rt = Runtime.open(load_settings(env={"CREDANCHOR_DATA_DIR": str(tmp_path / "data"),
                                         "CREDANCHOR_KEYSTORE_PASSWORD": "fund-test-password"}))
    try:
        address = rt.store().get_issuer(1).address
        return address, int(rt.chain.w3.eth.get_balance(address))
    finally:
        rt.close()


def test_fund_sends_eth_from_the_admin_and_prints_the_tx_and_new_balance(cli, tmp_path):
    cli("status")  # bootstrap the embedded chain and its local issuer 1
    address, before = balance_of_issuer_1(tmp_path)
    out = cli("issuer", "fund", "1", "--eth", "2.5").output.splitlines()
    assert out[0].startswith(f"sent 2.5 ETH to issuer 1 ({address}): tx 0x")
    tx_hash = out[0].rsplit(" ", 1)[1]
    assert len(tx_hash) == 66
    _, after = balance_of_issuer_1(tmp_path)
    assert after == before + 25 * 10**17
    assert out[1] == f"balance: {wei_to_eth(after)} ETH"
    # The address works as the reference too, as for the other issuer commands.
    out = cli("issuer", "fund", address.lower(), "--eth", "1").output
    assert f"to issuer 1 ({address})" in out
    assert balance_of_issuer_1(tmp_path)[1] == after + ETH


def test_fund_is_refused_off_development_chains_unless_forced(cli, tmp_path, monkeypatch):
    cli("status")
    _, before = balance_of_issuer_1(tmp_path)
    monkeypatch.setenv("CREDANCHOR_DEVELOPMENT_CHAIN", "false")
    result = cli("issuer", "fund", "1", "--eth", "1", code=EXIT_ERROR)
    assert result.output.count("\n") == 1
    assert result.output.startswith("error: chain 1337 is not configured as a development chain")
    assert "--force" in result.output
    assert balance_of_issuer_1(tmp_path)[1] == before
    cli("issuer", "fund", "1", "--eth", "1", "--force")
    assert balance_of_issuer_1(tmp_path)[1] == before + ETH


@pytest.mark.parametrize("args", [
    ("1", "--eth", "0"), ("1", "--eth", "-1"), ("1", "--eth", "ten"),
    ("1", "--eth", "1e-19"), ("1", "--eth", "NaN"), ("9", "--eth", "1"),
])
def test_fund_bad_input_is_one_line_and_sends_nothing(cli, tmp_path, args):
    cli("status")
    _, before = balance_of_issuer_1(tmp_path)
    result = cli("issuer", "fund", *args, code=EXIT_ERROR)
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert balance_of_issuer_1(tmp_path)[1] == before


def test_fund_help_has_an_example():
    result = CliRunner().invoke(main, ["issuer", "fund", "--help"])
    assert result.exit_code == 0
    assert "credanchor issuer fund 1 --eth 10" in result.output
    assert "--force" in result.output and "development chain" in result.output


def rpc(chain_id_env: dict[str, str] | None = None):
    return load_settings(env={"CREDANCHOR_RPC_URL": "http://127.0.0.1:1",
                              **(chain_id_env or {})})


def test_development_chain_defaults_and_the_setting():
    embedded = load_settings(env={})
    assert embedded.development_chain is None
    assert is_development_chain(embedded, 1337)
    assert is_development_chain(rpc(), 31337)
    assert is_development_chain(rpc(), 1337)
    assert not is_development_chain(rpc(), 11155111)
    assert not is_development_chain(rpc(), 1)
    assert is_development_chain(rpc({"CREDANCHOR_DEVELOPMENT_CHAIN": "true"}), 11155111)
    assert not is_development_chain(rpc({"CREDANCHOR_DEVELOPMENT_CHAIN": "false"}), 31337)
    assert not is_development_chain(load_settings(env={"CREDANCHOR_DEVELOPMENT_CHAIN": "no"}), 1337)
    with pytest.raises(ConfigError, match="development_chain"):
        load_settings(env={"CREDANCHOR_DEVELOPMENT_CHAIN": "ture"})


def test_eth_amounts_convert_exactly():
    assert eth_to_wei("10") == 10 * ETH
    assert eth_to_wei("0.5") == ETH // 2
    assert eth_to_wei("0.000000000000000001") == 1
    assert wei_to_eth(10 * ETH) == "10"
    assert wei_to_eth(15 * 10**17) == "1.5"
    assert wei_to_eth(1) == "0.000000000000000001"
    assert wei_to_eth(0) == "0"
