"""Which GuardDuty events are samples: the flag or the placeholders, never a real finding."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import EVENTS, event
from warden.samples import sample_of

REAL = sorted(p.name for p in EVENTS.glob("guardduty-*.json") if "sample" not in p.name)
SAMPLES = sorted(p.name for p in EVENTS.glob("guardduty-sample-*.json"))


@pytest.mark.parametrize("name", REAL)
def test_a_real_finding_is_not_a_sample(name):
    assert sample_of(event(name)) is None


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_file_is_recognised_with_its_type(name):
    sample = sample_of(event(name))
    assert sample is not None and sample.finding_type == event(name)["detail"]["type"]
    assert sample.why == "service.additionalInfo.sample is true"


def test_placeholders_alone_make_a_sample():
    unflagged = copy.deepcopy(event("guardduty-sample-iam-maliciousipcaller.json"))
    del unflagged["detail"]["service"]["additionalInfo"]["sample"]
    assert sample_of(unflagged).why.startswith("its resource names GuardDuty's sample placeholders (GeneratedFindingAccessKeyId")


@pytest.mark.parametrize("junk", [None, [], "x", {"detail-type": "GuardDuty Finding"}, {"detail-type": "GuardDuty Finding", "detail": []},
                                  {"detail-type": "GuardDuty Finding", "detail": {"service": "x", "resource": 3}}])  # fmt: skip
def test_junk_is_not_a_sample_and_does_not_crash(junk):
    assert sample_of(junk) is None
