#!/usr/bin/env node
// The real-browser call harness: Debian's chromium, driven by playwright-core,
// runs a JsSIP softphone (softphone.html/js) that registers to the media node
// over SIP-over-WebSocket, calls a number, waits for the call to be confirmed,
// measures the remote audio and hangs up. Prints one JSON line with the
// results; exits 0 only when the call was confirmed and remote audio measured.
//
//   node call.mjs --ws ws://127.0.0.1:PORT --user acme.bob --password SECRET \
//     --number 89123456789 --audio tone-1k.wav [--timeout 30]
//
// With --hold, the call is put on hold, resumed, and its audio measured again.
// With --answer instead of --number, the softphone waits for a call to ring
// it, answers it, and measures and hangs up the same way.
//
// Exit codes: 0 call confirmed and audio measured; 1 the softphone did not
// register or the call did not get through (see "registration" and "call");
// 2 bad arguments or missing browser/packages; 3 the overall timeout struck.
import { parseArgs } from 'node:util';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const result = {
  ok: false,
  registered: false,
  registration: null,
  call: null,
  mic: null,
  remote: null,
  events: [],
  error: null,
};
let exitCode = 1;

function emit() {
  result.durationMs = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + '\n');
}

function usage(msg) {
  result.error = msg;
  emit();
  process.stderr.write(
    `${msg}\nusage: node call.mjs --ws URL --user TENANT.USER (--password P | --ha1 HEX) ` +
      `(--number N [--hold] | --answer) --audio FILE.wav [--realm callisto] [--domain callisto] [--timeout S] ` +
      `[--listen-ms MS] [--chromium PATH] [--debug]\n`,
  );
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      ws: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      ha1: { type: 'string' },
      realm: { type: 'string', default: 'callisto' },
      domain: { type: 'string', default: 'callisto' },
      number: { type: 'string' },
      answer: { type: 'boolean', default: false },
      hold: { type: 'boolean', default: false },
      audio: { type: 'string' },
      timeout: { type: 'string', default: '30' },
      'listen-ms': { type: 'string', default: '1000' },
      chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
      debug: { type: 'boolean', default: false },
    },
  }));
} catch (e) {
  usage(String(e.message || e));
}
for (const k of ['ws', 'user', 'audio']) if (!args[k]) usage(`--${k} is required`);
if (!args.number === !args.answer) usage('one of --number and --answer is required');
if (!args.password && !args.ha1) usage('--password or --ha1 is required');
const timeoutMs = Number(args.timeout) * 1000;
const listenMs = Number(args['listen-ms']);
if (!(timeoutMs > 0) || !(listenMs > 0)) usage('--timeout and --listen-ms must be positive');
const audio = resolve(args.audio);
if (!existsSync(audio)) usage(`audio file not found: ${audio}`);
if (!existsSync(args.chromium)) {
  usage(`chromium not found at ${args.chromium}: run scripts/install-browser-deps.sh`);
}

let chromium, esbuild;
try {
  ({ chromium } = await import('playwright-core'));
  esbuild = await import('esbuild');
} catch (e) {
  usage(`npm packages missing (${e.code || e.message}): run scripts/install-browser-deps.sh`);
}

// --- the page, served from 127.0.0.1: the HTML as is, the script bundled with JsSIP.
const bundle = (
  await esbuild.build({
    entryPoints: [join(here, 'softphone.js')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome110',
    logLevel: 'silent',
  })
).outputFiles[0].text;
const files = {
  '/softphone.html': ['text/html; charset=utf-8', readFileSync(join(here, 'softphone.html'))],
  '/softphone.js': ['text/javascript; charset=utf-8', bundle],
};
const server = createServer((req, res) => {
  const f = files[new URL(req.url, 'http://x').pathname];
  if (!f) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1]);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const pageUrl = `http://127.0.0.1:${server.address().port}/softphone.html`;

const profile = mkdtempSync(join(tmpdir(), 'callisto-chromium-'));
let context = null;
let closing = null;

async function cleanup() {
  if (!closing) {
    closing = (async () => {
      // On a stuck close, playwright-core's own exit handler kills the
      // browser's process group when this process exits.
      if (context) await Promise.race([context.close().catch(() => {}), sleep(5000)]);
      server.closeAllConnections?.();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    })();
  }
  return closing;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function finish(code) {
  exitCode = code;
  await cleanup();
  emit();
  process.exit(exitCode);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    result.error = `stopped by ${sig}`;
    finish(3);
  });
}
const watchdog = setTimeout(() => {
  result.error = `timed out after ${timeoutMs} ms`;
  finish(3);
}, timeoutMs);

