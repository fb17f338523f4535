// The batches pages: GET /batches (the key's batches) and GET /batches/{id} (counts by
// status, progress and, with labels, certified accuracy against radius so far).

import {url} from './api.js';
import {JOB_STATUSES} from './contract.js';
import {byId, clear, el, say, svg} from './dom.js';
import {age, count, number, shortId} from './format.js';
import {PolledRead} from './poller.js';

export function batchLink(batchId) {
  return url(`/dashboard/batches/${encodeURIComponent(batchId)}`);
}

function countsText(batch) {
  const counts = batch.counts;
  return JOB_STATUSES
    .filter((name) => counts[name]).map((name) => `${count(counts[name])} ${name}`).join(', ')
    || 'no files yet';
}

export class BatchesView extends PolledRead {
  constructor() {
    super('/batches?limit=50', {messageId: 'batches-message', baseMs: 2000});
  }

  render({batches}) {
    byId('batches-empty').hidden = batches.length > 0;
    clear(byId('batches-body')).append(...batches.map((batch) => el('tr',
      {dataset: {batchId: batch.batch_id}},
      el('td', {}, el('a', {href: batchLink(batch.batch_id), class: 'mono', title: batch.batch_id,
                             text: shortId(batch.batch_id)})),
      el('td', {dataset: {status: batch.status}}, batch.status),
      el('td', {}, batch.model),
      el('td', {}, countsText(batch)),
      el('td', {}, el('time', {datetime: batch.created_at, text: age(batch.created_at)})))));
  }
}

// Certified accuracy (the fraction of labelled images certified correct at radius >= r)
// at the standard radii, as points joined by lines (measured at those radii only).
function accuracyCurve(metrics) {
  const points = Object.entries(metrics.certified_accuracy)
    .map(([radius, accuracy]) => [Number(radius), accuracy]).sort((a, b) => a[0] - b[0]);
  const top = Math.max(...points.map(([radius]) => radius), 0.01);
  const [width, height, left, bottom] = [480, 200, 40, 30];
  const x = (radius) => left + ((width - left - 10) * radius) / top;
  const y = (accuracy) => 10 + (height - bottom - 10) * (1 - accuracy);
  const path = points.map(([radius, accuracy], i) => `${i ? 'L' : 'M'}${x(radius)},${y(accuracy)}`);
  // The 95% interval at each radius (exact binomial): upper ends left to right, lower ends back.
  // (The keys are the radii as the contract writes them, which String() gives back.)
  const interval = metrics.certified_accuracy_interval ?? {};
  const ends = points.filter(([radius]) => interval[String(radius)]);
  const bounds = (radius) => interval[String(radius)];
  const band = [...ends.map(([radius]) => [x(radius), y(bounds(radius)[1])]),
                ...ends.slice().reverse().map(([radius]) => [x(radius), y(bounds(radius)[0])])]
    .map(([px, py], i) => `${i ? 'L' : 'M'}${px},${py}`).join(' ') + (ends.length ? ' Z' : '');
  return svg('svg', {viewBox: `0 0 ${width} ${height}`, class: 'batch-curve', role: 'img',
                     'aria-label': 'Certified accuracy against radius'},
    svg('line', {x1: left, x2: width - 10, y1: y(0), y2: y(0), class: 'axis'}),
    svg('line', {x1: left, x2: left, y1: y(0), y2: y(1), class: 'axis'}),
    svg('text', {x: left - 4, y: y(1) + 4, 'text-anchor': 'end', class: 'gate-label', text: '1'}),
    svg('text', {x: left - 4, y: y(0) + 4, 'text-anchor': 'end', class: 'gate-label', text: '0'}),
    svg('text', {x: left, y: y(0) + 14, 'text-anchor': 'middle', class: 'gate-label', text: '0'}),
    svg('text', {x: x(top), y: y(0) + 14, 'text-anchor': 'middle', class: 'gate-label',
                 text: number(top)}),
    svg('text', {x: (left + width) / 2, y: height - 2, 'text-anchor': 'middle', class: 'gate-label',
                 text: 'radius'}),
    ends.length ? svg('path', {d: band, class: 'curve-band'},
                          svg('title', {text: '95% interval (exact binomial, over the images)'}))
      : [],
    svg('path', {d: path.join(' '), class: 'curve'}),
    points.map(([radius, accuracy]) => svg('circle', {cx: x(radius), cy: y(accuracy), r: 3,
                                                      class: 'curve-point'},
      svg('title', {text: `radius ${number(radius)}: ${number(accuracy)}`}))));
}

function metricsPanel(batch) {
  const metrics = batch.metrics;
  if (!metrics) {
    return el('p', {class: 'help', text: batch.labeled ? 'No labelled image has ended yet.'
      : 'No labels: send `labels` with the files to see certified accuracy.'});
  }
  return el('div', {},
    el('h2', {text: 'Certified accuracy against radius'}),
    accuracyCurve(metrics),
    el('p', {id: 'batch-metrics', class: 'help',
             text: `${count(metrics.images)} labelled images: ACR ${number(metrics.acr)}, clean `
               + `accuracy ${number(metrics.clean_accuracy)}, abstention ${number(metrics.abstention_rate)}`
               + ` (the measured fractions of these images; the band is each certified`
               + ` accuracy's exact 95% interval)`}));
}

export class BatchView extends PolledRead {
  constructor(batchId) {
    super(`/batches/${encodeURIComponent(batchId)}`, {
      messageId: 'batch-status', baseMs: 1000, maxMs: 5000,
      finished: (batch) => ['ended', 'canceled'].includes(batch.status)});
  }

  render(batch) {
    byId('batch-title').textContent = `Batch ${shortId(batch.batch_id)} — ${batch.model}`;
    say(byId('batch-status'), `${batch.status}: ${countsText(batch)} of ${count(batch.total)} files`);
    clear(byId('batch-body')).append(
      el('progress', {max: 1, value: batch.progress, 'aria-label': 'Progress'}),
      metricsPanel(batch));
  }
}
