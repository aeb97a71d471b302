// Colour maps, value scales and number labels shared by the pages and the live page's browser
// script: pure code with no imports, so it bundles for the browser.

export type Rgb = readonly [number, number, number];

/** Sequential map for non-negative values (viridis stops): dark purple at 0 to yellow at the max. */
export const SEQUENTIAL: readonly Rgb[] = [
  [68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37],
];

/** Diverging map for signed values (RdBu reversed): blue below 0, white at 0, red above. */
export const DIVERGING: readonly Rgb[] = [
  [33, 102, 172], [103, 169, 207], [247, 247, 247], [239, 138, 98], [178, 24, 43],
];

/** The colour at t in [0, 1] (clamped), interpolated linearly between evenly spaced stops. */
export function colorAt(stops: readonly Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i, a = stops[i], b = stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as unknown as Rgb;
}

export function rgbCss(c: Rgb): string {
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** A value scale shared by every map of one layer: signed values get a symmetric diverging one. */
export interface Scale {
  kind: 'sequential' | 'diverging';
  lo: number;
  hi: number;
}

export function scaleFor(values: ArrayLike<number>): Scale {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(min <= max)) return { kind: 'sequential', lo: 0, hi: 1 };
  if (min < 0) {
    const m = Math.max(-min, max) || 1;
    return { kind: 'diverging', lo: -m, hi: m };
  }
  return { kind: 'sequential', lo: 0, hi: max || 1 };
}

/** Short number for labels: 4 significant digits, no exponent for everyday magnitudes. */
export function fmtNum(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(+v.toPrecision(4));
  return v.toExponential(2);
}
