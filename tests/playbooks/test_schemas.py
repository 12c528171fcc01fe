from __future__ import annotations

import pytest

from kizuna.errors import InvalidInput
from kizuna.playbooks.schemas import TRIGGER_TYPES, parse_playbook_yaml
from kizuna.playbooks.service import LIBRARY_DIR


def test_the_library_has_a_valid_bilingual_example_for_every_trigger() -> None:
    triggers = set()
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        definition = parse_playbook_yaml(path.read_text(encoding="utf-8"), source=path.name)
        assert definition.enabled is False, f"{path.name}: examples ship switched off"
        assert isinstance(definition.name, dict) and {"ja", "en"} <= set(definition.name), path.name
        triggers.add(definition.trigger.type)
    assert triggers == set(TRIGGER_TYPES)


def test_errors_name_the_file_line_and_field() -> None:
    text = """key: broken
name: 壊れた例
trigger:
  type: renewal_due
  days: [90, -5]
conditions:
  - {field: region, eq: 関東, ne: 関西}
actions:
  - type: create_task
    title: 電話
    priority: extreme
"""
    with pytest.raises(InvalidInput) as info:
        parse_playbook_yaml(text, source="broken.yaml")
    message = str(info.value)
    assert "broken.yaml:5: trigger.renewal_due.days" in message
    assert "broken.yaml:7: conditions.0" in message and "exactly one operator" in message
    assert "broken.yaml:11: actions.0.create_task.priority" in message
    assert info.value.context["row"] == 5


def test_unknown_trigger_and_yaml_syntax_errors_are_clear() -> None:
    with pytest.raises(InvalidInput, match=r"x\.yaml:3: trigger"):
        parse_playbook_yaml("key: a-b\nname: x\ntrigger: {type: moon_phase}\nactions: []\n", source="x.yaml")
    with pytest.raises(InvalidInput, match=r"y\.yaml:3: not valid YAML"):
        parse_playbook_yaml("key: a\nname: [unclosed\n", source="y.yaml")
