export interface Point {
  t: number;
  value: number;
}

/** Least squares: the slope (value units per time unit) and the coefficient of determination. */
export function linearFit(points: readonly Point[]): { slope: number; r2: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, r2: 0 };
  let st = 0;
  let sv = 0;
  for (const p of points) {
    st += p.t;
    sv += p.value;
  }
  const mt = st / n;
  const mv = sv / n;
  let stt = 0;
  let stv = 0;
  let svv = 0;
  for (const p of points) {
    stt += (p.t - mt) ** 2;
    stv += (p.t - mt) * (p.value - mv);
    svv += (p.value - mv) ** 2;
  }
  if (stt === 0 || svv === 0) return { slope: 0, r2: 0 };
  return { slope: stv / stt, r2: (stv * stv) / (stt * svv) };
}
