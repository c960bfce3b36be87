"""A local QuickBooks Online emulator for tests, demos and benchmarks.

Why it exists: the real sandbox is slow, rate-limited, shared and cannot be made to fail
on demand. This one follows /work/shared/qbo/API-NOTES.md (query language, CDC, Faults,
OAuth rotation, throttling) and adds a ``/_sandbox`` control API. Pure stdlib; no Django.

    from quickbooks_sync.sandbox import SandboxServer, SandboxConfig
    with SandboxServer(SandboxConfig(seed=1)) as server:
        server.url, server.token_url, server.state
"""

from .clock import SandboxClock
from .config import DEFAULT_REALM, SandboxConfig
from .entities import QBOError
from .faults import FAULT_KINDS
from .server import SandboxServer
from .store import SandboxState
from .tokens import obtain_tokens

__all__ = [
    "DEFAULT_REALM",
    "FAULT_KINDS",
    "QBOError",
    "SandboxClock",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "obtain_tokens",
]
