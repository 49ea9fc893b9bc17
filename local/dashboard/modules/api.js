// The API client: the deployment's switches (GET /admin/runs/config), the operator's API key
// (asked for when REQUIRE_API_KEY=1, kept in this tab's sessionStorage, asked again after a 401)
// and the API's error contract ({error_code, message}).

import { $ } from './dom.js';

const KEY_STORE = 'golfiq.apiKey';

const ui = {
  keyDialog: $('#key-dialog'),
  keyForm: $('#key-form'),
  keyInput: $('#key-input'),
  keyMsg: $('#key-msg'),
  changeKey: $('#change-key'),
};

/** The switches the page reads at start; these defaults until `loadConfig` has read them. */
export const config = { prune_enabled: false, prune_locked: false, lock_reason: null, require_api_key: false };

let keyPrompt = null; // the pending prompt, shared by concurrent 401s

export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The code to show for a failed call: the API's, or NETWORK_ERROR when it never answered. */
export const errorCode = (err) => (err instanceof ApiFailure ? err.code : 'NETWORK_ERROR');

// reason: "missing" (no key yet), "rejected" (a 401) or "change" (the operator asked).
function askKey(message, reason = 'missing') {
  if (keyPrompt) return keyPrompt;
  keyPrompt = new Promise((resolve) => {
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
      keyPrompt = null;
      updateKeyButton();
      resolve(key);
    };
    ui.keyForm.addEventListener('submit', done);
    ui.keyDialog.showModal();
    ui.keyInput.focus();
  });
  return keyPrompt;
}

/** `fetch` on the same origin with the operator's key; a 401 asks for the key again and retries. */
export async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  let key = sessionStorage.getItem(KEY_STORE);
  if (config.require_api_key && !key) key = await askKey();
  if (key) headers.set('x-api-key', key);
  const resp = await fetch(path, { ...options, headers, credentials: 'same-origin' });
  if (resp.status === 401 && config.require_api_key) {
    if (sessionStorage.getItem(KEY_STORE) === key) sessionStorage.removeItem(KEY_STORE);
    await askKey('That API key was rejected (401). Enter the API key again.', 'rejected');
    return api(path, options);
  }
  return resp;
}

/** The response's JSON body; an ApiFailure with the API's code and message when it is not a 2xx. */
export async function readJson(resp) {
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
  ui.changeKey.hidden = !config.require_api_key;
}

/** Reads the deployment's switches into `config` (the route is public: no key needed). */
export async function loadConfig() {
  const resp = await fetch('/admin/runs/config', { credentials: 'same-origin' });
  Object.assign(config, await readJson(resp));
  updateKeyButton();
}

/** The header's API key button replaces the stored key, then calls `onChanged`. */
export function wireKeyControls(onChanged) {
  ui.changeKey.addEventListener('click', async () => {
    sessionStorage.removeItem(KEY_STORE);
    await askKey('Enter the API key to use in this tab.', 'change');
    onChanged();
  });
  ui.keyDialog.addEventListener('cancel', (e) => e.preventDefault()); // the key is required
}
