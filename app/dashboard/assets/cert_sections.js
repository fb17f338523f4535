// The parts of a certificate's page: the claim, the radius against the largest possible,
// the votes, how it was computed, and the command that re-checks it.

import {jsonText} from './api.js';
import {STOP_REASONS} from './contract.js';
import {el} from './dom.js';
import {count, number, seconds} from './format.js';
import {largestRadius} from './normal.js';

// Fields drawn by the sections below; any other field is listed as it came. A test keeps this
// list equal to the fields of certify_contract.Certificate, so every field is drawn.
export const KNOWN_FIELDS = new Set([
  'label', 'label_name', 'abstained', 'radius', 'p_lower', 'n_a', 'n', 'n0', 'alpha', 'sigma',
  'method', 'aggregate', 'noise', 'scores', 'geometry', 'lift_norm', 'lift_norm_method',
  'centre_error', 'model', 'seed', 'elapsed_s', 'selection_counts', 'estimation_counts', 'input',
  // adaptive sampling (drawn by samplingSection when present)
  'sampling', 'n_max', 'looks', 'alpha_per_look', 'futility_alpha', 'looks_taken', 'stop_reason',
  'model_evaluations', 'radius_asked', 'certified_at_radius', 'tolerance', 'sequential',
  // the base model's arithmetic (part of the classifier certified)
  'precision', 'compile', 'forward_rows',
]);

/** The α behind p_lower: with adaptive sampling, the share of α of the look it stopped at. */
export function alphaSpent(cert) {
  return cert.alpha_per_look?.[cert.looks_taken - 1] ?? cert.alpha;
}

function panel(id, title, ...children) {
  return el('section', {class: 'panel', 'aria-labelledby': id},
            el('h2', {id, text: title}), ...children);
}

function abstention(cert) {
  if (cert.p_lower <= 0.5) {
    return `The smoothed classifier abstains: no class is certain enough. The top class got `
      + `${count(cert.n_a)} of ${count(cert.n)} noisy votes, so with confidence 1 − α = `
      + `${number(1 - cert.alpha, 6)} its probability is only known to be at least `
      + `p_lower = ${number(cert.p_lower)}, not above one half. More samples (n), a smaller σ, `
      + 'or a model trained with this noise may give a certificate.';
  }
  return `The smoothed classifier abstains: the top class's probability is at least `
    + `p_lower = ${number(cert.p_lower)}, but with independent noise the radius it gives in the `
    + `patches' space does not exceed the centre error (${number(cert.centre_error)}), so no `
    + 'radius is left for the input.';
}

function decision(cert) {
  if (cert.radius_asked === null || cert.radius_asked === undefined) return null;
  const verdict = cert.certified_at_radius ? 'yes' : 'no';
  return el('p', {class: 'decision', text: `Certified at the radius asked, ${number(cert.radius_asked)}: `
    + `${verdict}.`});
}

export function claimSection(cert, className) {
  if (cert.abstained) {
    return panel('claim-title', 'Abstained',
                 el('p', {class: 'claim abstained', text: abstention(cert)}), decision(cert));
  }
  return panel('claim-title', 'Certified prediction',
               el('p', {class: 'claim'}, 'Predicted class ',
                  el('strong', {class: 'label-name', text: className(cert.label)}),
                  ` (index ${cert.label}), certified within L2 radius `,
                  el('strong', {class: 'radius', text: number(cert.radius)}),
                  ' in [0, 1] pixel units.'),
               decision(cert),
               el('p', {class: 'help', text: `With probability at least 1 − α = ${number(1 - cert.alpha, 6)} `
                 + 'over the service\'s sampling, the smoothed classifier predicts this class for '
                 + 'every input within this distance of the certified input.'}));
}

export function radiusSection(cert) {
  const alpha = alphaSpent(cert);
  const largest = largestRadius({...cert, alpha});
  const radius = cert.radius ?? 0;
  const share = largest > 0 ? Math.min(1, radius / largest) : 0;
  const fill = el('div', {class: 'fill'});
  fill.style.width = `${(100 * share).toFixed(2)}%`;
  const summary = `Certified radius ${number(radius)} of at most ${number(largest)}.`;
  return panel('radius-title', 'Radius',
               el('div', {class: 'radius-bar', role: 'img', 'aria-label': summary}, fill),
               el('p', {class: 'radius-legend'},
                  el('span', {text: `certified: ${cert.abstained ? 'none' : number(radius)}`}),
                  el('span', {class: 'largest', text: `largest possible: ${number(largest)}`})),
               el('p', {class: 'help', text: `The largest radius n = ${count(cert.n)} samples can `
                 + `certify at σ = ${number(cert.sigma)} and α = ${number(alpha)}, when every `
                 + 'vote goes to one class'
                 + (cert.lift_norm !== 1 ? ` (divided by the lift norm ${number(cert.lift_norm)})` : '')
                 + '. A larger n raises it; p_lower = ' + number(cert.p_lower) + ` from `
                 + `${count(cert.n_a)} of ${count(cert.n)} votes.`}));
}

const MANY_CLASSES = 12;

