/** Index of the last time at or before timeMs in ascending times, -1 when every time is later. */
export function lastAtOrBefore(times: ArrayLike<number>, timeMs: number): number {
  let low = 0;
  let high = times.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if ((times[mid] ?? Number.POSITIVE_INFINITY) <= timeMs) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}
