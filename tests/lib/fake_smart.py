"""A FAKE smartctl for tests: a wrapper script running tests/fixtures/fake_smartctl.py, which replays recorded
`smartctl --json -a` output of a real drive (tests/fixtures/smartctl/). Point `[health] smartctl` at the path
write_fake_smartctl() returns and give each pool disk `device = "/dev/fake<i>"`. The degrading disk serves the same
recording with attribute 5 (Reallocated_Sector_Ct) rising poll by poll, as a failing drive does."""
import json
import os
import stat

from tiercel_testlib import SOURCE_DIR

FAKE = os.path.join(SOURCE_DIR, "tests", "fixtures", "fake_smartctl.py")
RISING_REALLOCATED = [0, 8, 24, 40, 56, 72, 88, 104, 120, 136, 152, 168]


def write_fake_smartctl(workdir, disks, degrading, rising=RISING_REALLOCATED, held=None):
    """`rising`: attribute 5's raw value on the degrading disk, poll by poll. `held`: {disk index: fixed raw value
    of attribute 5} for disks that stay at a non-zero count."""
    mapping = {f"/dev/fake{i}": {"fixture": "smart-ata.json"} for i in range(disks)}
    mapping[f"/dev/fake{degrading}"]["raw_sequence"] = {"5": list(rising)}
    for disk, value in (held or {}).items():
        mapping[f"/dev/fake{disk}"]["raw_sequence"] = {"5": [value]}
    map_path = os.path.join(workdir, "smart-map.json")
    with open(map_path, "w") as f:
        json.dump(mapping, f)
    wrapper = os.path.join(workdir, "smartctl")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\n# FAKE smartctl for this test: replays recorded fixtures\nexec python3 "{FAKE}" --map "{map_path}" "$@"\n')
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IEXEC)
    return wrapper
