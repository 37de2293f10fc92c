# Grows in 8 MiB steps past the limit that applies; run inside a parent cgroup with a lower limit than --memory, so parent-limit.
import time

held = []
while True:
    held.append(b"\x01" * (8 << 20))
    time.sleep(0.02)