export function votesSection(cert, className) {
  const total = cert.estimation_counts.reduce((sum, value) => sum + value, 0) || 1;
  let rows = cert.estimation_counts.map((votes, index) => ({index, votes,
                                                            selection: cert.selection_counts[index]}));
  let hidden = 0;
  if (rows.length > MANY_CLASSES) {
    rows = [...rows].sort((a, b) => b.votes - a.votes);
    hidden = rows.length - 10;
    rows = rows.slice(0, 10);
  }
  const body = rows.map(({index, votes, selection}) => {
    const bar = el('div', {class: 'bar'});
    bar.style.width = `${((100 * votes) / total).toFixed(2)}%`;
    return el('tr', {class: index === cert.label ? 'voted label-row' : 'voted'},
              el('th', {scope: 'row', class: 'class-name', text: className(index)}),
              el('td', {class: 'bar-cell', 'aria-hidden': 'true'}, bar),
              el('td', {class: 'num', text: count(votes)}),
              el('td', {class: 'num', text: count(selection ?? 0)}));
  });
  return panel('votes-title', 'Votes per class',
               el('div', {class: 'table-wrap'},
                  el('table', {class: 'votes'},
                     el('caption', {text: `Noisy votes per class: n = ${count(cert.n)} estimation `
                       + `samples (behind p_lower) and n0 = ${count(cert.n0)} selection samples.`}),
                     el('thead', {}, el('tr', {}, el('th', {scope: 'col', text: 'Class'}),
                                        el('th', {scope: 'col', text: 'Share'}),
                                        el('th', {scope: 'col', text: 'Votes (n)'}),
                                        el('th', {scope: 'col', text: 'Selection (n0)'}))),
                     el('tbody', {}, body))),
               hidden ? el('p', {class: 'help', text: `${hidden} more classes not shown.`}) : null);
}

function facts(pairs) {
  return el('dl', {class: 'facts'}, pairs.filter(([, value]) => value !== undefined)
    .flatMap(([term, value]) => [el('dt', {text: term}), el('dd', {text: String(value ?? '—')})]));
}

function describeInput(input) {
  const shape = input.shape.join('×');
  if (input.source_format) {
    return `${shape} tensor in [0, 1] from a ${input.source_format} of ${input.source_size.join('×')} `
      + `px (${input.source_mode}), resized ${input.resize_method}`;
  }
  if (input.source_codec) {
    return `${shape} tensor in [0, 1] from ${input.source_container}/${input.source_codec} video of `
      + `${input.source_size.join('×')} px, ${input.frame_policy} frames ${input.frame_indices.join(', ')}`;
  }
  return `${shape} tensor in [0, 1]`;
}

export function methodSection(cert, job) {
  return panel('method-title', 'How it was computed', facts([
    ['Method', cert.method],
    ['Aggregate', cert.aggregate],
    ['Noise', cert.noise],
    ['Scores', cert.scores],
    ['Lift norm', `${number(cert.lift_norm, 6)} (${cert.lift_norm_method})`],
    ['Centre error', number(cert.centre_error)],
    ['σ (sigma)', number(cert.sigma)],
    ['n0 / n / α', `${count(cert.n0)} / ${count(cert.n)} / ${number(cert.alpha)}`],
    ['Votes for the class (n_a)', count(cert.n_a)],
    ['p_lower', number(cert.p_lower, 6)],
    ['Seed', String(cert.seed)],
    ['Model', cert.model.name],
    ['Model sha256', cert.model.sha256],
    ['Arithmetic', arithmetic(cert)],
    ['Certified input', describeInput(cert.input)],
    ['Time', seconds(cert.elapsed_s)],
    ['Submitted', job.created_at],
  ]));
}

/** Precision and compilation are part of the classifier the certificate is about. */
function arithmetic(cert) {
  const compiled = cert.compile && cert.compile !== 'off' ? `compiled (${cert.compile})` : 'eager';
  const rows = cert.forward_rows ? `, ${count(cert.forward_rows)} rows per pass` : '';
  return `${cert.precision ?? 'fp32'}, ${compiled}${rows}`;
}

export function samplingSection(cert) {
  if (cert.sampling !== 'adaptive') return null;  // fixed n: the method section says it all
  const asked = cert.radius_asked === null || cert.radius_asked === undefined ? [] : [
    ['Radius asked', number(cert.radius_asked)],
    ['Certified there', cert.certified_at_radius ? 'yes' : 'no']];
  return panel('sampling-title', 'Sampling', facts([
    ['Sampling', cert.sampling],
    ['Estimation samples', `${count(cert.n)} drawn of at most ${count(cert.n_max)}`],
    ['Looks (declared before sampling)', cert.looks.map(count).join(', ')],
    ['Looks taken', String(cert.looks_taken)],
    ['Stopped because', STOP_REASONS[cert.stop_reason] ?? cert.stop_reason],
    ['Stopping rule', cert.sequential === 'cs'
      ? 'confidence sequence (full α, valid at every look)' : 'group-sequential (α split over looks)'],
    ['α per look', cert.alpha_per_look
      ? cert.alpha_per_look.map((value) => number(value, 3)).join(', ')
      : `${number(cert.alpha)} at every look`],
    ['Futility α', number(cert.futility_alpha)],
    ...(cert.tolerance === null || cert.tolerance === undefined ? []
      : [['Tolerance', `${number(cert.tolerance)} σ`]]),
    ['Model evaluations', count(cert.model_evaluations)],
    ...asked,
  ]));
}

export function otherFieldsSection(cert) {
  const extra = Object.keys(cert).filter((name) => !KNOWN_FIELDS.has(name));
  if (!extra.length) return null;
  return panel('other-title', 'Other fields',
               facts(extra.map((name) => [name, jsonText(cert[name])])));
}
