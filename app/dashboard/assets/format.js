// Numbers, times and sizes as people read them.

const integer = new Intl.NumberFormat('en', {maximumFractionDigits: 0});

export function count(value) {
  return integer.format(value);
}

/** Significant digits for statistics: 0.4231, 0.0012, 12.35. */
export function number(value, digits = 4) {
  if (value === null || value === undefined) return '—';
  if (value === 0) return '0';
  return Number(value).toPrecision(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

export function seconds(value) {
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 120) return `${number(value, 3)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

export function age(isoTime, now = Date.now()) {
  if (!isoTime) return '—';
  const elapsed = Math.max(0, (now - Date.parse(isoTime)) / 1000);
  if (elapsed < 60) return `${Math.floor(elapsed)} s ago`;
  if (elapsed < 3600) return `${Math.floor(elapsed / 60)} min ago`;
  if (elapsed < 86400) return `${Math.floor(elapsed / 3600)} h ago`;
  return `${Math.floor(elapsed / 86400)} d ago`;
}

export function bytes(value) {
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${number(value / 1024, 3)} kB`;
  return `${number(value / 1024 / 1024, 3)} MB`;
}

export function percent(done, total) {
  return total > 0 ? `${Math.floor((100 * done) / total)} %` : '—';
}

export function shortId(jobId) {
  return String(jobId).slice(0, 8);
}
