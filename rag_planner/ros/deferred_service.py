"""
An executor that lets a service answer later, from another thread.

rclpy hands a service callback only the request; the answer must be the
callback's return value. An ``async`` callback awaiting a future works, but
every pending request is then a task the executor re-polls on each wake-up,
and the answer leaves only when the executor thread gets to it. With this
executor a service registered through ``defer`` gets the request and its
header at once; the engine thread that has the answer sends it with the
public ``Service.send_response(response, header)``.

A node using a deferred service keeps an ordinary callback too, so it still
works under any other executor (component containers, launch_testing).
"""

import threading
from typing import Callable

from rclpy.exceptions import InvalidHandle
from rclpy.executors import SingleThreadedExecutor
from rclpy.service import Service


class DeferredServiceExecutor(SingleThreadedExecutor):
    """A single-threaded executor that passes deferred services' requests on with headers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._deferred: dict = {}
        self._send_lock = threading.Lock()

    def defer(self, service: Service, handler: Callable) -> None:
        """Route ``service``'s requests to ``handler(request, respond, header)``."""
        self._deferred[service] = handler

    def _take_service(self, srv):
        handler = self._deferred.get(srv)
        if handler is None:
            return super()._take_service(srv)
        try:
            with srv.handle:
                request, header = srv.handle.service_take_request(srv.srv_type.Request)
        except InvalidHandle:
            return None
        if header is None:
            return None

        def respond(response) -> None:
            with self._send_lock:
                try:
                    srv.send_response(response, header)
                except InvalidHandle:  # the service is gone (shutdown): nobody to answer
                    pass

        async def _execute():
            handler(request, respond, header)
        return _execute
