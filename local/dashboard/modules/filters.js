// The view's state in the page URL: the filters, the per-page limit and the open run (`run`), so a
// view can be shared, survives a reload, and Back returns to the previous filter. The filter form
// shows the URL's filters; a change to the form pushes a new URL.

import { $ } from './dom.js';

const FILTERS = ['status', 'kind', 'model_variant', 'from', 'to', 'limit'];
const LIMITS = ['25', '50', '100'];
const DEFAULT_LIMIT = '25';
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const CLEARED = { status: '', kind: '', model_variant: '', from: '', to: '', limit: DEFAULT_LIMIT };

const form = $('#filters');

/** The filters in the page URL (an unknown limit reads as the default). */
export function readFilters() {
  const p = new URLSearchParams(location.search);
  const f = {};
  for (const k of FILTERS) f[k] = (p.get(k) || '').trim();
  if (!LIMITS.includes(f.limit)) f.limit = DEFAULT_LIMIT;
  return f;
}

function formFilters() {
  const data = new FormData(form);
  const f = {};
  for (const k of FILTERS) f[k] = String(data.get(k) || '');
  return f;
}

function pageUrl(filters, run) {
  const p = new URLSearchParams();
  for (const k of FILTERS) {
    if (filters[k] && !(k === 'limit' && filters[k] === DEFAULT_LIMIT)) p.set(k, filters[k]);
  }
  if (run) p.set('run', run);
  const q = p.toString();
  return location.pathname + (q ? `?${q}` : '');
}

/** Shows `filters` in the form. */
export function syncForm(filters) {
  for (const k of FILTERS) {
    const input = form.elements.namedItem(k);
    if (!input) continue;
    input.value = filters[k];
    // A select silently ignores values it has no option for; show "Any" rather than a lie.
    if (input.value !== filters[k]) input.value = '';
  }
}

/** The run whose drawer the URL opens, or null. */
export function openRunParam() {
  return new URLSearchParams(location.search).get('run');
}

/** Names the open run in the URL (null removes it) without a new history entry. */
export function setRunParam(id) {
  history.replaceState(history.state, '', pageUrl(readFilters(), id));
}

/** Why the URL's dates cannot be sent (the date inputs cannot hold such values, a typed URL can);
 * null when they can. */
export function dateProblem(filters) {
  for (const name of ['from', 'to']) {
    const value = filters[name];
    if (value && !DATE_RE.test(value)) return `${name}: ${JSON.stringify(value)} is not a YYYY-MM-DD date`;
  }
  return null;
}

function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The GET /runs/v1 query for `filters`, at `cursor` (null for the first page). The page's
 * "from"/"to" are inclusive UTC dates; the API takes created_after (inclusive) and created_before
 * (exclusive), so "to" becomes the next day. */
export function listQuery(filters, cursor) {
  const q = new URLSearchParams();
  for (const k of ['status', 'kind', 'model_variant']) if (filters[k]) q.set(k, filters[k]);
  if (filters.from) q.set('created_after', filters.from);
  if (filters.to) q.set('created_before', DATE_RE.test(filters.to) ? nextDay(filters.to) : filters.to);
  q.set('limit', filters.limit);
  if (cursor) q.set('cursor', cursor);
  return q;
}

/** The form's change, submit and Clear push the form's filters to the URL; Back and Forward show
 * the URL's in the form. Either way `onChange` follows, to list from the first page. */
export function wireFilters(onChange) {
  const apply = () => {
    history.pushState(null, '', pageUrl(formFilters(), null));
    onChange();
  };
  form.addEventListener('change', apply);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  $('#clear-filters').addEventListener('click', () => {
    syncForm(CLEARED);
    apply();
  });
  window.addEventListener('popstate', () => {
    syncForm(readFilters());
    onChange();
  });
}
