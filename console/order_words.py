"""The order actions in words, and which of them need a reason or end the order's story.

Plain Python (no Textual): the console's dialogs and the `:` commands (and `freshline act`)
read the same table.
"""

from __future__ import annotations

from backend_client.models import OrderAction

ACTION_WORDS: dict[str, str] = {
    OrderAction.PAY: "Mark paid",
    OrderAction.START_PICKING: "Start picking",
    OrderAction.REPORT_OUT_OF_STOCK: "Report out of stock",
    OrderAction.RESTOCK: "Restocked: back to picking",
    OrderAction.DISPATCH: "Out for delivery",
    OrderAction.SIGN: "Signed by the customer",
    OrderAction.REPORT_EXCEPTION: "Report an exception",
    OrderAction.RESUME: "Resume delivery",
    OrderAction.START_RETURN: "Start a return (refused)",
    OrderAction.COMPLETE_RETURN: "Return received",
    OrderAction.START_CLAIM: "Start a claim (damaged)",
    OrderAction.SETTLE_CLAIM: "Settle the claim",
    OrderAction.CANCEL: "Cancel the order",
}
NEEDS_REASON = {
    OrderAction.CANCEL,
    OrderAction.REPORT_EXCEPTION,
    OrderAction.REPORT_OUT_OF_STOCK,
    OrderAction.START_RETURN,
    OrderAction.START_CLAIM,
}

FINAL_ACTIONS = {
    OrderAction.SIGN,
    OrderAction.CANCEL,
    OrderAction.COMPLETE_RETURN,
    OrderAction.SETTLE_CLAIM,
}
"""Actions that end an order's life: nothing leads out of where they lead."""
