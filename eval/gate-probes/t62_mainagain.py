# Gate probe for the precise root policy (eval/gate-probes.mjs): functions with a live frame that call a kernel before
# the point they run now, each of which can run from its start again, so each kernel stays required: `work` is called
# again from main's loop, `serve` is a generator (an unstarted one made earlier runs it whole), `again` is kept by a
# decorator (a thread runs it from the registry, not by its name), and `twice`'s frames are nested in a thread that
# `twice` named as a value.
# expect: avx512_bf16 avx512_bitalg avx512vbmi avx512_vbmi2
import threading
import time
import gatekern

registry = []


def keep(f):
    registry.append(f)
    return f


def work(n):
    gatekern.signal_kernel(1)
    while n:
        time.sleep(0.001)
        n -= 1


def serve():
    gatekern.reduce_kernel(1, 2)
    while True:
        yield time.sleep(0.001)


@keep
def again():
    gatekern.async_kernel(1)
    while True:
        time.sleep(0.01)


def twice(depth):
    gatekern.map_kernel(1)
    if depth:
        twice(depth - 1)
    while True:
        time.sleep(0.01)


def main():
    later = serve()
    runner = serve()
    next(runner)
    threading.Thread(target=lambda: [None for _ in runner], daemon=True).start()
    threading.Thread(target=lambda: registry[0](), daemon=True).start()
    threading.Thread(target=twice, args=(1,), daemon=True).start()
    print("READY", flush=True)
    while True:
        work(10**6)
        next(later, None)


if __name__ == "__main__":
    main()
