from avsvt.recipes.steps import Step, run_steps


def test_steps_run_once_and_rerun_when_settings_change(tmp_path):
    calls = []
    steps = [Step("a", lambda: calls.append("a"), {"x": 1}), Step("b", lambda: calls.append("b"))]
    run_steps(steps, tmp_path)
    run_steps(steps, tmp_path)
    assert calls == ["a", "b"]
    run_steps([Step("a", lambda: calls.append("a2"), {"x": 2}), steps[1]], tmp_path)
    assert calls == ["a", "b", "a2"]


def test_a_failed_step_leaves_no_marker_and_runs_again(tmp_path):
    calls = []

    def fail():
        calls.append("try")
        raise RuntimeError("killed")

    try:
        run_steps([Step("a", fail)], tmp_path)
    except RuntimeError:
        pass
    assert not (tmp_path / "a.done").exists()
    run_steps([Step("a", lambda: calls.append("ok"))], tmp_path)
    assert calls == ["try", "ok"]
