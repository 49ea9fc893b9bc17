// How run fields are shown: UTC times, durations, status badges and optional numbers.

import { dash, el } from './dom.js';

export function fmtTime(iso) {
  if (!iso) return dash();
  return el('time', { dateTime: iso, title: iso }, iso.slice(0, 19).replace('T', ' '));
}

/** Finished minus started (or minus created for a run that never started); null while unfinished. */
export function durationMs(run) {
  if (!run.finished_at) return null;
  const start = Date.parse(run.started_at || run.created_at);
  const end = Date.parse(run.finished_at);
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : null;
}

export function fmtDuration(ms) {
  if (ms === null) return null;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  const m = Math.floor(ms / 60000);
  const s = Math.round((ms % 60000) / 1000);
  return `${m} min ${String(s).padStart(2, '0')} s`;
}

export const badge = (status) => el('span', { class: `badge ${status}` }, status);
export const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const fixed = (v, d) => (num(v) === null ? null : num(v).toFixed(d));
