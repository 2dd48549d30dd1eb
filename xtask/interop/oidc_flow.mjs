// People in a real browser (Debian's Chromium, playwright-core) with two unmodified relying-party
// libraries: Python Authlib's OAuth2Session and node openid-client. Each runs the authorization
// code flow with PKCE; the browser signs in with the password and the code read from the SMTP
// server, consents, and lands on the library's loopback redirect URI; the library redeems the
// code. Then the person revokes each app on the connected-apps page, and the library's access
// token is inactive at introspection and its refresh token refused. Every page is checked with
// axe-core (no serious or critical violation) and photographed at 375 px and 1280 px.
import { chromium } from "playwright-core";
import { createRequire } from "module";
import { execFileSync } from "child_process";
import fs from "fs";
import path from "path";

const require = createRequire(import.meta.url);
const { Issuer, generators } = require("openid-client");
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.PORTCULLIS_URL;
const mailDir = process.env.MAIL_DIR;
const shots = process.env.SHOTS;
const TENANT = "demo";
const EMAIL = "pat@demo.example";
const PASSWORD = "a long sign-in passphrase";
let checks = 0;

function fail(msg) {
  console.error(`sign-in check FAILED: ${msg}`);
  process.exit(1);
}
function ok(what) {
  checks++;
  console.log(`ok ${checks} - ${what}`);
}

