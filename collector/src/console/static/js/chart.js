// A stacked bar chart in SVG, built with createElementNS: alerts per month, one colour per
// category, with a legend. No chart library; the same figures are also given as a table.
// A suppressed figure (governors: "fewer than 3") has no height to draw: it is not stacked,
// but shown as a small hatched box above its bar so the reader knows something is there.

const NS = 'http://www.w3.org/2000/svg';
/** Colour-blind-friendly palette (Okabe–Ito, extended). */
const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#F0E442',
  '#000000',
  '#7F7F7F',
  '#332288',
  '#88CCEE',
  '#117733',
];

/** @param {string} tag @param {Record<string, string | number>} attrs @param {string} [text] */
function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

let charts = 0;

/**
 * @param {{ month: string, category: string, count: number, suppressed?: boolean }[]} rows
 * @param {{ title: string }} opts
 */
export function stackedBars(rows, opts) {
  const hatchId = `hatch-${++charts}`;
  const months = [...new Set(rows.map((r) => r.month))].sort();
  const categories = [...new Set(rows.map((r) => r.category))].sort();
  const colour = (/** @type {string} */ c) => PALETTE[categories.indexOf(c) % PALETTE.length] ?? '#333';
  const totals = months.map((m) => rows.filter((r) => r.month === m).reduce((a, r) => a + r.count, 0));
  const max = Math.max(1, ...totals);
  const W = 720;
  const H = 300;
  const pad = { l: 44, r: 12, t: 16, b: 40 };
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  const band = plotW / Math.max(1, months.length);
  const barW = Math.min(60, band * 0.6);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H + 24 + Math.ceil(categories.length / 4) * 18}`,
    role: 'img',
    class: 'chart',
    'aria-label': opts.title,
  });
  svg.appendChild(s('title', {}, opts.title));
  const defs = s('defs', {});
  const hatch = s('pattern', {
    id: hatchId,
    width: 6,
    height: 6,
    patternUnits: 'userSpaceOnUse',
    patternTransform: 'rotate(45)',
  });
  hatch.appendChild(s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#333', 'stroke-width': 2 }));
  defs.appendChild(hatch);
  svg.appendChild(defs);
  // y axis with 4 ticks
  for (let i = 0; i <= 4; i++) {
    const v = Math.round((max * i) / 4);
    const y = pad.t + plotH - (plotH * v) / max;
    svg.appendChild(s('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'grid' }));
    svg.appendChild(s('text', { x: pad.l - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, String(v)));
  }
  months.forEach((m, i) => {
    const x = pad.l + band * i + (band - barW) / 2;
    let y = pad.t + plotH;
    /** @type {string[]} */
    const hiddenHere = [];
    for (const c of categories) {
      const cell = rows.filter((r) => r.month === m && r.category === c);
      const n = cell.reduce((a, r) => a + r.count, 0);
      if (cell.some((r) => r.suppressed)) hiddenHere.push(c);
      if (!n) continue;
      const hgt = (plotH * n) / max;
      y -= hgt;
      const rect = s('rect', { x, y, width: barW, height: hgt, fill: colour(c) });
      rect.appendChild(s('title', {}, `${m} · ${c}: ${n}`));
      svg.appendChild(rect);
    }
    for (const c of hiddenHere) {
      y -= 8;
      const rect = s('rect', {
        x,
        y,
        width: barW,
        height: 8,
        fill: `url(#${hatchId})`,
        stroke: colour(c),
        class: 'suppressed',
      });
      rect.appendChild(s('title', {}, `${m} · ${c}: fewer than 3`));
      svg.appendChild(rect);
    }
    svg.appendChild(
      s('text', { x: x + barW / 2, y: pad.t + plotH + 16, 'text-anchor': 'middle', class: 'tick' }, m),
    );
    // With hidden figures the shown sum is only a lower bound.
    const label = `${totals[i]}${hiddenHere.length ? '+' : ''}`;
    svg.appendChild(s('text', { x: x + barW / 2, y: y - 4, 'text-anchor': 'middle', class: 'tick' }, label));
  });
  categories.forEach((c, i) => {
    const lx = pad.l + (i % 4) * 170;
    const ly = H + 8 + Math.floor(i / 4) * 18;
    svg.appendChild(s('rect', { x: lx, y: ly, width: 12, height: 12, fill: colour(c) }));
    svg.appendChild(s('text', { x: lx + 18, y: ly + 11, class: 'legend' }, c));
  });
  return svg;
}
