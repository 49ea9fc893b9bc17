// The run detail drawer: GET /runs/v1/{id} shown as lifecycle, metrics, error contract, inputs,
// timings and raw JSON, with the preview (the tracer still, else a frame with its boxes) and the
// tracer clip played inline (both fetched with the key, shown from blob URLs), and copy buttons.
// `?run=<id>` in the page URL names the open run.

import { $, copyText, dash, el } from './dom.js';
import { badge, durationMs, fixed, fmtDuration, fmtTime, num } from './format.js';
import { api, config, errorCode, readJson } from './api.js';
import { openRunParam, setRunParam } from './filters.js';

const ui = {
  drawer: $('#drawer'),
  title: $('#drawer-title'),
  body: $('#drawer-body'),
  close: $('#drawer-close'),
  rows: $('#rows'),
};

let drawerSeq = 0; // bumped by each open and close, so a late answer for another run is dropped
const objectUrls = []; // preview and clip blob URLs, revoked when the drawer closes

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

/** The curl command for the run: the key as a shell variable, never the key itself. */
function curlFor(id) {
  const url = `${location.origin}/runs/v1/${id}`;
  const key = config.require_api_key ? ' -H "x-api-key: $API_KEY"' : '';
  return `curl -s '${url}'${key}`;
}

/** Fills the drawer with `run`; returns the preview's placeholder. */
function renderDrawer(run) {
  const r = run.result && typeof run.result === 'object' ? run.result : {};
  const timing = run.inference_timing || {};
  const timings = run.timings || {};
  const inputs = run.inputs || {};
  const duration = fmtDuration(durationMs(run));
  const failed = run.status === 'failed' || run.error_code;
  const preview = el('div', { class: 'preview', id: 'preview' }, el('p', { class: 'muted' }, 'Loading preview…'));
  ui.title.textContent = run.run_id;
  ui.body.replaceChildren(
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

/** GET `path` as a blob URL (revoked when the drawer closes); null on 404. */
async function blobUrl(path) {
  const resp = await api(path);
  if (resp.status === 404) return null;
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  const url = URL.createObjectURL(await resp.blob());
  objectUrls.push(url);
  return url;
}

/** The preview (preview.jpg; preview.png for runs stored before the tracer) and, when the run
 * has one, the tracer clip playing inline below it. */
async function loadPreview(run, target, seq) {
  const id = run.run_id;
  const tracer = run.result && run.result.tracer;
  try {
    const url = (await blobUrl(`/runs/v1/${id}/preview.jpg`)) ?? (await blobUrl(`/runs/v1/${id}/preview.png`));
    if (seq !== drawerSeq) return;
    if (url === null) {
      target.replaceChildren(el('p', { class: 'muted', id: 'no-preview' }, 'No preview image for this run.'));
      return;
    }
    const alt = tracer ? `Shot tracer of run ${id}` : `Annotated preview of run ${id}`;
    target.replaceChildren(el('img', { src: url, alt, id: 'preview-img' }));
  } catch (err) {
    if (seq === drawerSeq) target.replaceChildren(el('p', { class: 'muted' }, `Preview unavailable: ${err.message}`));
  }
  if (!tracer || !tracer.clip) return;
  try {
    const url = await blobUrl(`/runs/v1/${id}/tracer.mp4`);
    if (seq !== drawerSeq || url === null) return;
    const video = el('video', {
      src: url,
      id: 'tracer-video',
      controls: true,
      muted: true,
      loop: true,
      autoplay: true,
      playsInline: true,
      title: `Tracer clip of run ${id}`,
    });
    target.append(video);
  } catch (err) {
    if (seq === drawerSeq) target.append(el('p', { class: 'muted' }, `Tracer clip unavailable: ${err.message}`));
  }
}

/** Opens the drawer on run `id`: at once from the listed record when there is one, then from the
 * API's full record. */
export async function openDrawer(id, listed) {
  const seq = ++drawerSeq;
  setRunParam(id);
  ui.drawer.dataset.runId = id;
  ui.drawer.dataset.state = 'loading';
  if (listed) renderDrawer(listed);
  else {
    ui.title.textContent = id;
    ui.body.replaceChildren(el('p', { class: 'muted' }, 'Loading run…'));
  }
  if (!ui.drawer.open) ui.drawer.showModal();
  ui.close.focus();
  try {
    const run = await readJson(await api(`/runs/v1/${encodeURIComponent(id)}`));
    if (seq !== drawerSeq) return;
    const preview = renderDrawer(run);
    ui.drawer.dataset.state = 'ready';
    loadPreview(run, preview, seq);
  } catch (err) {
    if (seq !== drawerSeq) return;
    ui.drawer.dataset.state = 'error';
    ui.body.replaceChildren(
      el('div', { class: 'banner', role: 'alert' }, el('span', {}, el('code', {}, errorCode(err)), ' ', err.message)),
    );
  }
}

function onDrawerClosed() {
  drawerSeq++;
  for (const url of objectUrls.splice(0)) URL.revokeObjectURL(url);
  delete ui.drawer.dataset.runId;
  if (openRunParam()) setRunParam(null);
  // Give focus back to the row the drawer came from, when it is still on screen.
  const id = ui.drawer.dataset.lastRunId;
  const row = id && ui.rows.querySelector(`tr[data-run-id="${CSS.escape(id)}"]`);
  if (row) row.focus();
}

/** The close button, Escape, a click on the backdrop, and remembering which row opened it. */
export function wireDrawer() {
  ui.close.addEventListener('click', () => ui.drawer.close());
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
}
