# Anchor for bench/holds.ts: the "holds" model (K processes, each holding N times for an
# exponential delay) on SimPy 2 (Debian's python3-simpy; run with /usr/bin/python3).
# Usage: python3 simpy2_holds.py K N   -> prints "... <x> Mev/s ...".
import random
import sys
import time

from SimPy.Simulation import Process, activate, hold, initialize, now, simulate

K = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
draw = random.Random(1)


class Holder(Process):
    def body(self):
        for _ in range(N):
            yield hold, self, draw.expovariate(1.0)


initialize()
for _ in range(K):
    h = Holder()
    activate(h, h.body())
start = time.perf_counter()
simulate(until=1e18)
secs = time.perf_counter() - start
print(f"simpy2 K={K} N={N} events={K * N} {K * N / secs / 1e6:.3f} Mev/s ({secs:.2f}s) end={now():.1f}")
