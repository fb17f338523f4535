// The submit view: a file (picked or dropped), a model from GET /models, the options from
// GET /options, then POST /certify. Errors are shown next to the field they are about.

import {getJson, request} from './api.js';
import {byId, clear, el, say} from './dom.js';
import {EstimateView} from './estimate.js';
import {bytes, shortId} from './format.js';
import {jobLink} from './jobs.js';
import {OptionsForm} from './options_form.js';

function fileKind(file) {
  const kind = file?.type.split('/')[0];
  return kind === 'image' || kind === 'video' ? kind : null;
}

function modelSummary(model) {
  const manifest = model.manifest ?? {};
  const shape = (manifest.input_shape ?? []).join('×');
  const classes = manifest.class_names ?? [];
  const sigma = manifest.sigma ?? 'not recorded';
  return {shape, classes, sigma,
          line: `${model.kind} input ${shape || '?'}, ${classes.length} classes, trained at σ = ${sigma}`};
}

export class SubmitView {
  #file = null;

  constructor(jobsView) {
    this.jobsView = jobsView;
    this.form = byId('submit-form');
    this.fileInput = byId('file-input');
    this.fileInfo = byId('file-info');
    this.fileError = byId('file-error');
    this.modelSelect = byId('model-select');
    this.modelHelp = byId('model-help');
    this.modelError = byId('model-error');
    this.message = byId('submit-message');
    this.button = byId('submit-button');
    this.models = new Map();
    this.estimate = new EstimateView(byId('estimate'), () => this.#estimateQuery());
    this.#wireFile();
    this.modelSelect.addEventListener('change', () => this.#modelChanged());
    for (const event of ['input', 'change']) {
      byId('options-fields').addEventListener(event, () => this.estimate.update());
    }
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit();
    });
  }

  async start() {
    try {
      const [options] = await Promise.all([getJson('/options'), this.loadModels()]);
      this.options = new OptionsForm(options.options);
      this.#modelChanged();
    } catch (error) {
      this.message.classList.add('error');
      say(this.message, `The form could not be drawn: ${error.detail} Reload the page to retry.`);
    }
  }

  async loadModels() {
    try {
      const answer = await getJson('/models');
      this.#fillModels(answer);
    } catch (error) {
      say(this.modelError, error.needsKey ? 'Models are listed once a valid API key is given.'
        : `Could not list the models: ${error.detail}`);
    }
  }

  #fillModels(answer) {
    say(this.modelError, '');
    this.models = new Map(answer.models.map((model) => [model.name, model]));
    const chosen = this.modelSelect.value;
    const video = this.models.has(answer.default_video_model) ? `; video: ${answer.default_video_model}` : '';
    const defaults = `Default for the file's kind (image: ${answer.default_image_model}${video})`;
    clear(this.modelSelect).append(
      el('option', {value: '', text: defaults}),
      ...answer.models.map((model) => el('option', {value: model.name,
                                                    text: `${model.name}: ${modelSummary(model).line}`})));
    if (this.models.has(chosen)) this.modelSelect.value = chosen;
    this.defaults = answer;
    this.#modelChanged();
  }

  #describeModel(model) {
    if (!model) {
      this.modelHelp.textContent = 'The service picks its default model for the file\'s kind.';
      return;
    }
    const {classes, line} = modelSummary(model);
    clear(this.modelHelp).append(
      el('span', {text: `${line}; served by ${model.workers} worker(s). `}),
      el('details', {class: 'classes'},
         el('summary', {text: `Classes (${classes.length})`}),
         el('ol', {start: 0}, classes.map((name) => el('li', {text: name})))),
      el('span', {class: 'mono small', text: `sha256 ${model.sha256.slice(0, 16)}…`}));
  }

  #modelChanged() {
    const model = this.models.get(this.modelSelect.value);
    this.#describeModel(model);
    this.options?.setMediaKind(model?.kind ?? fileKind(this.#file));
    if (this.options) this.estimate.update();
  }

  /** What GET /estimate needs: the model (or the file's kind, for the default) and the
   *  options the form would send. */
  #estimateQuery() {
    const query = new URLSearchParams();
    if (this.modelSelect.value) query.set('model', this.modelSelect.value);
    const kind = fileKind(this.#file);
    if (kind) query.set('media', kind);
    for (const [name, value] of this.options.changed()) query.append(name, value);
    return query;
  }

  #wireFile() {
    const zone = byId('drop-zone');
    this.fileInput.addEventListener('change', () => this.#setFile(this.fileInput.files[0]));
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('dragging');
      const file = event.dataTransfer?.files[0];
      if (file) this.#setFile(file);
    });
  }

  #setFile(file) {
    this.#file = file ?? null;
    say(this.fileError, '');
    this.fileInfo.textContent = file ? `${file.name} — ${bytes(file.size)}` : 'No file chosen.';
    this.#modelChanged();
  }

  #body() {
    const body = new FormData();
    body.append('file', this.#file, this.#file.name);
    if (this.modelSelect.value) body.append('model', this.modelSelect.value);
    for (const [name, value] of this.options.changed()) body.append(name, value);
    return body;
  }

  #clearErrors() {
    for (const node of [this.fileError, this.modelError, this.message]) say(node, '');
    this.message.classList.remove('error');
    this.options?.clearErrors();
  }

  /** Beside the field the service names (`error.field`), else under the button. */
  #showError(error) {
    if (error.field === 'file') {
      say(this.fileError, error.detail);
      this.fileInput.focus();
    } else if (error.field === 'model') {
      say(this.modelError, error.detail);
      this.modelSelect.focus();
    } else if (!this.options.showError(error.field, error.detail)) {
      this.message.classList.add('error');
      say(this.message, `${error.detail} (${error.code})`);
    }
  }

  async #submit() {
    this.#clearErrors();
    if (!this.#file) {
      say(this.fileError, 'Choose an image or a video first.');
      this.fileInput.focus();
      return;
    }
    this.button.disabled = true;
    try {
      const answer = await request('/certify', {method: 'POST', body: this.#body()});
      const submitted = await answer.json();
      this.jobsView.addSubmitted(submitted);
      clear(this.message).append(`Job ${shortId(submitted.job_id)} is ${submitted.status}. `,
                                 el('a', {href: jobLink(submitted.job_id), text: 'Open its page'}));
      this.message.hidden = false;
      // The button ends a long form: without this the answer lands below the window's edge.
      this.message.scrollIntoView({block: 'center'});
    } catch (error) {
      this.#showError(error);
    } finally {
      this.button.disabled = false;
    }
  }
}
