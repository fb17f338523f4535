// Disciplined polling: one request at a time, the next only after the answer; the interval
// doubles while nothing changes and resets when something does; nothing while the tab is
// hidden; and a task that says 'done' (its job reached a terminal state) is never polled again.

import {getAnswer} from './api.js';
import {byId, say} from './dom.js';

export class Poller {
  #task;
  #baseMs;
  #maxMs;
  #delayMs;
  #timer = null;
  #inFlight = false;
  #again = false;
  #floorMs = 0;
  #state = 'stopped'; // 'running' | 'stopped' | 'done'

  /** `task()` resolves to 'changed', 'same' or 'done'; a rejection counts as 'same'. */
  constructor(task, {baseMs = 1000, maxMs = 30000} = {}) {
    this.#task = task;
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
    this.#delayMs = baseMs;
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.#clearTimer();
      else if (this.#state === 'running') this.kick();
    });
  }

  get delayMs() {
    return this.#delayMs;
  }

  start() {
    if (this.#state === 'done') return;
    this.#state = 'running';
    this.kick();
  }

  stop() {
    if (this.#state === 'running') this.#state = 'stopped';
    this.#clearTimer();
  }

  /** Wait at least `ms` before the next poll (the server's Retry-After); a kick ignores it. */
  holdOff(ms) {
    this.#floorMs = ms;
  }

  /** Poll now (or right after the request in flight) and restart the back-off. */
  kick() {
    if (this.#state !== 'running') return;
    this.#delayMs = this.#baseMs;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#clearTimer();
    this.#run();
  }

  #clearTimer() {
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #run() {
    if (this.#state !== 'running' || document.hidden) return;
    this.#inFlight = true;
    let verdict;
    try {
      verdict = await this.#task();
    } catch (error) {
      verdict = error?.needsKey ? 'stopped' : 'same';
    }
    this.#inFlight = false;
    if (verdict === 'done') this.#state = 'done';
    if (verdict === 'stopped') this.stop();
    if (this.#state !== 'running') return;
    if (this.#again || verdict === 'changed') this.#delayMs = this.#baseMs;
    else this.#delayMs = Math.min(this.#maxMs, this.#delayMs * 2);
    const delay = this.#again ? 0 : Math.max(this.#delayMs, this.#floorMs);
    this.#again = false;
    this.#floorMs = 0;
    this.#schedule(delay);
  }

  #schedule(delayMs) {
    this.#clearTimer();
    if (document.hidden) return; // visibilitychange resumes it
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#run();
    }, delayMs);
  }
}

/** A page drawn from one read (GET `path`), polled: `render(value)` runs only when the
 *  answer's text changes, and a failed read is said in the element `messageId`. A list (no
 *  `finished`) clears that message when it redraws and backs off while nothing changes; an
 *  item is polled at its base rate until `finished(value)` says it will not change any more,
 *  and never again after that or after a 404. Subclasses give `render`. */
export class PolledRead {
  #text = null;

  constructor(path, {messageId, finished = null, ...timing}) {
    this.path = path;
    this.messageId = messageId;
    this.finished = finished;
    this.poller = new Poller(() => this.#refresh(), timing);
  }

  start() {
    this.poller.start();
  }

  async #refresh() {
    try {
      const answer = await getAnswer(this.path);
      const changed = answer.text !== this.#text;
      if (changed) {
        this.#text = answer.text;
        this.render(answer.value);
        if (!this.finished) say(byId(this.messageId), '');
      }
      if (this.finished) return this.finished(answer.value) ? 'done' : 'changed';
      return changed ? 'changed' : 'same';
    } catch (error) {
      say(byId(this.messageId), error.detail || String(error));
      return this.finished && error.status === 404 ? 'done' : 'same';
    }
  }
}
