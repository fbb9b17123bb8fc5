// What the live dashboard costs an idle gateway (docs/benchmarks.md): a model of 100 keys on
// mockllm, no traffic; the gateway's CPU time (utime + stime from /proc/<pid>/stat) over
// BC_MEASURE_S seconds (default 20) without a page, then with the page open in headless
// Chromium (signed in through the login form) polling once a second, then with its Usage tab
// shown (the usage ledger read every 15 s). Not a test (no *.test.mjs): run it by hand:
//   BC_BUILD_DIR=build node tests/integration/dashboard_idle_cpu.mjs   (from the repository's root)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import {
  gatewayConfig, openaiModel, request, sleep, startGateway, startMockllm, stopAll,
} from './harness.mjs';

const TOKEN = 'dashboard-admin-token-0123456789';
const SECONDS = Number(process.env.BC_MEASURE_S || 20);
const TICKS = 100;  // USER_HZ on Linux

const cpuTicks = (pid) => {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};

async function measure(pid, what) {
  const t0 = cpuTicks(pid);
  const start = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const ticks = cpuTicks(pid) - t0;
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const percent = (ticks / TICKS / wall) * 100;
  console.log(`${what}: ${ticks} ticks of CPU in ${wall.toFixed(1)} s = ${percent.toFixed(2)} % of one core`);
  return percent;
}

let browser;
let profile;
let ledgerDir;
try {
  ledgerDir = mkdtempSync(path.join(tmpdir(), 'bc-idle-usage-'));
  const mock = await startMockllm();
  const keys = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, name: `key-${i}` }));
  const gw = await startGateway({
    ...gatewayConfig({ pool: openaiModel(mock, keys, { max_concurrency: 4, max_qps: 10 }) }),
    admin: { dashboard: true, token: TOKEN },
    usage: { path: path.join(ledgerDir, 'usage.db') },
  });
  await sleep(2000);
  await measure(gw.pid, 'idle, no page');

  profile = mkdtempSync(path.join(tmpdir(), 'bc-chromium-'));
  browser = await puppeteer.launch({
    executablePath: process.env.BC_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${profile}`],
  });
  const page = await browser.newPage();
  await page.goto(`${gw.url}/dashboard`);
  await page.type('#token', TOKEN);
  await Promise.all([page.waitForNavigation(), page.click('#login-form button[type=submit]')]);
  await page.waitForSelector('table.keys[data-model="pool"] tr[data-key="key-99"]');
  const size = (await request(`${gw.url}/admin/dashboard`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text.length;
  console.log(`GET /admin/dashboard: ${size} bytes with the whole series`);
  await sleep(2000);
  await measure(gw.pid, 'idle, dashboard open (one poll a second)');
  await page.click('#tab-usage');
  await page.waitForSelector('#usage-days rect.day-bar');
  await measure(gw.pid, 'idle, usage tab open (7 ledger queries every 15 s)');
} finally {
  const pid = browser?.process()?.pid;
  try { await browser?.close(); } catch { /* killed below */ }
  if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  if (profile) rmSync(profile, { recursive: true, force: true });
  await stopAll();
  if (ledgerDir) rmSync(ledgerDir, { recursive: true, force: true });
}
