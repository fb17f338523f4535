// The `certify local` command that re-runs a job on one's own machine: the uploaded file,
// the model, every option the job changed from its default, and the seed the server drew.

import {el} from './dom.js';

const SAFE = /^[A-Za-z0-9_.,/:=+-]+$/;

export function shellWord(text) {
  const word = String(text);
  return SAFE.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function optionText(value) {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The command as shell words, each quoted where it needs to be. */
export function recheckWords(job, optionList, fileName) {
  const words = ['certify', 'local', fileName, '--model', job.model];
  const chosen = job.options ?? {};
  for (const option of optionList) {
    const value = chosen[option.name];
    if (value === undefined || value === null) continue;
    if (JSON.stringify(value) === JSON.stringify(option.default)) continue;
    words.push(option.flag, optionText(value));
  }
  words.push('--seed', String(job.result.seed));
  return words.map(shellWord);
}

export function recheckSection(job, optionList, fileName) {
  const words = recheckWords(job, optionList, fileName);
  const command = words.join(' ');
  // One span per word, so lines break between words rather than after a flag's dashes.
  const code = el('code', {id: 'recheck-command'},
                  words.flatMap((word, index) => [index ? ' ' : '', el('span', {class: 'word', text: word})]));
  const status = el('span', {class: 'help', role: 'status'});
  const copy = el('button', {type: 'button', text: 'Copy', onclick: async () => {
    try {
      await navigator.clipboard.writeText(command);
      status.textContent = ' Copied.';
    } catch {
      getSelection().selectAllChildren(code);
      status.textContent = ' Selected: press Ctrl+C to copy.';
    }
  }});
  return el('section', {class: 'panel', 'aria-labelledby': 'recheck-title'},
            el('h2', {id: 'recheck-title', text: 'Re-check it'}),
            el('p', {text: `Download the upload as ${fileName} (above), then run this in a clone of the `
              + 'project: the same seed and options give the same certificate with the same model '
              + '(compare its sha256).'}),
            el('pre', {}, code), el('p', {}, copy, status));
}
