"""Who consumes the `order_recorded` event (an SQS message on the order-events queue).

Each entry is "module:function"; the function takes the event dict (Order.to_event())
and must be idempotent: the event can be delivered more than once.
"""

SUBSCRIBERS: list[str] = [
    "functions.reminders.due:on_order_recorded",
    "functions.coupons.triggers:on_order_recorded",
]
