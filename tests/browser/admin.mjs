#!/usr/bin/env node
// The administration screens in a real browser (Debian's chromium driven by
// playwright-core) against `callisto serve` with the demo company. The demo
// administrator sees the team with the agents' states (one changing while the
// page is open), invites a user (a wrong e-mail first: the error stands at its
// field), blocks and unblocks them (the mailed password stops and starts
// working), changes their role, keeps the groups, sets up the company's SIP
// trunk against a registrar this script runs on 127.0.0.1 and watches its
// registration status change, gives a short number and a SIP password, adds
// an SMTP account and tests it against a closed port (the page names the
// failed stage), then against a real server (the kept password logs in, a
// wrong one fails at the login), switches to Russian; then a manager sees the
// team and telephony without the administrators' controls and adds their own
// mail account. Saves screenshots of each screen and the page's API traffic
// (network.log); prints one JSON line.
//
//   node admin.mjs --url http://127.0.0.1:PORT --outbox DATA/outbox --shots DIR --smtp PORT
//
// Exit codes as every walk's (walk.mjs).
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { walk } from './walk.mjs';

const w = await walk({
  name: 'admin',
  options: { smtp: { type: 'string' } },
  required: ['url', 'outbox', 'shots', 'smtp'],
  result: { trunk: null, smtp: null, smtpOk: null, smtpAuth: null, registers: 0 },
});
const { args, result, expect, step } = w;
const api = w.api;
const mailTo = w.mailTo;
let registrar;

const shot = (page, name) => page.screenshot({ path: join(args.shots, name), fullPage: true });

/** A SIP registrar on 127.0.0.1 that accepts every REGISTER for 300 s: the
 * company's trunk as far as registration goes. Answers its UDP port. */
function startRegistrar() {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.on('message', (msg, from) => {
      const text = msg.toString('utf8');
      if (!text.startsWith('REGISTER ')) return;
      result.registers += 1;
      const lines = text.split('\r\n');
      const headers = lines.filter((l) => /^(via|v|from|f|call-id|i|cseq|contact|m)\s*:/i.test(l));
      const to = lines.find((l) => /^(to|t)\s*:/i.test(l));
      const reply = [
        'SIP/2.0 200 OK',
        ...headers,
        `${to};tag=reg${Date.now()}`,
        'Expires: 300',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      sock.send(reply, from.port, from.address);
    });
    sock.bind(0, '127.0.0.1', () => resolve(sock));
  });
}

/** A TCP port on 127.0.0.1 nobody listens on (bound, then let go). */
function closedPort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}


async function logInStatus(email, password) {
  const r = await fetch(args.url + '/api/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return r.status;
}


async function logIn(page, email, password, button) {
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: button }).click();
}

