#!/usr/bin/env node
// The web app in a real browser: Debian's chromium, driven by playwright-core,
// against a running `callisto serve` with the demo company. Walks what a
// person does first: the login page in the browser's language, a wrong
// password, the demo administrator's contact list and its search, a work list
// (card, script, result, next card), the switch to English, then a new company's
// sign-up, its mailed link, its empty list and the import of a sample file;
// on the pre-flight check page, the echo test through the media node, heard
// back by its pitch (the fake microphone plays a 1 kHz file).
// Saves screenshots and prints one JSON line with the load figures.
//
//   node webapp.mjs --url http://127.0.0.1:PORT --outbox DATA/outbox --shots DIR
//
// Exit codes as every walk's (walk.mjs).
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { walk } from './walk.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const w = await walk({
  name: 'webapp',
  options: {
    // The UDP port of a SIP peer on 127.0.0.1 that answers one call: the
    // company's trunk, so the agent's call goes out and is answered.
    carrier: { type: 'string' },
    // The media node's SIP port: the carrier calls the company through it.
    'node-sip': { type: 'string' },
  },
  result: { load: null, call: null, incoming: null, echo: null },
});
const { args, result, expect, step } = w;
const call = w.api;

/** Waits until UDP `port` on 127.0.0.1 can be bound. */
async function portFree(port, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const free = await new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return;
    expect(Date.now() < deadline, `UDP port ${port} stayed taken`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function adminToken() {
  const login = await call('POST', '/api/auth/login', { email: 'admin@demo.callisto.local', password: 'Demo12345' });
  return login;
}

/** The administrator's set-up of a list through the API: two results, a
 * questionnaire, an e-mail template and account, a scenario with a script
 * using them, and a list of the wholesale ("опт") clients callable at any
 * hour, so the walk does not depend on the time it runs at. */
async function workListThroughApi() {
  const login = await adminToken();
  const token = login.access_token;
  const agreed = await call('POST', '/api/call-results', { name: 'Согласен', kind: 'done' }, token);
  const later = await call('POST', '/api/call-results', { name: 'Перезвонить позже', kind: 'call_later' }, token);
  const questionnaire = await call(
    'POST',
    '/api/questionnaires',
    {
      name: 'Анкета закупщика',
      questions: [{ text: 'Интересна оптовая цена?', kind: 'single_choice', required: true, options: ['да', 'нет'] }],
    },
    token,
  );
  const template = await call(
    'POST',
    '/api/email-templates',
    { name: 'Прайс', subject: 'Прайс для %FIRM_NAME%', body: '<p>Здравствуйте, %FIRSTNAME%!</p>' },
    token,
  );
  const account = await call(
    'POST',
    '/api/mail-accounts',
    { name: 'Отдел продаж', from_address: 'sales@demo.callisto.local', host: '127.0.0.1', port: 9, security: 'none', auth: 'none' },
    token,
  );
  const scenario = await call(
    'POST',
    '/api/scenarios',
    {
      name: 'Опт: весна',
      managers: [login.user.id],
      direction: 'outgoing',
      script: '<h2>Приветствие</h2><p>Представьтесь и спросите, кто отвечает за закупки.</p>',
      results: [{ result: agreed.id }, { result: later.id }],
      questionnaire: questionnaire.id,
      email_template: template.id,
      mail_account: account.id,
    },
    token,
  );
  if (args.carrier) {
    await call(
      'PUT',
      '/api/company/trunk',
      {
        name: 'Main line',
        number: '+74950000000',
        host: '127.0.0.1',
        port: Number(args.carrier),
        login: 'demo',
        register: false,
        version: (await call('GET', '/api/company/trunk', undefined, token)).version,
      },
      token,
    );
  }
  await call(
    'POST',
    '/api/work-lists',
    { name: 'Оптовики', scenario: scenario.id, filter: { tags: 'опт' }, calling_hours: '00:00-24:00' },
    token,
  );
}

/** The confirmation link of the newest mail to `to` in the outbox folder. */
function mailedLink(to) {
  const link = w.mailTo(to)?.match(/https?:\/\/\S+\/confirm\?token=\S+/)?.[0];
  expect(link, `no confirmation link mailed to ${to}`);
  return link;
}

/** A mono 8 kHz 16-bit WAV of a `hz` tone at -10 dBFS, `seconds` long: what
 * the fake microphone plays, so the echo test's return can be told by its pitch. */
function toneWav(path, hz, seconds) {
  const n = 8000 * seconds;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(10362 * Math.sin((2 * Math.PI * hz * i) / 8000)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

/** The dominant frequency and level of the audio the page's newest peer
 * connection receives, over `ms`: measured in the page with an analyser. */
async function receivedTone(page, ms) {
  return page.evaluate(async (ms) => {
    const pc = window.__pcs.at(-1);
    const track = pc?.getReceivers().find((r) => r.track?.kind === 'audio')?.track;
    if (!track) return { error: 'no received audio track' };
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    const wave = new Float32Array(analyser.fftSize);
    const sum = new Float64Array(analyser.frequencyBinCount);
    let loudest = 0;
    const until = performance.now() + ms;
    while (performance.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      analyser.getFloatFrequencyData(spectrum);
      spectrum.forEach((db, i) => (sum[i] += Math.pow(10, db / 10)));
      analyser.getFloatTimeDomainData(wave);
      loudest = Math.max(loudest, Math.sqrt(wave.reduce((s, v) => s + v * v, 0) / wave.length));
    }
    // Above 100 Hz: hum and the DC bin are not the tone.
    const from = Math.ceil(100 / (ctx.sampleRate / analyser.fftSize));
    let best = from;
    for (let i = from; i < sum.length; i++) if (sum[i] > sum[best]) best = i;
    const frequency = (best * ctx.sampleRate) / analyser.fftSize;
    await ctx.close();
    return { frequency, levelDbfs: loudest > 0 ? 20 * Math.log10(loudest) : -200 };
  }, ms);
}

const micDir = mkdtempSync(join(tmpdir(), 'callisto-webapp-mic-'));
await w.run(async () => {
  const mic = join(micDir, 'mic-1k.wav');
  toneWav(mic, 1000, 20);
  const { context, page } = await w.launch({ microphone: true, audio: mic });
  // The peer connections JsSIP makes, so the walk can listen to what one receives.
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Native {
      constructor(...a) {
        super(...a);
        window.__pcs.push(this);
      }
    };
  });

  await step('first load shows the Russian login page', async () => {
    const started = Date.now();
    await page.goto(args.url + '/');
    await page.getByRole('heading', { name: 'Вход' }).waitFor();
    const interactiveMs = Date.now() - started;
    expect(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
    const bytes = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((r) => /\.(js|css)$/.test(new URL(r.name).pathname))
        .reduce((sum, r) => sum + r.encodedBodySize, 0),
    );
    result.load = { interactiveMs, jsCssBytesOnWire: bytes };
    await page.screenshot({ path: join(args.shots, 'login.png') });
  });

  await step('a wrong password is refused with the API message', async () => {
    await page.locator('input[name=email]').fill('admin@demo.callisto.local');
    await page.locator('input[name=password]').fill('wrong-password');
    await page.getByRole('button', { name: 'Войти' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect((await alert.textContent()).length > 0, 'empty error');
    expect(new URL(page.url()).pathname === '/login', 'left the login page');
  });

  await step('the demo administrator sees the demo contacts', async () => {
    await page.locator('input[name=password]').fill('Demo12345');
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('heading', { name: 'Контакты' }).waitFor();
    await page.locator('table.contacts tbody tr').first().waitFor();
    const rows = await page.locator('table.contacts tbody tr').count();
    expect(rows >= 10, `only ${rows} contacts listed`);
    await page.screenshot({ path: join(args.shots, 'contacts.png') });
  });

  await step('search narrows the list to the matching card', async () => {
    await page.getByRole('searchbox').fill('Григорьев');
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 1);
    const row = await page.locator('table.contacts tbody tr').first().textContent();
    expect(row.includes('Григорьев') && row.includes('+7 495 120-00-01'), `found ${row}`);
  });

  await step('an agent works a list: the card with the script, a result, the next card', async () => {
    await workListThroughApi();
    await page.getByRole('link', { name: 'Обзвон' }).click();
    await page.getByRole('button', { name: 'Оптовики' }).click();
    const first = page.locator('article.client h2');
    await first.waitFor();
    const firstName = await first.textContent();
    await page.getByText('Представьтесь и спросите').waitFor();
    await page.locator('[data-line=ready]').waitFor({ timeout: 15000 });
    if (args.carrier) {
      // The node learns of a new trunk within its refresh period: until then
      // the call is refused, so try again for a while.
      const deadline = Date.now() + 45000;
      for (;;) {
        // Call again only when the last attempt has ended (the button is back).
        const button = page.getByRole('button', { name: /^Позвонить/ }).first();
        if (await button.isVisible()) await button.click();
        try {
          await page.locator('[data-call=talking]').waitFor({ timeout: 4000 });
          break;
        } catch {
          expect(Date.now() < deadline, 'the call never got through the trunk');
        }
      }
      await page.screenshot({ path: join(args.shots, 'calling-talking.png') });
      await page.getByRole('button', { name: 'Положить трубку' }).click();
      await page.locator('[data-call=ended]').waitFor();
      result.call = 'answered and hung up';
    }
    const cardId = await page.locator('article.client').getAttribute('data-id');
    if (args.carrier) {
      // The scenario's questionnaire, answered during the call, and its e-mail.
      await page.getByRole('group', { name: 'Интересна оптовая цена?' }).getByLabel('да').check();
      await page.getByRole('button', { name: /^Отправить письмо сценария/ }).click();
      await page.locator('[data-mail]').waitFor();
    }
    await page.screenshot({ path: join(args.shots, 'calling.png') });
    // "Call later" without a time: the API names the field and the form shows it there.
    await page.getByLabel('Перезвонить позже').check();
    await page.getByRole('button', { name: 'Сохранить и дальше' }).click();
    await page.locator('.field-error[data-field=call_back_at]').waitFor();
    await page.getByLabel('Согласен').check();
    await page.getByRole('button', { name: 'Сохранить и дальше' }).click();
    await page.waitForFunction(
      (name) => document.querySelector('article.client h2')?.textContent !== name,
      firstName,
    );
    if (args.carrier) {
      // The result landed on the call's record.
      const token = (await adminToken()).access_token;
      const calls = await call('GET', '/api/calls', undefined, token);
      const latest = calls.items[0];
      expect(latest?.outcome === 'answered', `latest call: ${JSON.stringify(latest)}`);
      const shown = await call('GET', `/api/calls/${latest.id}`, undefined, token);
      expect(shown.result?.result_name === 'Согласен', `call record: ${JSON.stringify(shown)}`);
      const sheets = await call('GET', `/api/clients/${cardId}/answers`, undefined, token);
      expect(
        sheets.length === 1 && sheets[0].call === latest.id && sheets[0].status === 'complete' &&
          Object.values(sheets[0].answers).includes('да'),
        `answers: ${JSON.stringify(sheets)}`,
      );
      const mails = await call('GET', `/api/clients/${cardId}/emails`, undefined, token);
      expect(mails.items?.length === 1 || mails.length === 1, `mails: ${JSON.stringify(mails)}`);
      result.call = `answered, hung up, result on record ${latest.id}`;
    }
  });

  await step('a card shows the call result in its history, is edited, and a duplicate is warned about', async () => {
    await page.getByRole('link', { name: 'Контакты' }).click();
    await page.getByRole('link', { name: 'Григорьев Олег Петрович' }).click();
    const history = page.locator('.history li[data-kind=call_result]');
    await history.waitFor();
    expect((await history.textContent()).includes('Согласен'), 'the call result is not in the history');
    await page.locator('input[name=city]').fill('Тверь');
    await page.getByRole('button', { name: 'Сохранить', exact: true }).click();
    await page.locator('.history li[data-kind=updated]').waitFor();
    await page.screenshot({ path: join(args.shots, 'card.png') });
    // A new card with a number another card has: warned at the field, then saved on purpose.
    await page.getByRole('link', { name: 'Контакты' }).click();
    await page.getByRole('button', { name: 'Новая карточка' }).click();
    await page.locator('input[name=last_name]').fill('Дублев');
    await page.locator('input[name=phones]').fill('+7 495 120-00-01');
    await page.getByRole('button', { name: 'Сохранить', exact: true }).click();
    await page.locator('.field-error[data-field=phones]').waitFor();
    await page.getByRole('button', { name: 'Сохранить всё равно' }).click();
    await page.waitForURL(/\/contacts\/(?!new)[A-Za-z0-9_-]+$/);
  });

  await step('the agent sets their state; not ready needs a reason', async () => {
    const select = page.getByLabel('Мой статус');
    await select.selectOption('not_ready');
    await page.getByPlaceholder('Почему не готов?').fill('обед');
    await page.getByRole('button', { name: 'OK' }).click();
    await page.locator('.agent-state[data-state=not_ready]').waitFor();
    const token = (await adminToken()).access_token;
    const state = await call('GET', '/api/me/state', undefined, token);
    expect(state.state === 'not_ready' && state.reason === 'обед', `state: ${JSON.stringify(state)}`);
    await select.selectOption('available');
    await page.locator('.agent-state[data-state=available]').waitFor();
  });

  if (args.carrier && args['node-sip']) {
    await step('a customer calls in: the pop-up names the line and the card; answer, hold, keypad, hang up', async () => {
      await page.getByRole('link', { name: 'Контакты' }).click();
      // The carrier's first sipp answered the agent's call: once it has let
      // go of its port (the trunk's address), that port places the customer's call.
      await portFree(Number(args.carrier), 30000);
      const customer = '+74951200002'; // Тихонова Вера Андреевна of the demo base
      const calling = spawn(
        'sipp',
        [
          `127.0.0.1:${args['node-sip']}`,
          '-sf', join(here, 'customer_calls.xml'),
          '-key', 'company', '+74950000000',
          '-key', 'caller', customer,
          '-i', '127.0.0.1', '-p', args.carrier,
          '-m', '1', '-nostdin', '-timeout', '60s',
        ],
        { cwd: tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let said = '';
      calling.stderr.on('data', (d) => (said += d));
      const finished = new Promise((resolve) => calling.on('exit', (code) => resolve(code)));
      try {
        const popup = page.getByRole('dialog', { name: 'Входящий звонок' });
        await popup.locator('[data-call=offered], .incoming-name').first().waitFor({ timeout: 20000 });
        await page.locator('.incoming-name', { hasText: 'Тихонова' }).waitFor();
        expect((await popup.textContent()).includes('Main line'), 'the pop-up does not name the line');
        await page.screenshot({ path: join(args.shots, 'incoming.png') });
        await page.getByRole('button', { name: 'Ответить' }).click();
        // The caller's card opens while the call comes up.
        await page.getByRole('heading', { name: /Тихонова/ }).first().waitFor();
        await page.locator('.incoming [data-call=talking]').waitFor();
        await page.getByRole('button', { name: 'Удержать' }).click();
        await page.locator('.incoming [data-held=yes]').waitFor();
        await page.getByRole('button', { name: 'Вернуть' }).click();
        await page.locator('.incoming [data-held=no][data-call=talking]').waitFor();
        await page.getByRole('button', { name: 'Клавиатура' }).click();
        for (const k of ['1', '2', '#']) await page.getByRole('group', { name: 'Клавиатура' }).getByRole('button', { name: k, exact: true }).click();
        await page.locator('.keypad output', { hasText: '12#' }).waitFor();
        await page.screenshot({ path: join(args.shots, 'incoming-talking.png') });
        await page.locator('.incoming').getByRole('button', { name: 'Положить трубку' }).click();
        await page.locator('.incoming [data-call=ended]').waitFor();
        const code = await Promise.race([finished, new Promise((r) => setTimeout(() => r('running'), 20000))]);
        expect(code === 0, `the customer's sipp ended with ${code}`);
        const token = (await adminToken()).access_token;
        const calls = await call('GET', '/api/calls', undefined, token);
        const latest = calls.items[0];
        expect(
          latest?.direction === 'inbound' && latest.outcome === 'answered' && latest.from === customer,
          `latest call: ${JSON.stringify(latest)}`,
        );
        await page.getByRole('button', { name: 'Закрыть' }).click();
        await page.locator('.incoming').waitFor({ state: 'detached' });
        result.incoming = `answered, held, resumed, keyed, hung up: record ${latest.id}`;
      } catch (e) {
        throw new Error(`${e.message.split('\n')[0]} (the customer's sipp: ${said.trim() || 'said nothing'})`);
      } finally {
        calling.kill();
      }
    });
  }

  await step('the pre-flight check finds the browser, microphone, server and line fit; the echo test hears the microphone back through the node', async () => {
    await page.getByRole('link', { name: 'Проверка' }).click();
    await page.getByRole('heading', { name: 'Проверка перед звонками' }).waitFor();
    for (const check of ['check.browser', 'check.microphone', 'check.mic_level', 'check.server', 'check.phone']) {
      await page.locator(`li[data-check="${check}"][data-state=pass]`).waitFor();
    }
    const server = await page.locator('li[data-check="check.server"]').textContent();
    expect(/время ответа \d+ мс/.test(server), `server check: ${server}`);
    await page.getByRole('button', { name: /^Эхо-тест/ }).click();
    // Answered by the node: what comes back is the fake microphone's 1 kHz.
    await page.locator('li[data-check="check.echo"]', { hasText: 'говорите' }).waitFor();
    await page.waitForTimeout(1000);
    const heard = await receivedTone(page, 1500);
    expect(!heard.error, heard.error);
    expect(Math.abs(heard.frequency - 1000) < 30, `the echo came back at ${heard.frequency} Hz`);
    expect(heard.levelDbfs > -30, `the echo came back at ${heard.levelDbfs} dBFS`);
    await page.locator('li[data-check="check.echo"][data-state=pass]').waitFor({ timeout: 20000 });
    const quality = page.locator('li[data-check="check.quality"]');
    await quality.and(page.locator('[data-state]:not([data-state=running])')).waitFor();
    const figures = await quality.textContent();
    expect(/джиттер \d+ мс/.test(figures) && /потеряно [\d.]+% по пути туда, [\d.]+% обратно/.test(figures), `quality: ${figures}`);
    // The node's RTCP receiver reports (str0m's) give Chromium the round trip.
    expect(/круговая задержка \d+ мс/.test(figures), `no round trip shown: ${figures}`);
    expect((await quality.getAttribute('data-state')) === 'pass', `quality: ${figures}`);
    await page.screenshot({ path: join(args.shots, 'check.png') });
    result.echo = {
      frequency: Math.round(heard.frequency),
      levelDbfs: Math.round(heard.levelDbfs),
      quality: (await quality.locator('.muted').textContent()).trim(),
    };
    // The echo test is no call: the call log has nothing new.
    const token = (await adminToken()).access_token;
    const calls = await call('GET', '/api/calls', undefined, token);
    expect(!calls.items.some((c) => c.to === '*43'), `an echo test in the call log: ${JSON.stringify(calls.items[0])}`);
  });

  await step('a dropped phone connection shows a banner until the phone has registered again', async () => {
    // A second tab whose WebSockets go through the walk, so one can be cut.
    const routed = [];
    const tab = await context.newPage();
    tab.setDefaultTimeout(20000);
    await tab.routeWebSocket(/.*/, (ws) => {
      routed.push(ws);
      ws.connectToServer();
    });
    await tab.goto(args.url + '/check');
    const line = tab.locator('li[data-check="check.phone"]');
    await line.and(tab.locator('[data-state=pass]')).waitFor();
    for (const ws of routed) await ws.close({ code: 1006 }).catch(() => ws.close());
    await tab.locator('[data-banner=phone]').waitFor();
    await tab.screenshot({ path: join(args.shots, 'phone-reconnecting.png') });
    await tab.locator('[data-banner=phone]').waitFor({ state: 'detached', timeout: 40000 });
    await line.and(tab.locator('[data-state=pass]')).waitFor();
    expect(routed.length >= 2, `the phone did not connect again (${routed.length} sockets)`);
    await tab.close();
  });

  await step('a section not built yet says so', async () => {
    await page.getByRole('link', { name: 'Отчёты' }).click();
    await page.getByText('Ещё не готово').waitFor();
  });

  await step('the language switches to English and stays', async () => {
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    await page.screenshot({ path: join(args.shots, 'contacts-en.png') });
  });

  await step('a new company signs up, confirms by the mailed link and logs in', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByRole('link', { name: /Sign up/ }).click();
    const email = `owner${Date.now()}@newco.test`;
    await page.locator('input[name=company_name]').fill('NewCo');
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill('short');
    await page.getByRole('button', { name: 'Sign up' }).click();
    // The API names the field at fault; the form shows it next to that field.
    await page.locator('.field-error[data-field=password]').waitFor();
    await page.locator('input[name=password]').fill('Newco-password-1');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('status').filter({ hasText: email }).waitFor();
    await page.goto(mailedLink(email));
    await page.getByText('Your e-mail is confirmed').waitFor();
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill('Newco-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('No contacts match.').waitFor();
  });

  await step('the new company imports its base from a file', async () => {
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('heading', { name: 'Import contacts' }).waitFor();
    await page.locator('input[name=file]').setInputFiles(join(here, '../../samplesdata/import/contacts-utf8.csv'));
    // The preview: the file's own header, each column's guessed target.
    await page.locator('table.preview th', { hasText: 'Фамилия' }).waitFor();
    expect(
      (await page.getByLabel('Column Телефон goes to').inputValue()) === 'phones',
      'the phone column was not recognised',
    );
    await page.screenshot({ path: join(args.shots, 'import-preview.png'), fullPage: true });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const done = page.locator('[data-import=done]');
    await done.waitFor({ timeout: 30000 });
    const text = await done.textContent();
    expect(/contacts created/.test(text) && /rejected/.test(text), `result: ${text}`);
    await page.screenshot({ path: join(args.shots, 'import-done.png') });
    await done.getByRole('button', { name: 'Contacts' }).click();
    await page.locator('table.contacts tbody tr').nth(9).waitFor();
  });

  await step('without a microphone the call says why instead of failing silently', async () => {
    await context.close();
    const { page: p } = await w.launch({ microphone: false });
    await p.goto(args.url + '/login');
    await p.locator('input[name=email]').fill('admin@demo.callisto.local');
    await p.locator('input[name=password]').fill('Demo12345');
    await p.getByRole('button', { name: 'Войти' }).click();
    await p.getByRole('link', { name: 'Обзвон' }).click();
    await p.getByRole('button', { name: 'Оптовики' }).click();
    await p.locator('[data-line=ready]').waitFor({ timeout: 15000 });
    await p.getByRole('button', { name: /^Позвонить/ }).first().click();
    await p.getByText('Браузер не дал микрофон').waitFor();
    await p.screenshot({ path: join(args.shots, 'no-microphone.png') });
  });
}, () => rmSync(micDir, { recursive: true, force: true }));
