// The runs table: one page of GET /runs/v1 for the URL's filters, its loading, empty and error
// states, and cursor paging (Next follows next_cursor, Prev pops the cursors already visited; the
// stack lives in memory only).

import { $, copyText, dash, el } from './dom.js';
import { badge, durationMs, fmtDuration, fmtTime } from './format.js';
import { ApiFailure, api, errorCode, readJson } from './api.js';
import { dateProblem, listQuery, readFilters } from './filters.js';
import { openDrawer } from './drawer.js';

const ui = {
  rows: $('#rows'),
  table: $('#runs-table'),
  loading: $('#loading'),
  empty: $('#empty'),
  banner: $('#banner'),
  prev: $('#prev'),
  next: $('#next'),
  pageInfo: $('#page-info'),
};

const paging = {
  cursor: null, // cursor of the page on screen; null for the first page
  stack: [], // cursors of the pages before it (Prev pops)
  nextCursor: null,
};
let loadSeq = 0;
let loadsDone = 0; // finished listings, exposed as body[data-loads] for tests and tooling

function setPageState(s) {
  document.body.dataset.state = s;
  if (s !== 'loading') document.body.dataset.loads = String(++loadsDone);
  ui.loading.hidden = s !== 'loading';
  ui.empty.hidden = s !== 'empty';
  ui.table.setAttribute('aria-busy', String(s === 'loading'));
  if (s !== 'error') ui.banner.hidden = true;
}

/** Empties the table and shows the failure's code and message with a Retry button. */
export function showError(err) {
  setPageState('error');
  ui.rows.replaceChildren();
  const msg = err instanceof ApiFailure ? err.message : `Could not reach the API: ${err.message}`;
  ui.banner.replaceChildren(
    el('span', {}, el('code', {}, errorCode(err)), ' ', msg),
    el('button', { type: 'button', class: 'btn', onclick: () => load() }, 'Retry'),
  );
  ui.banner.hidden = false;
  ui.prev.disabled = paging.stack.length === 0;
  ui.next.disabled = true;
  ui.pageInfo.textContent = '';
}

function cell(label, cls, ...content) {
  return el('td', { class: cls, dataset: { label } }, ...content);
}

function runRow(run) {
  const copy = el(
    'button',
    {
      type: 'button',
      class: 'id-btn',
      title: `Copy run id ${run.run_id}`,
      'aria-label': `Copy run id ${run.run_id}`,
      onclick: (e) => {
        e.stopPropagation();
        copyText(run.run_id, 'Run id');
      },
    },
    // A UUIDv7 starts with its timestamp, so runs of one day share a prefix: show the random tail.
    run.run_id.slice(-8),
  );
  const duration = fmtDuration(durationMs(run));
  const tr = el(
    'tr',
    { tabIndex: 0, dataset: { runId: run.run_id, status: run.status }, title: 'Open run details' },
    cell('Run', 'c-run', copy),
    cell('Status', 'c-status', badge(run.status)),
    // Runs imported from the original server may have neither.
    cell('Kind', 'c-kind', run.kind ? el('span', { class: 'pill' }, run.kind) : dash()),
    cell('Model', 'c-model', run.model_variant_selected ?? dash()),
    cell('Created', 'c-created', fmtTime(run.created_at)),
    cell('Started', 'c-started', fmtTime(run.started_at)),
    cell('Finished', 'c-finished', fmtTime(run.finished_at)),
    cell('Duration', 'c-duration num', duration === null ? dash() : duration),
    cell('Error', 'c-error', run.error_code ? el('span', { class: 'err-code' }, run.error_code) : dash()),
  );
  tr.addEventListener('click', (e) => {
    if (!e.target.closest('button')) openDrawer(run.run_id, run);
  });
  tr.addEventListener('keydown', (e) => {
    if (e.target === tr && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      openDrawer(run.run_id, run);
    }
  });
  return tr;
}

/** Lists the page at the current cursor for the URL's filters; a later call wins over a slower
 * earlier one. */
export async function load() {
  const seq = ++loadSeq;
  const filters = readFilters();
  setPageState('loading');
  ui.prev.disabled = true;
  ui.next.disabled = true;
  const problem = dateProblem(filters);
  if (problem) return showError(new ApiFailure(400, 'INVALID_FILTER', problem));
  try {
    const body = await readJson(await api(`/runs/v1?${listQuery(filters, paging.cursor)}`));
    if (seq !== loadSeq) return;
    const items = Array.isArray(body.items) ? body.items : [];
    paging.nextCursor = body.next_cursor || null;
    ui.rows.replaceChildren(...items.map(runRow));
    setPageState(items.length ? 'ready' : 'empty');
    ui.prev.disabled = paging.stack.length === 0;
    ui.next.disabled = !paging.nextCursor;
    const page = paging.stack.length + 1;
    ui.pageInfo.textContent = `Page ${page} · ${items.length} run${items.length === 1 ? '' : 's'}`;
  } catch (err) {
    if (seq === loadSeq) showError(err);
  }
}

/** Forgets the cursors and lists page 1 (after a filter change or a prune). */
export function loadFirstPage() {
  paging.cursor = null;
  paging.stack = [];
  paging.nextCursor = null;
  return load();
}

/** Refresh, Next and Prev. */
export function wireTable() {
  $('#refresh').addEventListener('click', () => load());
  ui.next.addEventListener('click', () => {
    if (!paging.nextCursor) return;
    paging.stack.push(paging.cursor);
    paging.cursor = paging.nextCursor;
    load();
  });
  ui.prev.addEventListener('click', () => {
    if (paging.stack.length === 0) return;
    paging.cursor = paging.stack.pop();
    load();
  });
}
