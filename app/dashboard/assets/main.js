// Which page this is: the jobs list and submit form (/dashboard), the models (/dashboard/models)
// or one job's page.

import {apiKey} from './api.js';
import {byId} from './dom.js';
import {BatchView, BatchesView} from './batches.js';
import {CertificateView} from './certificate.js';
import {GateView, GatesView} from './gates.js';
import {JobsView} from './jobs.js';
import {installKeyPrompt} from './keys.js';
import {ModelsView} from './models.js';
import {SubmitView} from './submit.js';

function jobIdFromPath() {
  const match = location.pathname.match(/\/dashboard\/jobs\/([^/]+)\/?$/);
  return match ? decodeURIComponent(match[1]) : null;
}

function startHome() {
  byId('home').hidden = false;
  const jobs = new JobsView();
  const submit = new SubmitView(jobs);
  jobs.start();
  submit.start();
  apiKey.onChange(() => {
    jobs.poller.start();
    submit.loadModels();
  });
}

function startModels() {
  byId('models-view').hidden = false;
  const view = new ModelsView();
  view.start();
  apiKey.onChange(() => view.start());
}

function startJob(jobId) {
  byId('job-view').hidden = false;
  const view = new CertificateView(jobId);
  view.start();
  apiKey.onChange(() => view.start());
}

function startGates(gateId) {
  const view = gateId ? new GateView(gateId) : new GatesView();
  byId(gateId ? 'gate-view' : 'gates-view').hidden = false;
  view.start();
  apiKey.onChange(() => view.poller.start());
}

function startBatches(batchId) {
  const view = batchId ? new BatchView(batchId) : new BatchesView();
  byId(batchId ? 'batch-view' : 'batches-view').hidden = false;
  view.start();
  apiKey.onChange(() => view.poller.start());
}

installKeyPrompt();
const jobId = jobIdFromPath();
const gates = location.pathname.match(/\/dashboard\/gates(?:\/([^/]+))?\/?$/);
const batches = location.pathname.match(/\/dashboard\/batches(?:\/([^/]+))?\/?$/);
if (jobId) startJob(jobId);
else if (/\/dashboard\/models\/?$/.test(location.pathname)) startModels();
else if (batches) startBatches(batches[1] ? decodeURIComponent(batches[1]) : null);
else if (gates) startGates(gates[1] ? decodeURIComponent(gates[1]) : null);
else startHome();
