# Forks COUNT workers that each hold SIZE_MIB at once, past the limit together: no process holds most of it, so workers.
import os, sys, time

count, size_mib = int(sys.argv[1]), int(sys.argv[2])
pids = []
for _ in range(count):
    pid = os.fork()
    if pid == 0:
        block = b"\x01" * (size_mib << 20)
        time.sleep(3)
        os._exit(0)
    pids.append(pid)
failed = 0
for pid in pids:
    _, status = os.waitpid(pid, 0)
    failed += status != 0
sys.exit(1 if failed else 0)
