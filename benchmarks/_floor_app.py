"""The HTTP floor for ``bench_service.py``: a bare FastAPI app served by uvicorn like
``underfoot-lab serve``, answering production's contract with one fixed body and no search.

What it costs to start and to answer is what the framework and the server cost; the service's
figures over this floor are what the search itself adds.

    python benchmarks/_floor_app.py PORT
"""

from __future__ import annotations

import sys
import uuid

import uvicorn
from fastapi import FastAPI

app = FastAPI()

_PLACE = {
    "name": "A fixed place",
    "description": "The same answer every time.",
    "source": "serp",
    "url": "https://example.org/place",
    "score": 0.5,
    "category": "primary",
}


@app.get("/health")
def health() -> dict[str, object]:
    return {"status": "healthy", "dependencies": {}, "version": "floor"}


@app.post("/underfoot/search")
def search(body: dict[str, object]) -> dict[str, object]:
    return {
        "user_intent": "hidden gems",
        "user_location": str(body.get("chat_input", ""))[:80],
        "response": "A fixed answer.",
        "places": [_PLACE],
        "debug": {"request_id": uuid.uuid4().hex, "execution_time_ms": 0, "cache": "hit"},
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
