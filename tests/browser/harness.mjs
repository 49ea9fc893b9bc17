// Test harness for the dashboard's browser tests: seeds a temp run store with the seed_runs binary,
// starts the dispatcher binary on a free port with an explicit environment, polls /health with a
// deadline, and launches Debian's Chromium through playwright-core. It builds nothing: the binaries
// come from GOLFIQ_DISPATCHER and GOLFIQ_SEED_RUNS (`make test-browser` builds and sets them).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.resolve(REPO, process.env.GOLFIQ_ARTIFACTS || 'tests/artifacts/browser');
const CHROMIUM = process.env.GOLFIQ_CHROMIUM || '/usr/bin/chromium';

function binary(name, fallback) {
  const p = path.resolve(REPO, process.env[name] || fallback);
  if (!fs.existsSync(p)) {
    throw new Error(`${name}=${p} does not exist; build it first (make test-browser does)`);
  }
  return p;
}

/** A port nobody listens on right now: bind 127.0.0.1:0, read the port, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 50 ms until it returns a truthy value or `ms` pass. */
export async function until(what, ms, check) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a dispatcher over a fresh temp data dir. `seed: true` fills its run store first with
 * seed_runs (the summary it prints is returned as `seed`). `env` adds variables; nothing is
 * inherited from the caller's environment except PATH and HOME, so `make`'s exports and an
 * operator's REQUIRE_API_KEY never leak in.
 */
export async function startApp(name, { seed = false, env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `golfiq-dash-${name}-`));
  const runsDir = path.join(dir, 'runs');
  let seeded = null;
  if (seed) {
    const out = execFileSync(binary('GOLFIQ_SEED_RUNS', 'target/debug/seed_runs'), [runsDir], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...(process.env.SEED_ANCHOR ? { SEED_ANCHOR: process.env.SEED_ANCHOR } : {}) },
    });
    seeded = JSON.parse(out);
  }
  const port = await freePort();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const logPath = path.join(ARTIFACTS, `dispatcher-${name}.log`);
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(binary('GOLFIQ_DISPATCHER', 'target/debug/dispatcher'), [], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME || dir,
      PORT: String(port),
      RUN_STORE_DIR: runsDir,
      RUNS_UPLOAD_DIR: path.join(dir, 'uploads'),
      FEATURE_FLAGS_CONFIG_PATH: path.join(dir, 'config', 'feature_flags.json'),
      RUST_LOG: 'info',
      // The seeded store keeps queued runs from past days as fixtures; with a year-long lease
      // the reaper (which ends queued runs older than the queue wait plus one lease) leaves them.
      RUN_LEASE_SECONDS: '31536000',
      ...env,
    },
    stdio: ['ignore', log, log],
  });
  let exited = null;
  proc.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const url = `http://127.0.0.1:${port}`;
  const tail = () => fs.readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
  try {
    await until(`${url}/health`, 20_000, async () => {
      if (exited) throw new Error(`dispatcher exited (${JSON.stringify(exited)}):\n${tail()}`);
      const r = await fetch(`${url}/health`);
      return r.ok;
    });
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${err.message}\n${tail()}`);
  }
  return {
    url,
    seed: seeded,
    dir,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000).unref())]);
        if (!exited) proc.kill('SIGKILL');
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile (playwright gives every launch its own). */
export function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/setup-browser.sh (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A page that records uncaught errors and console errors (a CSP violation shows up there). Failed
 * resource loads are expected (401 before the key, 404 for a run without preview) and not kept.
 */
export async function newPage(browser, { width = 1280, height = 800, scale = 1, origin, apiKey } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: scale });
  if (origin) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  if (apiKey) await page.addInitScript((k) => sessionStorage.setItem('golfiq.apiKey', k), apiKey);
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      page.problems.push(`console: ${msg.text()}`);
    }
  });
  return page;
}

export async function screenshot(page, name, options = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), ...options });
}
