// What every browser walk shares: its arguments (--url, --outbox, --shots,
// --chromium, and its own), Debian's chromium driven by playwright-core on
// fresh profiles, named steps, the API, the mailed letters in the outbox,
// and the one JSON line each walk ends with (its result; `ok`, `step` and
// `error` say how it went).
//
// Exit codes of a walk: 0 every step passed; 1 a step failed (the JSON says
// which); 2 bad arguments or missing browser/packages.
import { parseArgs } from 'node:util';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Starts a walk called `name`: `options` are its own arguments (parseArgs
 * style), `required` the ones it cannot run without, `result` its own fields. */
export async function walk({ name, options = {}, required = ['url', 'outbox', 'shots'], result = {} }) {
  const report = { ok: false, step: null, error: null, ...result };
  const emit = () => process.stdout.write(JSON.stringify(report) + '\n');
  const fail = (message) => {
    report.error = message;
    emit();
    process.exit(2);
  };

  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        url: { type: 'string' },
        outbox: { type: 'string' },
        shots: { type: 'string' },
        chromium: { type: 'string', default: '/usr/bin/chromium' },
        ...options,
      },
    }));
  } catch (e) {
    fail(String(e.message ?? e));
  }
  const missing = required.filter((k) => !args[k]);
  if (missing.length) fail(`${missing.map((k) => `--${k}`).join(', ')} required`);

  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    fail('playwright-core is missing: run scripts/install-browser-deps.sh');
  }
  mkdirSync(args.shots, { recursive: true });

  const profiles = [];
  const contexts = [];

  function expect(cond, what) {
    if (!cond) throw new Error(what);
  }

  return {
    args,
    result: report,
    expect,

    /** Runs one named step; a failure names it in the result. */
    async step(title, f) {
      report.step = title;
      await f();
    },

    /** Debian's chromium on a fresh profile, in `locale`; `microphone`: a
     * fake device whose use is granted without asking (else the browser
     * refuses it), playing the WAV file `audio` if given (Chromium's own
     * beeps otherwise). */
    async launch({ locale = 'ru-RU', microphone = false, audio = null, downloads = false, viewport = { width: 1280, height: 800 } } = {}) {
      const dir = mkdtempSync(join(tmpdir(), `callisto-${name}-`));
      profiles.push(dir);
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: args.chromium,
        headless: true,
        locale,
        viewport,
        acceptDownloads: downloads,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          // The media node is on 127.0.0.1: let ICE gather loopback candidates.
          '--allow-loopback-in-peer-connection',
          '--autoplay-policy=no-user-gesture-required',
          ...(microphone ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'] : []),
          ...(microphone && audio ? [`--use-file-for-fake-audio-capture=${audio}`] : []),
        ],
      });
      contexts.push(context);
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20000);
      return { context, page };
    },

    /** The API: JSON in and out; anything but 2xx fails the step with the answer. */
    async api(method, path, body, token) {
      const r = await fetch(args.url + path, {
        method,
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: body && JSON.stringify(body),
      });
      const text = await r.text();
      expect(r.ok, `${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },

    /** The newest mail to `to` in the outbox folder, or undefined. */
    mailTo(to) {
      return readdirSync(args.outbox)
        .map((f) => join(args.outbox, f))
        .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
        .map((f) => readFileSync(f, 'utf8'))
        .filter((m) => m.includes(`To: ${to}`))
        .at(-1);
    },

    /** Runs the walk's steps, then reports and exits: a failure leaves a
     * screenshot of the last page open; browsers and profiles are removed. */
    async run(steps, cleanup = () => {}) {
      try {
        await steps();
        report.step = null;
        report.ok = true;
      } catch (e) {
        report.error = String(e.message ?? e).split('\n')[0];
        try {
          const page = contexts.at(-1)?.pages()[0];
          if (page) await page.screenshot({ path: join(args.shots, 'failure.png'), fullPage: true });
        } catch {}
      } finally {
        for (const c of contexts) await c.close().catch(() => {});
        await cleanup();
        for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
      }
      emit();
      process.exit(report.ok ? 0 : 1);
    },
  };
}
