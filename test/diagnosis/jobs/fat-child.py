# A parent with three small children and one that grows past the limit: the memory is one child's, not the top process's, so child-process.
import os, sys, time

def child(size_mib, grow):
    held = [b"\x01" * (size_mib << 20)]
    while grow:
        held.append(b"\x01" * (8 << 20))
        time.sleep(0.05)
    time.sleep(2)
    os._exit(0)

pids = []
for size_mib, grow in [(10, False), (10, False), (10, False), (16, True)]:
    pid = os.fork()
    if pid == 0:
        child(size_mib, grow)
    pids.append(pid)
failed = 0
for pid in pids:
    _, status = os.waitpid(pid, 0)
    failed += status != 0
sys.exit(1 if failed else 0)
