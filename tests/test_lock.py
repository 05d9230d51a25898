import json
import subprocess
import sys
import textwrap

import pytest

from avsvt.data.lock import LOCK_NAME, LockedError, run_lock

HOLDER = textwrap.dedent("""
    import sys, time
    from avsvt.data.lock import run_lock
    with run_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
""")


def test_second_run_is_refused_while_the_first_holds_the_lock(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"pid {proc.pid}"), run_lock(tmp_path):
            pass
    finally:
        proc.kill()
        proc.wait()
    # the holder was SIGKILLed: its lock file remains but the lock is free again
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == proc.pid
    with run_lock(tmp_path):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] != proc.pid


def test_lock_is_released_after_the_block(tmp_path):
    with run_lock(tmp_path):
        pass
    with run_lock(tmp_path):
        pass
