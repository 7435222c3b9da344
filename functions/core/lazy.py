"""Routes declared by name, whose modules load on their first request.

Chalice serves the routes a function declares when `app.py` is imported, and the API function
imports `app.py` on its cold start. Declaring every route by importing every capability's
handlers would load all of the domain (~150 modules) before the first request. So `app.py`
declares each route from the route table (functions/routes.py: path, method, content types and
the module and view that serve it) with a stand-in view; the stand-in imports the module on the
route's first request in this container, and from then on calls the module's view.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import chalice

from functions.core import http

# module -> its routes as (method, path, view name)
RouteTable = Mapping[str, Sequence[tuple[str, str, str]]]
# (method, path) -> the content types of a route that accepts more than JSON
ContentTypes = Mapping[tuple[str, str], Sequence[str]]
# One first import at a time: two threads each importing a module that the other's imports
# need could each wait on the other's import lock.
_importing = threading.Lock()


def declare(app: chalice.Chalice, routes: RouteTable, content_types: ContentTypes) -> None:
    """Declare every route of `routes` on `app`, each served by its module once imported."""
    for module, entries in routes.items():
        for method, path, view in entries:
            types = list(content_types.get((method, path), http.JSON_ONLY))
            app.route(path, methods=[method], content_types=types, name=view)(
                _stand_in(app, module, method, path, view)
            )


def import_all(routes: RouteTable) -> None:
    """Import every module of `routes`, declaring all of their routes (for the OpenAPI document)."""
    with _importing:
        for module in routes:
            importlib.import_module(module)


def _stand_in(app: chalice.Chalice, module: str, method: str, path: str, name: str) -> Callable[..., Any]:
    def view(**params: Any) -> Any:
        return _view(app, module, method, path)(**params)

    # Named as the view it stands for: deploy tools read where a route's code is (infra/access.py).
    view.__module__, view.__name__, view.__qualname__ = module, name, name
    return view


@functools.cache
def _view(app: chalice.Chalice, module: str, method: str, path: str) -> Callable[..., Any]:
    with _importing:
        importlib.import_module(module)
    for spec in http.ROUTES:
        if spec.path == path and method in spec.methods and spec.view is not None:
            if spec.blueprint is not None:
                spec.blueprint.serve(app)
            return spec.view
    raise LookupError(f"{module} declares no {method} {path}: regenerate functions/routes.py")
