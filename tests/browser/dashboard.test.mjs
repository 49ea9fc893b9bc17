// The runs dashboard (/admin/runs) in Debian's Chromium: key prompt, filters in the URL, cursor
// pagination, the detail drawer, the guarded prune, the locked state, empty/loading/error states
// and the phone layout. Screenshots go to tests/artifacts/browser/.
//
// Run through `make test-browser`, which builds the binaries and sets GOLFIQ_DISPATCHER and
// GOLFIQ_SEED_RUNS. Each suite gets its own dispatcher on a free port over its own temp store.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, newPage, screenshot, startApp } from './harness.mjs';

const API_KEY = 'dash-test-key-3f9c';
const T = { timeout: 60_000 };

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Runs `action` and waits until the page has finished one more listing than before. */
/** Runs `action` and waits until the page has finished one more listing than before; when the
 * action loads a new document (goto, reload, some Back), until that document's first listing. */
async function afterLoad(page, action) {
  const before = await page.evaluate(() => {
    window.__sameDocument = true;
    return Number(document.body.dataset.loads || 0);
  });
  await action();
  await page.waitForFunction((n) => {
    const loads = Number(document.body.dataset.loads || 0);
    return window.__sameDocument ? loads > n : loads >= 1 && document.body.dataset.state !== 'loading';
  }, before);
  return page.getAttribute('body', 'data-state');
}

const rowIds = (page) => page.$$eval('#rows tr', (trs) => trs.map((tr) => tr.dataset.runId));
const column = (page, cls) => page.$$eval(`#rows td.${cls}`, (tds) => tds.map((td) => td.textContent.trim()));
const params = (page) => Object.fromEntries(new URL(page.url()).searchParams);

async function apiJson(app, path, init = {}) {
  const r = await fetch(`${app.url}${path}`, { ...init, headers: { 'x-api-key': API_KEY, ...(init.headers || {}) } });
  return { status: r.status, body: await r.json() };
}

