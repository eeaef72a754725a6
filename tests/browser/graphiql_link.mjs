// Opens a GraphiQL link in headless Debian Chromium (every non-loopback request aborted) and
// reports, as one JSON line on stdout, what a person would see and what the page sent:
//   node graphiql_link.mjs <link> <access token> <screenshot.png>
// 1. the link: the query and variables editors, and a screenshot;
// 2. the Headers tab set to {"Authorization": "Bearer <token>"} and the operation run;
// 3. the page without a link: its welcome text, run as it stands (the Headers tab persists);
// 4. a subscription run from the editor: the connection_init payload GraphiQL sends.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [link, token, shot] = process.argv.slice(2);
const LOCAL = new Set(['127.0.0.1', 'localhost', '[::1]']);
const EDITOR = '.graphiql-query-editor';
const RESULT = '.graphiql-response';

const userDataDir = mkdtempSync(join(tmpdir(), 'graphiql-link-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const report = { blocked: [], pageErrors: [], framesSent: [] };
await context.route('**/*', (route) => {
  const u = new URL(route.request().url());
  if (!u.protocol.startsWith('http') || LOCAL.has(u.hostname)) return route.continue();
  report.blocked.push(u.href);
  return route.abort('blockedbyclient');
});

// The CodeMirror editors of GraphiQL 3: the query, then variables and headers, then the result.
const editors = (page) => page.evaluate(() => [...document.querySelectorAll('.CodeMirror')]
  .map((el) => el.CodeMirror.getValue()));
const setEditor = (page, index, value) => page.evaluate(([i, v]) => {
  document.querySelectorAll('.CodeMirror')[i].CodeMirror.setValue(v);
}, [index, value]);
const result = (page) => page.locator(RESULT).first().innerText();
async function run(page, expected) {
  await page.locator('.graphiql-execute-button').first().click();
  await page.waitForFunction(([sel, text]) => document.querySelector(sel)?.innerText.includes(text),
    [RESULT, expected], { timeout: 15000 }).catch(() => {});
  return result(page);
}
function watch(page) {
  page.on('pageerror', (e) => report.pageErrors.push(e.message));
  page.on('websocket', (ws) => ws.on('framesent', (frame) => report.framesSent.push(frame.payload)));
}

try {
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  await page.goto(link, { waitUntil: 'load', timeout: 20000 });
  await page.waitForSelector(EDITOR, { state: 'visible', timeout: 15000 });
  [report.query, report.variables] = await editors(page);
  await page.screenshot({ path: shot });

  await page.getByRole('button', { name: 'Headers' }).click();
  await setEditor(page, 2, JSON.stringify({ Authorization: `Bearer ${token}` }));
  report.linkResult = await run(page, 'totalCount');
  report.linkUrl = page.url();
  // GraphiQL keeps an edit of the Headers tab 500 ms after it (debounced): a fast run left the
  // next page before it was kept. Go on once it is (or after 10 s, and the check fails).
  await page.waitForFunction(() => (localStorage.getItem('graphiql:headers') ?? '')
    .includes('Bearer'), null, { timeout: 10000 }).catch(() => {});

  const welcome = await context.newPage();
  watch(welcome);
  await welcome.goto(link.split('?')[0], { waitUntil: 'load', timeout: 20000 });
  await welcome.waitForSelector(EDITOR, { state: 'visible', timeout: 15000 });
  [report.welcome, , report.welcomeHeaders] = await editors(welcome);
  report.welcomeResult = await run(welcome, 'role');

  await setEditor(welcome, 0, 'subscription { executionEvents { status } }');
  // As a person would: run it once GraphiQL has taken the edit in (its parse is debounced).
  await welcome.waitForFunction(() => location.search.includes('subscription'));
  await welcome.waitForTimeout(500);
  await welcome.locator('.graphiql-execute-button').first().click();
  const deadline = Date.now() + 10000;
  while (!report.framesSent.some((f) => String(f).includes('connection_init'))
    && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
} catch (error) {
  report.error = error.message.split('\n')[0];
}
await context.close();
rmSync(userDataDir, { recursive: true, force: true });
console.log(JSON.stringify(report));