// A page call bounded by what is left of the overall time.
function page$(page, fn, arg) {
  return page.evaluate(fn, arg);
}

try {
  // A persistent context on a fresh profile folder: --user-data-dir is ours.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: args.chromium,
    headless: true,
    timeout: Math.min(timeoutMs, 20000),
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${audio}`,
      '--autoplay-policy=no-user-gesture-required',
      // The node is on 127.0.0.1: let ICE gather loopback candidates.
      '--allow-loopback-in-peer-connection',
    ],
  });
  result.chromium = context.browser()?.version() ?? null;
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(timeoutMs);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (args.debug) process.stderr.write(`[page] ${m.text()}\n`);
  });
  await page.goto(pageUrl);
  await page.waitForFunction(() => !!window.softphone, null, { timeout: 10000 });

  // The fake microphone plays the audio file: check it before calling.
  result.mic = await page$(page, (ms) => window.softphone.measureMic(ms), listenMs);

  await page$(page, (o) => window.softphone.start(o), {
    wsUrl: args.ws,
    user: args.user,
    domain: args.domain,
    password: args.password,
    ha1: args.ha1,
    realm: args.realm,
    debug: args.debug,
  });
  const left = () => Math.max(1000, timeoutMs - (Date.now() - started) - 3000);
  const reg = await page$(
    page,
    ([ms]) => window.softphone.waitFor(['registered', 'registrationFailed', 'disconnected'], ms),
    [Math.min(left(), 15000)],
  );
  result.registration = reg;
  result.registered = reg.type === 'registered';
  if (!result.registered) {
    result.error = `registration: ${reg.cause || reg.type}${reg.status ? ` (${reg.status})` : ''}`;
  } else {
    if (args.answer) {
      await page$(page, () => window.softphone.answerNext());
      // The caller may start now: whoever drives this harness watches stderr.
      process.stderr.write('ready to answer\n');
    }
    else await page$(page, ([n, d]) => window.softphone.call(n, d), [args.number, args.domain]);
    const end = await page$(
      page,
      ([ms]) => window.softphone.waitFor(['confirmed', 'failed', 'ended'], ms),
      [left()],
    );
    const failed = end.type !== 'confirmed' ? end : null;
    result.call = {
      confirmed: end.type === 'confirmed',
      status: failed?.status ?? null,
      reason: failed?.reason ?? null,
      cause: failed?.cause ?? (end.type === 'timeout' ? 'timeout' : null),
    };
    if (result.call.confirmed) {
      // Give the remote track a moment to carry audio, then listen.
      await page$(page, ([ms]) => window.softphone.waitFor(['track'], ms), [3000]);
      await sleep(500);
      result.remote = await page$(page, (ms) => window.softphone.measureRemote(ms), listenMs);
      if (args.hold) {
        result.hold = await page$(page, () => window.softphone.hold(true));
        result.resume =
          result.hold === 'ok' ? await page$(page, () => window.softphone.hold(false)) : null;
        if (result.resume === 'ok') {
          await sleep(500);
          result.remote = await page$(page, (ms) => window.softphone.measureRemote(ms), listenMs);
        }
      }
      // An answered call is the caller's to end; a placed one, ours.
      if (!args.answer) await page$(page, () => window.softphone.hangup());
      await page$(page, ([ms]) => window.softphone.waitFor(['ended', 'failed'], ms), [
        args.answer ? left() : 3000,
      ]);
      result.ok = result.remote && typeof result.remote.frequency === 'number';
      if (!result.ok) result.error = result.remote?.error || 'no remote audio measured';
      if (args.hold && result.resume !== 'ok') {
        result.ok = false;
        result.error = `hold: ${result.hold}; resume: ${result.resume}`;
      }
    } else {
      result.error = `call ${end.type}: ${failed?.cause || ''}${failed?.status ? ` (${failed.status} ${failed.reason || ''})` : ''}`.trim();
    }
    await page$(page, ([ms]) => window.softphone.stop(ms), [2000]);
  }
  result.events = await page$(page, () => window.softphone.events());
  if (pageErrors.length) result.pageErrors = pageErrors;
  clearTimeout(watchdog);
  await finish(result.ok ? 0 : 1);
} catch (e) {
  clearTimeout(watchdog);
  result.error = String(e && e.message ? e.message.split('\n')[0] : e);
  await finish(result.error.includes('Executable') ? 2 : 1);
}