/** Every run the API lists, newest first, through all pages. */
async function allRuns(app) {
  const out = [];
  let cursor = '';
  do {
    const { body } = await apiJson(app, `/runs/v1?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...body.items);
    cursor = body.next_cursor;
  } while (cursor);
  return out;
}

async function noProblems(page) {
  assert.deepEqual(page.problems, [], 'no uncaught errors or console errors (CSP included)');
}

describe('with REQUIRE_API_KEY=1 and RUNS_PRUNE_ENABLED=true', () => {
  let app;
  let page;
  before(async () => {
    app = await startApp('keyed', {
      seed: true,
      env: { REQUIRE_API_KEY: '1', API_KEY, RUNS_PRUNE_ENABLED: 'true' },
    });
    page = await newPage(browser, { origin: app.url });
  });
  after(async () => {
    await page?.context().close();
    await app?.stop();
  });

  it('asks for the key, asks again after a 401, then lists 25 runs newest first', T, async () => {
    await page.goto(`${app.url}/admin/runs`);
    const dialog = page.locator('#key-dialog');
    await dialog.waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'key-input', 'the key field has focus');
    await screenshot(page, 'key-prompt.png');

    await page.fill('#key-input', 'not-the-key');
    await page.press('#key-input', 'Enter');
    await page.waitForFunction(() => {
      const d = document.querySelector('#key-dialog');
      return d.open && d.dataset.reason === 'rejected';
    });
    assert.match(await page.textContent('#key-msg'), /rejected \(401\)/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('golfiq.apiKey')), null, 'a rejected key is dropped');

    const state = await afterLoad(page, async () => {
      await page.fill('#key-input', API_KEY);
      await page.press('#key-input', 'Enter');
    });
    assert.equal(state, 'ready');
    assert.equal(await dialog.isVisible(), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('golfiq.apiKey')), API_KEY);
    const ids = await rowIds(page);
    assert.equal(ids.length, 25);
    assert.deepEqual(ids, app.seed.runs.slice(0, 25).map((r) => r.run_id), 'newest first, as seeded');
    assert.equal(await page.textContent('#page-info'), 'Page 1 · 25 runs');
    assert.equal(await page.isDisabled('#prev'), true);
    assert.equal(await page.isEnabled('#next'), true);

    // Columns: short id, status badge, kind, model, created, started, finished, duration, error.
    const first = page.locator('#rows tr').first();
    assert.equal((await first.locator('td.c-run button').textContent()).trim(), ids[0].slice(-8));
    assert.equal(await first.locator('td.c-status .badge').textContent(), app.seed.runs[0].status);
    assert.equal(await first.locator('td.c-created time').getAttribute('datetime'), app.seed.runs[0].created_at);
    assert.match(await first.locator('td.c-duration').textContent(), /^\d+(\.\d+)? (ms|s)$/);
    const colours = await page.evaluate(() => {
      const bg = (s) => {
        const el = document.querySelector(`#rows .badge.${s}`);
        return el && getComputedStyle(el).backgroundColor;
      };
      return ['succeeded', 'failed', 'processing', 'queued'].map(bg);
    });
    assert.ok(colours.every(Boolean), `every status on page 1: ${colours}`);
    assert.equal(new Set(colours).size, 4, `each status has its own badge colour: ${colours}`);
    const failedRow = page.locator('#rows tr[data-status="failed"]').first();
    assert.match(await failedRow.locator('td.c-error').textContent(), /^[A-Z_]+$/);

    await screenshot(page, 'runs-1280x800.png');

    // The short id copies the full id.
    await page.click(`#rows tr[data-run-id="${ids[1]}"] td.c-run button`);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), ids[1]);
    assert.equal(await page.evaluate(() => document.querySelector('#drawer').open), false, 'copying opens nothing');
    await noProblems(page);
  });

  it('filters by status, kind, variant and dates; the URL carries them across reload and Back', T, async () => {
    await afterLoad(page, () => page.selectOption('select[name=status]', 'failed'));
    await afterLoad(page, () => page.selectOption('select[name=kind]', 'video'));
    assert.deepEqual(params(page), { status: 'failed', kind: 'video' });
    const expected = app.seed.runs.filter((r) => r.status === 'failed' && r.kind === 'video').map((r) => r.run_id);
    assert.ok(expected.length >= 2, 'the seed has failed video runs');
    assert.deepEqual(await rowIds(page), expected);
    await screenshot(page, 'filtered-failed-video.png');

    await afterLoad(page, () => page.reload());
    assert.equal(await page.locator('#key-dialog').isVisible(), false, 'the key survives a reload (sessionStorage)');
    assert.equal(await page.inputValue('select[name=status]'), 'failed');
    assert.equal(await page.inputValue('select[name=kind]'), 'video');
    assert.deepEqual(await rowIds(page), expected, 'same rows after reload');

    await afterLoad(page, () => page.goBack());
    assert.deepEqual(params(page), { status: 'failed' }, 'Back returns to the previous filter');
    assert.equal(await page.inputValue('select[name=kind]'), '');
    assert.ok((await column(page, 'c-status')).every((s) => s === 'failed'));

    await afterLoad(page, () => page.click('#clear-filters'));
    assert.deepEqual(params(page), {});
    await afterLoad(page, () => page.selectOption('select[name=model_variant]', 'yolov11'));
    const models = await column(page, 'c-model');
    assert.equal(models.length, 25);
    assert.ok(models.every((m) => m === 'yolov11'), `only yolov11: ${models}`);

    // A two-day window, both ends inclusive (the page sends created_before = to + 1 day).
    await afterLoad(page, () => page.click('#clear-filters'));
    const day = (r) => r.created_at.slice(0, 10);
    const days = [...new Set(app.seed.runs.map(day))];
    const [to, from] = [days[2], days[3]];
    await afterLoad(page, () => page.fill('input[name=from]', from));
    await afterLoad(page, () => page.fill('input[name=to]', to));
    assert.deepEqual(params(page), { from, to });
    const inRange = app.seed.runs.filter((r) => day(r) >= from && day(r) <= to).map((r) => r.run_id);
    assert.ok(inRange.length > 5 && inRange.length <= 25, `window holds ${inRange.length} runs`);
    assert.deepEqual(await rowIds(page), inRange);

    await afterLoad(page, () => page.click('#clear-filters'));
    await noProblems(page);
  });

  it('pages with Next from next_cursor and Prev from the cursor stack', T, async () => {
    const all = app.seed.runs.map((r) => r.run_id);
    const page1 = await rowIds(page);
    assert.deepEqual(page1, all.slice(0, 25));
    await afterLoad(page, () => page.click('#next'));
    const page2 = await rowIds(page);
    assert.equal(await page.textContent('#page-info'), 'Page 2 · 25 runs');
    assert.deepEqual(page2, all.slice(25, 50));
    assert.equal(page2.filter((id) => page1.includes(id)).length, 0, 'page 2 shares no run with page 1');
    await afterLoad(page, () => page.click('#next'));
    assert.deepEqual(await rowIds(page), all.slice(50, 75));
    assert.equal(await page.isDisabled('#next'), true, 'the last page has no Next');
    await screenshot(page, 'page-3.png');

    await afterLoad(page, () => page.click('#prev'));
    assert.deepEqual(await rowIds(page), page2);
    await afterLoad(page, () => page.click('#prev'));
    assert.deepEqual(await rowIds(page), page1, 'Prev returns to the first page');
    assert.equal(await page.isDisabled('#prev'), true);

    await afterLoad(page, () => page.selectOption('select[name=limit]', '50'));
    assert.deepEqual(params(page), { limit: '50' });
    assert.deepEqual(await rowIds(page), all.slice(0, 50));
    await afterLoad(page, () => page.selectOption('select[name=limit]', '25'));
    assert.deepEqual(params(page), {}, 'the default limit is not written to the URL');
    await noProblems(page);
  });

  it('opens a drawer with lifecycle, metrics, raw JSON, cURL and the preview image', T, async () => {
    const id = app.seed.preview_run_id;
    const { body: run } = await apiJson(app, `/runs/v1/${id}`);
    await page.click(`#rows tr[data-run-id="${id}"] td.c-kind`);
    await page.waitForFunction((rid) => {
      const d = document.querySelector('#drawer');
      return d.open && d.dataset.runId === rid && d.dataset.state === 'ready';
    }, id);
    assert.equal(params(page).run, id, 'the open run is in the URL');
    assert.equal(await page.textContent('#drawer-title'), id);
    const metric = (k) => page.textContent(`#metrics [data-metric="${k}"] .value`);
    assert.equal(await metric('ball_speed'), `${run.result.ball_speed_mps.toFixed(1)} m/s`);
    assert.match(await page.textContent('#metrics [data-metric="ball_speed"] .sub'), /^\d+\.\d mph$/);
    assert.equal(await metric('launch'), `${run.result.launch_deg.toFixed(1)}°`);
    assert.equal(await metric('carry'), `${run.result.carry_m.toFixed(1)} m`);
    assert.equal(await metric('club_speed'), `${run.result.club_speed_mps.toFixed(1)} m/s`);
    assert.equal((await page.textContent('#error-contract')).trim(), 'No error.');
    const raw = JSON.parse(await page.textContent('#raw-json'));
    assert.deepEqual(raw, run, 'the diagnostics block is the run record');
    const drawerText = await page.textContent('#drawer-body');
    for (const needle of ['Created', 'Started', 'Finished', 'Duration', run.inputs.filename, 'Per frame']) {
      assert.ok(drawerText.includes(needle), `drawer shows ${needle}`);
    }
    const img = page.locator('#preview-img');
    await img.waitFor();
    await page.waitForFunction(() => document.querySelector('#preview-img').complete);
    assert.deepEqual(
      await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]),
      [240, 135],
      'the preview PNG decoded',
    );
    await page.click('#copy-curl');
    const curl = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(curl, `curl -s '${app.url}/runs/v1/${id}' -H "x-api-key: $API_KEY"`, 'never the key itself');
    await screenshot(page, 'drawer-succeeded.png');
    await page.locator('#preview-img').scrollIntoViewIfNeeded();
    await screenshot(page, 'drawer-preview.png');

    await page.keyboard.press('Escape');
    // The dialog's close event comes a task after `open` turns false: wait for its effects.
    await page.waitForFunction(
      (rid) =>
        !document.querySelector('#drawer').open &&
        !new URLSearchParams(location.search).has('run') &&
        document.activeElement.dataset.runId === rid,
      id,
    );

    // Keyboard: a focused failed row opens with Enter; the error contract and empty metrics show.
    await afterLoad(page, () => page.selectOption('select[name=status]', 'failed'));
    const failedId = (await rowIds(page))[0];
    const { body: failed } = await apiJson(app, `/runs/v1/${failedId}`);
    await page.focus(`#rows tr[data-run-id="${failedId}"]`);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#drawer').dataset.state === 'ready');
    const contract = await page.textContent('#error-contract');
    assert.ok(contract.includes(failed.error_code) && contract.includes(failed.error_message), contract);
    assert.equal(await metric('ball_speed'), '—');
    assert.equal(await metric('carry'), '—');
    await page.locator('#no-preview').waitFor();
    await screenshot(page, 'drawer-failed.png');
    await page.click('#drawer-close');
    await page.waitForFunction(() => !document.querySelector('#drawer').open);

    // A shared link with ?run= opens that run's drawer on load.
    const queued = app.seed.queued_run_id;
    await page.goto(`${app.url}/admin/runs?run=${queued}`);
    await page.waitForFunction((rid) => {
      const d = document.querySelector('#drawer');
      return d.open && d.dataset.runId === rid && d.dataset.state === 'ready';
    }, queued);
    assert.equal(await page.textContent('#drawer-body .drawer-tools .badge'), 'queued');
    assert.equal(await metric('launch'), '—');
    await page.keyboard.press('Escape');
    await noProblems(page);
  });

  it('shows a shot tracer: the still and the clip playing inline', T, async () => {
    const id = app.seed.tracer_run_id;
    const { body: run } = await apiJson(app, `/runs/v1/${id}`);
    assert.equal(run.result.tracer.clip, true, 'the seeded run has a tracer');
    await page.goto(`${app.url}/admin/runs?run=${id}`);
    await page.waitForFunction((rid) => {
      const d = document.querySelector('#drawer');
      return d.open && d.dataset.runId === rid && d.dataset.state === 'ready';
    }, id);
    const img = page.locator('#preview-img');
    await img.waitFor();
    await page.waitForFunction(() => document.querySelector('#preview-img').complete);
    assert.deepEqual(
      await img.evaluate((i) => [i.naturalWidth, i.naturalHeight, i.alt]),
      [640, 360, `Shot tracer of run ${id}`],
      'the tracer still (preview.jpg) decoded',
    );
    const video = page.locator('#tracer-video');
    await video.waitFor();
    // Chromium decoded the H.264 clip: its size is known and it has frames to show.
    await page.waitForFunction(() => {
      const v = document.querySelector('#tracer-video');
      return v.readyState >= 2 && v.videoWidth > 0;
    });
    const v = await video.evaluate((e) => ({
      w: e.videoWidth,
      h: e.videoHeight,
      duration: e.duration,
      controls: e.controls,
      src: e.src.slice(0, 5),
    }));
    assert.deepEqual([v.w, v.h, v.controls, v.src], [640, 360, true, 'blob:']);
    const [first, last] = run.result.tracer.frames;
    assert.ok(Math.abs(v.duration - (last - first + 1) / 60) < 0.05, `duration ${v.duration}s`);
    await video.scrollIntoViewIfNeeded();
    await screenshot(page, 'drawer-tracer.png');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('#drawer').open);
    await noProblems(page);
  });

  it('is readable at phone width (390x844)', T, async () => {
    const phone = await newPage(browser, { width: 390, height: 844, scale: 2, apiKey: API_KEY });
    try {
      await afterLoad(phone, () => phone.goto(`${app.url}/admin/runs`));
      assert.equal(await phone.locator('#rows tr').count(), 25);
      const layout = await phone.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        thead: getComputedStyle(document.querySelector('thead')).display,
        card: document.querySelector('#rows tr').getBoundingClientRect().width,
      }));
      assert.ok(layout.overflow <= 0, `no horizontal scrolling (${layout.overflow}px too wide)`);
      assert.equal(layout.thead, 'none', 'rows become labelled cards');
      assert.ok(layout.card > 300 && layout.card <= 390, `a card spans the width (${layout.card}px)`);
      await screenshot(phone, 'phone-390x844.png');
      await phone.click('#rows tr:nth-child(2) td.c-kind');
      await phone.waitForFunction(() => document.querySelector('#drawer').dataset.state === 'ready');
      const drawer = await phone.evaluate(() => document.querySelector('#drawer').getBoundingClientRect().width);
      assert.equal(Math.round(drawer), 390, 'the drawer takes the full width');
      await screenshot(phone, 'phone-drawer.png');
      await noProblems(phone);
    } finally {
      await phone.context().close();
    }
  });

  it('prunes only after PRUNE is typed, shows the summary and refreshes the table', T, async () => {
    await afterLoad(page, () => page.goto(`${app.url}/admin/runs`));
    assert.equal(await page.isVisible('#prune-open'), true);
    assert.equal(await page.isVisible('#prune-note'), false, 'no lock note when unlocked');
    await page.click('#prune-open');
    await page.locator('#prune-dialog').waitFor({ state: 'visible' });
    assert.equal(await page.isDisabled('#prune-submit'), true, 'disabled before confirmation');
    await page.fill('#prune-form [name=confirm]', 'prune');
    assert.equal(await page.isDisabled('#prune-submit'), true, 'lower case is not PRUNE');
    await page.fill('#prune-form [name=confirm]', 'PRUNE');
    assert.equal(await page.isEnabled('#prune-submit'), true);
    await page.fill('#prune-form [name=max_runs]', '10');

    const terminal = app.seed.runs.filter((r) => r.status === 'succeeded' || r.status === 'failed').length;
    const state = await afterLoad(page, () => page.click('#prune-submit'));
    assert.equal(state, 'ready', 'the table reloads after the prune');
    await page.locator('#prune-summary').waitFor();
    const summary = await page.$$eval('#prune-summary [data-field]', (divs) =>
      Object.fromEntries(divs.map((d) => [d.dataset.field, Number(d.querySelector('dd').textContent)])),
    );
    assert.equal(summary.deleted, terminal - 10, `kept the 10 newest terminal runs: ${JSON.stringify(summary)}`);
    assert.equal(summary.scanned, summary.deleted + summary.kept);
    await screenshot(page, 'prune-summary.png');
    assert.equal(await page.inputValue('#prune-form [name=confirm]'), '', 'the confirmation is used up');
    assert.equal(await page.isDisabled('#prune-submit'), true);

    const left = (await allRuns(app)).map((r) => r.run_id);
    assert.equal(left.length, app.seed.count - summary.deleted);
    await page.click('#prune-cancel');
    assert.deepEqual(await rowIds(page), left.slice(0, 25), 'the table shows what is left');
    await noProblems(page);
  });
});

