"""Execution tokens on their own: minted, verified with a key ring, and what they may ask."""

from __future__ import annotations

import base64
import os

import pytest

from attune import errors
from attune.auth.execution_tokens import (
    ExecutionGrant,
    mint_execution_token,
    verified_execution_id,
)

KEY, OLD_KEY = os.urandom(32), os.urandom(32)
GRANT = ExecutionGrant(42, "ops.deploy")


def test_a_token_names_its_execution_and_verifies_with_any_key_of_the_ring() -> None:
    token = mint_execution_token(OLD_KEY, 42)

    assert token.startswith("attx_42_")
    assert verified_execution_id(token, [KEY, OLD_KEY]) == 42
    # Stateless and deterministic: the worker and the API compute the same token.
    assert mint_execution_token(OLD_KEY, 42) == token
    # The MAC key is derived, not the encryption key itself: it appears nowhere in the token.
    assert base64.urlsafe_b64encode(OLD_KEY).decode().rstrip("=") not in token


def altered(token: str) -> str:
    """The token with its last character changed."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "token",
    [
        mint_execution_token(KEY, 42).replace("attx_42_", "attx_43_"),  # another execution
        altered(mint_execution_token(KEY, 42)),
        mint_execution_token(os.urandom(32), 42),  # a key not in the ring
        "attx_42_short",
        mint_execution_token(KEY, 42).replace("attx_42_", "attx_042_"),
        "attx__" + "A" * 43,
    ],
)
def test_a_forged_or_altered_token_is_unauthenticated(token: str) -> None:
    with pytest.raises(errors.Unauthenticated):
        verified_execution_id(token, [KEY])


def test_no_key_verifies_nothing() -> None:
    with pytest.raises(errors.Unauthenticated):
        verified_execution_id(mint_execution_token(KEY, 1), [])


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/executions/42", ""),
        ("/keys/pack/db_password", "pack=ops"),
        ("/keys/pack/db.password", "pack=ops&decrypt=true"),
        ("/keys/system/region", ""),
        ("/keys/system/region", "decrypt=false"),
    ],
)
def test_what_an_execution_token_may_ask(path: str, query: str) -> None:
    GRANT.check_request("GET", path, query)


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/executions/43", ""),
        ("GET", "/executions/042", ""),
        ("GET", "/executions", ""),
        ("GET", "/executions/42/children", ""),
        ("POST", "/executions/42/cancel", ""),
        ("PUT", "/keys/pack/x", "pack=ops"),
        ("DELETE", "/keys/pack/x", "pack=ops"),
        ("GET", "/keys/pack/x", ""),
        ("GET", "/keys/pack/x", "pack=other"),
        ("GET", "/keys/pack/x", "pack=ops&pack=other"),
        ("GET", "/keys/pack/x", "pack=ops&user=root"),
        ("GET", "/keys/pack/..", "pack=ops"),
        ("GET", "/keys/system/x", "decrypt=true"),
        ("GET", "/keys/system/x", "decrypt=1"),
        ("GET", "/keys/system/x", "pack=ops"),
        ("GET", "/keys/user/x", ""),
        ("GET", "/keys", "scope=pack&pack=ops"),
        ("GET", "/actions", ""),
        ("POST", "/webhooks/ops.hook", ""),
    ],
)
def test_everything_else_is_refused_saying_what_it_may_do(
    method: str, path: str, query: str
) -> None:
    with pytest.raises(errors.PermissionDenied) as refused:
        GRANT.check_request(method, path, query)
    assert "an execution token may only GET /api/v1/executions/" in refused.value.message
    assert "execution 42" in refused.value.message
