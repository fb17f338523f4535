// Which page this is: the jobs list and submit form (/dashboard), the models (/dashboard/models)
// or one job's page.

import {apiKey} from './api.js';
import {byId} from './dom.js';
import {CertificateView} from './certificate.js';
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

installKeyPrompt();
const jobId = jobIdFromPath();
if (jobId) startJob(jobId);
else if (/\/dashboard\/models\/?$/.test(location.pathname)) startModels();
else startHome();
