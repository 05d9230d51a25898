"""SIGTERM that lands where Python swallows exceptions (an at-fork hook, a ``__del__``) still
stops the command: it is raised again at the next safe point instead of being ignored."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, signal, time
    from avsvt.cli import Terminated, _sigterm_raises

    class SignalledWhileCollected:
        def __del__(self):  # the handler runs in here: its exception is "ignored"
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)

    try:
        with _sigterm_raises():
            item = SignalledWhileCollected()
            del item
            for _ in range(100):
                time.sleep(0.05)
            print("ran on to the end")
    except Terminated:
        print("terminated")
""")


def test_a_sigterm_swallowed_in_a_finaliser_still_terminates():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "terminated", result.stderr
    assert "Exception ignored" not in result.stderr