describe('with RUNS_PRUNE_LOCKED=true (no API key required)', () => {
  let app;
  let page;
  before(async () => {
    app = await startApp('locked', {
      seed: true,
      env: { RUNS_PRUNE_ENABLED: 'true', RUNS_PRUNE_LOCKED: 'true' },
    });
    page = await newPage(browser);
  });
  after(async () => {
    await page?.context().close();
    await app?.stop();
  });

  it('shows the prune control disabled with the reason, and the server refuses a forced prune', T, async () => {
    assert.equal(await afterLoad(page, () => page.goto(`${app.url}/admin/runs`)), 'ready');
    assert.equal(await page.locator('#key-dialog').isVisible(), false, 'no key prompt without REQUIRE_API_KEY');
    assert.equal(await page.isVisible('#change-key'), false);
    assert.equal(await page.isVisible('#prune-open'), true);
    assert.equal(await page.isDisabled('#prune-open'), true);
    const note = await page.textContent('#prune-note');
    assert.match(note, /RUNS_PRUNE_LOCKED is set/);
    assert.match(note, /403 PRUNE_LOCKED/);
    assert.equal(await page.getAttribute('#prune-open', 'aria-describedby'), 'prune-note');
    await screenshot(page, 'prune-locked.png');

    // Forced past the page's guard: re-enable the button, confirm, submit anyway.
    await page.evaluate(() => {
      document.querySelector('#prune-open').disabled = false;
    });
    await page.click('#prune-open');
    await page.fill('#prune-form [name=confirm]', 'PRUNE');
    assert.equal(await page.isDisabled('#prune-submit'), true, 'the confirm button stays locked');
    await page.evaluate(() => document.querySelector('#prune-form').requestSubmit());
    await page.waitForFunction(() => document.querySelector('#prune-dialog').dataset.state === 'error');
    assert.match(await page.textContent('#prune-result'), /^PRUNE_LOCKED: /);
    await screenshot(page, 'prune-locked-forced.png');

    const direct = await page.evaluate(async () => {
      const r = await fetch('/runs/v1/prune?max_runs=0', { method: 'POST' });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(direct.status, 403);
    assert.equal(direct.body.error_code, 'PRUNE_LOCKED');
    assert.equal((await allRuns(app)).length, app.seed.count, 'nothing was deleted');
    await noProblems(page);
  });
});

describe('with an empty store and default switches', () => {
  let app;
  let page;
  before(async () => {
    app = await startApp('empty');
    page = await newPage(browser);
  });
  after(async () => {
    await page?.context().close();
    await app?.stop();
  });

  it('shows loading, then the empty state, and no prune control', T, async () => {
    // Hold the listing request so the loading state can be seen, then let it through.
    let release;
    const gate = new Promise((r) => {
      release = r;
    });
    const listing = (url) => url.pathname === '/runs/v1';
    await page.route(listing, async (route) => {
      await gate;
      await route.continue();
    });
    await page.goto(`${app.url}/admin/runs`);
    await page.locator('#loading').waitFor({ state: 'visible' });
    assert.equal(await page.getAttribute('body', 'data-state'), 'loading');
    assert.equal(await page.getAttribute('#runs-table', 'aria-busy'), 'true');
    await screenshot(page, 'loading.png');
    release();
    await page.waitForFunction(() => document.body.dataset.state === 'empty');
    await page.unroute(listing);
    assert.equal(await page.isVisible('#loading'), false);
    assert.match(await page.textContent('#empty'), /No runs match these filters/);
    assert.equal(await page.locator('#rows tr').count(), 0);
    assert.equal(await page.isVisible('#prune-open'), false, 'prune is hidden unless RUNS_PRUNE_ENABLED');
    assert.equal(await page.isDisabled('#next'), true);
    await screenshot(page, 'empty.png');
    await noProblems(page);
  });

  it('shows the API error with its code and a Retry', T, async () => {
    assert.equal(await afterLoad(page, () => page.goto(`${app.url}/admin/runs?status=bogus`)), 'error');
    const banner = await page.textContent('#banner');
    assert.match(banner, /INVALID_FILTER/);
    assert.match(banner, /status/);
    assert.equal(await page.isVisible('#banner button'), true);
    await screenshot(page, 'error.png');
    assert.equal(await afterLoad(page, () => page.click('#banner button')), 'error', 'Retry asks again');
    assert.equal(await afterLoad(page, () => page.selectOption('select[name=status]', 'failed')), 'empty');
    assert.equal(await page.isVisible('#banner'), false, 'a good filter clears the error');
    await noProblems(page);
  });
});
