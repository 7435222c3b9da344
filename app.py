"""Chalice entry point. It only wires: every route, queue consumer and schedule lives in
functions/<capability>/handlers.py as a Blueprint."""

from chalice import Chalice

from functions.core.http import error_middleware
from functions.health.handlers import blueprint as health

app = Chalice(app_name="wechat-retail")
app.register_middleware(error_middleware, "http")

# One line per capability.
app.register_blueprint(health)
