"""A stand-in for an Airflow task: it loads rows into memory and writes them out in one file."""
import os
import tempfile

rows = [{"id": i, "name": f"customer-{i}", "amount": (i * 7919) % 10_000} for i in range(int(os.environ.get("ROWS", "300000")))]
with open(os.path.join(tempfile.gettempdir(), "out.csv"), "w") as out:
    for row in rows:
        out.write(f"{row['id']},{row['name']},{row['amount']}\n")
print(f"wrote {len(rows)} rows")
