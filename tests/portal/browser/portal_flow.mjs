// The portal in a real browser (Debian chromium driven by playwright-core),
// for portal_browser_test.py. Arguments: one JSON object with base (the
// portal's public URL), link (the notification link's path), attachmentSha256,
// xssSubject, evilPort, attackerUrl, shots (screenshot directory).
// Prints one JSON line with the findings; exits 1 on the first failed check.
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const a = JSON.parse(process.argv[2]);
const fail = (msg) => { console.log(JSON.stringify({ ok: false, failure: msg })); process.exit(1); };
const shot = async (page, name) => page.screenshot({ path: join(a.shots, `${name}.png`), fullPage: true });

// A fresh profile each run (playwright passes it as --user-data-dir).
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'sg-chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--ignore-certificate-errors', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  ignoreHTTPSErrors: true,
  acceptDownloads: true,
});
const findings = { dialogs: 0, evilRequests: 0 };
try {
  context.on('request', (r) => { if (r.url().includes(`:${a.evilPort}`)) findings.evilRequests++; });
  const page = await context.newPage();
  page.on('dialog', async (d) => { findings.dialogs++; await d.dismiss(); });

  // 1. The link from the notification: the registration form.
  await page.goto(a.base + a.link);
  await shot(page, '1-register');
  if (!(await page.locator('#password2').count())) fail('no registration form');
  await page.fill('#password', 'Tundra-Kettle-Violin-42');
  await page.fill('#password2', 'Tundra-Kettle-Violin-42');
  await Promise.all([page.waitForNavigation(), page.click('#register')]);
  // 2. Registered: the message the link led to.
  await shot(page, '2-message');
  if (!page.url().includes('/m/')) fail(`after registration at ${page.url()}`);
  // A text/plain message is shown in the page; an HTML one in the sandboxed frame.
  let text = await page.content();
  if (await page.locator('#body-frame').count()) {
    text += await page.frameLocator('#body-frame').locator('body').innerText({ timeout: 5000 });
  }
  if (!text.includes('4711')) fail('the message text is not shown');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-sg_session');
  if (!session || session.sameSite !== 'Strict' || !session.secure || !session.httpOnly) {
    fail(`session cookie ${JSON.stringify(session)}`);
  }
  // 3. The attachment, downloaded, byte for byte.
  const [download] = await Promise.all([page.waitForEvent('download'),
                                        page.click('text=figures.bin')]);
  const saved = await download.path();
  const sha = createHash('sha256').update(readFileSync(saved)).digest('hex');
  if (sha !== a.attachmentSha256) fail(`attachment sha256 ${sha}`);
  // 4. Reply.
  await page.click('#reply');
  await page.fill('#body', 'Thanks, received. (from the browser test)');
  await shot(page, '3-reply');
  await Promise.all([page.waitForNavigation(), page.click('#send')]);
  await shot(page, '4-reply-sent');
  if (!page.url().includes('n=reply_sent')) fail(`after reply at ${page.url()}`);
  // 5. The inbox, and the hostile HTML message: nothing runs, nothing loads.
  await page.goto(a.base + '/inbox');
  await shot(page, '5-inbox');
  await Promise.all([page.waitForNavigation(), page.click(`text=${a.xssSubject}`)]);
  await page.waitForTimeout(500);  // give any payload its chance to fire
  // The HTML the frame is served, as the server sends it: no script, no
  // event handler, no javascript: URL, no remote URL (the sandbox and the
  // frame's CSP would stop them anyway, so this is what catches a sanitizer
  // regression).
  const bodyUrl = a.base + new URL(page.url()).pathname + '/body';
  const served = await page.request.get(bodyUrl);
  if (served.status() !== 200) fail(`${bodyUrl}: status ${served.status()}`);
  const html = await served.text();
  if (!html.includes('click me')) fail(`the served body lost the link text: ${html}`);
  const forbidden = [['a script element', /<script/i], ['an event handler', /<[^>]*\son[a-z]+\s*=/i],
                     ['a javascript: URL', /javascript:/i],
                     ['the remote host', new RegExp(`127\\.0\\.0\\.1:${a.evilPort}`)]];
  for (const [what, re] of forbidden) {
    if (re.test(html)) fail(`the served body has ${what}: ${html}`);
  }
  // The javascript: link, found by its text (the sanitizer drops ids) and clicked.
  const xssFrame = page.frameLocator('#body-frame');
  const link = xssFrame.getByText('click me');
  if ((await link.count()) !== 1) fail('the link "click me" is not in the message frame');
  await link.click({ timeout: 2000 }).catch(() => {});
  await page.waitForTimeout(300);
  await shot(page, '6-xss-message');
  const marker = await page.evaluate(() => window.__xss === undefined);
  if (!marker) fail('a payload set window.__xss');
  if (findings.dialogs) fail(`${findings.dialogs} dialog(s) opened by the HTML mail`);
  if (findings.evilRequests) fail(`${findings.evilRequests} request(s) to the remote host`);
  // 6. Cross-site: a link on another site to the inbox arrives without the cookie.
  await page.goto(a.attackerUrl);
  await Promise.all([page.waitForNavigation(), page.click('#go')]);
  await shot(page, '7-cross-site');
  if (!page.url().endsWith('/login')) fail(`cross-site navigation reached ${page.url()}`);
  console.log(JSON.stringify({ ok: true, ...findings }));
} finally {
  await context.close();
}
