"""The pool rows of bench/_pool_peers.ts for Python: concurrent.futures.ProcessPoolExecutor.

usage: _pool_python.py WORKERS  -> RESULT lines (tasks/s, start-up ms)
"""
import sys, time, os
import concurrent.futures as cf
from multiprocessing import resource_tracker, shared_memory

def empty():
    return None

def echo(v):
    return v

def length(b):
    return len(b) + (b[0] if len(b) else 0)

_shm = {}
def length_shared(name, n):
    s = _shm.get(name)
    if s is None:
        s = _shm[name] = shared_memory.SharedMemory(name=name)
        # Python 3.11 has no track=False: the parent removes it, not this worker's tracker.
        resource_tracker.unregister(s._name, "shared_memory")
    return n + s.buf[0]

def pid():
    return os.getpid()

def rate(ex, n, fn, *args):
    t = time.perf_counter()
    for f in [ex.submit(fn, *args) for _ in range(n)]:
        f.result()
    return n / (time.perf_counter() - t)

if __name__ == "__main__":
    workers = int(sys.argv[1])
    t = time.perf_counter()
    with cf.ProcessPoolExecutor(workers) as ex:
        seen = set()
        while len(seen) < workers:
            seen.update(f.result() for f in [ex.submit(pid) for _ in range(workers * 4)])
        print(f"RESULT row=startup ms={(time.perf_counter() - t) * 1000:.1f}")
        rate(ex, 500, empty)
        print(f"RESULT row=empty per_s={rate(ex, 5000, empty):.0f}")
        print(f"RESULT row=4k per_s={rate(ex, 3000, echo, bytes(4096)):.0f}")
        print(f"RESULT row=1m-copied per_s={rate(ex, 200, length, bytes(1 << 20)):.0f}")
        shm = shared_memory.SharedMemory(create=True, size=1 << 20)
        try:
            print(f"RESULT row=1m-shared per_s={rate(ex, 3000, length_shared, shm.name, 1 << 20):.0f}")
        finally:
            shm.close(); shm.unlink()
