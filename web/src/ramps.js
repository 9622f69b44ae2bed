// Colour ramps (colour-blind safe) and class breaks for legends.

/** Viridis, 6 steps (perceptually uniform, colour-blind safe): talent density. */
export const VIRIDIS = ['#440154', '#414487', '#2a788e', '#22a884', '#7ad151', '#fde725'];
/** Cividis, 6 steps (designed for colour-vision deficiency): vacancy density. */
export const CIVIDIS = ['#00224e', '#35456c', '#666970', '#948e77', '#c8b866', '#fee838'];
/** ColorBrewer Blues, 6 steps: region counts. */
export const BLUES = ['#eff3ff', '#c6dbef', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];
/** ColorBrewer PuOr (diverging, colour-blind safe), 5 steps: jobs-to-applicants
 *  ratio around 1 (purple = more seekers than openings, orange = shortage). */
export const PUOR = ['#5e3c99', '#b2abd2', '#f7f7f7', '#fdb863', '#e66101'];
/** Fixed ratio breaks: symmetric around 1 on a log scale. */
export const RATIO_BREAKS = [0.5, 0.8, 1.25, 2];

export const NO_DATA = '#c8c8c8';

/** Rounds to two significant digits (5, 12, 30, 85, 240, 1,200 …). */
export function nice(v) {
  if (v < 10) return Math.max(1, Math.round(v));
  const m = 10 ** (Math.floor(Math.log10(v)) - 1);
  return Math.round(v / m) * m;
}

/**
 * Class breaks for a step ramp: quantiles of `values`, rounded to nice
 * numbers, strictly increasing and all greater than `min` (the first class
 * starts at `min`). Returns at most `classes - 1` breaks.
 */
export function quantileBreaks(values, classes, min = 0) {
  const sorted = values.filter((v) => Number.isFinite(v) && v >= min).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const breaks = [];
  for (let i = 1; i < classes; i += 1) {
    const q = sorted[Math.min(sorted.length - 1, Math.floor((i / classes) * sorted.length))];
    const b = nice(q);
    if (b > min && (breaks.length === 0 || b > breaks[breaks.length - 1])) breaks.push(b);
  }
  return breaks;
}

/** MapLibre `step` expression over `input` with `colors[0..=breaks.length]`. */
export function stepExpression(input, breaks, colors) {
  const picked = pickColors(colors, breaks.length + 1);
  if (breaks.length === 0) return picked[0];
  const expr = ['step', input, picked[0]];
  breaks.forEach((b, i) => expr.push(b, picked[i + 1]));
  return expr;
}

/** `n` colours spread over a ramp, keeping its ends. */
export function pickColors(colors, n) {
  if (n >= colors.length) return colors.slice();
  if (n === 1) return [colors[Math.floor(colors.length / 2)]];
  return Array.from({ length: n }, (_, i) => colors[Math.round((i * (colors.length - 1)) / (n - 1))]);
}

/** Legend rows [{color, from, to}] for integer classes starting at `min`;
 *  `to` is null for the open top class. */
export function legendClasses(breaks, colors, min) {
  const picked = pickColors(colors, breaks.length + 1);
  const bounds = [min, ...breaks];
  return bounds.map((from, i) => ({ color: picked[i], from, to: i < breaks.length ? breaks[i] : null }));
}
