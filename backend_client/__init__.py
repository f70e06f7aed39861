"""Typed client for the Freshline backend: REST, the live stream, and token storage.

    async with FreshlineClient(server) as client:
        await client.login("dispatcher", password)
        order = await client.orders.transition(order_id, "start_picking", version)
        async for message in client.stream(["orders"], since=seq):
            ...

Everything a caller needs is importable from here; the modules with a leading underscore are
private. The public modules besides this one: `backend_client.models` (the wire contract,
shared with the backend) and `backend_client.signing` (how a sales channel signs its requests,
shared with the backend's gateway). The exception tree is in `_errors.py`'s docstring.

Never imports textual or rich (tests/test_layering.py).
"""

from backend_client._alerts import Alerts
from backend_client._channels import Channels
from backend_client._client import FreshlineClient
from backend_client._customers import Customers
from backend_client._errors import (
    ApiError,
    Conflict,
    ConnectionFailed,
    FreshlineError,
    GapDetected,
    InvalidRequest,
    KeyringUnavailable,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    StreamRefused,
    UnexpectedAnswer,
)
from backend_client._handover import ShiftHandover
from backend_client._kpi import Kpi
from backend_client._orders import Orders
from backend_client._proofs import Proofs
from backend_client._reports import Reports
from backend_client._requests import Requests
from backend_client._retry import Backoff
from backend_client._riders import Riders
from backend_client._sensors import Sensors
from backend_client._ssh import SshGateway, SshKeys
from backend_client._stream import (
    SERVER_MESSAGE,
    Stream,
    StreamMessage,
    StreamState,
    StreamStatus,
)
from backend_client._takeovers import Takeovers
from backend_client._tokens import TokenStore
from backend_client._users import Users
from backend_client._views import SavedViews
from backend_client._waiting import cancel_and_wait, wait_event, within
from backend_client._warehouses import Warehouses

__all__ = [
    "SERVER_MESSAGE",
    "Alerts",
    "ApiError",
    "Backoff",
    "Channels",
    "Conflict",
    "ConnectionFailed",
    "Customers",
    "FreshlineClient",
    "FreshlineError",
    "GapDetected",
    "InvalidRequest",
    "KeyringUnavailable",
    "Kpi",
    "NotAuthenticated",
    "NotFound",
    "Orders",
    "PermissionDenied",
    "Proofs",
    "RateLimited",
    "Reports",
    "Requests",
    "Riders",
    "SavedViews",
    "Sensors",
    "ServerError",
    "ShiftHandover",
    "SshGateway",
    "SshKeys",
    "Stream",
    "StreamMessage",
    "StreamRefused",
    "StreamState",
    "StreamStatus",
    "Takeovers",
    "TokenStore",
    "UnexpectedAnswer",
    "Users",
    "Warehouses",
    "cancel_and_wait",
    "wait_event",
    "within",
]
