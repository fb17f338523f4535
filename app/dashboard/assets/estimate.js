// Before submit: how long the job would sample, from GET /estimate (the service applies the
// one formula, certify_contract.throughput, to the options and the workers' measured rate).

import {getJson} from './api.js';
import {count, seconds} from './format.js';

const DELAY_MS = 250;  // one request once typing pauses, not one per keystroke

function arithmetic(estimate) {
  return estimate.compile === 'off' ? estimate.precision
    : `${estimate.precision}, compile ${estimate.compile}`;
}

/** The estimate in words: the time, the measured rate, then the passes it divides. */
export function describe(estimate) {
  const {passes_min: fewest, passes_max: most} = estimate;
  const patches = estimate.passes_per_sample > 1
    ? ` (${estimate.passes_per_sample} patches per sample)` : '';
  const passes = fewest === most ? `${count(most)} model passes${patches}.`
    : `${count(fewest)} to ${count(most)} model passes${patches}: adaptive sampling may stop `
      + 'at its first look or run to n.';
  const model = `${estimate.model} (${arithmetic(estimate)})`;
  if (estimate.passes_per_s === null) {
    return `Estimated time: no measurement yet for ${model}: no live worker has published its `
      + `passes per second. The job would run ${passes}`;
  }
  const time = fewest === most ? `about ${seconds(estimate.seconds_max)}`
    : `${seconds(estimate.seconds_min)} to ${seconds(estimate.seconds_max)}`;
  const queue = estimate.queued_jobs
    ? ` ${count(estimate.queued_jobs)} job(s) wait ahead of it (not counted).`
    : ' No job waits ahead of it.';
  return `Estimated sampling time: ${time} at ${count(estimate.passes_per_s)} passes/s, `
    + `measured for ${model}: ${passes}${queue}`;
}

export class EstimateView {
  #timer = null;
  #asked = 0;

  /** `query()` gives the URLSearchParams of the job the form would submit. */
  constructor(node, query) {
    this.node = node;
    this.query = query;
  }

  update() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#ask(), DELAY_MS);
  }

  async #ask() {
    const asked = ++this.#asked;
    let text;
    try {
      text = describe(await getJson(`/estimate?${this.query()}`));
    } catch (error) {
      text = error.needsKey ? '' : `No estimate: ${error.detail}`;
    }
    if (asked === this.#asked) this.node.textContent = text;  // a later answer wins
  }
}
