"""One order and one callback in each channel's own words, as its platform sends them: for the
API reference, and as the shape the tests and the simulator start from.

All of them: a customer at Sanlitun Rd 19 orders bok choy and pork belly on 2026-11-22 at
10:00 UTC (18:00 in Beijing), to be delivered by 10:45 UTC.
"""

from __future__ import annotations

import json
from typing import Any

DETAIL = [
    {"app_food_code": "VEG-BOKCHOY", "food_name": "小白菜", "quantity": 2, "price": 4.9,
     "unit": "份"},
    {"app_food_code": "MEA-PORKBELLY", "food_name": "五花肉", "quantity": 1, "price": 24.9,
     "unit": "份"},
]  # fmt: skip

ORDERS: dict[str, dict[str, Any]] = {
    "app": {
        "orderNo": "APP-20261122-0001",
        "userId": 10086,
        "createdAt": "2026-11-22T10:00:00Z",
        "expectedArrival": "2026-11-22T10:45:00Z",
        "receiver": {
            "name": "Wang Fang",
            "mobile": "13800138000",
            "address": "Sanlitun Rd 19, Chaoyang",
            "location": {"lat": "39.936100", "lng": "116.455100"},
        },
        "lines": [
            {"skuCode": "VEG-BOKCHOY", "qty": 2, "unitPriceCents": 490},
            {"skuCode": "MEA-PORKBELLY", "qty": 1, "unitPriceCents": 2490},
        ],
        "payableCents": 3470,
        "payStatus": "PAID",
        "remark": "leave at the door",
    },
    "mini_program": {
        "out_trade_no": "MP-20261122-0001",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "time_start": "20261122180000",
        "expected_time": "20261122184500",
        "total_fee": 3470,
        "trade_state": "SUCCESS",
        "detail": json.dumps(
            {
                "cost_price": 3470,
                "goods_detail": [
                    {
                        "goods_id": "VEG-BOKCHOY",
                        "goods_name": "小白菜",
                        "quantity": 2,
                        "price": 490,
                    },
                    {
                        "goods_id": "MEA-PORKBELLY",
                        "goods_name": "五花肉",
                        "quantity": 1,
                        "price": 2490,
                    },
                ],
            },
            ensure_ascii=False,
        ),
        "address_info": {
            "userName": "Wang Fang",
            "telNumber": "13800138000",
            "provinceName": "北京市",
            "cityName": "北京市",
            "countyName": "朝阳区",
            "detailInfo": "Sanlitun Rd 19, Chaoyang",
            "latitude": "39.9361",
            "longitude": "116.4551",
        },
        "attach": "",
    },
    "meituan": {
        "order_id": 27061900338318741,
        "wm_order_id_view": "27061900338318741",
        "app_poi_code": "WH-CY",
        "ctime": 1795341600,
        "delivery_time": 1795344300,
        "recipient_name": "Wang Fang",
        "recipient_phone": "13800138000",
        "recipient_address": "Sanlitun Rd 19, Chaoyang",
        "latitude": 39936100,
        "longitude": 116455100,
        "detail": json.dumps(DETAIL, ensure_ascii=False),
        "total": 34.7,
        "original_price": 36.7,
        "shipping_fee": 2.0,
        "caution": "",
        "status": 2,
    },
    "eleme": {
        "requestId": "100000418938475183",
        "type": 10,
        "appId": 61283451,
        "shopId": 171850212,
        "timestamp": 1795341600123,
        "message": json.dumps(
            {
                "id": "3023617581128429512",
                "openId": "WH-CY",
                "consignee": "Wang Fang",
                "phoneList": ["13800138000"],
                "address": "Sanlitun Rd 19, Chaoyang",
                "deliveryGeo": "116.4551,39.9361",
                "groups": [
                    {
                        "name": "1号篮子",
                        "type": "normal",
                        "items": [
                            {
                                "id": 1,
                                "name": "小白菜",
                                "extendCode": "VEG-BOKCHOY",
                                "quantity": 2,
                                "price": 4.9,
                                "total": 9.8,
                            },
                            {
                                "id": 2,
                                "name": "五花肉",
                                "extendCode": "MEA-PORKBELLY",
                                "quantity": 1,
                                "price": 24.9,
                                "total": 24.9,
                            },
                        ],
                    }
                ],
                "totalPrice": 34.7,
                "originalPrice": 34.7,
                "createdAt": "2026-11-22T18:00:00",
                "deliverTime": "2026-11-22T18:45:00",
                "description": "",
            },
            ensure_ascii=False,
        ),
    },
    "store": {
        "store_code": "WH-CY",
        "receipt_no": "POS-0003-20261122-0412",
        "till": "03",
        "cashier": "0007",
        "sold_at": "2026-11-22 18:00:00",
        "deliver_by": "2026-11-22 18:45:00",
        "member": {"name": "Wang Fang", "mobile": "13800138000"},
        "delivery": {"address": "Sanlitun Rd 19, Chaoyang", "geo": "39.936100,116.455100"},
        "items": [
            {"plu": "VEG-BOKCHOY", "qty": "2", "amount": "9.80"},
            {"plu": "MEA-PORKBELLY", "qty": "1", "amount": "24.90"},
        ],
        "total": "34.70",
        "paid": True,
    },
    "group_buy": {
        "sub_order_sn": "GB-20261122-000731",
        "activity_id": "ACT-20261122-07",
        "created_time": 1795341600000,
        "pickup_by": 1795344300000,
        "leader": {
            "leader_id": "L-CY-03",
            "leader_name": "Zhao Min",
            "leader_mobile": "13700001234",
            "pickup_address": "Tuanjiehu Community, Gate 2, Chaoyang",
            "lng": "116.461300",
            "lat": "39.929800",
        },
        "buyer": {"nickname": "Wang Fang", "mobile": "13800138000"},
        "goods": [
            {"goods_sku": "VEG-BOKCHOY", "num": 2, "group_price": 450},
            {"goods_sku": "MEA-PORKBELLY", "num": 1, "group_price": 2290},
        ],
        "pay_amount": 3190,
        "order_status": 1,
        "remark": "",
    },
}

