"""The search as a service, and any service speaking production's contract as a system under
test.

* :mod:`.models`: production's HTTP contract in pydantic (shared by server and client);
* :mod:`.app`: ``create_app(settings)``, the FastAPI app (``underfoot-lab serve``);
* :mod:`.client`: a typed client for any service speaking the contract;
* :mod:`.load`: a bounded load test (``underfoot-lab load``).

Nothing is imported here: the app needs the ``service`` extra (FastAPI, uvicorn, structlog,
prometheus-client), the models, the client and the load test only pydantic and httpx.
"""
