// GolfIQ runs dashboard. Plain browser JavaScript modules, no build step: the dispatcher embeds
// these files and serves this entry at /admin/runs/app.js and the modules it imports at
// /admin/runs/modules/{name}. Every call goes to the same origin's API (/runs/v1...).
//
// State that an operator may want to share lives in the page URL (filters, per-page limit and the
// open run); the API key lives in sessionStorage; the cursor stack for Prev lives in memory.
//
// The modules, by job:
//   modules/dom.js      element helpers, the toast, copy to the clipboard
//   modules/format.js   times, durations, badges
//   modules/api.js      the deployment's switches, the API key, calls and their errors
//   modules/filters.js  the filters and the open run in the page URL, and the filter form
//   modules/table.js    the runs table, its states and cursor paging
//   modules/drawer.js   the run detail drawer and its preview
//   modules/prune.js    the guarded prune control and dialog
//
// A module script runs once the document is parsed (modules are deferred), so every module may
// look its elements up when it loads.

import { loadConfig, wireKeyControls } from './modules/api.js';
import { openDrawer, wireDrawer } from './modules/drawer.js';
import { openRunParam, readFilters, syncForm, wireFilters } from './modules/filters.js';
import { showPruneControls, wirePrune } from './modules/prune.js';
import { load, loadFirstPage, showError, wireTable } from './modules/table.js';

function wire() {
  wireFilters(loadFirstPage);
  wireTable();
  wireKeyControls(() => load());
  wireDrawer();
  wirePrune(loadFirstPage);
}

async function start() {
  wire();
  syncForm(readFilters());
  try {
    await loadConfig();
  } catch (err) {
    showError(err);
    return;
  }
  showPruneControls();
  const run = openRunParam();
  await load();
  if (run) openDrawer(run, null);
}

start();
