"""The run lock removes its file on release: holders racing on one folder still exclude each other
(a lock file removed under a waiting process is reopened, never shared)."""

import subprocess
import sys
import textwrap

WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from avsvt.data.lock import LockedError, run_lock
    folder, rounds = Path(sys.argv[1]), int(sys.argv[2])
    counter = folder / "counter"
    done = 0
    while done < rounds:
        try:
            with run_lock(folder):
                value = int(counter.read_text())
                time.sleep(0.001)
                counter.write_text(str(value + 1))
        except LockedError:
            time.sleep(0.0005)
            continue
        done += 1
""")


def test_racing_holders_never_share_the_lock(tmp_path):
    (tmp_path / "counter").write_text("0")
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), "40"]) for _ in range(4)
    ]
    for proc in procs:
        assert proc.wait(timeout=240) == 0
    assert (tmp_path / "counter").read_text() == "160"  # no update lost: one holder at a time
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter"]  # the lock file is gone
