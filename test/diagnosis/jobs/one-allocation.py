# Makes one allocation larger than the limit in the main process, with nothing before it: anon-growth.
import sys

block = b"\x01" * (int(sys.argv[1]) << 20)
print(len(block))
