// Lighthouse over a list of pages in one Chromium, for tests/web/test_lighthouse.py.
//
// Reads a JSON job from stdin:
//   {"categories": ["accessibility", ...],
//    "runs": [{"url": "http://127.0.0.1:8000/", "formFactor": "mobile" | "desktop",
//              "extraHeaders": {"Cookie": "..."}}]}
// and prints, as JSON on stdout, for each run its category scores and every audit that
// counts towards a category and did not pass (id and title).
//
// Chromium is the one CHROME_PATH names (Debian's); nothing is downloaded. One browser
// serves every run: starting Chromium and loading Lighthouse once per page would take
// twice as long. Lighthouse's `extraHeaders` is the CLI's `--extra-headers`.
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const job = JSON.parse(await new Response(process.stdin).text());

function configFor(formFactor) {
  const base = formFactor === "desktop" ? desktopConfig : { extends: "lighthouse:default" };
  return {
    ...base,
    extends: "lighthouse:default",
    settings: {
      ...base.settings,
      onlyCategories: job.categories,
      // The pages render on the server and their scripts are deferred: a quarter of a
      // second of quiet after load (Lighthouse waits a second) sees all they do, and keeps
      // a dozen runs within a minute or so.
      pauseAfterFcpMs: 250,
      pauseAfterLoadMs: 250,
      networkQuietThresholdMs: 250,
      cpuQuietThresholdMs: 250,
      // Lighthouse keeps cookies between runs, and Chromium sends the ones it holds in
      // place of a Cookie extra header: a visitor's run would carry the learner's session
      // and a learner's run the cookies a page set. Each run starts with none.
      clearStorageTypes: ["file_systems", "shader_cache", "service_workers", "cache_storage", "cookies"],
    },
  };
}

function summary(run, lhr) {
  const failing = [];
  for (const [categoryId, category] of Object.entries(lhr.categories)) {
    for (const ref of category.auditRefs) {
      const audit = lhr.audits[ref.id];
      if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
        failing.push({ category: categoryId, id: audit.id, title: audit.title });
      }
    }
  }
  return {
    url: run.url,
    formFactor: run.formFactor,
    finalUrl: lhr.finalDisplayedUrl,
    runtimeError: lhr.runtimeError ?? null,
    runWarnings: lhr.runWarnings,
    scores: Object.fromEntries(Object.entries(lhr.categories).map(([id, c]) => [id, c.score])),
    failing,
  };
}

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH,
  chromeFlags: [
    "--headless=new",
    // Root in a container has no user namespace for Chromium's sandbox.
    "--no-sandbox",
    "--disable-gpu",
    // Loopback only: even with background networking off, Chromium looks up Google's
    // account and update hosts; here every name but the test server's resolves to nothing.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
  ],
});
const results = [];
try {
  for (const run of job.runs) {
    const result = await lighthouse(
      run.url,
      {
        port: chrome.port,
        output: "json",
        logLevel: "error",
        extraHeaders: run.extraHeaders ?? undefined,
        disableFullPageScreenshot: true,
      },
      configFor(run.formFactor),
    );
    results.push(summary(run, result.lhr));
  }
} finally {
  await chrome.kill();
}
process.stdout.write(JSON.stringify(results));
