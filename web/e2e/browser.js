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