CALLBACKS: dict[str, dict[str, Any]] = {
    "app": {
        "eventId": "EV-9f1c2a",
        "orderNo": "APP-20261122-0001",
        "event": "CANCELLED_BY_USER",
        "occurredAt": "2026-11-22T10:03:00Z",
        "reason": "ordered twice",
    },
    "mini_program": {
        "id": "EV-2052-6f1b",
        "create_time": "2026-11-22T18:00:30+08:00",
        "event_type": "TRANSACTION.SUCCESS",
        "resource": {"out_trade_no": "MP-20261122-0001", "amount": 3470},
    },
    "meituan": {
        "msg_id": "mt-cancel-83920",
        "notify_type": "order_cancel",
        "timestamp": 1795341780,
        "order_id": 27061900338318741,
        "reason_code": 1001,
        "reason": "用户取消",
    },
    "eleme": {
        "requestId": "100000418938475777",
        "type": 30,
        "timestamp": 1795345200000,
        "message": json.dumps(
            {"orderId": "3023617581128429512", "reason": "商品质量问题", "refundAmount": 24.9},
            ensure_ascii=False,
        ),
    },
    "store": {
        "event_id": "Z-0003-20261122",
        "type": "z_report",
        "at": "2026-11-22 23:30:00",
        "business_date": "2026-11-22",
        "receipts": 41,
        "takings": "1873.40",
    },
    "group_buy": {
        "notify_id": "N-883401",
        "sub_order_sn": "GB-20261122-000731",
        "notify_type": "AFTER_SALE_APPLY",
        "notify_time": 1795348800000,
        "refund_amount": 2290,
        "reason": "meat not fresh",
    },
}
