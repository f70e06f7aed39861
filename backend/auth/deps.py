"""FastAPI dependencies: the authenticated caller, and one alias per permission.

`CanReadOrders` (and its siblings) authenticates the bearer token and checks the role in one
dependency, declared as the bearer scheme in OpenAPI (the Authorize button of /docs); errors
are ours (401, 403), not FastAPI's. The parts a route uses besides the caller come from
`backend.deps` (database, clock, settings) and the domains' own dependencies.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from backend.auth.permissions import Permission, allowed
from backend.auth.principal import Principal
from backend.errors import Forbidden, NotAuthenticated
from backend.observability.context import note_caller


def bearer_token(connection: HTTPConnection) -> str:
    """The token from `Authorization: Bearer ...` (never from the query string)."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send Authorization: Bearer <token>")
    return token.strip()


class Gate(SecurityBase):
    """The caller behind the bearer token, refused (403) unless their role holds `permission`
    (any role when None).

    A security scheme itself rather than a dependency on one: OpenAPI shows the bearer scheme on
    every route behind a gate, and a request solves one dependency for token and role.
    """

    def __init__(self, permission: Permission | None = None) -> None:
        self.model = HTTPBearerModel(description="The access_token of POST /auth/token.")
        self.scheme_name = "HTTPBearer"
        self.permission = permission

    async def __call__(self, connection: HTTPConnection) -> Principal:
        runtime = connection.app.state.runtime
        principal: Principal = await runtime.tokens.principal(
            runtime.db,
            bearer_token(connection),
            now=runtime.clock.now(),
            client_addr=connection.client.host if connection.client else None,
        )
        note_caller(principal.username, str(principal.role))  # for the request's log lines
        if self.permission is not None and not allowed(str(principal.role), self.permission):
            raise Forbidden(f"role {principal.role} may not {self.permission}")
        return principal


current_principal = Gate()
"""Any signed-in caller, whatever their role."""


def require(permission: Permission) -> Gate:
    """A dependency that answers 403 unless the caller's role holds `permission`."""
    return Gate(permission)


Authenticated = Annotated[Principal, Depends(current_principal)]
CanReadOrders = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
CanCreateOrders = Annotated[Principal, Depends(require(Permission.ORDERS_CREATE))]
CanTransitionOrders = Annotated[Principal, Depends(require(Permission.ORDERS_TRANSITION))]
CanAssignOrders = Annotated[Principal, Depends(require(Permission.ORDERS_ASSIGN))]
CanReadRiders = Annotated[Principal, Depends(require(Permission.RIDERS_READ))]
CanSetRiderStatus = Annotated[Principal, Depends(require(Permission.RIDERS_STATUS))]
CanReportPositions = Annotated[Principal, Depends(require(Permission.RIDERS_POSITIONS))]
CanRelayPositions = Annotated[Principal, Depends(require(Permission.RIDERS_RELAY))]
CanRegisterRiders = Annotated[Principal, Depends(require(Permission.RIDERS_REGISTER))]
CanConfigureDispatch = Annotated[Principal, Depends(require(Permission.DISPATCH_CONFIGURE))]
CanReadWarehouses = Annotated[Principal, Depends(require(Permission.WAREHOUSES_READ))]
CanReadStock = Annotated[Principal, Depends(require(Permission.STOCK_READ))]
CanAdjustStock = Annotated[Principal, Depends(require(Permission.STOCK_ADJUST))]
CanManageUsers = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]
CanReadAlerts = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
CanReadNotifications = Annotated[Principal, Depends(require(Permission.NOTIFICATIONS_READ))]
CanHandleAlerts = Annotated[Principal, Depends(require(Permission.ALERTS_HANDLE))]
CanRequestReturns = Annotated[Principal, Depends(require(Permission.RETURNS_REQUEST))]
CanReadReturns = Annotated[Principal, Depends(require(Permission.RETURNS_READ))]
CanDecideReturns = Annotated[Principal, Depends(require(Permission.RETURNS_DECIDE))]
CanReportSensors = Annotated[Principal, Depends(require(Permission.SENSORS_REPORT))]
CanReadChannels = Annotated[Principal, Depends(require(Permission.CHANNELS_READ))]
CanReconcileChannels = Annotated[Principal, Depends(require(Permission.CHANNELS_RECONCILE))]
CanReadKpi = Annotated[Principal, Depends(require(Permission.KPI_READ))]
CanEraseCustomers = Annotated[Principal, Depends(require(Permission.CUSTOMERS_ERASE))]
CanRecordProofs = Annotated[Principal, Depends(require(Permission.PROOFS_RECORD))]
CanReadProofs = Annotated[Principal, Depends(require(Permission.PROOFS_READ))]
CanExportProofs = Annotated[Principal, Depends(require(Permission.PROOFS_EXPORT))]
CanOpenAfterSale = Annotated[Principal, Depends(require(Permission.RETURNS_AFTER_SALE))]
CanOpenComplaints = Annotated[Principal, Depends(require(Permission.COMPLAINTS_OPEN))]
CanResolveComplaints = Annotated[Principal, Depends(require(Permission.COMPLAINTS_RESOLVE))]
CanReadWebhooks = Annotated[Principal, Depends(require(Permission.WEBHOOKS_READ))]
CanManageWebhooks = Annotated[Principal, Depends(require(Permission.WEBHOOKS_MANAGE))]
CanReadRestock = Annotated[Principal, Depends(require(Permission.RESTOCK_READ))]
CanDecideRestock = Annotated[Principal, Depends(require(Permission.RESTOCK_DECIDE))]
CanReadHandover = Annotated[Principal, Depends(require(Permission.HANDOVER_READ))]
CanReadReports = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]
CanReadShifts = Annotated[Principal, Depends(require(Permission.SHIFTS_READ))]
CanManageShifts = Annotated[Principal, Depends(require(Permission.SHIFTS_MANAGE))]
CanMoveRiders = Annotated[Principal, Depends(require(Permission.RIDERS_MOVE))]
CanReadStaffing = Annotated[Principal, Depends(require(Permission.STAFFING_READ))]
CanKeepViews = Annotated[Principal, Depends(require(Permission.VIEWS_KEEP))]
