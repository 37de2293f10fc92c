# A Python ETL step that reads a whole CSV into a list of dicts before totalling it: the container's
# memory grows with the file, and a heap profiler started afterwards would see little. Profile it:
#   headroom run --profile --memory 512m -- python3 examples/load-csv.py
#   headroom run --profile --memory 512m -- python3 examples/load-csv.py --chunked   (the fix)
import csv
import os
import sys
import tempfile

ROWS = int(os.environ.get("ROWS", "400000"))


def write_input(path):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "city", "amount", "note"])
        for i in range(ROWS):
            out.writerow([i, "city-%d" % (i % 50), i % 997, "order %d shipped" % i])


def load_everything(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def total(rows, totals):
    for row in rows:
        totals[row["city"]] = totals.get(row["city"], 0) + int(row["amount"])


def main():
    path = os.path.join(tempfile.gettempdir(), "load-csv-%d.csv" % os.getpid())
    write_input(path)
    totals = {}
    try:
        if "--chunked" in sys.argv:
            with open(path, newline="") as f:
                chunk = []
                for row in csv.DictReader(f):
                    chunk.append(row)
                    if len(chunk) == 5000:
                        total(chunk, totals)
                        chunk = []
                total(chunk, totals)
        else:
            total(load_everything(path), totals)
    finally:
        os.remove(path)
    print("%d cities, %d in all" % (len(totals), sum(totals.values())))


main()
