# Holds STEP_MIB more anonymous memory every 100 ms until the OOM killer stops it: a steady leak in the main process, so anon-growth.
import sys, time

step = int(sys.argv[1]) << 20
held = []
while True:
    held.append(b"\x01" * step)
    time.sleep(0.1)
