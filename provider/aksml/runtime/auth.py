"""Request authentication for the scoring runtime: key auth, token (JWT) auth, or none.

The runtime calls one :class:`Authenticator` per request with the raw ``Authorization`` header
and turns the :class:`AuthDecision` into the response (401 + ``WWW-Authenticate`` when refused).

* ``key``: ``Authorization: Bearer <primary or secondary key>``. Constant-time comparison against
  both keys on every request. Keys come from arguments or from a keys file (``--keys-file``: a
  JSON file ``{"primaryKey": ..., "secondaryKey": ...}`` or a directory with files
  ``primaryKey``/``secondaryKey``, i.e. a mounted Kubernetes Secret). The file is polled with a
  ``stat`` at most once per ``reload_interval_s`` (1 s) from the request path, so a rotated key
  is accepted -- and a removed one refused -- at most that long after the file changed.
* ``token``: a JWT verified against the issuer's OIDC discovery document and JWKS; see
  :mod:`aksml.runtime.auth_token`.

:func:`aksml.runtime.auth_mode.build_authenticator` picks one for a mode (it imports this
module and ``auth_token``; neither imports it, so there is no import circle).
* ``none``: every request is allowed.

Neither a key nor a token is ever logged or put into a decision's message.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from aksml import contract
from aksml.errors import WebserviceException

logger = logging.getLogger(__name__)

DEFAULT_REALM: Final = "aksml"
"""The ``realm`` of every ``WWW-Authenticate`` challenge."""
DEFAULT_RELOAD_INTERVAL_S: Final = 1.0
"""How often (at most) the keys file is checked for changes: the documented reload delay."""
MAX_KEYS_FILE_BYTES: Final = 64 * 1024
"""Keys files (and each file of a keys directory) larger than this are refused."""
AUTH_MODES: Final = ("key", "token", "none")
"""The accepted values of ``--auth`` / ``AKSML_AUTH``."""


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """The outcome of checking one request's ``Authorization`` header."""

    ok: bool
    """True when the request may proceed."""
    status: int
    """200 when ``ok``, else the HTTP status to answer with (401)."""
    www_authenticate: str | None
    """RFC 6750 challenge for the ``WWW-Authenticate`` response header (None when ``ok``)."""
    message: str
    """Human-readable reason, safe for the JSON response body: never contains a key or token."""


ALLOWED: Final = AuthDecision(True, 200, None, "OK")
"""The decision for an authenticated (or unauthenticated-by-design) request."""


def challenge(realm: str, error: str | None = None, description: str | None = None) -> str:
    """Build an RFC 6750 ``Bearer`` challenge.

    ``description`` must only hold the characters RFC 6750 allows in ``error_description``
    (printable ASCII without ``"`` and ``\\``); other characters are dropped.
    """
    parts = [f'Bearer realm="{_quoted_safe(realm)}"']
    if error is not None:
        parts.append(f'error="{error}"')
    if description is not None:
        parts.append(f'error_description="{_quoted_safe(description)}"')
    return ", ".join(parts)


def _quoted_safe(text: str) -> str:
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')


def refuse(realm: str, message: str, *, error: str | None = "invalid_token") -> AuthDecision:
    """A 401 decision whose challenge carries ``error`` and ``message`` as its description.

    ``error=None`` gives the bare challenge RFC 6750 §3.1 asks for when the request carried no
    usable credentials (no header, or another scheme).
    """
    return AuthDecision(
        ok=False,
        status=401,
        www_authenticate=challenge(realm, error, message if error is not None else None),
        message=message,
    )


class Authenticator(Protocol):
    """What the runtime calls: ``start()`` once, ``check()`` per request, ``close()`` at exit."""

    async def start(self) -> None:
        """Prepare (e.g. prefetch signing keys). Never raises because a remote is down."""
        ...

    async def check(self, authorization: str | None) -> AuthDecision:
        """Decide on one request, given its raw ``Authorization`` header (None if absent)."""
        ...

    async def close(self) -> None:
        """Release resources (HTTP clients, background tasks)."""
        ...


