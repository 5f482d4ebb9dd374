#!/usr/bin/env node
// The contact base beyond the list and the card, in a real browser (Debian's
// chromium driven by playwright-core) against a running `callisto serve` with
// the demo company: the demo administrator filters the list by a tag (the
// address keeps the filter through back and forward), tags two contacts in
// bulk, exports them to CSV, finds the duplicate of a contact and merges it,
// deletes a card and restores it from the recycle bin, resets the SIP
// password, changes the password and logs in with the new one; an invited
// user logs in with the mailed password and must choose their own first.
// Saves a screenshot of each screen and prints one JSON line last.
//
//   node crm.mjs --url http://127.0.0.1:PORT --outbox DATA/outbox --shots DIR
//
// Exit codes as every walk's (walk.mjs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { walk } from './walk.mjs';

const w = await walk({ name: 'crm', result: { bulk: null, csv_rows: null, duplicates: null } });
const { args, result, expect, step } = w;
const call = w.api;

/** The newest mail to `to` in the outbox folder. */
function mailTo(to) {
  const mail = w.mailTo(to);
  expect(mail, `no mail to ${to}`);
  return mail;
}

const shot = (page, name) => page.screenshot({ path: join(args.shots, `${name}.png`), fullPage: true });
const rows = (page) => page.locator('table.contacts tbody tr');
const ADMIN = 'admin@demo.callisto.local';
const EMPTY = 'Контактов не найдено.';
const NEW_PASSWORD = 'Callisto2026x';

async function logIn(page, email, password) {
  await page.goto(args.url + '/login');
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: 'Войти' }).click();
}

