// The vendor portal in a real browser (Debian's Chromium, playwright-core), with the real SMTP
// server: a vendor owner and a department owner sign in with the emailed code; the vendor
// creates a secret integration, reads it from the one-time reveal page and gets a token with
// it; rotates with a 1-hour overlap (both work) and with none (the old one is refused); creates
// a private_key_jwt integration with a generated key pair, downloads the private key and gets a
// token with an assertion signed by it; asks to act for the department; the department approves;
// the integration gets an on_behalf_of token; the department revokes; the token is refused.
// Every page: axe-core (no serious or critical violation), screenshots at 1280 and 375 px in
// target/portal/.
import { chromium } from "playwright-core";
import { createRequire } from "module";
import { execFileSync } from "child_process";
import crypto from "crypto";
import fs from "fs";
import path from "path";

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.env.PORTCULLIS_URL;
const mailDir = process.env.MAIL_DIR;
const shots = path.join(process.env.SHOTS, "portal");
fs.mkdirSync(shots, { recursive: true });
const T = "acme";
const PASSWORD = "a long portal passphrase";
let checks = 0;
const fail = (m) => { console.error(`portal check FAILED: ${m}`); process.exit(1); };
const ok = (m) => { checks++; console.log(`ok ${checks} - ${m}`); };
let mails = 0;

