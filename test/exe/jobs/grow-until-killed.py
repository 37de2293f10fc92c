# Grows a list of rows until the OOM killer ends it: what a job without a guard does past its limit.
rows = []
while True:
    rows.append(b"\x01" * (4 << 20))
