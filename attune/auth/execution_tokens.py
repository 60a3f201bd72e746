"""Execution tokens: the API token an action gets (`ATTUNE_API_TOKEN`), good for its own run.

Every action process starts with `ATTUNE_API_TOKEN` in its environment, beside
`ATTUNE_API_URL` and `ATTUNE_EXECUTION_ID`, so a script can call the API (to read its
pack's keys, say) without an operator's token in its code or config.

**Format.** `attx_<execution id>_<mac>`: the MAC is HMAC-SHA256 of the execution id (in
decimal) under a key derived from `ATTUNE_ENCRYPTION_KEY` with HKDF-SHA256 (info
`attune execution token`), in urlsafe base64 without padding. Nothing is stored: the
worker mints the token as it starts the action, and the API recomputes the MAC with each
key of the ring (`ATTUNE_ENCRYPTION_KEY`, then `ATTUNE_PREVIOUS_ENCRYPTION_KEYS`), so a key
rotation does not cut off the actions running through it. A forged or altered token is a
401, as any invalid token.

**Lifetime.** The token works only while its execution has not ended: the API reads the
execution's status on every request that carries one, with no caching, so the moment the
execution is completed, failed, cancelled, timed out or abandoned, its token is refused
(401).

**What it may do.** Only this, and everything else is a 403 saying so:

- `GET /api/v1/executions/{id}` of its own execution;
- `GET /api/v1/keys/pack/{name}?pack={pack}` for the pack of its own action, with
  `decrypt=true` too (the pack's encrypted keys are the pack's code's own secrets);
- `GET /api/v1/keys/system/{name}`, never decrypted;
- `POST /api/v1/artifacts`, and `GET` and `PATCH /api/v1/artifacts/{id}` and `GET
  /api/v1/artifacts/{id}/content`, for artifacts of its own execution only (the routes
  see to that): what an execution produces is its own, as its result is, whatever its
  executor may do elsewhere.

So the token reads no other execution, no other pack's keys, no user's keys, and changes
nothing but its own artifacts: it cannot run actions, write keys or emit events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.auth.grants_of import permissions_of
from attune.auth.permissions import Grant, Permissions, Resource, Verb
from attune.auth.tokens import INVALID_TOKEN
from attune.keys.addresses import MAX_NAME_CHARS, NAME_PATTERN
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import execution as executions

SYSTEM_KEYS = "system"
"""The ref under which key routes check system keys (`api.routers.keys`)."""
TOKEN_PREFIX = "attx_"
"""How an execution token starts (an identity's API token starts `att_`)."""
HKDF_INFO = b"attune execution token"

_TOKEN = re.compile(r"attx_([1-9][0-9]{0,18})_([A-Za-z0-9_-]{43})")
_OWN_EXECUTION = re.compile(r"/executions/([0-9]+)")
_KEY = re.compile(r"/keys/(pack|system)/([^/]+)")
_ARTIFACT = re.compile(r"/artifacts(/[0-9]+(/content)?)?")
# How pydantic reads `false` in a query (decrypt=false is a plain read).
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})

MAY_DO = (
    "an execution token may only GET /api/v1/executions/{its execution's id}, "
    "GET /api/v1/keys/pack/{name}?pack={its action's pack} (decrypt=true allowed) and "
    "GET /api/v1/keys/system/{name} (not decrypted), and create, read and update its own "
    "execution's artifacts (POST /api/v1/artifacts, GET and PATCH /api/v1/artifacts/{id})"
)


def mint_execution_token(encryption_key: bytes, execution_id: int) -> str:
    """The token of the execution, under `encryption_key` (the current one)."""
    return f"{TOKEN_PREFIX}{execution_id}_{_mac(_token_key(encryption_key), execution_id)}"


def execution_token_for(encryption_key: bytes | None, execution_id: int) -> str | None:
    """The token a worker hands the action; None on a worker without an encryption key."""
    return mint_execution_token(encryption_key, execution_id) if encryption_key else None


def is_execution_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def verified_execution_id(token: str, key_ring: Sequence[bytes]) -> int:
    """The execution id the token was minted for; `Unauthenticated` unless a key of the
    ring made it."""
    parsed = _TOKEN.fullmatch(token)
    if parsed is None:
        raise errors.Unauthenticated(INVALID_TOKEN)
    execution_id = int(parsed[1])
    given = parsed[2].encode("ascii")
    for key in key_ring:
        if hmac.compare_digest(_mac(_token_key(key), execution_id).encode("ascii"), given):
            return execution_id
    raise errors.Unauthenticated(INVALID_TOKEN)


