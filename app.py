"""Chalice entry point. It only wires: every route, queue consumer and schedule lives in
functions/<capability>/handlers.py as a Blueprint."""

from chalice import Chalice

from functions.auth.handlers import blueprint as auth
from functions.bookings.handlers import blueprint as bookings
from functions.broadcasts.handlers import blueprint as broadcasts
from functions.callback.handlers import blueprint as callback
from functions.console import (
    broadcasts as _broadcast_pages,  # noqa: F401 - its pages join the console Blueprint
)
from functions.console import inbox as _inbox_pages  # noqa: F401 - its pages join the console Blueprint
from functions.console import segments as _segment_pages  # noqa: F401 - its pages join the console Blueprint
from functions.console.handlers import blueprint as console
from functions.core.http import error_middleware
from functions.coupons.handlers import blueprint as coupons
from functions.h5 import points as _points_pages  # noqa: F401 - its pages join the h5 Blueprint
from functions.h5 import warranty as _warranty_pages  # noqa: F401 - its pages join the h5 Blueprint
from functions.h5.handlers import blueprint as h5
from functions.health.handlers import blueprint as health
from functions.inbox.handlers import blueprint as inbox
from functions.logistics.handlers import blueprint as logistics
from functions.notifications.handlers import blueprint as notifications
from functions.operators.handlers import blueprint as operators
from functions.orders.handlers import blueprint as orders
from functions.points.handlers import blueprint as points
from functions.reminders.handlers import blueprint as reminders
from functions.segments.handlers import blueprint as segments
from functions.stores.handlers import blueprint as stores
from functions.warranty.handlers import blueprint as warranty

app = Chalice(app_name="wechat-retail")
app.register_middleware(error_middleware, "http")

# One line per capability.
app.register_blueprint(health)
app.register_blueprint(bookings)
app.register_blueprint(coupons)
app.register_blueprint(callback)
app.register_blueprint(stores)
app.register_blueprint(notifications)
app.register_blueprint(auth)
app.register_blueprint(orders)
app.register_blueprint(logistics)
app.register_blueprint(reminders)
app.register_blueprint(h5)
app.register_blueprint(operators)
app.register_blueprint(console)
app.register_blueprint(warranty)
app.register_blueprint(inbox)
app.register_blueprint(points)
app.register_blueprint(segments)
app.register_blueprint(broadcasts)
