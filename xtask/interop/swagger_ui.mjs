// Swagger UI in a real browser (Debian's Chromium driven by playwright-core): every tag renders,
// "Authorize" takes a bearer token from the token endpoint, and "Try it out" on
// GET /admin/v1/tenants answers 200 with the tenant list. Leaves a screenshot for a person.
import { chromium } from "playwright-core";

const base = process.env.PORTCULLIS_URL;
const secret = process.env.CLIENT_SECRET;
const shot = process.env.SCREENSHOT;

function fail(msg) {
  console.error(`browser check FAILED: ${msg}`);
  process.exit(1);
}

const tokenResp = await fetch(`${base}/t/system/oauth2/token`, {
  method: "POST",
  headers: {
    "content-type": "application/x-www-form-urlencoded",
    authorization: "Basic " + Buffer.from(`admin:${secret}`).toString("base64"),
  },
  body: "grant_type=client_credentials",
});
const token = (await tokenResp.json()).access_token;
if (!token) fail("no admin token");

const spec = await (await fetch(`${base}/openapi.json`)).json();
const tags = spec.tags.map((t) => t.name);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let checks = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${base}/swagger-ui/`, { waitUntil: "networkidle" });
  await page.waitForSelector(".opblock-tag-section", { timeout: 20000 });
  const rendered = await page.$$eval("h3.opblock-tag", (hs) => hs.map((h) => h.getAttribute("data-tag")));
  for (const t of tags) {
    if (!rendered.includes(t)) fail(`tag "${t}" not rendered (rendered: ${rendered.join(", ")})`);
    checks++;
  }

  // Authorize with the bearer token.
  await page.click("button.authorize");
  const bearer = page.locator(".auth-container").filter({ hasText: "bearer" }).first();
  await bearer.locator("input").first().fill(token);
  await bearer.locator("button.authorize").click();
  await page.click("button.btn-done");
  checks++;

  // Try it out: GET /admin/v1/tenants.
  const op = page.locator(".opblock-get").filter({ has: page.locator('.opblock-summary-path[data-path="/admin/v1/tenants"]') }).first();
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 20000 });
  const code = (await status.innerText()).trim();
  if (!code.startsWith("200")) fail(`Try it out answered ${code}`);
  const body = await op.locator(".live-responses-table .response-col_description pre").first().innerText();
  if (!body.includes('"slug": "system"')) fail(`the tenant list is not in the response: ${body.slice(0, 300)}`);
  checks += 2;
  await op.scrollIntoViewIfNeeded();
  if (shot) await page.screenshot({ path: shot, fullPage: false });
} finally {
  await browser.close();
}
console.log(`browser check: ${checks} checks passed`);
