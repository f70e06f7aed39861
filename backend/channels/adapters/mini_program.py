"""The WeChat mini-program: its order in WeChat Pay's words, snake_case, amounts in fen.

An order: `out_trade_no` (our channel order id), `openid`, `time_start` and `expected_time` as
Beijing `yyyyMMddHHmmss`, `total_fee` in fen, `trade_state` (`NOTPAY` or `SUCCESS`), `detail`
(a JSON string as WeChat Pay has it: `cost_price` and `goods_detail`, each with `goods_id` = our
SKU, `quantity`, `price` in fen), `address_info` from the mini-program's address picker
(`userName`, `telNumber`, `detailInfo`, `latitude`/`longitude` as strings), `attach` (the
customer's note). Notifications: `id`, `create_time` (RFC 3339), `event_type`
(`TRANSACTION.SUCCESS` paid, `TRANSACTION.CLOSED` closed by the customer, `REFUND.APPLY`,
`BILL.DAILY`) and the decrypted `resource` (`out_trade_no`, `amount` in fen, `reason`, and for
the bill `bill_date`, `count`, `total_fee`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Json

from backend.channels.adapter import (
    CallbackFields,
    CallbackKind,
    ChannelAdapter,
    Mapped,
    aware_time,
    china_time,
    coordinate,
)
from backend_client.models import Channel

WECHAT_TIME = "%Y%m%d%H%M%S"


class Goods(BaseModel):
    model_config = ConfigDict(extra="ignore")

    goods_id: str
    goods_name: str = ""
    quantity: int
    price: int


class PayDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cost_price: int | None = None
    goods_detail: list[Goods]


class AddressInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    userName: str
    telNumber: str
    provinceName: str = ""
    cityName: str = ""
    countyName: str = ""
    detailInfo: str
    latitude: str
    longitude: str


class MiniProgramOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    out_trade_no: str
    openid: str
    time_start: str
    expected_time: str | None = None
    total_fee: int
    trade_state: Literal["NOTPAY", "SUCCESS"]
    detail: Json[PayDetail]
    address_info: AddressInfo
    attach: str = ""


class NotifyResource(BaseModel):
    model_config = ConfigDict(extra="ignore")

    out_trade_no: str | None = None
    amount: int | None = None
    reason: str | None = None
    bill_date: str | None = None
    count: int | None = None
    total_fee: int | None = None


class MiniProgramNotify(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    create_time: AwareDatetime
    event_type: Literal["TRANSACTION.SUCCESS", "TRANSACTION.CLOSED", "REFUND.APPLY", "BILL.DAILY"]
    resource: NotifyResource


class MiniProgramAdapter(ChannelAdapter):
    channel = Channel.MINI_PROGRAM
    order_payload = MiniProgramOrder
    callback_payload = MiniProgramNotify
    fields = {
        "external_id": "out_trade_no",
        "customer.name": "address_info.userName",
        "customer.phone": "address_info.telNumber",
        "customer.address": "address_info.detailInfo",
        "customer.lat": "address_info.latitude",
        "customer.lng": "address_info.longitude",
        "items": "detail.goods_detail",
        "items[].sku": "goods_id",
        "items[].quantity": "quantity",
        "promised_at": "expected_time",
        "note": "attach",
    }

    callbacks = CallbackFields(
        kinds={
            "TRANSACTION.SUCCESS": CallbackKind.PAID,
            "TRANSACTION.CLOSED": CallbackKind.CANCELLED,
            "REFUND.APPLY": CallbackKind.REFUND_REQUESTED,
            "BILL.DAILY": CallbackKind.STATEMENT,
        },
        kind="event_type",
        callback_id="id",
        occurred_at="create_time",
        read_time=aware_time,
        external_id="resource.out_trade_no",
        amount="resource.amount",
        reason="resource.reason",
        statement="a bill",
        day="resource.bill_date",
        orders="resource.count",
        takings="resource.total_fee",
    )

    def to_order(self, payload: MiniProgramOrder) -> Mapped:
        address = payload.address_info
        promised = None
        if payload.expected_time:
            promised = china_time(
                payload.expected_time, WECHAT_TIME, our="promised_at", theirs="expected_time"
            )
        return Mapped(
            fields={
                "external_id": payload.out_trade_no,
                "customer": {
                    "name": address.userName,
                    "phone": address.telNumber,
                    "address": address.detailInfo,
                    "lat": coordinate(
                        address.latitude, our="customer.lat", theirs="address_info.latitude"
                    ),
                    "lng": coordinate(
                        address.longitude, our="customer.lng", theirs="address_info.longitude"
                    ),
                },
                "items": [
                    {"sku": goods.goods_id, "quantity": goods.quantity}
                    for goods in payload.detail.goods_detail
                ],
                "promised_at": promised,
                "note": payload.attach or None,
            },
            paid=payload.trade_state == "SUCCESS",
            reported_amount_cents=payload.total_fee,
        )


ADAPTER = MiniProgramAdapter()
