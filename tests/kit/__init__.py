"""The test kit: everything tests, benchmarks (bench/) and the load run (bench/load.py) share.

pytest puts tests/ on sys.path (pyproject: pythonpath); bench/ scripts insert it themselves.
Only ``fixtures`` and ``browser`` import pytest; the rest is plain plumbing.

    settings     make_settings (a cheap KDF, no env), sample_items, ROOT, EXAMPLES
    anvil        the anvil binary: start on a free port and wait, fund, stop; stop_process, wait_for
    chain        POLICY, KDF_WORK_FACTOR, a deployed and accredited contract, key_hex(signer)
    service      service worlds: deploy on anvil, gunicorn + worker, exactly-once assertions
    registry     a shared registry with several issuers on anvil; running scripts/*.py
    credentials  core builders: real credentials, real trees, fixed clocks
    ob3          hypothesis strategies for OB 3.0 credentials
    stacks       the stack world's people, badges and definitions
    pages        constants and an HTML query helper for the page tests
    terminal     what a terminal shows (carriage returns, erase sequences)
    browser      Debian's chromium through Playwright (fixtures)
    fixtures     every shared fixture, defined once (plugin of tests/conftest.py)
"""