@dataclass(frozen=True)
class ExecutionGrant:
    """A request made with an execution token: which execution, which action it runs."""

    execution_id: int
    action_ref: str
    # What the execution's executor may do (None: it has none, as a bootstrap rule's run):
    # the token is allowed no more than that.
    executor: Permissions | None = None

    @property
    def pack_ref(self) -> str:
        # A ref's pack part has no dots (db.models.base.REF_PATTERN).
        return self.action_ref.partition(".")[0]

    def permissions(self) -> Permissions:
        """What the routes it may reach (`check_request`) let it do there: view its own
        execution, view and decrypt its pack's keys, view system keys; of these, only
        what its executor may do itself."""
        own = frozenset({str(self.execution_id)})
        pack = frozenset({self.pack_ref})
        wanted = [
            Grant(Resource.EXECUTION, frozenset({Verb.VIEW}), refs=own),
            Grant(Resource.KEY, frozenset({Verb.VIEW, Verb.DECRYPT}), packs=pack),
            Grant(Resource.KEY, frozenset({Verb.VIEW}), refs=frozenset({SYSTEM_KEYS})),
        ]
        # Its own artifacts are its output, as its result is: not bounded by the executor.
        artifacts = Grant(
            Resource.ARTIFACT, frozenset({Verb.VIEW, Verb.CREATE, Verb.MODIFY}), packs=pack
        )
        if self.executor is None:
            return Permissions.of([*wanted, artifacts])
        within = [_within(self.executor, grant, self.pack_ref) for grant in wanted]
        return Permissions.of([*within, artifacts])

    def check_request(self, method: str, path: str, query: str) -> None:
        """`PermissionDenied` (saying what the token may do) unless the request is one of
        those in the module docstring; `path` is the route's, after the API prefix."""
        if not self._allows(method, path, parse_qsl(query, keep_blank_values=True)):
            raise errors.PermissionDenied(
                f"{MAY_DO}; this one is execution {self.execution_id}'s",
                details={"execution": self.execution_id},
            )

    def _allows(self, method: str, path: str, query: list[tuple[str, str]]) -> bool:
        artifact = _ARTIFACT.fullmatch(path)
        if artifact is not None:
            one, content = artifact[1], artifact[2]
            allowed = (
                (method == "POST" and one is None)
                or (method == "PATCH" and one is not None and content is None)
                or (method == "GET" and one is not None)
            )
            return allowed and not query
        if method != "GET":
            return False
        own = _OWN_EXECUTION.fullmatch(path)
        if own is not None:
            return own[1] == str(self.execution_id) and not query
        key = _KEY.fullmatch(path)
        if key is None or not _is_key_name(key[2]):
            return False
        names = [name for name, _ in query]
        if len(set(names)) != len(names):  # a repeated parameter: which one counts?
            return False
        given = dict(query)
        if key[1] == "pack":
            return given.get("pack") == self.pack_ref and set(given) <= {"pack", "decrypt"}
        return set(given) <= {"decrypt"} and given.get("decrypt", "false").lower() in _FALSE


async def authenticate_execution_token(
    session: AsyncSession, token: str, *, key_ring: Sequence[bytes]
) -> ExecutionGrant:
    """The grant of a valid token whose execution has not ended; `Unauthenticated` otherwise.

    The status is read on every call, never remembered: an ended execution's token is dead.
    """
    execution_id = verified_execution_id(token, key_ring)
    execution = await executions.repository.find(session, id=execution_id)
    if execution is None:
        raise errors.Unauthenticated(INVALID_TOKEN)
    if execution.status in TERMINAL_EXECUTION_STATUSES:
        raise errors.Unauthenticated(
            f"execution {execution_id} has ended ({execution.status.value}): its execution "
            "token worked only while it ran"
        )
    executor = (
        await permissions_of(session, execution.executor_id)
        if execution.executor_id is not None
        else None
    )
    return ExecutionGrant(execution_id, execution.action_ref, executor)


def _within(executor: Permissions, grant: Grant, pack: str) -> Grant:
    """`grant` less the verbs its executor does not hold on what the grant covers."""
    ref = next(iter(grant.refs)) if grant.refs else None
    item_pack = pack if grant.packs else (pack if grant.resource == Resource.EXECUTION else None)
    verbs = frozenset(
        verb
        for verb in grant.verbs
        if executor.allows(grant.resource, verb, pack=item_pack, ref=ref)
    )
    return Grant(grant.resource, verbs, packs=grant.packs, refs=grant.refs)


def _is_key_name(name: str) -> bool:
    return len(name) <= MAX_NAME_CHARS and NAME_PATTERN.fullmatch(name) is not None


@lru_cache(maxsize=16)
def _token_key(encryption_key: bytes) -> bytes:
    """The MAC key, derived once per encryption key: never the encryption key itself."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return hkdf.derive(encryption_key)


def _mac(token_key: bytes, execution_id: int) -> str:
    digest = hmac.new(token_key, str(execution_id).encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