async function api(method, url, token, body) {
  const r = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) fail(`${method} ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function form(url, fields, basic) {
  const headers = { "content-type": "application/x-www-form-urlencoded" };
  if (basic) headers.authorization = "Basic " + Buffer.from(basic).toString("base64");
  const r = await fetch(`${base}${url}`, { method: "POST", headers, body: new URLSearchParams(fields) });
  return { status: r.status, body: await r.json() };
}

// --- The tenant, the person, the applications and a resource server, through the admin API.
const admin = (await form("/t/system/oauth2/token", { grant_type: "client_credentials" },
  `admin:${process.env.CLIENT_SECRET}`)).body.access_token;
if (!admin) fail("no admin token");
await api("POST", "/admin/v1/tenants", admin, {
  slug: TENANT, name: "Springfield Health", environment: "production",
  settings: { scope_descriptions: { "records:read": "Read your health records" } },
});
await api("POST", `/admin/v1/tenants/${TENANT}/users`, admin,
  { email: EMAIL, password: PASSWORD, mfa_enabled: true });
for (const [id, name] of [["records-py", "Records (Python)"], ["records-node", "Records (Node)"]]) {
  await api("POST", `/admin/v1/tenants/${TENANT}/clients`, admin, {
    name, client_id: id, auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"], scopes: ["records:read"],
    redirect_uris: ["http://127.0.0.1/callback"],
    client_uri: "https://records.example", policy_uri: "https://records.example/privacy",
  });
}
const rs = await api("POST", `/admin/v1/tenants/${TENANT}/clients`, admin, {
  name: "Records API", client_id: "records-api", auth_method: "client_secret_basic",
  grant_types: ["client_credentials"], scopes: ["records:read"],
});
const rsBasic = `records-api:${rs.client_secret}`;
ok("tenant, person and applications registered");

// --- The browser.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
// axe-core is injected into the pages, which forbid scripts: the check bypasses the CSP.
const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
let callback = null;
await page.route((u) => u.hostname === "127.0.0.1" && u.pathname === "/callback" && !u.href.startsWith(base),
  async (route) => {
    callback = route.request().url();
    await route.fulfill({ status: 200, contentType: "text/plain", body: "signed in" });
  });

const seen = new Set();
async function inspect(name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) fail(`${name}: axe: ${bad.map((v) => `${v.id} (${v.nodes.map((n) => n.target).join(" ")})`).join("; ")}`);
  if (!seen.has(name)) {
    seen.add(name);
    await page.setViewportSize({ width: 375, height: 812 });
    await page.screenshot({ path: path.join(shots, `page-${name}-375.png`), fullPage: true });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > 375) fail(`${name}: wider than a 375 px screen (${wide} px)`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: path.join(shots, `page-${name}.png`), fullPage: true });
  }
  ok(`${name} page: accessible (axe-core), fits 375 px`);
}

function latestCode(after) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const files = fs.readdirSync(mailDir).filter((f) => f.endsWith(".eml")).sort();
    if (files.length > after) {
      const text = fs.readFileSync(path.join(mailDir, files[files.length - 1]), "utf8");
      const m = text.match(/^Subject:.*?\b(\d{6})\b/m) || text.match(/\b(\d{6})\b/);
      if (m) return [m[1], files.length];
    }
    execFileSync("sleep", ["0.2"]);
  }
  fail("no code arrived at the SMTP server");
}

/// Drives the browser from the authorization URL to the redirect URI; returns the callback URL.
async function authorize(url) {
  callback = null;
  await page.goto(url);
  if (page.url().includes("/signin")) {
    await inspect("signin");
    const mails = fs.readdirSync(mailDir).length;
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(/\/signin\/code/);
    await inspect("code");
    const [code] = latestCode(mails);
    await page.getByLabel("Code").fill(code);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  if (!callback) {
    await page.waitForSelector("text=Allow", { timeout: 10000 });
    const text = await page.textContent("main");
    if (!text.includes("Read your health records")) fail("the consent page does not describe the scope");
    await inspect("consent");
    await page.getByRole("button", { name: "Allow" }).click();
  }
  const deadline = Date.now() + 10000;
  while (!callback && Date.now() < deadline) await page.waitForTimeout(50);
  if (!callback) fail(`no redirect to the application (at ${page.url()})`);
  return callback;
}

// --- Authlib.
const py = (args) => JSON.parse(execFileSync(process.env.PYTHON, [process.env.AUTHLIB, ...args], {
  env: { ...process.env, TENANT, CLIENT_ID: "records-py", REDIRECT_URI: "http://127.0.0.1:7001/callback",
    SCOPE: "openid email offline_access records:read" },
}).toString());
const start = py(["start"]);
const pyCallback = await authorize(start.url);
const pyTokens = py(["finish", pyCallback, start.verifier, start.state]);
if (!pyTokens.access_token || !pyTokens.refresh_token || !pyTokens.id_token) fail(`Authlib tokens: ${JSON.stringify(pyTokens)}`);
ok("Authlib: code + PKCE redeemed for access, refresh and id tokens");

// --- openid-client.
const issuer = await Issuer.discover(`${base}/t/${TENANT}`);
const client = new issuer.Client({ client_id: "records-node", token_endpoint_auth_method: "none",
  redirect_uris: ["http://127.0.0.1:7002/callback"], response_types: ["code"] });
const verifier = generators.codeVerifier();
const nonce = generators.nonce();
const state = generators.state();
const nodeUrl = client.authorizationUrl({ scope: "openid email offline_access records:read",
  code_challenge: generators.codeChallenge(verifier), code_challenge_method: "S256", nonce, state,
  redirect_uri: "http://127.0.0.1:7002/callback" });
const nodeCallback = await authorize(nodeUrl);
const tokenSet = await client.callback("http://127.0.0.1:7002/callback", client.callbackParams(nodeCallback),
  { code_verifier: verifier, nonce, state });
const claims = tokenSet.claims();
if (claims.email !== EMAIL || !claims.auth_time) fail(`id_token claims: ${JSON.stringify(claims)}`);
const info = await client.userinfo(tokenSet.access_token);
if (info.sub !== claims.sub || info.email !== EMAIL) fail(`userinfo: ${JSON.stringify(info)}`);
ok("openid-client: code + PKCE + nonce, id_token verified, userinfo");

// --- Connected apps: take both back.
await page.goto(`${base}/t/${TENANT}/account/apps`);
await inspect("apps");
for (const [name, access, refresh, id] of [
  ["Records (Python)", pyTokens.access_token, pyTokens.refresh_token, "records-py"],
  ["Records (Node)", tokenSet.access_token, tokenSet.refresh_token, "records-node"],
]) {
  const active = await form(`/t/${TENANT}/oauth2/introspect`, { token: access }, rsBasic);
  if (active.body.active !== true) fail(`${name}: not active before revoking: ${JSON.stringify(active.body)}`);
  await page.getByRole("button", { name: `Revoke access of ${name}` }).click();
  await page.waitForSelector("text=Access revoked.");
  const after = await form(`/t/${TENANT}/oauth2/introspect`, { token: access }, rsBasic);
  if (after.body.active !== false) fail(`${name}: still active after revoking: ${JSON.stringify(after.body)}`);
  const r = await form(`/t/${TENANT}/oauth2/token`, { grant_type: "refresh_token", client_id: id, refresh_token: refresh });
  if (r.status !== 400 || r.body.error !== "invalid_grant") fail(`${name}: refresh after revoking: ${r.status} ${JSON.stringify(r.body)}`);
  ok(`${name}: revoked on the connected-apps page; token inactive, refresh refused`);
}
await inspect("apps");
await browser.close();
console.log(`${checks} sign-in checks passed; screenshots in ${shots}/page-*.png`);
