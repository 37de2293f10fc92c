# Loads rows into memory in a function of its own, so that an allocation profile has a site to name.
import sys


def load_rows(count):
    rows = []
    for i in range(count):
        rows.append({"id": i, "name": "customer-%d" % i, "amount": (i * 7919) % 10000})
    return rows


if __name__ == "__main__":
    rows = load_rows(int(sys.argv[1]) if len(sys.argv) > 1 else 300000)
    print("loaded %d rows" % len(rows))
