// Asking for an API key when the service wants one, and saying clearly when it is wrong.

import {apiKey, onAuthError} from './api.js';
import {byId, say} from './dom.js';

const MESSAGES = {
  missing_api_key: 'This service requires an API key. Enter yours to continue.',
  invalid_api_key: 'The service refused this API key. Check it and enter it again.',
};

export function installKeyPrompt() {
  const panel = byId('key-panel');
  const form = byId('key-form');
  const input = byId('key-input');
  const message = byId('key-message');
  const status = byId('key-status');

  const showStatus = () => {
    status.hidden = !apiKey.get();
  };

  onAuthError((error) => {
    if (error.code === 'invalid_api_key') apiKey.clear();
    say(message, MESSAGES[error.code] ?? error.detail);
    const opening = panel.hidden;
    panel.hidden = false;
    showStatus();
    if (opening) input.focus();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      say(message, 'Enter a key first.');
      return;
    }
    input.value = '';
    panel.hidden = true;
    byId('main').focus(); // the focused button is gone: continue from the page's content
    apiKey.set(key);
    showStatus();
  });

  byId('forget-key').addEventListener('click', () => {
    apiKey.clear();
    location.reload();
  });
  showStatus();
}
