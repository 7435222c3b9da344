"""Chalice entry point. It only wires: the API's routes are declared from the route table
(functions/routes.py) and each capability's module loads on its first request
(functions.core.lazy); the queue, stream and schedule functions live in
functions/<capability>/background.py as Blueprints."""

from chalice import Chalice

from functions.bookings.background import blueprint as booking_jobs
from functions.broadcasts.background import blueprint as broadcast_jobs
from functions.core import lazy
from functions.core.http import error_middleware
from functions.inbox.background import blueprint as inbox_jobs
from functions.notifications.background import blueprint as notification_jobs
from functions.orders.background import blueprint as order_jobs
from functions.reminders.background import blueprint as reminder_jobs
from functions.routes import CONTENT_TYPES, ROUTES
from functions.segments.background import blueprint as segment_jobs

app = Chalice(app_name="wechat-retail")
app.register_middleware(error_middleware, "http")
lazy.declare(app, ROUTES, CONTENT_TYPES)

# One line per capability with work in the background.
app.register_blueprint(booking_jobs)
app.register_blueprint(broadcast_jobs)
app.register_blueprint(inbox_jobs)
app.register_blueprint(notification_jobs)
app.register_blueprint(order_jobs)
app.register_blueprint(reminder_jobs)
app.register_blueprint(segment_jobs)