class BearerParser:
    """Splits ``Authorization`` header values into a bearer credential or a refusal.

    The scheme is case-insensitive (RFC 9110 §11.1); spaces and tabs around the header and
    between scheme and credential are ignored; the credential itself may not contain whitespace
    or other non-printable characters.
    """

    def __init__(self, realm: str) -> None:
        self.realm = realm
        """The challenge realm."""
        self.missing = AuthDecision(
            False,
            401,
            challenge(realm),
            "Authorization required: send 'Authorization: Bearer ...'.",
        )
        """The decision when no credentials were sent."""
        self.wrong_scheme = AuthDecision(
            False,
            401,
            challenge(realm),
            "Unsupported authorization scheme: use 'Authorization: Bearer ...'.",
        )
        """The decision for a scheme other than Bearer."""
        self.malformed = refuse(realm, "Malformed bearer credentials.")
        """The decision for ``Bearer`` with an empty or whitespace-containing credential."""

    def credential(self, authorization: str | None) -> str | AuthDecision:
        """The bearer credential, or the refusal to answer with."""
        if authorization is None:
            return self.missing
        value = authorization.strip(" \t")
        if not value:
            return self.missing
        cut = len(value)
        for sep in (" ", "\t"):
            i = value.find(sep)
            if 0 <= i < cut:
                cut = i
        if value[:cut].lower() != "bearer":
            return self.wrong_scheme
        cred = value[cut:].strip(" \t")
        # no inner whitespace, no control or other non-printable characters (C-speed checks)
        if not cred or " " in cred or "\t" in cred or not cred.isprintable():
            return self.malformed
        return cred


class NoAuthenticator:
    """``auth none``: every request is allowed."""

    async def start(self) -> None:
        """Nothing to prepare."""

    async def check(self, authorization: str | None) -> AuthDecision:
        """Always :data:`ALLOWED`."""
        return ALLOWED

    async def close(self) -> None:
        """Nothing to release."""


def _valid_key(key: str) -> bool:
    return all("!" <= c <= "~" for c in key)


_FileSignature = tuple[object, ...]


class KeysFileError(ValueError):
    """A keys file that is not usable; the message never contains file content."""


class KeysFile:
    """A keys file or Secret-style keys directory, with a cheap change signature."""

    def __init__(self, path: str) -> None:
        self.path = path
        """The configured path (file or directory)."""

    def signature(self) -> _FileSignature:
        """Identity of the current content: device, inode, size, mtime, ctime of each file.

        For a directory the targets of the key files are stat'ed through their symlinks and the
        ``..data`` symlink is read, so the kubelet's atomic symlink swap always changes it.
        """
        if os.path.isdir(self.path):
            parts: list[object] = ["dir"]
            try:
                parts.append(os.readlink(os.path.join(self.path, "..data")))
            except OSError:
                parts.append(None)
            for name in (contract.PRIMARY_KEY_FILE, contract.SECONDARY_KEY_FILE):
                parts.append(_stat_tuple(os.path.join(self.path, name)))
            return tuple(parts)
        return ("file", _stat_tuple(self.path))

    def read(self) -> tuple[str, str]:
        """The (primary, secondary) keys; an absent key is ``""``.

        Raises KeysFileError or OSError (without any key material in the message) when the
        content is not a usable keys file.
        """
        if os.path.isdir(self.path):
            keys = []
            for name in (contract.PRIMARY_KEY_FILE, contract.SECONDARY_KEY_FILE):
                file = os.path.join(self.path, name)
                if not os.path.exists(file):
                    keys.append("")
                    continue
                keys.append(_read_limited(file).decode("utf-8").strip())
            primary, secondary = keys
        else:
            try:
                doc = json.loads(_read_limited(self.path))
            except json.JSONDecodeError:
                raise KeysFileError("not valid JSON") from None
            if not isinstance(doc, dict):
                raise KeysFileError("not a JSON object")
            values = []
            for name in (contract.PRIMARY_KEY_FILE, contract.SECONDARY_KEY_FILE):
                value = doc.get(name)
                if value is not None and not isinstance(value, str):
                    raise KeysFileError(f"{name!r} is not a string")
                values.append((value or "").strip())
            primary, secondary = values
        for name, key in (
            (contract.PRIMARY_KEY_FILE, primary),
            (contract.SECONDARY_KEY_FILE, secondary),
        ):
            if not _valid_key(key):
                raise KeysFileError(
                    f"{name!r} holds spaces or characters other than printable ASCII"
                )
        if not primary and not secondary:
            raise KeysFileError(
                f"neither {contract.PRIMARY_KEY_FILE!r} nor {contract.SECONDARY_KEY_FILE!r} is set"
            )
        return primary, secondary


