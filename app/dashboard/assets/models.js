// The models page: what the live workers serve (GET /models), each model's measured passes
// per second, and, for a caller allowed to register models, an upload form (POST /models).

import {getJson, request} from './api.js';
import {byId, clear, el, say} from './dom.js';
import {count} from './format.js';

const COLUMNS = ['Model', 'Version', 'Kind', 'Input', 'σ', 'Classes', 'sha256', 'Workers',
                 'Passes/s', 'Warm arithmetic'];

function arithmetic(entry) {
  return entry.compile === 'off' ? entry.precision : `${entry.precision}, compile ${entry.compile}`;
}

/** Every arithmetic's figure: `fp32: 84,000 (1 worker(s), warm-up)`. */
function throughputText(model) {
  const figures = model.throughput ?? [];
  if (!figures.length) return 'no measurement yet';
  return figures.map((figure) => {
    const jobs = figure.jobs ? `${count(figure.jobs)} job(s)` : 'warm-up';
    return `${arithmetic(figure)}: ${count(figure.passes_per_s)} (${figure.workers} worker(s), ${jobs})`;
  }).join('; ');
}

/** A registered model (`GET /models`' `registered`, the model registry) in a served model's
 *  shape: its workers are those holding it loaded; its format goes with its kind. */
function fromRegistered(model) {
  return {...model, kind: `${model.kind}, ${model.format}`, workers: model.workers_holding ?? 0,
          throughput: model.throughput ?? [], warm: model.warm ?? []};
}

function row(model) {
  const manifest = model.manifest ?? {};
  const cells = [
    model.name, model.version ?? manifest.version ?? '—', model.kind,
    (manifest.input_shape ?? []).join('×') || '?', manifest.sigma ?? '—',
    (manifest.class_names ?? []).length, `${model.sha256.slice(0, 12)}…`, model.workers,
    throughputText(model), (model.warm ?? []).map(arithmetic).join('; ') || '—',
  ];
  const id = model.version ? `${model.name}@${model.version}` : model.name;
  return el('tr', {dataset: {model: id}},
            cells.map((text, index) => el('td', {dataset: {label: COLUMNS[index]},
                                                 class: index === 6 ? 'mono' : null, text})));
}

export class ModelsView {
  constructor() {
    this.body = byId('models-body');
    this.message = byId('models-message');
    this.panel = byId('upload-panel');
    this.form = byId('upload-form');
    this.uploadMessage = byId('upload-message');
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#upload();
    });
  }

  async start() {
    try {
      const answer = await getJson('/models');
      say(this.message, '');
      const models = [...answer.models, ...(answer.registered ?? []).map(fromRegistered)];
      clear(this.body).append(...models.map(row));
      byId('models-empty').hidden = models.length > 0;
      this.panel.hidden = !answer.uploads_allowed;
    } catch (error) {
      say(this.message, error.needsKey ? 'Models are listed once a valid API key is given.'
        : `Could not list the models: ${error.detail}`);
    }
  }

  async #upload() {
    const manifest = byId('manifest-input').files[0];
    const weights = byId('weights-input').files[0];
    this.uploadMessage.classList.remove('error');
    if (!manifest || !weights) {
      this.uploadMessage.classList.add('error');
      say(this.uploadMessage, 'Choose a manifest and a weights file.');
      return;
    }
    const body = new FormData();
    body.append('manifest', manifest, manifest.name);
    body.append('weights', weights, weights.name);
    const button = byId('upload-button');
    button.disabled = true;
    try {
      const registered = await (await request('/models', {method: 'POST', body})).json();
      const version = registered.version ? `@${registered.version}` : '';
      say(this.uploadMessage, `Registered ${registered.name ?? manifest.name}${version}.`);
      this.start();
    } catch (error) {
      this.uploadMessage.classList.add('error');
      say(this.uploadMessage, `${error.detail} (${error.code})`);
    } finally {
      button.disabled = false;
    }
  }
}
