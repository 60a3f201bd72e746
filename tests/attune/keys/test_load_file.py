"""Reading `st2 key load` files: StackStorm's scopes and flags, and refusals naming the entry."""

from __future__ import annotations

import pytest

from attune import errors
from attune.keys.addresses import Scope
from attune.keys.load_file import KeyEntry, parse_key_file

ST2_EXPORT = """
- name: api_token
  value: s3cr3t
  scope: st2kv.system
  secret: true
  ttl: 3600
  description: the vendor's token
- name: retries
  value: 3
  scope: system
- name: prefs
  value: {theme: dark, langs: [en, fr]}
  scope: st2kv.user
  user: stanley
- name: mine
  value: v
  scope: user
  encrypt: true
- name: endpoint
  value: https://example.com
  scope: pack
  pack: mypack
- id: 5c9e2b1f
  uid: key_value_pair:st2kv.system:exported
  name: exported
  value: plain
  encrypted: false
  expire_timestamp: null
  ttl: null
"""


def test_a_stackstorm_export_reads_as_keys() -> None:
    entries = parse_key_file(ST2_EXPORT, source="keys.yaml")

    assert entries == [
        KeyEntry(
            name="api_token",
            value="s3cr3t",
            encrypt=True,
            ttl_seconds=3600,
            description="the vendor's token",
        ),
        KeyEntry(name="retries", value=3),
        KeyEntry(
            name="prefs",
            value={"theme": "dark", "langs": ["en", "fr"]},
            scope=Scope.USER,
            user="stanley",
        ),
        KeyEntry(name="mine", value="v", scope=Scope.USER, encrypt=True),
        KeyEntry(name="endpoint", value="https://example.com", scope=Scope.PACK, pack="mypack"),
        KeyEntry(name="exported", value="plain"),
    ]


def test_one_object_in_json_is_one_key() -> None:
    entries = parse_key_file('{"name": "k", "value": [1, 2]}', source="key.json")
    assert entries == [KeyEntry(name="k", value=[1, 2])]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "holds no keys"),
        ("[]", "holds no keys"),
        ("- [unclosed", "neither JSON nor YAML"),
        ("- just a string", "entry 1: a key is an object"),
        ("- {value: 1}", "entry 1: name: required"),
        ("- {name: k}", "entry 1 (k): value: required"),
        ("- {name: k, value: 1, colour: red}", "unknown field(s) colour"),
        ("- {name: k, value: 1, scope: st2kv.pack}", "scope: 'st2kv.pack' is not one of"),
        ("- {name: k, value: 1, secret: 'yes'}", "secret: true or false"),
        ("- {name: k, value: 1, ttl: 0}", "ttl: a whole number of seconds"),
        ("- {name: k, value: 1, ttl: soon}", "ttl: a whole number of seconds"),
        ("- {name: k, value: 2024-01-31}", "a YAML date"),
        ("- {name: k, value: x, encrypted: true}", "only StackStorm can open"),
        ("- {name: a, value: 1}\n- {name: b}", "entry 2 (b): value: required"),
    ],
)
def test_a_bad_file_is_refused_naming_the_entry(text: str, words: str) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        parse_key_file(text, source="keys.yaml")
    assert raised.value.message.startswith("keys.yaml")
    assert words in raised.value.message
