# Workload "fastapi": a tiny FastAPI app served by uvicorn on 127.0.0.1 (an ephemeral port) in a thread, and
# a client in the main thread sending bounded requests (at most ~200 per second). READY after the first
# response, then loops until killed.
import http.client
import json
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Values(BaseModel):
    values: list[int]


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str = ""):
    return {"id": item_id, "name": f"item-{item_id}", "q": q}


@app.post("/items/{item_id}")
def sum_item(item_id: int, body: Values):
    return {"id": item_id, "sum": sum(body.values)}


sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
server.install_signal_handlers = lambda: None
threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
while not server.started:
    time.sleep(0.05)


def step(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    if i % 2:
        conn.request("GET", f"/items/{i % 100}?q=x")
    else:
        conn.request("POST", f"/items/{i % 100}", body=json.dumps({"values": [1, 2, i % 7]}), headers={"Content-Type": "application/json"})
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


step(0)
step(1)
print("READY", flush=True)
i = 0
while True:
    t = time.monotonic()
    step(i)
    i += 1
    time.sleep(max(0.0, 0.005 - (time.monotonic() - t)))
