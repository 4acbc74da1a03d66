// Launches Debian's chromium through playwright-core (no browser download)
// and opens contexts that record every console error and uncaught page error,
// so a test can fail on any of them.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const SCREENSHOTS = new URL("./screenshots/", import.meta.url).pathname;

// launch starts chromium; playwright gives it a fresh temporary
// user-data-dir, removed when the browser closes, and every newContext is a
// clean profile of its own.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    chromiumSandbox: false,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

// watch records console errors and uncaught errors of every page in a context.
export function watch(context, name) {
  const errors = [];
  context.on("page", (page) => {
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`${name} console: ${m.text()} (${m.location().url})`);
    });
    page.on("pageerror", (e) => errors.push(`${name} page error: ${e.message}`));
  });
  return errors;
}

export async function screenshot(page, file) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, file) });
}

// UNTRANSLATED finds server or English text that must not reach a Chinese
// page (DESIGN.md invariant 9): internal IDs, snake_case codes and English
// words of three letters or more. ALLOWED are the few Latin words a Chinese
// page shows on purpose: the product name, the language switch, key names
// and acronyms.
const ALLOWED = ["carehex", "English", "GPS", "SOS", "QR", "Ctrl", "Enter", "Esc"];

// untranslatedText returns the visible text of page (text nodes and
// placeholders) that breaks the rule, as "text (why)" lines. Text inside
// [translate="no"] (account names people chose) is not words to translate.
export async function untranslatedText(page) {
  return page.evaluate((allowed) => {
    const bad = [];
    const visible = (el) => {
      for (let e = el; e; e = e.parentElement) {
        if (e.hidden || e.getAttribute?.("translate") === "no" || e.closest?.("dialog:not([open])")) return false;
        const s = getComputedStyle(e);
        if (s.display === "none" || s.visibility === "hidden") return false;
      }
      return el.getClientRects().length > 0;
    };
    const check = (text, where) => {
      const t = text.trim();
      if (!t) return;
      let m;
      if ((m = t.match(/\b(usr|prv|req|ofr|alr|vst|fam|ntf|org)_[0-9A-Za-z]+/))) bad.push(`${t} (ID ${m[0]}, ${where})`);
      else if ((m = t.match(/\b[a-z0-9]+_[a-z0-9_]+\b/))) bad.push(`${t} (code ${m[0]}, ${where})`);
      else {
        for (const w of t.match(/[A-Za-z]{3,}/g) || []) {
          if (!allowed.includes(w)) { bad.push(`${t} (English "${w}", ${where})`); break; }
        }
      }
    };
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
      acceptNode: (n) => (["SCRIPT", "STYLE", "NOSCRIPT"].includes(n.parentElement?.tagName) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.textContent.trim() && visible(n.parentElement)) check(n.textContent, n.parentElement.closest("[data-testid]")?.dataset.testid || n.parentElement.tagName.toLowerCase());
    }
    for (const el of document.querySelectorAll("[placeholder]")) {
      if (visible(el)) check(el.getAttribute("placeholder"), `placeholder of ${el.dataset.testid || el.tagName.toLowerCase()}`);
    }
    return bad;
  }, ALLOWED);
}

// assertNoUntranslated fails when a zh page shows an ID, a code or an
// English word (see untranslatedText), naming each offending text.
export async function assertNoUntranslated(page, what = page.url()) {
  const lang = await page.evaluate(() => document.documentElement.lang);
  if (!lang.startsWith("zh")) throw new Error(`assertNoUntranslated: ${what} is in ${lang}, not Chinese`);
  const bad = await untranslatedText(page);
  if (bad.length) throw new Error(`untranslated text on ${what}:\n  ${bad.join("\n  ")}`);
}

// The waits the scenarios share: until a locator's text matches (a string it
// contains, or a RegExp), or an attribute has a value, up to two minutes
// (the machine may be slow and busy); then the test fails naming both.
const PATIENCE = 120_000;

export async function assertText(loc, want) {
  const re = want instanceof RegExp ? want : null;
  const deadline = Date.now() + PATIENCE;
  let got = "";
  while (Date.now() < deadline) {
    got = ((await loc.first().textContent({ timeout: PATIENCE })) || "").trim();
    if (re ? re.test(got) : got.includes(want)) return;
    await loc.page().waitForTimeout(200);
  }
  throw new Error(`text of ${loc}: got ${JSON.stringify(got)}, want ${want}`);
}

export async function assertAttr(loc, name, want) {
  const deadline = Date.now() + PATIENCE;
  let got = null;
  while (Date.now() < deadline) {
    got = await loc.first().getAttribute(name, { timeout: PATIENCE });
    if (got === want) return;
    await loc.page().waitForTimeout(200);
  }
  throw new Error(`${name} of ${loc}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// testid finds an element by its data-testid, the pages' one hook for tests.
export const testid = (page, id) => page.locator(`[data-testid="${id}"]`);

// signInConsole opens a desk-sized browser context, records its page errors
// in errors under name (see watch), and signs in to the console at base as
// username; it returns the page once the console shows.
export async function signInConsole(browser, errors, base, name, username, password, wait) {
  const context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(wait.timeout);
  errors.push(watch(context, name));
  const page = await context.newPage();
  await page.goto(base + "/console/");
  await testid(page, "login-username").fill(username);
  await testid(page, "login-password").fill(password);
  await testid(page, "login-password").press("Enter");
  await testid(page, "console").waitFor(wait);
  return page;
}
