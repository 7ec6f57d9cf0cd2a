"""Properties of the canonical form over generated data: whatever a probe or a tool puts
in a record, the bytes signed before writing equal the bytes a verifier recomputes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_record_samples import sample_record, test_key

from inventory.record import to_json_value
from inventory.signing import inspect_signed_bytes, sign_record, signed_file_bytes

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | st.text()  # any code point, lone surrogates included
)
keys = st.text(max_size=8) | st.integers(min_value=0, max_value=255)  # ATA ids are ints
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_to_json_value_is_a_fixed_point_of_a_json_round_trip(value: Any) -> None:
    plain = to_json_value({"v": value})
    text = json.dumps(plain, ensure_ascii=False, sort_keys=True)
    assert json.loads(text) == plain
    assert to_json_value(plain) == plain


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.text(), extra=values, health=st.floats(0, 200))
def test_any_probe_content_signs_and_verifies_from_the_file(
    model: str, extra: Any, health: float
) -> None:
    record = sample_record(7)
    record["hardware"]["device"]["model"] = model
    record["hardware"]["vendor_extra"] = extra
    record["hardware"]["batteries"][0]["health_pct"] = health
    data = signed_file_bytes(sign_record(record, test_key()))
    verdict = inspect_signed_bytes(data)
    assert verdict.ok, verdict.problems
