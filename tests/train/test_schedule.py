import pytest
import torch

from avsvt.train.schedule import NewBob


def make(lr=1.0, factor=0.5):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    return NewBob(opt, factor=factor)


def test_anneals_only_when_improvement_is_below_threshold():
    sched = make()
    assert not sched.step(10.0)  # first epoch: nothing to compare
    assert not sched.step(9.0)  # 10 % better
    assert sched.step(8.99)  # 0.11 % better < 0.25 %
    assert sched.lr == pytest.approx(0.5)
    assert sched.step(9.5)  # worse
    assert sched.lr == pytest.approx(0.25)


def test_state_round_trip_continues_identically():
    a = make()
    a.step(10.0)
    b = make()
    b.load_state_dict(a.state_dict())
    assert a.step(9.999) == b.step(9.999)
