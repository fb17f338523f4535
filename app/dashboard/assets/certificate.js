// The page of one job (/dashboard/jobs/{id}): its progress while it runs (polled until it
// ends, then never again), then its certificate, or its error in words.

import {getAnswer, getJson, request} from './api.js';
import {ENDED_STATUSES} from './contract.js';
import {byId, clear, el, say} from './dom.js';
import {count, percent, shortId} from './format.js';
import {claimSection, methodSection, otherFieldsSection, radiusSection, samplingSection,
        votesSection} from './cert_sections.js';
import {inputSection, uploadName} from './input_view.js';
import {Poller} from './poller.js';
import {recheckSection} from './recheck.js';

const ENDINGS = {
  failed: 'This job failed.',
  canceled: 'This job was canceled.',
};

async function classNamer(modelName) {
  let names = [];
  try {
    const answer = await getJson('/models');
    names = answer.models.find((model) => model.name === modelName)?.manifest?.class_names ?? [];
  } catch {
    // the model may no longer be served: fall back to indices
  }
  return (index) => names[index] ?? `class ${index}`;
}

export class CertificateView {
  constructor(jobId) {
    this.jobId = jobId;
    this.title = byId('job-title');
    this.status = byId('job-status');
    this.progress = byId('job-progress');
    this.body = byId('job-body');
    this.lastText = null;
    this.poller = new Poller(() => this.#poll());
    this.title.textContent = `Job ${shortId(jobId)}`;
    this.title.title = jobId;
    document.title = `Job ${shortId(jobId)} · Certification dashboard`;
  }

  start() {
    this.poller.start();
  }

  async #poll() {
    let answer;
    try {
      answer = await getAnswer(`/jobs/${encodeURIComponent(this.jobId)}`);
    } catch (error) {
      if (error.needsKey) throw error;
      say(this.status, error.detail);
      if (error.status === 404) return 'done';
      throw error;
    }
    this.poller.holdOff(answer.retryAfterMs);
    if (answer.text === this.lastText) return 'same';
    const job = answer.value;
    if (!ENDED_STATUSES.has(job.status)) {
      this.#showActive(job);
    } else {
      await this.#showEnded(job); // if drawing fails, the next poll draws it again
    }
    this.lastText = answer.text;
    return ENDED_STATUSES.has(job.status) ? 'done' : 'changed';
  }

  #showActive(job) {
    const canceling = job.cancel_requested ? ' (cancel requested)' : '';
    say(this.status, `Status: ${job.status}${canceling}`);
    this.status.dataset.status = job.status;
    clear(this.progress);
    if (job.progress) {
      const {done, total} = job.progress;
      this.progress.append(el('progress', {max: total, value: done,
                                           'aria-label': `${count(done)} of ${count(total)} samples`}),
                           ` ${count(done)} of ${count(total)} samples (${percent(done, total)})`);
    }
    if (!job.cancel_requested) {
      this.progress.append(' ', el('button', {type: 'button', text: 'Cancel this job', onclick: async () => {
        await request(`/jobs/${encodeURIComponent(this.jobId)}`, {method: 'DELETE'}).catch(() => null);
        this.poller.kick();
      }}));
    }
  }

  async #showEnded(job) {
    clear(this.progress);
    say(this.status, `Status: ${job.status}`);
    this.status.dataset.status = job.status;
    if (job.status !== 'succeeded') {
      clear(this.body).append(el('section', {class: 'panel ended', 'aria-labelledby': 'ended-title'},
        el('h2', {id: 'ended-title', text: ENDINGS[job.status] ?? `This job is ${job.status}.`}),
        el('p', {class: 'detail', text: job.error?.detail ?? 'No reason was recorded.'}),
        el('p', {class: 'help'}, 'Error code ', el('code', {class: 'error-code', text: job.error?.error ?? '—'}),
           ' (every code is explained in docs/ERRORS.md).')));
      return;
    }
    await this.#showCertificate(job);
  }

  async #showCertificate(job) {
    const cert = job.result;
    const [className, options] = await Promise.all([
      classNamer(cert.model.name), getJson('/options').then((answer) => answer.options)]);
    clear(this.body).append(
      claimSection(cert, className), radiusSection(cert),
      await inputSection(this.jobId, cert), votesSection(cert, className),
      methodSection(cert, job), samplingSection(cert) ?? '',
      recheckSection(job, options, uploadName(this.jobId, job.media_type)),
      otherFieldsSection(cert) ?? '');
  }
}
