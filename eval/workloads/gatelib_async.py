# Library module of the gate-concurrency workload: an asyncio event loop whose task calls a native kernel,
# scheduled by the loop (callbacks from asyncio's C and Python machinery).
import asyncio

import gatekern


async def _pump():
    i = 0
    while True:
        gatekern.async_kernel(i)  # AVX512VBMI
        i += 1
        await asyncio.sleep(0)


def run_forever(ready):
    async def main():
        task = asyncio.get_running_loop().create_task(_pump())
        await asyncio.sleep(0.05)
        ready()
        await task

    asyncio.run(main())