await w.run(async () => {
  // The demo base has no two cards sharing a phone: one more Смирнов with the
  // demo Смирнов's mobile makes a duplicate group, as a second call-in would.
  const admin = await call('POST', '/api/auth/login', { email: ADMIN, password: 'Demo12345' });
  const twin = await call(
    'POST',
    '/api/clients',
    { kind: 'contact', last_name: 'Смирнов', first_name: 'Алексей', phones: ['8 (912) 345-67-80'], city: 'Пермь', allow_duplicates: true },
    admin.access_token,
  );

  // Enough cards for the list to need a second page (it shows 50 at a time).
  for (let i = 0; i < 60; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        call('POST', '/api/clients', { kind: 'contact', last_name: 'Пробный', first_name: `№${i + k + 1}` }, admin.access_token),
      ),
    );
  }

  const { page } = await w.launch({ downloads: true });

  await step('the demo administrator logs in and sees the base a page at a time', async () => {
    await logIn(page, ADMIN, 'Demo12345');
    await page.getByRole('heading', { name: 'Контакты' }).waitFor();
    await rows(page).nth(20).waitFor();
    await page.getByText('Показано: 50').waitFor();
    await page.getByRole('button', { name: 'Показать ещё' }).click();
    await page.getByText('Показано: 82').waitFor();
    expect(!(await page.getByRole('button', { name: 'Показать ещё' }).isVisible()), 'more after the last page');
  });

  let all;
  await step('a tag filter narrows the list and lives in the address', async () => {
    all = await rows(page).count();
    await page.locator('select[name=tags]').selectOption('розница');
    await page.waitForURL((u) => u.searchParams.get('tags') === 'розница');
    await page.waitForFunction((n) => document.querySelectorAll('table.contacts tbody tr').length < n, all);
    const names = await rows(page).locator('td:nth-child(2)').allTextContents();
    expect(names.length === 2, `розница shows ${names.length} cards: ${names}`);
    for (const r of await rows(page).all()) {
      expect((await r.locator('.tag').allTextContents()).includes('розница'), 'a row without the tag');
    }
    await page.goBack();
    // The unfiltered list again, from its first page.
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 50);
    expect(!new URL(page.url()).searchParams.has('tags'), 'back kept the filter');
    await page.goForward();
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 2);
    expect((await page.locator('select[name=tags]').inputValue()) === 'розница', 'the select forgot the tag');
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 2);
    // A malformed time window is refused at its field, and the list says so.
    await page.locator('input[name=local_time]').fill('9 to 6');
    await page.locator('input[name=local_time]').press('Enter');
    const bad = page.locator('[data-field=local_time]');
    await bad.waitFor();
    expect((await bad.textContent()).length > 0, 'an empty field error');
    await shot(page, 'contacts-bad-filter');
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 2);
    expect(!(await bad.isVisible()), 'the error stayed after the filter was undone');
    await shot(page, 'contacts-filtered');
  });

  await step('the responsible and changed-date filters narrow the list too', async () => {
    await page.goto(args.url + '/contacts');
    await rows(page).nth(49).waitFor();
    await page.locator('select[name=responsible]').selectOption({ label: 'Ольга Смирнова' });
    await page.waitForURL((u) => u.searchParams.has('responsible'));
    // Olga's demo cards: three companies and five contacts.
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 8);
    await page.locator('input[name=modified_to]').fill('2020-01-31');
    await page.waitForURL((u) => u.searchParams.get('modified_to') === '2020-01-31' && u.searchParams.has('responsible'));
    await page.getByText(EMPTY).waitFor();
    await page.getByRole('button', { name: 'Сбросить фильтры' }).click();
    await page.waitForURL((u) => u.search === '');
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 50);
    // Back to the tag filter the next steps work on.
    await page.goto(args.url + '/contacts?tags=' + encodeURIComponent('розница'));
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 2);
  });

  await step('two selected contacts get a tag in bulk, with progress to done', async () => {
    await rows(page).nth(0).locator('input[name=pick]').check();
    await rows(page).nth(1).locator('input[name=pick]').check();
    await page.getByText('Выбрано: 2').waitFor();
    await page.locator('select[name=action]').selectOption('add_tags');
    await page.locator('input[name=bulk_tags]').fill('vip');
    await page.getByRole('button', { name: 'Применить' }).click();
    const progress = page.locator('.bulk-progress[data-status=done]');
    await progress.waitFor();
    result.bulk = (await progress.textContent()).trim();
    expect(result.bulk.includes('изменено 2'), `bulk said: ${result.bulk}`);
    await page.waitForFunction(
      () => [...document.querySelectorAll('table.contacts tbody tr')].filter((r) => r.textContent.includes('vip')).length === 2,
    );
    await shot(page, 'contacts-bulk-done');
  });

  await step('the selection exports to CSV with a header row and its rows', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Выгрузить CSV' }).click()]);
    expect(download.suggestedFilename() === 'contacts.csv', `file name ${download.suggestedFilename()}`);
    const text = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
    const lines = text.split(/\r?\n/).filter(Boolean);
    expect(lines[0].startsWith('ID;Тип;'), `header: ${lines[0]}`);
    expect(lines.length === 3, `${lines.length - 1} rows exported`);
    expect(lines.slice(1).every((l) => l.includes('vip') && l.includes('розница')), `rows: ${lines.slice(1)}`);
    expect(lines.some((l) => l.includes('Орлова')) && lines.some((l) => l.includes('Смирнов')), 'the wrong cards');
    result.csv_rows = lines.length - 1;
    const [xlsx] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Выгрузить XLSX' }).click()]);
    expect(xlsx.suggestedFilename() === 'contacts.xlsx', `file name ${xlsx.suggestedFilename()}`);
    const head = readFileSync(await xlsx.path()).subarray(0, 2).toString('latin1');
    expect(head === 'PK', 'the XLSX file is not a workbook (zip)');
  });

  await step('every card the filter matches loses the tag in bulk', async () => {
    await page.getByRole('button', { name: 'Выбрать все карточки по фильтру' }).click();
    await page.getByText('Выбраны все карточки по фильтру').waitFor();
    await page.locator('select[name=action]').selectOption('remove_tags');
    await page.locator('input[name=bulk_tags]').fill('vip');
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith('/api/clients/bulk')),
      page.getByRole('button', { name: 'Применить' }).click(),
    ]);
    const body = request.postDataJSON();
    expect(body.filter?.tags === 'розница' && !body.ids, `the bulk request: ${request.postData()}`);
    await page.waitForFunction(() => !document.querySelector('table.contacts tbody').textContent.includes('vip'));
    await page.locator('.bulk-progress[data-status=done]', { hasText: 'изменено 2' }).waitFor();
    expect((await rows(page).count()) === 2, 'the filtered list changed');
  });

  await step('every card the filter matches is handed over to one manager', async () => {
    // Орлова is Olga's already, Смирнов is Ivan's: one changes, one stays.
    await page.locator('select[name=action]').selectOption('assign');
    await page.locator('select[name=responsible_id]').selectOption({ label: 'Ольга Смирнова' });
    await page.getByRole('button', { name: 'Применить' }).click();
    await page.locator('.bulk-progress[data-status=done]', { hasText: 'изменено 1, уже так было 1' }).waitFor();
    await page.locator('select[name=responsible]').selectOption({ label: 'Ольга Смирнова' });
    await page.waitForURL((u) => u.searchParams.has('responsible') && u.searchParams.get('tags') === 'розница');
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 2);
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 2);
  });

  await step('a duplicate search finds the twin by phone and merges it', async () => {
    await page.getByRole('button', { name: 'Дубли' }).click();
    await page.getByRole('heading', { name: 'Дубли' }).waitFor();
    await page.getByRole('button', { name: 'Найти дубли' }).click();
    await page.waitForURL((u) => u.pathname === '/duplicates' && u.searchParams.has('search'));
    await page.locator('.bulk-progress[data-status=done]').waitFor();
    const found = page.locator('.dup-group', { has: page.locator(`tr[data-id="${twin.id}"]`) });
    await found.waitFor();
    // The group by its number: its table of cards goes once it is merged.
    const group = page.locator(`.dup-group[data-n="${await found.getAttribute('data-n')}"]`);
    expect((await group.locator('h2 mark').textContent()).includes('912 345-67-80'), 'the shared phone is not shown');
    result.duplicates = await page.locator('.dup-group').count();
    await shot(page, 'duplicates-found');
    // The demo card, not the newer twin, stays: chosen as the base by hand.
    await group.getByRole('radio', { name: 'Смирнов Алексей Викторович — основная карточка' }).check();
    await group.getByRole('button', { name: 'Объединить в основную' }).click();
    await group.getByRole('status').getByText('Объединено карточек: 1').waitFor();
    await group.getByRole('status').getByRole('link', { name: 'Смирнов Алексей Викторович' }).waitFor();
    await shot(page, 'duplicates-merged');
    // The twin is in the recycle bin now; the list has one Смирнов.
    await page.goto(args.url + '/contacts?q=' + encodeURIComponent('Смирнов'));
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 1);
  });

  await step('a deleted card goes to the recycle bin and comes back', async () => {
    await page.goto(args.url + '/contacts?q=' + encodeURIComponent('Фёдоров'));
    await rows(page).first().getByRole('link').click();
    await page.getByRole('heading', { name: /Фёдоров/ }).waitFor();
    await shot(page, 'card');
    await page.getByRole('button', { name: 'Удалить' }).click();
    await shot(page, 'card-delete-confirm');
    await page.getByRole('button', { name: 'Да, удалить' }).click();
    await page.waitForURL((u) => u.pathname === '/contacts');
    await rows(page).first().waitFor();
    await page.locator('input[name=q]').fill('Фёдоров');
    await page.waitForURL((u) => u.searchParams.get('q') === 'Фёдоров');
    await page.getByText(EMPTY).waitFor();
    await page.getByRole('button', { name: 'Корзина' }).click();
    await page.getByRole('heading', { name: 'Корзина' }).waitFor();
    const row = page.locator('table.contacts tbody tr', { hasText: 'Фёдоров' });
    await row.waitFor();
    expect((await page.locator(`table.contacts tbody tr[data-id="${twin.id}"]`).count()) === 1, 'the merged twin is not in the bin');
    await shot(page, 'recycle-bin');
    await row.getByRole('button', { name: 'Восстановить' }).click();
    await page.getByRole('status').getByRole('link', { name: /Фёдоров/ }).waitFor();
    await page.goto(args.url + '/contacts?q=' + encodeURIComponent('Фёдоров'));
    await page.waitForFunction(() => document.querySelectorAll('table.contacts tbody tr').length === 1);
  });

  await step('every card a search matches goes to the recycle bin in bulk, after a confirmation', async () => {
    await page.goto(args.url + '/contacts?q=' + encodeURIComponent('Пробный'));
    await page.getByText('Показано: 50').waitFor();
    await rows(page).first().locator('input[name=pick]').check();
    await page.getByRole('button', { name: 'Выбрать все карточки по фильтру' }).click();
    await page.locator('select[name=action]').selectOption('delete');
    await page.getByRole('button', { name: 'Применить' }).click();
    await page.getByText('Все карточки по фильтру уйдут в корзину').waitFor();
    await page.getByRole('button', { name: 'Да, удалить' }).click();
    await page.locator('.bulk-progress[data-status=done]', { hasText: 'изменено 60' }).waitFor();
    await page.getByText(EMPTY).waitFor();
  });

  await step('the profile resets the SIP password and changes the password', async () => {
    await page.locator('a.user-menu').click();
    await page.getByRole('heading', { name: 'Профиль' }).waitFor();
    await page.getByText('Имя пользователя').waitFor();
    await page.locator('input[name=full_name]').fill('Анна Админова-Петрова');
    await page.locator('input[name=support_phone]').fill('звоните');
    await page.getByRole('button', { name: 'Сохранить' }).click();
    await page.locator('[data-field=support_phone]').waitFor();
    await page.locator('input[name=support_phone]').fill('+7 900 000-00-01');
    await page.locator('select[name=time_zone]').selectOption('Asia/Yekaterinburg');
    await page.getByRole('button', { name: 'Сохранить' }).click();
    await page.getByRole('status').getByText('Сохранено.').waitFor();
    await page.locator('a.user-menu', { hasText: 'Анна Админова-Петрова' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Профиль' }).waitFor();
    await page.waitForFunction(() => document.querySelector('select[name=time_zone]')?.value === 'Asia/Yekaterinburg');
    expect((await page.locator('input[name=support_phone]').inputValue()) === '+7 900 000-00-01', 'the phone was not kept');
    await page.getByRole('button', { name: 'Сбросить SIP-пароль' }).click();
    const secret = page.locator('[data-secret]');
    await secret.waitFor();
    expect((await secret.textContent()).length >= 8, 'no new SIP password shown');
    await page.locator('input[name=current_password]').fill('not-my-password');
    await page.locator('input[name=new_password]').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Сменить пароль' }).click();
    await page.locator('[data-field=current_password]').waitFor();
    await shot(page, 'profile');
    await page.locator('input[name=current_password]').fill('Demo12345');
    await page.getByRole('button', { name: 'Сменить пароль' }).click();
    await page.waitForURL((u) => u.pathname === '/login');
  });

  await step('the old password no longer works, the new one does', async () => {
    await logIn(page, ADMIN, 'Demo12345');
    await page.getByRole('alert').waitFor();
    expect(new URL(page.url()).pathname === '/login', 'logged in with the old password');
    await logIn(page, ADMIN, NEW_PASSWORD);
    await page.getByRole('heading', { name: 'Контакты' }).waitFor();
  });

  await step('an invited user sets their own password before anything else', async () => {
    const fresh = await call('POST', '/api/auth/login', { email: ADMIN, password: NEW_PASSWORD });
    const email = 'new.manager@demo.callisto.local';
    await call('POST', '/api/users', { email, full_name: 'Вера Новикова', role: 'manager' }, fresh.access_token);
    const mailed = mailTo(email).match(/(?:Initial password|Пароль)[^:]*:\s*(\S+)/)?.[1];
    expect(mailed, 'no password in the invitation');
    await page.evaluate(() => localStorage.removeItem('callisto.session'));
    await logIn(page, email, mailed);
    await page.waitForURL((u) => u.pathname === '/profile');
    await page.getByText('Вы вошли с паролем из приглашения').waitFor();
    await shot(page, 'invite-first-login');
    await page.locator('input[name=current_password]').fill(mailed);
    await page.locator('input[name=new_password]').fill('Novikova2026');
    await page.getByRole('button', { name: 'Сменить пароль' }).click();
    await page.waitForURL((u) => u.pathname === '/login');
    await logIn(page, email, 'Novikova2026');
    await page.getByRole('heading', { name: 'Контакты' }).waitFor();
    await page.locator('a.user-menu', { hasText: 'Вера Новикова' }).waitFor();
    expect(new URL(page.url()).pathname === '/contacts', `sent to ${page.url()}`);
  });
});
