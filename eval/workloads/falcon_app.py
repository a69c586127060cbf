# Workload "falcon": a tiny Falcon WSGI app served by wsgiref on 127.0.0.1 (an ephemeral port) in a thread,
# and a client in the main thread sending bounded requests (at most ~200 per second). READY after the first
# response, then loops until killed.
import http.client
import json
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import falcon


class Items:
    def on_get(self, req, resp, item_id):
        resp.media = {"id": item_id, "name": f"item-{item_id}", "tags": ["a", "b"], "n": len(req.params)}

    def on_post(self, req, resp, item_id):
        body = req.get_media()
        resp.media = {"id": item_id, "sum": sum(body.get("values", []))}


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


app = falcon.App()
app.add_route("/items/{item_id:int}", Items())
server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]


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
