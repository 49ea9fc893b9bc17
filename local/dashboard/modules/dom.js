// Small DOM helpers shared by the dashboard's modules: element lookup and creation, the "not set"
// dash, the toast, and copying to the clipboard.

export const $ = (sel) => document.querySelector(sel);

/** A new element: `props` sets properties (attributes when the element has no such property),
 * `class`, `dataset` and `on<event>` listeners; children are nodes or text, nested arrays flattened. */
export function el(tag, props, ...children) {
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

export const dash = () => el('span', { class: 'dash', title: 'not set' }, '—');

const toast = $('#toast');
let toastTimer = null;

export function showToast(text) {
  toast.textContent = text;
  toast.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toast.classList.remove('show'), 1800);
}

export async function copyText(text, what) {
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
