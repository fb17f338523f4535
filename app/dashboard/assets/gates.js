// The gates pages: GET /gates (the key's gates) and GET /gates/{id} (progress over looks,
// the count against each look's thresholds, the bound against the threshold, the verdict).

import {url} from './api.js';
import {byId, clear, el, say, svg} from './dom.js';
import {age, count, number, shortId} from './format.js';
import {PolledRead} from './poller.js';

export function gateLink(gateId) {
  return url(`/dashboard/gates/${encodeURIComponent(gateId)}`);
}

function verdictText(gate) {
  if (gate.verdict) return gate.verdict.verdict;
  return gate.state === 'running' ? `running, look ${gate.look} of ${gate.looks.length}` : gate.state;
}

export class GatesView extends PolledRead {
  constructor() {
    super('/gates?limit=50', {messageId: 'gates-message', baseMs: 2000});
  }

  render({gates}) {
    byId('gates-empty').hidden = gates.length > 0;
    clear(byId('gates-body')).append(...gates.map((gate) => el('tr',
      {dataset: {gateId: gate.gate_id}},
      el('td', {}, el('a', {href: gateLink(gate.gate_id), class: 'mono', title: gate.gate_id,
                             text: shortId(gate.gate_id)})),
      el('td', {dataset: {verdict: gate.verdict?.verdict ?? gate.state}}, verdictText(gate)),
      el('td', {}, gate.model),
      el('td', {}, `R ${number(gate.radius)}, A ${number(gate.min_accuracy)}`),
      el('td', {}, `${count(gate.images)} of ${count(gate.set_size)}`),
      el('td', {}, el('time', {datetime: gate.created_at, text: age(gate.created_at)})))));
  }
}

// One row per look: the certified count on a 0..images axis, the fail zone (count <=
// fail_upto) and the pass zone (count >= pass_from) shaded, and the count reached.
function looksChart(gate) {
  const width = 560;
  const row = 34;
  const left = 110;
  const plot = width - left - 20;
  const chart = svg('svg', {viewBox: `0 0 ${width} ${row * gate.looks.length + 24}`,
                            class: 'gate-chart', role: 'img',
                            'aria-label': 'Certified count at each look against its thresholds'});
  gate.looks.forEach((look, index) => {
    const y = 8 + index * row;
    const x = (value) => left + (plot * Math.max(0, Math.min(value, look.images))) / look.images;
    const reached = index < gate.look;
    chart.append(
      svg('text', {x: 4, y: y + 16, class: 'gate-label', text: `look ${index + 1}: ${count(look.images)}`}),
      svg('rect', {x: left, y, width: plot, height: 22, class: 'gate-track'}),
      look.fail_upto >= 0 && svg('rect', {x: left, y, width: x(look.fail_upto + 1) - left,
                                          height: 22, class: 'gate-fail'}),
      look.pass_from <= look.images && svg('rect', {x: x(look.pass_from), y,
                                                    width: left + plot - x(look.pass_from),
                                                    height: 22, class: 'gate-pass'}),
      reached && svg('rect', {x: left, y: y + 7, width: x(look.certified) - left, height: 8,
                              class: 'gate-count'},
                     svg('title', {text: `${look.certified} certified correct`})));
  });
  return chart;
}

function looksTable(gate) {
  return el('div', {class: 'table-wrap'}, el('table', {class: 'jobs gate-looks'},
    el('caption', {class: 'sr-only', text: 'Looks over images'}),
    el('thead', {}, el('tr', {}, ['Look', 'Images', 'Ended in its wave', 'Certified correct',
                                  'Fails at or below', 'Passes at or above']
      .map((name) => el('th', {scope: 'col', text: name})))),
    el('tbody', {}, gate.looks.map((look, index) => el('tr', {},
      el('td', {}, index + 1), el('td', {}, count(look.images)), el('td', {}, count(look.ended)),
      el('td', {}, index < gate.look ? count(look.certified) : '—'),
      el('td', {}, look.fail_upto >= 0 ? count(look.fail_upto) : 'never'),
      el('td', {}, look.pass_from <= look.images ? count(look.pass_from) : 'never'))))));
}

function boundPanel(gate) {
  const verdict = gate.verdict;
  if (!verdict) return el('p', {class: 'help', text: 'No verdict yet.'});
  const bar = (value, cls, label) => svg('rect', {x: 0, y: 0, width: 400 * Math.max(0, value),
                                                  height: 14, class: cls},
                                         svg('title', {text: label}));
  return el('div', {class: 'gate-bound'},
    el('p', {id: 'gate-verdict', class: `verdict verdict-${verdict.verdict}`,
             text: `${verdict.verdict}: certified accuracy at R = ${number(verdict.radius)} is at `
               + `least ${number(verdict.accuracy_lower)} with confidence ${number(verdict.confidence)}`
               + ` (threshold ${number(verdict.min_accuracy)})`}),
    svg('svg', {viewBox: '-10 0 420 40', class: 'gate-chart gate-bound-chart', role: 'img',
                'aria-label': 'The lower bound on certified accuracy against the threshold'},
        svg('rect', {x: 0, y: 0, width: 400, height: 14, class: 'gate-track'}),
        bar(verdict.accuracy_lower, 'gate-count', 'lower bound'),
        svg('line', {x1: 400 * verdict.min_accuracy, x2: 400 * verdict.min_accuracy, y1: 0, y2: 20,
                     class: 'gate-threshold'}, svg('title', {text: 'threshold A'})),
        svg('text', {x: 0, y: 32, class: 'gate-label', 'text-anchor': 'middle', text: '0'}),
        svg('text', {x: 400, y: 32, class: 'gate-label', 'text-anchor': 'middle', text: '1'}),
        svg('text', {x: 400 * verdict.min_accuracy, y: 32, class: 'gate-label',
                     'text-anchor': 'middle', text: `A = ${number(verdict.min_accuracy)}`})),
    el('p', {class: 'help', text: `${count(verdict.certified)} of ${count(verdict.images)} images `
      + `certified correct, ${count(verdict.model_evaluations)} model evaluations, stopped at `
      + `look ${verdict.looks_taken} of ${verdict.looks.length}.`}));
}

export class GateView extends PolledRead {
  constructor(gateId) {
    super(`/gates/${encodeURIComponent(gateId)}`, {
      messageId: 'gate-status', baseMs: 1000, maxMs: 5000,
      finished: (gate) => gate.state !== 'running'});
  }

  render(gate) {
    byId('gate-title').textContent = `Gate ${shortId(gate.gate_id)} — ${gate.model}`;
    say(byId('gate-status'), `${verdictText(gate)}: ${count(gate.images)} images and `
      + `${count(gate.model_evaluations)} model evaluations used of ${count(gate.set_size)} images`
      + (gate.jobs_canceled ? `; ${count(gate.jobs_canceled)} jobs canceled when it stopped` : ''));
    clear(byId('gate-body')).append(boundPanel(gate), looksChart(gate), looksTable(gate));
  }
}
