// GolfIQ runs dashboard. Plain browser JavaScript, no build step: the dispatcher embeds this file
// and serves it at /admin/runs/app.js. Every call goes to the same origin's API (/runs/v1...).
//
// State that an operator may want to share lives in the page URL (filters, per-page limit and the
// open run); the API key lives in sessionStorage; the cursor stack for Prev lives in memory.
(() => {
  'use strict';

  const KEY_STORE = 'golfiq.apiKey';
  const FILTERS = ['status', 'kind', 'model_variant', 'from', 'to', 'limit'];
  const LIMITS = ['25', '50', '100'];
  const DEFAULT_LIMIT = '25';
  const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

  const $ = (sel) => document.querySelector(sel);
  const ui = {
    filters: $('#filters'),
    rows: $('#rows'),
    table: $('#runs-table'),
    loading: $('#loading'),
    empty: $('#empty'),
    banner: $('#banner'),
    prev: $('#prev'),
    next: $('#next'),
    pageInfo: $('#page-info'),
    keyDialog: $('#key-dialog'),
    keyForm: $('#key-form'),
    keyInput: $('#key-input'),
    keyMsg: $('#key-msg'),
    changeKey: $('#change-key'),
    drawer: $('#drawer'),
    drawerTitle: $('#drawer-title'),
    drawerBody: $('#drawer-body'),
    pruneOpen: $('#prune-open'),
    pruneNote: $('#prune-note'),
    pruneDialog: $('#prune-dialog'),
    pruneForm: $('#prune-form'),
    pruneSubmit: $('#prune-submit'),
    pruneResult: $('#prune-result'),
    toast: $('#toast'),
  };

  const state = {
    config: { prune_enabled: false, prune_locked: false, lock_reason: null, require_api_key: false },
    cursor: null, // cursor of the page on screen; null for the first page
    stack: [], // cursors of the pages before it (Prev pops)
    nextCursor: null,
    loadSeq: 0,
    loadsDone: 0, // finished listings, exposed as body[data-loads] for tests and tooling
    drawerSeq: 0,
    objectUrls: [],
    keyPrompt: null, // the pending prompt, shared by concurrent 401s
  };

  // ---------------------------------------------------------------- small DOM helpers

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k in node) node[k] = v;
      else node.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  const dash = () => el('span', { class: 'dash', title: 'not set' }, '—');

  function showToast(text) {
    ui.toast.textContent = text;
    ui.toast.classList.add('show');
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(() => ui.toast.classList.remove('show'), 1800);
  }

  async function copyText(text, what) {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no async clipboard');
      await navigator.clipboard.writeText(text);
    } catch {
      // Plain http on a non-localhost host has no async clipboard; fall back to a selection copy.
      const ta = el('textarea', { value: text, readOnly: true, class: 'offscreen' });
      ta.style.position = 'fixed';
      ta.style.left = '-9999px';
      document.body.append(ta);
      ta.select();
      let ok = false;
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
      ta.remove();
      if (!ok) {
        showToast(`Copy failed: ${text}`);
        return;
      }
    }
    showToast(`${what} copied`);
  }

  // ---------------------------------------------------------------- formatting

  function fmtTime(iso) {
    if (!iso) return dash();
    return el('time', { dateTime: iso, title: iso }, iso.slice(0, 19).replace('T', ' '));
  }

  function durationMs(run) {
    if (!run.finished_at) return null;
    const start = Date.parse(run.started_at || run.created_at);
    const end = Date.parse(run.finished_at);
    return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : null;
  }

  function fmtDuration(ms) {
    if (ms === null) return null;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
    const m = Math.floor(ms / 60000);
    const s = Math.round((ms % 60000) / 1000);
    return `${m} min ${String(s).padStart(2, '0')} s`;
  }

  const badge = (status) => el('span', { class: `badge ${status}` }, status);
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const fixed = (v, d) => (num(v) === null ? null : num(v).toFixed(d));

  // ---------------------------------------------------------------- URL state

  function readFilters() {
    const p = new URLSearchParams(location.search);
    const f = {};
    for (const k of FILTERS) f[k] = (p.get(k) || '').trim();
    if (!LIMITS.includes(f.limit)) f.limit = DEFAULT_LIMIT;
    return f;
  }

  function formFilters() {
    const data = new FormData(ui.filters);
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

  function syncForm(filters) {
    for (const k of FILTERS) {
      const input = ui.filters.elements.namedItem(k);
      if (!input) continue;
      input.value = filters[k];
      // A select silently ignores values it has no option for; show "Any" rather than a lie.
      if (input.value !== filters[k]) input.value = '';
    }
  }

  function openRunParam() {
    return new URLSearchParams(location.search).get('run');
  }

  function setRunParam(id) {
    history.replaceState(history.state, '', pageUrl(readFilters(), id));
  }

  function nextDay(date) {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  // The page's "from"/"to" are inclusive UTC dates; the API takes created_after (inclusive) and
  // created_before (exclusive), so "to" becomes the next day.
  function listQuery(filters) {
    const q = new URLSearchParams();
    for (const k of ['status', 'kind', 'model_variant']) if (filters[k]) q.set(k, filters[k]);
    if (filters.from) q.set('created_after', filters.from);
    if (filters.to) q.set('created_before', DATE_RE.test(filters.to) ? nextDay(filters.to) : filters.to);
    q.set('limit', filters.limit);
    if (state.cursor) q.set('cursor', state.cursor);
    return q;
  }

  // ---------------------------------------------------------------- API access

  class ApiFailure extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // reason: "missing" (no key yet), "rejected" (a 401) or "change" (the operator asked).
  function askKey(message, reason = 'missing') {
    if (state.keyPrompt) return state.keyPrompt;
    state.keyPrompt = new Promise((resolve) => {
      ui.keyMsg.textContent =
        message || "This deployment requires an API key. It is kept in this tab's session storage only.";
      ui.keyInput.value = '';
      ui.keyDialog.dataset.reason = reason;
      const done = (e) => {
        e.preventDefault();
        const key = ui.keyInput.value.trim();
        if (!key) return;
        sessionStorage.setItem(KEY_STORE, key);
        ui.keyForm.removeEventListener('submit', done);
        ui.keyDialog.close();
        state.keyPrompt = null;
        updateKeyButton();
        resolve(key);
      };
      ui.keyForm.addEventListener('submit', done);
      ui.keyDialog.showModal();
      ui.keyInput.focus();
    });
    return state.keyPrompt;
  }

  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    let key = sessionStorage.getItem(KEY_STORE);
    if (state.config.require_api_key && !key) key = await askKey();
    if (key) headers.set('x-api-key', key);
    const resp = await fetch(path, { ...options, headers, credentials: 'same-origin' });
    if (resp.status === 401 && state.config.require_api_key) {
      if (sessionStorage.getItem(KEY_STORE) === key) sessionStorage.removeItem(KEY_STORE);
      await askKey('That API key was rejected (401). Enter the API key again.', 'rejected');
      return api(path, options);
    }
    return resp;
  }

  async function readJson(resp) {
    let body = null;
    try {
      body = await resp.json();
    } catch {
      body = null;
    }
    if (!resp.ok) {
      const code = (body && body.error_code) || `HTTP_${resp.status}`;
      throw new ApiFailure(resp.status, code, (body && body.message) || resp.statusText || 'request failed');
    }
    return body;
  }

  function updateKeyButton() {
    ui.changeKey.hidden = !state.config.require_api_key;
  }

  // ---------------------------------------------------------------- the runs table

  function setPageState(s) {
    document.body.dataset.state = s;
    if (s !== 'loading') document.body.dataset.loads = String(++state.loadsDone);
    ui.loading.hidden = s !== 'loading';
    ui.empty.hidden = s !== 'empty';
    ui.table.setAttribute('aria-busy', String(s === 'loading'));
    if (s !== 'error') ui.banner.hidden = true;
  }

  function showError(err) {
    setPageState('error');
    ui.rows.replaceChildren();
    const code = err instanceof ApiFailure ? err.code : 'NETWORK_ERROR';
    const msg = err instanceof ApiFailure ? err.message : `Could not reach the API: ${err.message}`;
    ui.banner.replaceChildren(
      el('span', {}, el('code', {}, code), ' ', msg),
      el('button', { type: 'button', class: 'btn', onclick: () => load() }, 'Retry'),
    );
    ui.banner.hidden = false;
    ui.prev.disabled = state.stack.length === 0;
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

  async function load() {
    const seq = ++state.loadSeq;
    const filters = readFilters();
    setPageState('loading');
    ui.prev.disabled = true;
    ui.next.disabled = true;
    if (filters.from && !DATE_RE.test(filters.from)) return showError(badDate('from', filters.from));
    if (filters.to && !DATE_RE.test(filters.to)) return showError(badDate('to', filters.to));
    try {
      const body = await readJson(await api(`/runs/v1?${listQuery(filters)}`));
      if (seq !== state.loadSeq) return;
      const items = Array.isArray(body.items) ? body.items : [];
      state.nextCursor = body.next_cursor || null;
      ui.rows.replaceChildren(...items.map(runRow));
      setPageState(items.length ? 'ready' : 'empty');
      ui.prev.disabled = state.stack.length === 0;
      ui.next.disabled = !state.nextCursor;
      const page = state.stack.length + 1;
      ui.pageInfo.textContent = `Page ${page} · ${items.length} run${items.length === 1 ? '' : 's'}`;
    } catch (err) {
      if (seq === state.loadSeq) showError(err);
    }
  }

  function badDate(name, value) {
    return new ApiFailure(400, 'INVALID_FILTER', `${name}: ${JSON.stringify(value)} is not a YYYY-MM-DD date`);
  }

  function firstPage() {
    state.cursor = null;
    state.stack = [];
    state.nextCursor = null;
  }

  function applyFormFilters() {
    const filters = formFilters();
    history.pushState(null, '', pageUrl(filters, null));
    firstPage();
    load();
  }

  // ---------------------------------------------------------------- detail drawer

  function kv(pairs) {
    return el(
      'dl',
      { class: 'kv' },
      pairs.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v === null || v === undefined || v === '' ? dash() : v)]),
    );
  }

  function metric(label, value, unit, sub, key) {
    return el(
      'div',
      { class: 'metric', dataset: { metric: key } },
      el('div', { class: 'label' }, label),
      el('div', { class: 'value' }, value === null ? '—' : unit === '°' ? `${value}°` : `${value} ${unit}`),
      sub ? el('div', { class: 'sub' }, sub) : null,
    );
  }

  function speed(label, key, mps, mph) {
    const a = fixed(mps, 1);
    const b = fixed(mph, 1);
    if (a !== null) return metric(label, a, 'm/s', b !== null ? `${b} mph` : null, key);
    return metric(label, b, 'mph', null, key);
  }

  function section(title, ...content) {
    return el('section', { 'aria-label': title }, el('h3', {}, title), ...content);
  }

  function curlFor(id) {
    const url = `${location.origin}/runs/v1/${id}`;
    const key = state.config.require_api_key ? ' -H "x-api-key: $API_KEY"' : '';
    return `curl -s '${url}'${key}`;
  }

  function renderDrawer(run) {
    const r = run.result && typeof run.result === 'object' ? run.result : {};
    const timing = run.inference_timing || {};
    const timings = run.timings || {};
    const inputs = run.inputs || {};
    const duration = fmtDuration(durationMs(run));
    const failed = run.status === 'failed' || run.error_code;
    const preview = el('div', { class: 'preview', id: 'preview' }, el('p', { class: 'muted' }, 'Loading preview…'));
    ui.drawerTitle.textContent = run.run_id;
    ui.drawerBody.replaceChildren(
      el(
        'div',
        { class: 'drawer-tools' },
        badge(run.status),
        run.kind && el('span', { class: 'pill' }, run.kind),
        run.model_variant_selected && el('span', { class: 'pill' }, run.model_variant_selected),
        el(
          'button',
          { type: 'button', class: 'btn', id: 'copy-id', onclick: () => copyText(run.run_id, 'Run id') },
          'Copy id',
        ),
        el(
          'button',
          { type: 'button', class: 'btn', id: 'copy-curl', onclick: () => copyText(curlFor(run.run_id), 'cURL command') },
          'Copy as cURL',
        ),
      ),
      section(
        'Lifecycle',
        kv([
          ['Created', fmtTime(run.created_at)],
          ['Started', fmtTime(run.started_at)],
          ['Finished', fmtTime(run.finished_at)],
          ['Updated', fmtTime(run.updated_at)],
          ['Duration', duration],
        ]),
      ),
      section(
        'Metrics',
        el(
          'div',
          { class: 'metrics', id: 'metrics' },
          speed('Ball speed', 'ball_speed', r.ball_speed_mps, r.ball_speed_mph),
          metric('Launch', fixed(r.launch_deg, 1), '°', null, 'launch'),
          metric('Carry', fixed(r.carry_m, 1), 'm', null, 'carry'),
          speed('Club speed', 'club_speed', r.club_speed_mps, r.club_speed_mph),
        ),
      ),
      section(
        'Error contract',
        failed
          ? el(
              'div',
              { class: 'error-box', id: 'error-contract' },
              kv([
                ['error_code', run.error_code ? el('code', {}, run.error_code) : null],
                ['message', run.error_message],
              ]),
            )
          : el('p', { class: 'muted', id: 'error-contract' }, 'No error.'),
      ),
      section('Preview', preview),
      section(
        'Inputs',
        kv([
          ['Type', inputs.type],
          ['Filename', inputs.filename],
          ['Content length', num(inputs.content_length) === null ? null : `${inputs.content_length} bytes`],
          ['Frames', num(inputs.frame_count)],
          ['Source', run.source_type],
          ['Variant chosen by', run.override_source],
          ['Run name', run.run_name],
        ]),
      ),
      section(
        'Timings',
        kv([
          ['Total', num(timing.total_ms ?? timings.total_ms) === null ? null : `${timing.total_ms ?? timings.total_ms} ms`],
          [
            'Per frame',
            num(timing.avg_ms_per_frame ?? timings.avg_inference_ms) === null
              ? null
              : `${timing.avg_ms_per_frame ?? timings.avg_inference_ms} ms`,
          ],
          ['Frames run', num(timing.frame_count ?? timings.frame_count)],
        ]),
      ),
      section(
        'Diagnostics',
        el(
          'details',
          { open: true },
          el('summary', {}, 'Raw JSON'),
          el('pre', { class: 'raw', id: 'raw-json', tabIndex: 0 }, JSON.stringify(run, null, 2)),
        ),
        el('p', { class: 'muted' }, 'cURL: ', el('code', { id: 'curl-text' }, curlFor(run.run_id))),
      ),
    );
    return preview;
  }

  async function loadPreview(id, target, seq) {
    try {
      const resp = await api(`/runs/v1/${id}/preview.png`);
      if (seq !== state.drawerSeq) return;
      if (resp.status === 404) {
        target.replaceChildren(el('p', { class: 'muted', id: 'no-preview' }, 'No preview image for this run.'));
        return;
      }
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const url = URL.createObjectURL(await resp.blob());
      state.objectUrls.push(url);
      if (seq !== state.drawerSeq) return;
      target.replaceChildren(el('img', { src: url, alt: `Annotated preview of run ${id}`, id: 'preview-img' }));
    } catch (err) {
      if (seq === state.drawerSeq) target.replaceChildren(el('p', { class: 'muted' }, `Preview unavailable: ${err.message}`));
    }
  }

  async function openDrawer(id, listed) {
    const seq = ++state.drawerSeq;
    setRunParam(id);
    ui.drawer.dataset.runId = id;
    ui.drawer.dataset.state = 'loading';
    if (listed) renderDrawer(listed);
    else {
      ui.drawerTitle.textContent = id;
      ui.drawerBody.replaceChildren(el('p', { class: 'muted' }, 'Loading run…'));
    }
    if (!ui.drawer.open) ui.drawer.showModal();
    ui.drawer.querySelector('#drawer-close').focus();
    try {
      const run = await readJson(await api(`/runs/v1/${encodeURIComponent(id)}`));
      if (seq !== state.drawerSeq) return;
      const preview = renderDrawer(run);
      ui.drawer.dataset.state = 'ready';
      loadPreview(run.run_id, preview, seq);
    } catch (err) {
      if (seq !== state.drawerSeq) return;
      ui.drawer.dataset.state = 'error';
      const code = err instanceof ApiFailure ? err.code : 'NETWORK_ERROR';
      ui.drawerBody.replaceChildren(
        el('div', { class: 'banner', role: 'alert' }, el('span', {}, el('code', {}, code), ' ', err.message)),
      );
    }
  }

  function onDrawerClosed() {
    state.drawerSeq++;
    for (const url of state.objectUrls.splice(0)) URL.revokeObjectURL(url);
    delete ui.drawer.dataset.runId;
    if (openRunParam()) setRunParam(null);
    // Give focus back to the row the drawer came from, when it is still on screen.
    const id = ui.drawer.dataset.lastRunId;
    const row = id && ui.rows.querySelector(`tr[data-run-id="${CSS.escape(id)}"]`);
    if (row) row.focus();
  }

  // ---------------------------------------------------------------- guarded prune

  function setupPrune() {
    const c = state.config;
    ui.pruneOpen.hidden = !c.prune_enabled;
    ui.pruneNote.hidden = !(c.prune_enabled && c.prune_locked);
    ui.pruneOpen.disabled = Boolean(c.prune_locked);
    if (c.prune_enabled && c.prune_locked) {
      ui.pruneOpen.title = 'Pruning is locked on this deployment';
      ui.pruneNote.textContent =
        `Prune is disabled: ${c.lock_reason || 'pruning is locked on this deployment'}. ` +
        'The server refuses prune requests here (403 PRUNE_LOCKED).';
    }
  }

  function pruneNumber(name) {
    const raw = String(ui.pruneForm.elements.namedItem(name).value || '').trim();
    if (raw === '') return { ok: true, value: null };
    if (!/^\d+$/.test(raw)) return { ok: false, message: `${name} must be a whole number of 0 or more` };
    return { ok: true, value: raw };
  }

  function updatePruneButton() {
    const typed = ui.pruneForm.elements.namedItem('confirm').value === 'PRUNE';
    ui.pruneSubmit.disabled = !typed || state.config.prune_locked;
  }

  function pruneMessage(text, isError) {
    ui.pruneResult.classList.toggle('error', Boolean(isError));
    ui.pruneResult.replaceChildren(text);
  }

  async function submitPrune(e) {
    e.preventDefault();
    if (ui.pruneForm.elements.namedItem('confirm').value !== 'PRUNE') return;
    const q = new URLSearchParams();
    for (const name of ['max_runs', 'max_age_days']) {
      const n = pruneNumber(name);
      if (!n.ok) return pruneMessage(n.message, true);
      if (n.value !== null) q.set(name, n.value);
    }
    ui.pruneSubmit.disabled = true;
    ui.pruneDialog.dataset.state = 'running';
    pruneMessage('Pruning…', false);
    try {
      const s = await readJson(await api(`/runs/v1/prune${q.toString() ? `?${q}` : ''}`, { method: 'POST' }));
      ui.pruneDialog.dataset.state = 'done';
      pruneMessage(
        el(
          'dl',
          { class: 'summary', id: 'prune-summary' },
          ['scanned', 'deleted', 'kept'].map((k) =>
            el('div', { dataset: { field: k } }, el('dt', {}, k), el('dd', {}, String(s[k]))),
          ),
        ),
        false,
      );
      firstPage();
      load();
    } catch (err) {
      ui.pruneDialog.dataset.state = 'error';
      const code = err instanceof ApiFailure ? err.code : 'NETWORK_ERROR';
      pruneMessage(`${code}: ${err.message}`, true);
    } finally {
      ui.pruneForm.elements.namedItem('confirm').value = '';
      updatePruneButton();
    }
  }

  function openPrune() {
    ui.pruneForm.reset();
    pruneMessage('', false);
    delete ui.pruneDialog.dataset.state;
    updatePruneButton();
    ui.pruneDialog.showModal();
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    ui.filters.addEventListener('change', applyFormFilters);
    ui.filters.addEventListener('submit', (e) => {
      e.preventDefault();
      applyFormFilters();
    });
    $('#clear-filters').addEventListener('click', () => {
      syncForm({ status: '', kind: '', model_variant: '', from: '', to: '', limit: DEFAULT_LIMIT });
      applyFormFilters();
    });
    $('#refresh').addEventListener('click', () => load());
    ui.next.addEventListener('click', () => {
      if (!state.nextCursor) return;
      state.stack.push(state.cursor);
      state.cursor = state.nextCursor;
      load();
    });
    ui.prev.addEventListener('click', () => {
      if (state.stack.length === 0) return;
      state.cursor = state.stack.pop();
      load();
    });
    window.addEventListener('popstate', () => {
      syncForm(readFilters());
      firstPage();
      load();
    });
    ui.changeKey.addEventListener('click', async () => {
      sessionStorage.removeItem(KEY_STORE);
      await askKey('Enter the API key to use in this tab.', 'change');
      load();
    });
    ui.keyDialog.addEventListener('cancel', (e) => e.preventDefault()); // the key is required
    $('#drawer-close').addEventListener('click', () => ui.drawer.close());
    ui.drawer.addEventListener('close', onDrawerClosed);
    ui.drawer.addEventListener('click', (e) => {
      if (e.target === ui.drawer) ui.drawer.close(); // a click on the backdrop
    });
    const remember = (e) => {
      const tr = e.target.closest && e.target.closest('tr[data-run-id]');
      if (tr) ui.drawer.dataset.lastRunId = tr.dataset.runId;
    };
    ui.rows.addEventListener('click', remember, true);
    ui.rows.addEventListener('keydown', remember, true);
    ui.pruneOpen.addEventListener('click', openPrune);
    ui.pruneForm.addEventListener('input', updatePruneButton);
    ui.pruneForm.addEventListener('submit', submitPrune);
    $('#prune-cancel').addEventListener('click', () => ui.pruneDialog.close());
  }

  async function start() {
    wire();
    const filters = readFilters();
    syncForm(filters);
    try {
      const resp = await fetch('/admin/runs/config', { credentials: 'same-origin' });
      state.config = { ...state.config, ...(await readJson(resp)) };
    } catch (err) {
      showError(err);
      return;
    }
    updateKeyButton();
    setupPrune();
    const run = openRunParam();
    await load();
    if (run) openDrawer(run, null);
  }

  start();
})();
