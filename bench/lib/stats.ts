// Small statistics for the benchmark: medians, nearest-rank percentiles, rounding.

export const sorted = (values: ReadonlyArray<number>): Array<number> => [...values].sort((a, b) => a - b)

/** Nearest-rank percentile (`p` in 0..100) of a non-empty list. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const ordered = sorted(values)
  const rank = Math.max(1, Math.ceil((p / 100) * ordered.length))
  return ordered[Math.min(rank, ordered.length) - 1]!
}

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const ordered = sorted(values)
  const middle = ordered.length >> 1
  return ordered.length % 2 === 1 ? ordered[middle]! : (ordered[middle - 1]! + ordered[middle]!) / 2
}

/** `digits` significant decimals for reports: 1234.5678 → 1234.6 (1), 0.012345 → 0.0123 (3 significant). */
export const round = (value: number, digits = 1): number => {
  if (!Number.isFinite(value)) return value
  if (Math.abs(value) >= 1 || value === 0) return Number(value.toFixed(digits))
  return Number(value.toPrecision(Math.max(digits, 3)))
}
