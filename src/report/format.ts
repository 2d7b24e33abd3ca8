// Text helpers shared by the SVG charts and the HTML page: escaping and short number formatting.

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A short label for an axis tick or a bar: 3 significant digits at most, exponent for tiny/huge values. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(1).replace('e+', 'e');
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return String(Number(x.toFixed(2)));
  return String(Number(x.toPrecision(2)));
}

/** A fraction in [0, 1] as a percentage with one decimal ("n/a" for NaN: a class absent from truth and prediction). */
export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a';
}

/** CSS colour of an RGB triple. */
export function cssColor(c: readonly number[]): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}
