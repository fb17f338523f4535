// The jobs view: GET /jobs, newest first, one request per interval (see poller.js).

import {getAnswer, parseJson, request, url} from './api.js';
import {ACTIVE_STATUSES, JOB_STATUSES} from './contract.js';
import {byId, clear, el, say} from './dom.js';
import {age, count, number, percent, shortId} from './format.js';
import {Poller} from './poller.js';

const PAGE = 25;
const COLUMNS = ['Job', 'Status', 'Model', 'Media', 'Age', 'Progress or result', 'Actions'];

export function jobLink(jobId) {
  return url(`/dashboard/jobs/${encodeURIComponent(jobId)}`);
}

function resultText(job) {
  if (job.status === 'succeeded' && job.result) {
    const cert = job.result;
    return cert.abstained ? 'abstained' : `${cert.label_name ?? cert.label}, radius ${number(cert.radius)}`;
  }
  if (job.error) return job.error.error;
  return '';
}

function progressCell(cell, job) {
  const progress = job.status === 'running' ? job.progress : null;
  if (!progress) {
    clear(cell).append(resultText(job));
    return;
  }
  const label = `${count(progress.done)} of ${count(progress.total)} samples`;
  const bar = el('progress', {max: progress.total, value: progress.done, 'aria-label': label});
  clear(cell).append(bar, ' ', el('span', {text: `${percent(progress.done, progress.total)}`,
                                           title: label}));
}

class JobRow {
  constructor(jobId, onCancel) {
    this.jobId = jobId;
    this.cells = COLUMNS.map((name) => el('td', {dataset: {label: name}}));
    this.status = el('span', {class: 'status'});
    this.age = el('time');
    this.cancel = el('button', {type: 'button', class: 'cancel', text: 'Cancel',
                                'aria-label': `Cancel job ${shortId(jobId)}`,
                                onclick: () => onCancel(this)});
    this.link = el('a', {href: jobLink(jobId), title: jobId, class: 'mono', text: shortId(jobId)});
    this.cells[0].append(this.link);
    this.cells[1].append(this.status);
    this.cells[4].append(this.age);
    this.node = el('tr', {dataset: {jobId}}, this.cells);
  }

  update(job) {
    this.job = job;
    this.node.dataset.status = job.status;
    const canceling = job.cancel_requested && ACTIVE_STATUSES.has(job.status);
    this.status.textContent = canceling ? `${job.status} (canceling)` : job.status;
    this.status.dataset.status = job.status;
    this.cells[2].textContent = job.model ?? '—';
    this.cells[3].textContent = job.media_type ?? '—';
    this.age.dateTime = job.created_at ?? '';
    this.age.title = job.created_at ?? '';
    this.tick();
    progressCell(this.cells[5], job);
    const cancelable = ACTIVE_STATUSES.has(job.status) && !job.cancel_requested;
    if (!cancelable && this.cancel.isConnected) {
      const focused = document.activeElement === this.cancel;
      this.cancel.remove();
      if (focused) this.link.focus(); // keyboard users keep their place in the list
    }
    if (cancelable && !this.cancel.isConnected) this.cells[6].append(this.cancel);
  }

  tick() {
    this.age.textContent = age(this.job?.created_at);
  }
}

export class JobsView {
  #rows = new Map();
  #lastAnswer = null;
  #limit = PAGE;

  constructor() {
    this.body = byId('jobs-body');
    this.filter = byId('status-filter');
    this.filter.append(...JOB_STATUSES.map((status) => el('option', {value: status, text: status})));
    this.message = byId('jobs-message');
    this.empty = byId('jobs-empty');
    this.more = byId('jobs-more');
    this.poller = new Poller(() => this.#poll());
    this.filter.addEventListener('change', () => this.#restart());
    this.more.addEventListener('click', () => {
      this.#limit += PAGE;
      this.#restart();
    });
    // Ages move on between polls without asking the service anything.
    setInterval(() => this.#rows.forEach((row) => row.tick()), 5000);
  }

  start() {
    this.poller.start();
  }

  /** A job just submitted: shown at once, then followed by the next polls. */
  addSubmitted(submitted) {
    if (this.filter.value && this.filter.value !== submitted.status) return this.poller.kick();
    const job = {job_id: submitted.job_id, status: submitted.status,
                 created_at: new Date().toISOString(), cancel_requested: false};
    this.#place(this.#row(job), 0);
    this.empty.hidden = true;
    this.poller.kick();
  }

  #restart() {
    this.#lastAnswer = null;
    this.poller.kick();
  }

  async #poll() {
    const query = new URLSearchParams({limit: String(this.#limit)});
    if (this.filter.value) query.set('status', this.filter.value);
    let answer;
    try {
      answer = await getAnswer(`/jobs?${query}`);
    } catch (error) {
      if (!error.needsKey) say(this.message, error.detail);
      throw error;
    }
    say(this.message, '');
    this.poller.holdOff(answer.retryAfterMs);
    if (answer.text === this.#lastAnswer) return 'same';
    this.#lastAnswer = answer.text;
    this.#render(answer.value);
    return 'changed';
  }

  #row(job) {
    let row = this.#rows.get(job.job_id);
    if (!row) {
      row = new JobRow(job.job_id, (target) => this.#cancel(target));
      this.#rows.set(job.job_id, row);
    }
    row.update(job);
    return row;
  }

  // Rows are updated in place and moved only when their place changes, so a focused
  // Cancel button keeps its focus across polls.
  #place(row, index) {
    const current = this.body.children[index] ?? null;
    if (current !== row.node) this.body.insertBefore(row.node, current);
  }

  #render(answer) {
    const seen = new Set();
    answer.jobs.forEach((job, index) => {
      seen.add(job.job_id);
      this.#place(this.#row(job), index);
    });
    for (const [jobId, row] of this.#rows) {
      if (!seen.has(jobId)) {
        row.node.remove();
        this.#rows.delete(jobId);
      }
    }
    this.empty.hidden = answer.jobs.length > 0;
    this.more.hidden = answer.next_offset === null;
  }

  async #cancel(row) {
    row.cancel.disabled = true;
    row.cancel.textContent = 'Canceling…';
    try {
      const answer = await request(`/jobs/${encodeURIComponent(row.jobId)}`, {method: 'DELETE'});
      const view = parseJson(await answer.text());
      row.update(view);
      say(this.message, `Cancel requested for job ${shortId(row.jobId)}.`);
    } catch (error) {
      say(this.message, `Could not cancel job ${shortId(row.jobId)}: ${error.detail}`);
    } finally {
      row.cancel.disabled = false;
      row.cancel.textContent = 'Cancel';
    }
    this.#restart();
  }
}