def _stat_tuple(path: str) -> tuple[int, int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read_limited(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read(MAX_KEYS_FILE_BYTES + 1)
    if len(data) > MAX_KEYS_FILE_BYTES:
        raise KeysFileError(f"larger than {MAX_KEYS_FILE_BYTES} bytes")
    return data


class KeyAuthenticator:
    """``auth key``: ``Authorization: Bearer <primary or secondary key>``.

    Both keys are compared with :func:`hmac.compare_digest` on every request (an absent key is
    an empty byte string, which no credential can equal). With a keys file, a ``stat`` runs at
    most once per ``reload_interval_s`` from :meth:`check`; when the signature changed the file
    is re-read. A file that cannot be read or parsed keeps the previous keys (logged once).
    """

    def __init__(
        self,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        *,
        keys_file: str | None = None,
        realm: str = DEFAULT_REALM,
        reload_interval_s: float = DEFAULT_RELOAD_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._parser = BearerParser(realm)
        self._invalid = refuse(realm, "Invalid key.")
        self._clock = clock
        self._interval = reload_interval_s
        self._source: KeysFile | None = None
        self._signature: _FileSignature | None = None
        self._failed_signature: _FileSignature | None = None
        self._next_poll = 0.0
        if keys_file is not None:
            if primary_key or secondary_key:
                raise WebserviceException(
                    f"Give either {contract.KEYS_FILE.flag} ({contract.KEYS_FILE.env}) or "
                    f"{contract.PRIMARY_KEY.flag}/{contract.SECONDARY_KEY.flag}, not both."
                )
            self._source = KeysFile(keys_file)
            try:
                self._signature = self._source.signature()
                primary, secondary = self._source.read()
            except Exception as exc:  # any unusable content: refuse at start, keep old keys later
                raise WebserviceException(
                    f"{contract.KEYS_FILE.flag} ({contract.KEYS_FILE.env}): cannot load keys "
                    f"from {keys_file!r}: {_describe(exc)}."
                ) from None
            self._next_poll = clock() + reload_interval_s
        else:
            primary = (primary_key or "").strip()
            secondary = (secondary_key or "").strip()
            if not primary and not secondary:
                raise WebserviceException(
                    f"Key auth needs {contract.PRIMARY_KEY.flag} ({contract.PRIMARY_KEY.env}), "
                    f"{contract.SECONDARY_KEY.flag} ({contract.SECONDARY_KEY.env}) or "
                    f"{contract.KEYS_FILE.flag} ({contract.KEYS_FILE.env})."
                )
            for setting, key in (
                (contract.PRIMARY_KEY, primary),
                (contract.SECONDARY_KEY, secondary),
            ):
                if not _valid_key(key):
                    raise WebserviceException(
                        f"{setting.flag} ({setting.env}) may only hold printable ASCII "
                        "characters without spaces."
                    )
        self._set_keys(primary, secondary)

    def _set_keys(self, primary: str, secondary: str) -> None:
        self._keys = (primary.encode(), secondary.encode())
        # the exact header values clients send: ``Bearer <key>`` (an absent key: a value no
        # header can have, so that both comparisons still run)
        self._exact = tuple(b"Bearer " + key if key else b"\x00" for key in self._keys)

    async def start(self) -> None:
        """Nothing to prefetch: keys were loaded by the constructor."""

    async def close(self) -> None:
        """Nothing to release."""

    async def check(self, authorization: str | None) -> AuthDecision:
        """Allow a bearer credential equal to the primary or the secondary key."""
        return self.check_sync(authorization)

    def check_header(self, raw: bytes | None) -> AuthDecision:
        """:meth:`check_sync` of the raw header value: the exact ``Bearer <key>`` every client
        sends is accepted by two constant-time comparisons of the bytes as received; anything
        else (another spelling of the scheme, extra whitespace, a wrong key) is decided by
        :meth:`check_sync`."""
        if raw and (self._source is None or self._clock() < self._next_poll):
            primary, secondary = self._exact
            # both comparisons always run; `|` (not `or`) so that neither short-circuits
            if hmac.compare_digest(raw, primary) | hmac.compare_digest(raw, secondary):
                return ALLOWED
        return self.check_sync(raw.decode("latin-1") if raw is not None else None)

    def check_sync(self, authorization: str | None) -> AuthDecision:
        """The synchronous body of :meth:`check` (no I/O except the throttled ``stat``)."""
        if self._source is not None:
            now = self._clock()
            if now >= self._next_poll:
                self._poll(now)
        cred = self._parser.credential(authorization)
        if isinstance(cred, AuthDecision):
            return cred
        presented = cred.encode("utf-8", "surrogatepass")
        primary, secondary = self._keys
        # both comparisons always run; `|` (not `or`) so that neither short-circuits
        if hmac.compare_digest(presented, primary) | hmac.compare_digest(presented, secondary):
            return ALLOWED
        return self._invalid

    def _poll(self, now: float) -> None:
        assert self._source is not None
        self._next_poll = now + self._interval
        signature = self._source.signature()
        if signature == self._signature or signature == self._failed_signature:
            return
        try:
            primary, secondary = self._source.read()
        except Exception as exc:  # any unusable content: refuse at start, keep old keys later
            self._failed_signature = signature
            logger.warning(
                "keys file %s changed but cannot be loaded (%s); keeping the previous keys",
                self._source.path,
                _describe(exc),
            )
            return
        self._set_keys(primary, secondary)
        self._signature = signature
        self._failed_signature = None
        logger.info("keys reloaded from %s", self._source.path)


def _describe(exc: BaseException) -> str:
    """A description of a keys-file error that cannot contain file content."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, KeysFileError):
        return str(exc)
    return type(exc).__name__
