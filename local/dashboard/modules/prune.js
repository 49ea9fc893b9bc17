// The guarded prune: the header's "Prune runs…" control (shown when RUNS_PRUNE_ENABLED, disabled
// with a note naming the variable when pruning is locked) and its dialog, which sends
// POST /runs/v1/prune only once PRUNE is typed. The server enforces the lock itself (403
// PRUNE_LOCKED) whatever the page does.

import { $, el } from './dom.js';
import { api, config, errorCode, readJson } from './api.js';

const ui = {
  open: $('#prune-open'),
  note: $('#prune-note'),
  dialog: $('#prune-dialog'),
  form: $('#prune-form'),
  submit: $('#prune-submit'),
  result: $('#prune-result'),
};

/** Shows, disables or explains the control per the deployment's switches (after `loadConfig`). */
export function showPruneControls() {
  const c = config;
  ui.open.hidden = !c.prune_enabled;
  ui.note.hidden = !(c.prune_enabled && c.prune_locked);
  ui.open.disabled = Boolean(c.prune_locked);
  if (c.prune_enabled && c.prune_locked) {
    ui.open.title = 'Pruning is locked on this deployment';
    ui.note.textContent =
      `Prune is disabled: ${c.lock_reason || 'pruning is locked on this deployment'}. ` +
      'The server refuses prune requests here (403 PRUNE_LOCKED).';
  }
}

const field = (name) => ui.form.elements.namedItem(name);

function pruneNumber(name) {
  const raw = String(field(name).value || '').trim();
  if (raw === '') return { ok: true, value: null };
  if (!/^\d+$/.test(raw)) return { ok: false, message: `${name} must be a whole number of 0 or more` };
  return { ok: true, value: raw };
}

function updatePruneButton() {
  const typed = field('confirm').value === 'PRUNE';
  ui.submit.disabled = !typed || config.prune_locked;
}

function pruneMessage(text, isError) {
  ui.result.classList.toggle('error', Boolean(isError));
  ui.result.replaceChildren(text);
}

async function submitPrune(e, onPruned) {
  e.preventDefault();
  if (field('confirm').value !== 'PRUNE') return;
  const q = new URLSearchParams();
  for (const name of ['max_runs', 'max_age_days']) {
    const n = pruneNumber(name);
    if (!n.ok) return pruneMessage(n.message, true);
    if (n.value !== null) q.set(name, n.value);
  }
  ui.submit.disabled = true;
  ui.dialog.dataset.state = 'running';
  pruneMessage('Pruning…', false);
  try {
    const s = await readJson(await api(`/runs/v1/prune${q.toString() ? `?${q}` : ''}`, { method: 'POST' }));
    ui.dialog.dataset.state = 'done';
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
    onPruned();
  } catch (err) {
    ui.dialog.dataset.state = 'error';
    pruneMessage(`${errorCode(err)}: ${err.message}`, true);
  } finally {
    field('confirm').value = '';
    updatePruneButton();
  }
}

function openPrune() {
  ui.form.reset();
  pruneMessage('', false);
  delete ui.dialog.dataset.state;
  updatePruneButton();
  ui.dialog.showModal();
}

/** The control and the dialog; `onPruned` follows a successful prune (the table reloads). */
export function wirePrune(onPruned) {
  ui.open.addEventListener('click', openPrune);
  ui.form.addEventListener('input', updatePruneButton);
  ui.form.addEventListener('submit', (e) => submitPrune(e, onPruned));
  $('#prune-cancel').addEventListener('click', () => ui.dialog.close());
}