async function api(method, url, token, body) {
  const r = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 300) fail(`${method} ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
async function token(fields, basic) {
  const headers = { "content-type": "application/x-www-form-urlencoded" };
  if (basic) headers.authorization = "Basic " + Buffer.from(basic).toString("base64");
  const r = await fetch(`${base}/t/${T}/oauth2/token`, { method: "POST", headers, body: new URLSearchParams(fields) });
  return { status: r.status, body: await r.json() };
}

const admin = (await (await fetch(`${base}/t/system/oauth2/token`, { method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(`admin:${process.env.CLIENT_SECRET}`).toString("base64") },
  body: "grant_type=client_credentials" })).json()).access_token;
await api("POST", "/admin/v1/tenants", admin, { slug: T, name: "Acme Emergency Services", environment: "production",
  settings: { integration_scopes: ["reports:write", "incidents:read"] } });
const org = async (kind, name) => (await api("POST", `/admin/v1/tenants/${T}/organizations`, admin, { kind, name })).id;
const vendor = await org("vendor", "Acme Reporting");
const department = await org("department", "Springfield Fire Department");
// A tenant admin (a person) signs in by the password grant and the emailed code, and invites
// each entity's first owner.
await api("POST", `/admin/v1/tenants/${T}/users`, admin, { email: "tara@acme.example", password: PASSWORD,
  mfa_enabled: true, tenant_roles: ["tenant_admin"] });
let before = fs.readdirSync(mailDir).length;
const step1 = await token({ grant_type: "password", client_id: "portal", username: "tara@acme.example", password: PASSWORD });
if (step1.body.error !== "mfa_required") fail(`tenant admin sign-in: ${JSON.stringify(step1.body)}`);
const tara = (await token({ grant_type: "urn:portcullis:params:oauth:grant-type:mfa-otp", client_id: "portal",
  mfa_token: step1.body.mfa_token, otp: code(before) })).body.access_token;
if (!tara) fail("no tenant admin token");
const links = {};
for (const [email, o] of [["olga@vendor.example", vendor], ["dora@fd.example", department]]) {
  before = fs.readdirSync(mailDir).length;
  await api("POST", "/account/invitations", tara, { organization_id: o, email, role: "owner" });
  links[email] = invitationLink(before);
}
ok("a tenant admin invited the vendor's and the department's first owners");

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

async function inspect(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) fail(`${name}: axe: ${bad.map((v) => `${v.id} (${v.nodes.map((n) => n.target).join(" ")})`).join("; ")}`);
  await page.setViewportSize({ width: 375, height: 812 });
  await page.screenshot({ path: path.join(shots, `${name}-375.png`), fullPage: true });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 375) fail(`${name}: wider than a 375 px screen (${wide} px)`);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(shots, `${name}-1280.png`), fullPage: true });
  ok(`${name}: accessible (axe-core), fits 375 px`);
}

function invitationLink(after) {
  for (let i = 0; i < 75; i++) {
    const files = fs.readdirSync(mailDir).sort();
    if (files.length > after) {
      const text = fs.readFileSync(path.join(mailDir, files[files.length - 1]), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
      const m = text.match(/(http:\/\/127\.0\.0\.1:\d+\/t\/acme\/portal\/invite\?token=[A-Za-z0-9_-]+)/);
      if (m) return m[1];
    }
    execFileSync("sleep", ["0.2"]);
  }
  fail("no invitation arrived");
}

function code(after) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const files = fs.readdirSync(mailDir).sort();
    if (files.length > after) {
      const text = fs.readFileSync(path.join(mailDir, files[files.length - 1]), "utf8");
      const m = text.match(/^Subject:.*?\b(\d{6})\b/m) || text.match(/\b(\d{6})\b/);
      if (m) return m[1];
    }
    execFileSync("sleep", ["0.2"]);
  }
  fail("no code arrived");
}

/// Accepts the emailed invitation (choosing a password), then signs in with the emailed code.
async function signIn(email) {
  // axe-core is injected into pages that forbid scripts: the check bypasses the CSP.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(links[email]);
  await page.getByLabel(/Choose a password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Accept the invitation" }).click();
  await page.waitForURL(/\/signin/);
  const before = fs.readdirSync(mailDir).length;
  if ((await page.inputValue("#email")) !== email) fail("the sign-in page does not carry the invited email");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/signin\/code/);
  await page.getByLabel("Code").fill(code(before));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/portal\/$/);
  return page;
}

async function readReveal(page) {
  await page.waitForSelector("text=This is shown only once");
  return { clientId: (await page.textContent("#client-id")).trim(), value: await page.inputValue("#secret") };
}

async function createIntegration(page, name, credential) {
  await page.goto(`${base}/t/${T}/portal/e/${vendor}`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("reports:write").check();
  await page.locator(`input[name=credential][value=${credential}]`).check();
  await page.getByRole("button", { name: "Create integration" }).click();
  return page;
}

// The vendor.
const v = await signIn("olga@vendor.example");
await inspect(v, "home");
await v.goto(`${base}/t/${T}/portal/e/${vendor}`);
if (!(await v.textContent("main")).includes("No integrations yet")) fail("no empty state");
await inspect(v, "entity-empty");
await createIntegration(v, "CAD connector", "secret");
const first = await readReveal(v);
await inspect(v, "reveal-secret");
let t = await token({ grant_type: "client_credentials" }, `${first.clientId}:${first.value}`);
if (t.status !== 200) fail(`token with the revealed secret: ${JSON.stringify(t.body)}`);
ok("the secret from the reveal page gets a token");
await v.reload();
if (!(await v.textContent("main")).includes("Nothing to show")) fail("the reveal page shows its secret again after a reload");
if ((await v.content()).includes(first.value)) fail("the secret is still in the page");
await inspect(v, "reveal-reloaded");

async function rotate(overlapLabel) {
  await v.goto(`${base}/t/${T}/portal/e/${vendor}`);
  await v.getByLabel("Old secret keeps working").first().selectOption({ label: overlapLabel });
  await v.getByRole("button", { name: "Rotate secret" }).first().click();
  return (await readReveal(v)).value;
}
const second = await rotate("for 1 hour");
for (const s of [first.value, second]) {
  t = await token({ grant_type: "client_credentials" }, `${first.clientId}:${s}`);
  if (t.status !== 200) fail("a secret stopped during the overlap");
}
ok("rotated with a 1-hour overlap: old and new both work");
// The code behind this session is now 11 minutes old (the test clock): rotating asks for a
// new one, then carries on.
execFileSync("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE browser_sessions SET auth_time = auth_time - 660'); c.commit()", process.env.DB_PATH]);
mails = fs.readdirSync(mailDir).length;
await v.goto(`${base}/t/${T}/portal/e/${vendor}`);
await v.getByLabel("Old secret keeps working").first().selectOption({ label: "not at all" });
await v.getByRole("button", { name: "Rotate secret" }).first().click();
await v.waitForSelector("text=Confirm it is you");
await inspect(v, "step-up");
await v.getByLabel("Code").fill(code(mails));
await v.getByRole("button", { name: "Continue" }).click();
const third = (await readReveal(v)).value;
ok("an 11-minute-old code: the step-up prompt, then the rotation carried on");
t = await token({ grant_type: "client_credentials" }, `${first.clientId}:${second}`);
if (t.status !== 401) fail(`the old secret still works after a rotation without overlap: ${t.status}`);
t = await token({ grant_type: "client_credentials" }, `${first.clientId}:${third}`);
if (t.status !== 200) fail("the new secret does not work");
ok("rotated without overlap: the old secret is refused");

await createIntegration(v, "Signed reports", "generate");
const key = await readReveal(v);
await inspect(v, "reveal-key");
const [download] = await Promise.all([v.waitForEvent("download"), v.getByRole("link", { name: "Download PEM" }).click()]);
const pem = fs.readFileSync(await download.path(), "utf8");
if (pem !== key.value.replace(/\r\n/g, "\n")) fail("the downloaded PEM is not the one shown");
const b64u = (b) => Buffer.from(b).toString("base64url");
const header = b64u(JSON.stringify({ alg: "ES256", typ: "JWT" }));
const now = Math.floor(Date.now() / 1000);
const claims = b64u(JSON.stringify({ iss: key.clientId, sub: key.clientId, aud: `${base}/t/${T}/oauth2/token`,
  jti: crypto.randomUUID(), iat: now, exp: now + 60 }));
const sig = crypto.sign("sha256", Buffer.from(`${header}.${claims}`), { key: pem, dsaEncoding: "ieee-p1363" });
t = await token({ grant_type: "client_credentials", client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
  client_assertion: `${header}.${claims}.${b64u(sig)}` });
if (t.status !== 200) fail(`token with the downloaded key: ${JSON.stringify(t.body)}`);
ok("the downloaded private key signs an assertion that gets a token");

await v.goto(`${base}/t/${T}/portal/e/${vendor}`);
await v.getByLabel(/Act for a department/).fill(department);
await v.getByRole("button", { name: "Ask to act for it" }).click();
await v.waitForSelector("text=Asked. The department decides.");
await inspect(v, "entity");

// The department.
const d = await signIn("dora@fd.example");
await d.goto(`${base}/t/${T}/portal/e/${department}`);
await d.getByRole("button", { name: "Approve" }).click();
await d.waitForSelector("text=active");
const obo = await token({ grant_type: "client_credentials", on_behalf_of: department }, `${first.clientId}:${third}`);
if (obo.status !== 200) fail(`on_behalf_of after approval: ${JSON.stringify(obo.body)}`);
ok("approved by the department: the integration acts for it");
await d.getByRole("button", { name: "Revoke" }).click();
await d.waitForSelector("text=revoked");
const who = await fetch(`${base}/t/${T}/whoami`, { headers: { authorization: `Bearer ${obo.body.access_token}` } });
if (who.status !== 401) fail(`the on_behalf_of token still works after the revocation: ${who.status}`);
ok("revoked by the department: the on_behalf_of token is refused");
await inspect(d, "department");

// The vendor owner invites a colleague; the colleague accepts by the emailed link, sets a
// password and signs in with the emailed code.
await v.goto(`${base}/t/${T}/portal/e/${vendor}/members`);
await inspect(v, "members");
mails = fs.readdirSync(mailDir).length;
await v.getByLabel("Email").fill("ivan@vendor.example");
await v.getByLabel("Role", { exact: true }).last().selectOption("admin");
await v.getByRole("button", { name: "Send invitation" }).click();
await v.waitForSelector("text=Invitation sent.");
const link = invitationLink(mails);
const ctxI = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
const ivan = await ctxI.newPage();
await ivan.goto(link);
await inspect(ivan, "invitation");
await ivan.getByLabel(/Choose a password/).fill(PASSWORD);
await ivan.getByRole("button", { name: "Accept the invitation" }).click();
await ivan.waitForURL(/\/signin/);
mails = fs.readdirSync(mailDir).length;
await ivan.getByLabel("Password").fill(PASSWORD);
await ivan.getByRole("button", { name: "Continue" }).click();
await ivan.waitForURL(/signin\/code/);
await ivan.getByLabel("Code").fill(code(mails));
await ivan.getByRole("button", { name: "Sign in" }).click();
await ivan.waitForURL(/\/portal\/$/);
if (!(await ivan.textContent("main")).includes("you are admin")) fail("the invited colleague is not an admin of the vendor");
ok("invited by email, accepted, signed in with the emailed code: an admin of the vendor");
await ivan.goto(link);
if (!(await ivan.textContent("main")).includes("used already")) fail("a used invitation still works");
ok("a used invitation is refused");

// Activity and deletion.
await v.goto(`${base}/t/${T}/portal/e/${vendor}/activity`);
if (!(await v.textContent("main")).includes("integration.secret.rotate")) fail("the rotation is not in the activity");
await inspect(v, "activity");
await v.goto(`${base}/t/${T}/portal/e/${vendor}`);
await v.getByRole("link", { name: "Delete…" }).first().click();
await inspect(v, "delete");
await v.getByRole("button", { name: "Delete integration" }).click();
await v.waitForSelector("text=The integration is deleted");
t = await token({ grant_type: "client_credentials" }, `${first.clientId}:${third}`);
if (t.status !== 401) fail("a deleted integration still gets tokens");
ok("deleted after confirmation: no more tokens");

await browser.close();
console.log(`${checks} portal checks passed; screenshots in ${shots}`);
