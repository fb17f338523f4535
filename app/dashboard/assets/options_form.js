// The certification options, drawn from GET /options: a control per option with its
// default and one-line help. Only options the user changed are sent, so the server's
// defaults (the same definitions) apply to the rest, as with `certify submit`.

import {byId, clear, el, say} from './dom.js';

const INPUT_MODES = {integer: 'numeric', number: 'decimal', text: 'text'};

function control(option) {
  const id = `option-${option.name}`;
  const described = `${id}-help ${id}-error`;
  if (option.kind === 'choice') {
    const select = el('select', {id, name: option.name, 'aria-describedby': described},
                      option.choices.map((choice) => el('option', {value: choice, text: choice})));
    select.value = option.default;
    return select;
  }
  // Plain text, not type=number: what the user typed reaches the server, whose message
  // (the one validator) is shown next to the field.
  return el('input', {id, name: option.name, type: 'text', inputmode: INPUT_MODES[option.kind],
                      autocomplete: 'off', spellcheck: 'false', 'aria-describedby': described,
                      placeholder: option.default === null ? option.default_text : null,
                      value: option.default === null ? null : String(option.default)});
}

export class OptionsForm {
  constructor(options) {
    this.options = options;
    this.fields = new Map();
    const container = clear(byId('options-fields'));
    for (const option of options) {
      const input = control(option);
      const error = el('p', {id: `${input.id}-error`, class: 'error', hidden: true});
      const help = el('p', {id: `${input.id}-help`, class: 'help'},
                      option.help, el('span', {class: 'default', text: ` Default: ${option.default_text}.`}));
      const field = el('div', {class: 'field option', dataset: {option: option.name}},
                       el('label', {for: input.id, text: option.name}), input, help, error);
      input.addEventListener('change', () => this.applyConditions());
      this.fields.set(option.name, {option, input, error, field});
      container.append(field);
    }
    this.mediaKind = null;
    this.applyConditions();
  }

  /** Show only the options that apply: to the chosen method, and to the media kind. */
  setMediaKind(kind) {
    this.mediaKind = kind;
    this.applyConditions();
  }

  applyConditions() {
    for (const {option, input, field} of this.fields.values()) {
      const when = option.applies_when;
      const methodOk = !when || this.fields.get(when.option)?.input.value === when.value;
      const mediaOk = !option.media || this.mediaKind === option.media;
      field.hidden = !(methodOk && mediaOk);
      input.disabled = field.hidden;
    }
  }

  /** The changed, applicable options as [name, text] pairs. */
  changed() {
    const pairs = [];
    for (const {option, input} of this.fields.values()) {
      const value = input.value.trim();
      const unchanged = value === '' || value === String(option.default ?? '');
      if (!input.disabled && !unchanged) pairs.push([option.name, value]);
    }
    return pairs;
  }

  clearErrors() {
    for (const {input, error} of this.fields.values()) {
      input.removeAttribute('aria-invalid');
      say(error, '');
    }
  }

  /** Put `detail` next to the option `name` (the error's field); false when no shown option
   *  has that name. */
  showError(name, detail) {
    const entry = this.fields.get(name);
    if (!entry || entry.field.hidden) return false;
    entry.input.setAttribute('aria-invalid', 'true');
    say(entry.error, detail);
    entry.input.focus();
    return true;
  }
}