await w.run(
  async () => {
  registrar = await startRegistrar();
  const { page } = await w.launch({ locale: 'en-US' });
  // The page's API traffic, for a failed step's diagnosis: network.log beside the screenshots.
  const started = Date.now();
  const log = (line) => appendFileSync(join(args.shots, 'network.log'), `${((Date.now() - started) / 1000).toFixed(1)} ${line}\n`);
  writeFileSync(join(args.shots, 'network.log'), '');
  page.on('request', (r) => r.url().includes('/api/') && log(`> ${r.method()} ${new URL(r.url()).pathname}`));
  page.on('response', (r) => r.url().includes('/api/') && log(`< ${r.status()} ${new URL(r.url()).pathname}`));
  page.on('requestfailed', (r) => log(`failed ${r.url()}: ${r.failure()?.errorText}`));
  page.on('pageerror', (e) => log(`page error: ${e}`));
  const invitee = `nina${Date.now()}@demo.test`;
  const row = () => page.locator(`table.team tr[data-email="${invitee}"]`);

  await step('the administrator opens the team: users with their role, group, state and agent state', async () => {
    await page.goto(args.url + '/login');
    await logIn(page, 'admin@demo.callisto.local', 'Demo12345', 'Log in');
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    await page.getByRole('link', { name: 'Team' }).click();
    await page.getByRole('heading', { name: 'Team', exact: true }).waitFor();
    const ivan = page.locator('table.team tr[data-email="ivan@demo.callisto.local"]');
    await ivan.waitFor();
    const text = await ivan.textContent();
    expect(text.includes('Иван Петров') && text.includes('Manager') && text.includes('Отдел продаж') && text.includes('111'), `ivan's row: ${text}`);
    expect((await ivan.locator('[data-status]').getAttribute('data-status')) === 'active', 'ivan is not shown active');
    expect((await ivan.locator('td[data-agent-state]').getAttribute('data-agent-state')) !== '', 'no agent state for ivan');
    expect((await page.locator('table.team tbody tr').count()) === 6, 'not the six demo users');
  });

  await step('an agent going "do not disturb" shows on the open team page', async () => {
    const ivan = page.locator('table.team tr[data-email="ivan@demo.callisto.local"] td[data-agent-state]');
    const { access_token } = await api('POST', '/api/auth/login', { email: 'ivan@demo.callisto.local', password: 'Demo12345' });
    await api('PUT', '/api/me/state', { state: 'dnd' }, access_token);
    await page.locator('table.team tr[data-email="ivan@demo.callisto.local"] td[data-agent-state=dnd]').waitFor({ timeout: 30000 });
    expect((await ivan.textContent()).includes('Do not disturb'), 'the state is not said');
    await api('PUT', '/api/me/state', { state: 'available' }, access_token);
  });

  await step('a wrong e-mail in the invitation is named at its field', async () => {
    const form = page.getByRole('form', { name: 'Invite a user' });
    await form.locator('input[name=email]').fill('nina-at-demo');
    await form.locator('input[name=full_name]').fill('Нина Новикова');
    await form.getByRole('button', { name: 'Invite' }).click();
    await form.locator('.field-error[data-field=email]').waitFor();
    expect((await form.locator('input[name=email]').getAttribute('aria-invalid')) === 'true', 'the e-mail field is not marked');
    await shot(page, 'team-invite-error.png');
  });

  let password;
  await step('the invited user is listed as invited and gets a mail with a password', async () => {
    const form = page.getByRole('form', { name: 'Invite a user' });
    await form.locator('input[name=email]').fill(invitee);
    await form.locator('select[name=role]').selectOption('manager');
    await form.locator('select[name=group_id]').selectOption({ label: 'Поддержка' });
    await form.getByRole('button', { name: 'Invite' }).click();
    await form.getByRole('status').filter({ hasText: invitee }).waitFor();
    await row().locator('[data-status=invited]').waitFor();
    expect((await row().textContent()).includes('Поддержка'), 'the group is not shown');
    const mail = mailTo(invitee);
    password = mail?.match(/Initial password: (\S+)/)?.[1];
    expect(password, `no invitation mailed to ${invitee}`);
    expect((await logInStatus(invitee, password)) === 200, 'the mailed password does not log in');
    await shot(page, 'team.png');
  });

  await step('blocking stops the user logging in; unblocking lets them back', async () => {
    await row().getByRole('button', { name: 'Block' }).click();
    await row().locator('[data-status=blocked]').waitFor();
    expect((await logInStatus(invitee, password)) !== 200, 'a blocked user still logs in');
    await row().getByRole('button', { name: 'Unblock' }).click();
    await row().locator('[data-status=invited]').waitFor();
    expect((await logInStatus(invitee, password)) === 200, 'the unblocked user cannot log in');
    // The administrator is not offered to block themselves.
    const admin = page.locator('table.team tr[data-email="admin@demo.callisto.local"]');
    expect((await admin.getByRole('button', { name: 'Block' }).count()) === 0, 'the administrator may block themselves');
  });

  await step('the role and group are edited', async () => {
    await row().getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: /^Edit / });
    await form.locator('select[name=role]').selectOption('group_leader');
    await form.locator('select[name=group_id]').selectOption({ label: 'Отдел продаж' });
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    const text = await row().textContent();
    expect(text.includes('Group leader') && text.includes('Отдел продаж'), `after the edit: ${text}`);
  });

  await step('groups: one is created and renamed; one with members is not deleted, saying why', async () => {
    const form = page.getByRole('form', { name: 'New group' });
    await form.locator('input[name=name]').fill('Night shift');
    await form.getByRole('button', { name: 'Create group' }).click();
    const night = page.locator('table.groups tr[data-group="Night shift"]');
    await night.waitFor();
    await night.getByRole('button', { name: 'Rename' }).click();
    await night.locator('input[name=group_name]').fill('Night line');
    await night.getByRole('button', { name: 'Save' }).click();
    await page.locator('table.groups tr[data-group="Night line"]').waitFor();
    const support = page.locator('table.groups tr[data-group="Поддержка"]');
    await support.getByRole('button', { name: 'Delete' }).click();
    await support.getByRole('alert').waitFor();
    await page.locator('table.groups tr[data-group="Night line"]').getByRole('button', { name: 'Delete' }).click();
    await page.locator('table.groups tr[data-group="Night line"]').waitFor({ state: 'detached' });
    expect((await support.count()) === 1, 'the group with members was deleted');
    await shot(page, 'team-groups.png');
  });

  await step('the trunk: a missing password is named, then saved, and its registration is seen', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Telephony', exact: true }).waitFor();
    const trunk = page.getByRole('region', { name: 'SIP trunk' });
    await trunk.locator('[data-trunk-state=none]').waitFor();
    await trunk.locator('input[name=name]').fill('Main line');
    await trunk.locator('input[name=number]').fill('+7 495 000-00-00');
    await trunk.locator('input[name=host]').fill('127.0.0.1');
    await trunk.locator('input[name=port]').fill(String(registrar.address().port));
    await trunk.locator('input[name=login]').fill('demo');
    await trunk.getByRole('button', { name: 'Save' }).click();
    await trunk.locator('.field-error[data-field=password]').waitFor();
    await trunk.locator('input[name=password]').fill('trunk-secret-1');
    await trunk.getByRole('button', { name: 'Save' }).click();
    await trunk.getByText('Saved.').waitFor();
    expect((await trunk.locator('input[name=password]').inputValue()) === '', 'the password is shown back');
    expect((await trunk.locator('input[name=number]').inputValue()) === '+74950000000', 'the number is not normalised');
    // The page reads the status again by itself: the node registers within its refresh period.
    await trunk.locator('[data-trunk-state=registered]').waitFor({ timeout: 60000 });
    result.trunk = await trunk.locator('[data-trunk-state]').textContent();
    expect(result.registers > 0, 'the registrar saw no REGISTER');
    await shot(page, 'telephony.png');
  });

  await step('a short number is refused with the reason, then given; a SIP password is shown once', async () => {
    const short = page.locator(`table.short-numbers tr[data-email="${invitee}"]`);
    await short.locator('input[name=short_number]').fill('0130');
    await short.getByRole('button', { name: 'Save' }).click();
    await short.locator('.field-error[data-field=short_number]').waitFor();
    await short.locator('input[name=short_number]').fill('130');
    await short.getByRole('button', { name: 'Save' }).click();
    await short.locator('.field-error').waitFor({ state: 'detached' });
    await short.getByRole('button', { name: 'Save' }).waitFor({ state: 'detached' });
    await short.getByRole('button', { name: 'New SIP password' }).click();
    const pw = await short.locator('[data-sip-password]').textContent();
    expect(/^[A-Za-z0-9]{24}$/.test(pw), `SIP password shown: ${pw}`);
    const mine = page.getByRole('region', { name: 'My phone' });
    await mine.getByRole('button', { name: 'New SIP password' }).click();
    await mine.locator('[data-sip-password]').waitFor();
    await mine.locator('[data-sip-configured=true]').waitFor();
    await shot(page, 'telephony-numbers.png');
  });

  await step('a mail account: a bad address is named, then saved; the test names the failed stage', async () => {
    const port = await closedPort();
    await page.getByRole('link', { name: 'Mail accounts' }).click();
    await page.getByRole('heading', { name: 'Mail accounts', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Add account' }).click();
    const form = page.getByRole('form', { name: 'New mail account' });
    await form.locator('input[name=name]').fill('Sales mailbox');
    await form.locator('input[name=from_address]').fill('sales-at-demo');
    await form.locator('input[name=host]').fill('127.0.0.1');
    await form.locator('input[name=port]').fill(String(port));
    await form.locator('select[name=security]').selectOption('none');
    await form.locator('input[name=login]').fill('sales');
    await form.locator('input[name=password]').fill('mail-secret-1');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('.field-error[data-field=from_address]').waitFor();
    await form.locator('input[name=from_address]').fill('sales@demo.test');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    const account = page.locator('li[data-account="Sales mailbox"]');
    await account.getByText('password stored').waitFor();
    await account.getByRole('button', { name: 'Test connection' }).click();
    const failed = account.locator('[data-test=failed]');
    await failed.waitFor({ timeout: 30000 });
    const stage = await failed.getAttribute('data-stage');
    result.smtp = await failed.textContent();
    expect(stage === 'smtp_connect' && result.smtp.includes('connecting to the server'), `test said: ${stage} ${result.smtp}`);
    await shot(page, 'mail.png');
  });

  await step('edited to a working server, the kept password logs in; a wrong one fails at the login', async () => {
    const account = page.locator('li[data-account="Sales mailbox"]');
    await account.getByRole('button', { name: 'Edit' }).click();
    let form = page.getByRole('form', { name: 'Edit Sales mailbox' });
    expect((await form.locator('input[name=password]').inputValue()) === '', 'the password is shown back');
    await form.locator('input[name=port]').fill(args.smtp);
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await account.getByRole('button', { name: 'Test connection' }).click();
    await account.locator('[data-test=ok]').waitFor({ timeout: 30000 });
    result.smtpOk = await account.locator('[data-test=ok]').textContent();
    await shot(page, 'mail-ok.png');
    await account.getByRole('button', { name: 'Edit' }).click();
    form = page.getByRole('form', { name: 'Edit Sales mailbox' });
    await form.locator('input[name=password]').fill('not-the-password');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await account.getByRole('button', { name: 'Test connection' }).click();
    const failed = account.locator('[data-test=failed][data-stage=smtp_auth]');
    await failed.waitFor({ timeout: 30000 });
    result.smtpAuth = await failed.textContent();
    expect(result.smtpAuth.includes('logging in'), `test said: ${result.smtpAuth}`);
  });

  await step('the mail page switches to Russian', async () => {
    await page.getByRole('button', { name: 'Русский' }).click();
    await page.getByRole('heading', { name: 'Почтовые ящики', exact: true }).waitFor();
    const account = page.locator('li[data-account="Sales mailbox"]');
    await account.getByRole('button', { name: 'Проверить подключение' }).click();
    await account.getByText('Ошибка на этапе: вход').waitFor({ timeout: 30000 });
    await shot(page, 'mail-ru.png');
  });

  await step('a mail account is deleted after a second press', async () => {
    const account = page.locator('li[data-account="Sales mailbox"]');
    await account.getByRole('button', { name: 'Удалить' }).click();
    expect((await account.count()) === 1, 'deleted on the first press');
    await account.getByRole('button', { name: 'Точно удалить?' }).click();
    await account.waitFor({ state: 'detached' });
    await page.getByText('Почтовых ящиков пока нет.').waitFor();
  });

  await step('a manager sees the team without the administrators\u2019 controls, and why', async () => {
    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.getByRole('heading', { name: 'Вход' }).waitFor();
    await logIn(page, 'ivan@demo.callisto.local', 'Demo12345', 'Войти');
    await page.getByRole('heading', { name: 'Контакты' }).waitFor();
    await page.getByRole('link', { name: 'Сотрудники' }).click();
    await page.getByRole('note').filter({ hasText: 'только администраторы' }).waitFor();
    await page.locator(`table.team tr[data-email="${invitee}"]`).waitFor();
    expect((await page.getByRole('form', { name: 'Пригласить пользователя' }).count()) === 0, 'a manager is offered to invite');
    expect((await page.getByRole('button', { name: 'Заблокировать' }).count()) === 0, 'a manager is offered to block');
    expect((await page.getByRole('alert').count()) === 0, 'an error is shown to the manager');
    await shot(page, 'team-manager.png');
    await page.getByRole('link', { name: 'Настройки' }).click();
    await page.getByRole('note').filter({ hasText: 'только администраторы' }).waitFor();
    expect((await page.getByRole('region', { name: 'SIP-транк' }).count()) === 0, 'a manager is shown the trunk form');
    await page.getByRole('region', { name: 'Мой телефон' }).waitFor();
    await shot(page, 'telephony-manager.png');
  });

  await step('a manager adds their own mail account', async () => {
    await page.getByRole('link', { name: 'Почтовые ящики' }).click();
    await page.getByRole('button', { name: 'Добавить ящик' }).click();
    const form = page.getByRole('form', { name: 'Новый почтовый ящик' });
    expect((await form.locator('input[name=personal]').count()) === 0, 'a manager is offered a company account');
    await form.locator('input[name=name]').fill('Иван: личный');
    await form.locator('input[name=from_address]').fill('ivan@demo.test');
    await form.locator('input[name=host]').fill('127.0.0.1');
    await form.locator('input[name=port]').fill(args.smtp);
    await form.locator('select[name=security]').selectOption('none');
    await form.locator('input[name=login]').fill('sales');
    await form.locator('input[name=password]').fill('mail-secret-1');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.waitFor({ state: 'detached' });
    const mine = page.locator('section', { has: page.getByRole('heading', { name: 'Мои ящики' }) });
    await mine.locator('li[data-account="Иван: личный"]').waitFor();
    await mine.getByRole('button', { name: 'Проверить подключение' }).click();
    await mine.locator('[data-test=ok]').waitFor({ timeout: 30000 });
    await shot(page, 'mail-manager.png');
  });
  },
  () => registrar?.close(),
);
