#!/usr/bin/env node
// The scenario administration in a real browser (Debian's chromium driven by
// playwright-core) against a running `callisto serve` with the demo company.
// The demo administrator makes, through the screens only: a call result (and
// a second one), a questionnaire with two questions, an e-mail template with
// placeholders and an attachment (and one with an unknown placeholder, refused
// at the body field), a scenario offering the results with a script that links
// to its own section, and a work list by it; then the calling screen offers
// the new list with the script. Bad input is shown at the field it is about.
// Saves a screenshot of each screen and prints one JSON line last.
//
//   node scenarios.mjs --url http://127.0.0.1:PORT --shots DIR [--outbox DIR]
//
// Exit codes as every walk's (walk.mjs).
import { join } from 'node:path';
import { walk } from './walk.mjs';

const w = await walk({
  name: 'scenarios',
  required: ['url', 'shots'],
  result: { placeholder_error: null, offered: null, shots: [] },
});
const { args, result, expect, step } = w;

async function shot(page, name) {
  await page.screenshot({ path: join(args.shots, name), fullPage: true });
  result.shots.push(name);
}

/** The API as the administrator, to check what the screens saved. */
async function apiGet(path) {
  const login = await w.api('POST', '/api/auth/login', { email: 'admin@demo.callisto.local', password: 'Demo12345' });
  return w.api('GET', path, undefined, login.access_token);
}

await w.run(async () => {
  const { page } = await w.launch({ viewport: { width: 1280, height: 900 } });
  page.on('dialog', (d) => d.accept());

  await step('the demo administrator logs in and opens the scenarios', async () => {
    await page.goto(args.url + '/login');
    await page.locator('input[name=email]').fill('admin@demo.callisto.local');
    await page.locator('input[name=password]').fill('Demo12345');
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('heading', { name: 'Контакты' }).waitFor();
    await page.getByRole('link', { name: 'Сценарии', exact: true }).click();
    await page.getByRole('heading', { name: 'Сценарии' }).waitFor();
    await page.getByText('Сценариев пока нет.').waitFor();
    expect(new URL(page.url()).pathname === '/scenarios', `at ${page.url()}`);
  });

  await step('call results: a nameless one is refused at the name, then two are made', async () => {
    await page.getByRole('link', { name: 'Результаты звонков' }).click();
    await page.getByRole('button', { name: 'Новый результат' }).click();
    const form = page.locator('form[data-form=call-result]');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.locator('.field-error[data-field=name]').waitFor();
    await form.locator('input[name=name]').fill('Согласен на встречу');
    await form.locator('select[name=kind]').selectOption('done');
    await form.getByLabel('Отметить цветом').check();
    await form.locator('input[name=colour]').fill('#2e7d32');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.getByRole('status').waitFor();
    await page.locator('table.admin-table').getByRole('button', { name: 'Согласен на встречу' }).waitFor();

    await page.getByRole('button', { name: 'Новый результат' }).click();
    await form.locator('input[name=name]').fill('Перезвонить позже');
    await form.locator('select[name=kind]').selectOption('call_later');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await page.locator('table.admin-table').getByRole('button', { name: 'Перезвонить позже' }).waitFor();
    const saved = await apiGet('/api/call-results');
    const agreed = saved.find((r) => r.name === 'Согласен на встречу');
    expect(agreed?.kind === 'done' && agreed?.colour === '#2e7d32', `saved: ${JSON.stringify(saved)}`);
    await shot(page, 'call-results.png');
  });

  await step('a questionnaire with two questions; a choice without options is refused at its options', async () => {
    await page.getByRole('link', { name: 'Анкеты' }).click();
    await page.getByRole('button', { name: 'Новая анкета' }).click();
    const form = page.locator('form[data-form=questionnaire]');
    await form.locator('input[name=name]').fill('Квалификация');
    await form.locator('input[name="questions[0].text"]').fill('Сколько у вас сотрудников?');
    await form.locator('select[name="questions[0].kind"]').selectOption('number');
    await form.getByRole('button', { name: 'Добавить вопрос' }).click();
    await form.locator('input[name="questions[1].text"]').fill('Что вам интересно?');
    await form.locator('select[name="questions[1].kind"]').selectOption('single_choice');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.locator('.field-error[data-field="questions[1].options"]').waitFor();
    await form.locator('textarea[name="questions[1].options"]').fill('Опт\nРозница\nДоставка');
    await form.locator('input[name="questions[1].required"]').check();
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.getByRole('status').waitFor();
    await page.locator('table.admin-table').getByRole('button', { name: 'Квалификация' }).waitFor();
    const [q] = await apiGet('/api/questionnaires');
    expect(
      q.questions.length === 2 && q.questions[1].options.join('|') === 'Опт|Розница|Доставка' && q.questions[1].required,
      `saved: ${JSON.stringify(q)}`,
    );
    await shot(page, 'questionnaire.png');
  });

  await step('an e-mail template: placeholders by the buttons, an attachment, the signature', async () => {
    await page.getByRole('link', { name: 'Шаблоны писем' }).click();
    await page.getByRole('button', { name: 'Новый шаблон' }).click();
    const form = page.locator('form[data-form=template]');
    await form.locator('input[name=name]').fill('Коммерческое предложение');
    await form.locator('input[name=subject]').fill('Предложение для ');
    await form.locator('input[name=subject]').press('End');
    await form.getByRole('button', { name: '%FIRM_NAME%' }).click();
    await form.locator('textarea[name=body]').fill('Здравствуйте, ');
    await form.locator('textarea[name=body]').press('End');
    await form.getByRole('button', { name: '%FIRSTNAME%' }).click();
    await form.locator('textarea[name=body]').press('End');
    await form.locator('textarea[name=body]').pressSequentially('! Высылаем наше предложение.');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.getByRole('status').waitFor();
    await form.locator('input[name=file]').setInputFiles({
      name: 'price.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('Прайс-лист: 100 руб.'),
    });
    await form.locator('[data-attachment="price.txt"]').waitFor();
    await form.getByText('Вложения (1 из 10)').waitFor();
    await form.locator('[data-attachment="price.txt"]').getByText('32 Б').waitFor();
    // Ten at most: with ten attached no more can be chosen, until one is removed.
    await form.locator('input[name=file]').setInputFiles(
      Array.from({ length: 9 }, (_, i) => ({ name: `doc${i + 2}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`документ ${i + 2}`) })),
    );
    await form.getByText('Вложения (10 из 10)').waitFor();
    expect(await form.locator('input[name=file]').isDisabled(), 'an eleventh file could be chosen');
    await form.locator('[data-attachment="doc10.txt"]').getByRole('button', { name: 'Убрать' }).click();
    await form.getByText('Вложения (9 из 10)').waitFor();
    expect(await form.locator('input[name=file]').isEnabled(), 'no file can be chosen with nine attached');
    const [tpl] = await apiGet('/api/email-templates');
    expect(
      tpl.subject === 'Предложение для %FIRM_NAME%' &&
        tpl.body === 'Здравствуйте, %FIRSTNAME%! Высылаем наше предложение.' &&
        tpl.attachments.length === 9 &&
        tpl.attachments[0]?.content_type === 'text/plain',
      `saved: ${JSON.stringify(tpl)}`,
    );
    const sig = page.locator('form[data-form=signature]');
    await sig.locator('textarea[name=signature]').fill('С уважением, отдел продаж');
    await sig.getByRole('button', { name: 'Сохранить' }).click();
    await sig.getByRole('status').waitFor();
    await shot(page, 'template.png');
  });

  await step('a template with an unknown placeholder is refused, named at the text field', async () => {
    await page.getByRole('button', { name: 'Новый шаблон' }).click();
    const form = page.locator('form[data-form=template]');
    await form.locator('input[name=name]').fill('Ошибочный');
    await form.locator('input[name=subject]').fill('Тема');
    await form.locator('textarea[name=body]').fill('Привет, %COMPANY%!');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    const err = form.locator('.field-error[data-field=body]');
    await err.waitFor();
    result.placeholder_error = await err.textContent();
    expect(result.placeholder_error.includes('%COMPANY%'), `error: ${result.placeholder_error}`);
    await shot(page, 'template-unknown-placeholder.png');
  });

  let scenarioId;
  await step('a scenario with the results in order, the questionnaire and a script linking to its section', async () => {
    await page.getByRole('link', { name: 'Список сценариев' }).click();
    await page.getByRole('button', { name: 'Новый сценарий' }).click();
    const form = page.locator('form[data-form=scenario]');
    await form.locator('textarea[name=script]').waitFor();
    await form.locator('input[name=name]').fill('Весенняя акция');
    await form.locator('select[name=add_result]').selectOption({ label: 'Перезвонить позже' });
    await form.locator('select[name=add_result]').selectOption({ label: 'Согласен на встречу' });
    // The agreement first: moved up above "call later".
    await form.locator('li[data-result="Согласен на встречу"]').getByTitle('Выше').click();
    await form.getByLabel('Подсказка для «Согласен на встречу»').fill('Назначьте дату');
    await form.getByLabel('Без результата к следующей карточке не перейти').check();
    await form.locator('select[name=questionnaire]').selectOption({ label: 'Квалификация' });
    await form.locator('select[name=email_template]').selectOption({ label: 'Коммерческое предложение' });
    const script = form.locator('textarea[name=script]');
    // Long enough that the section is out of sight until the link is followed.
    const pitch = Array.from({ length: 40 }, (_, i) => `<p>Довод ${i + 1}: скидка действует до конца весны.</p>\n`).join('');
    await script.fill(`<h2>Приветствие</h2>\n<p>Добрый день! Вам интересно наше весеннее предложение?</p>\n<p>Если нет: </p>\n${pitch}`);
    // A link to the section, then the section itself, by the toolbar.
    await script.press('Control+End');
    await form.locator('input[name=section_id]').fill('возражения');
    await form.getByRole('button', { name: 'Добавить раздел' }).click();
    await script.press('Control+End');
    await script.pressSequentially('<p>Понимаю вас. Чем сейчас пользуетесь?</p>\n');
    // The link goes after "Если нет: ".
    await script.evaluate((el) => {
      const at = el.value.indexOf('</p>', el.value.indexOf('Если нет'));
      el.focus();
      el.setSelectionRange(at, at);
    });
    await form.locator('select[name=link_to_section]').selectOption('возражения');
    const preview = form.locator('article.preview-script');
    await preview.locator('a[href="#возражения"]').waitFor();
    await preview.locator('h3[id="возражения"]').waitFor();
    // The preview keeps only what the API keeps.
    await script.press('Control+End');
    await script.pressSequentially('<script>window.ran = 1</script><img src=x onerror="window.ran = 1">');
    await preview.getByText('Чем сейчас пользуетесь').waitFor();
    expect((await preview.locator('script, img').count()) === 0, 'the preview kept a script or an image');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.getByRole('status').waitFor();
    await page.waitForURL(/\/scenarios\/edit\/[A-Za-z0-9_-]+$/);
    scenarioId = new URL(page.url()).pathname.split('/').pop();
    expect(!(await page.evaluate(() => window.ran)), 'something typed into the script ran');
    const s = await apiGet(`/api/scenarios/${scenarioId}`);
    const results = await apiGet('/api/call-results');
    const names = s.results.map((o) => results.find((r) => r.id === o.result)?.name);
    expect(
      names.join('|') === 'Согласен на встречу|Перезвонить позже' &&
        s.results[0].comment === 'Назначьте дату' &&
        s.result_required &&
        s.questionnaire &&
        s.email_template &&
        s.script.includes('href="#возражения"') &&
        !s.script.includes('<script'),
      `saved: ${JSON.stringify(s)}`,
    );
    await shot(page, 'scenario-editor.png');
  });

  await step('a result the scenario offers cannot be deleted: the API says why', async () => {
    await page.getByRole('link', { name: 'Результаты звонков' }).click();
    await page.locator('table.admin-table').getByRole('button', { name: 'Перезвонить позже' }).click();
    const form = page.locator('form[data-form=call-result]');
    await form.getByText('Предлагается в: Весенняя акция').waitFor();
    await form.getByRole('button', { name: 'Удалить' }).click();
    await form.getByRole('alert').waitFor();
    await page.locator('table.admin-table').getByRole('button', { name: 'Перезвонить позже' }).waitFor();
  });

  await step('a work list by the scenario; bad calling hours are refused at their field', async () => {
    await page.getByRole('link', { name: 'Списки обзвона' }).click();
    await page.getByRole('button', { name: 'Новый список' }).click();
    const form = page.locator('form[data-form=work-list]');
    await form.locator('input[name=name]').fill('Весна: производство');
    await form.locator('select[name=scenario]').selectOption({ label: 'Весенняя акция' });
    await form.getByRole('button', { name: 'производство', exact: true }).click();
    expect((await form.locator('input[name="filter.tags"]').inputValue()) === 'производство', 'the tag was not added');
    await form.locator('input[name=calling_hours]').fill('9-21');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.locator('.field-error[data-field=calling_hours]').waitFor();
    // Any hour, so the walk does not depend on when it runs.
    await form.locator('input[name=calling_hours]').fill('00:00-24:00');
    await form.locator('input[name=retry_after_min]').fill('60');
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.getByRole('status').waitFor();
    const row = page.locator('table.admin-table tbody tr', { hasText: 'Весна: производство' });
    await row.waitFor();
    expect((await row.textContent()).includes('Весенняя акция'), `row: ${await row.textContent()}`);
    const [list] = await apiGet('/api/work-lists');
    expect(
      list.scenario === scenarioId && list.filter.tags.join() === 'производство' && list.retry_after_min === 60,
      `saved: ${JSON.stringify(list)}`,
    );
    await shot(page, 'work-lists.png');
  });

  await step('the calling screen offers the new list with the script and the results in order', async () => {
    await page.getByRole('link', { name: 'Обзвон', exact: true }).click();
    await page.getByRole('button', { name: 'Весна: производство' }).click();
    await page.locator('article.client h2').waitFor();
    const script = page.locator('article.script');
    await script.getByText('Вам интересно наше весеннее предложение').waitFor();
    // The link to the section scrolls the script to it; the address stays as it was.
    const inSight = () => {
      const box = document.querySelector('article.script').getBoundingClientRect();
      const h = document.getElementById('возражения').getBoundingClientRect();
      return h.top >= box.top && h.bottom <= box.bottom;
    };
    expect(!(await page.evaluate(inSight)), 'the section is in sight before the link is followed');
    await script.locator('a[href="#возражения"]').click();
    await page.waitForFunction(inSight);
    expect(new URL(page.url()).pathname === '/calling' && !new URL(page.url()).hash, `the address became ${page.url()}`);
    result.offered = await page.locator('form.result label.choice').evaluateAll((ls) =>
      ls.map((l) => l.childNodes[1]?.textContent?.trim()),
    );
    expect(
      JSON.stringify(result.offered) === JSON.stringify(['Согласен на встречу', 'Перезвонить позже']),
      `offered: ${JSON.stringify(result.offered)}`,
    );
    await page.getByText('Назначьте дату').waitFor();
    await shot(page, 'calling.png');
  });

  await step('a work list is edited and a scenario nobody uses is deleted', async () => {
    await page.getByRole('link', { name: 'Сценарии', exact: true }).click();
    await page.getByRole('link', { name: 'Списки обзвона' }).click();
    await page.locator('table.admin-table').getByRole('button', { name: 'Весна: производство' }).click();
    const form = page.locator('form[data-form=work-list]');
    await form.locator('input[name=retry_after_min]').fill('120');
    await form.getByLabel('Только клиенты, которым ещё не звонили').check();
    await form.getByRole('button', { name: 'Сохранить' }).click();
    await form.getByRole('status').waitFor();
    const [list] = await apiGet('/api/work-lists');
    expect(list.retry_after_min === 120 && list.filter.not_called && list.filter.tags.join() === 'производство', `saved: ${JSON.stringify(list)}`);

    await page.getByRole('link', { name: 'Список сценариев' }).click();
    await page.getByRole('button', { name: 'Новый сценарий' }).click();
    const editor = page.locator('form[data-form=scenario]');
    await editor.locator('input[name=name]').fill('Черновик');
    // A result required but none offered: refused, shown at the results.
    await editor.getByLabel('Без результата к следующей карточке не перейти').check();
    await editor.getByRole('button', { name: 'Сохранить' }).click();
    await editor.locator('.field-error[data-field=results]').waitFor();
    await editor.getByLabel('Без результата к следующей карточке не перейти').uncheck();
    await editor.getByRole('button', { name: 'Сохранить' }).click();
    await page.waitForURL(/\/scenarios\/edit\/[A-Za-z0-9_-]+$/);
    await editor.getByRole('button', { name: 'Удалить' }).click();
    await page.waitForURL(/\/scenarios$/);
    await page.getByRole('link', { name: 'Весенняя акция' }).waitFor();
    expect((await page.getByRole('link', { name: 'Черновик' }).count()) === 0, 'the deleted scenario is still listed');
    expect((await apiGet('/api/scenarios')).length === 1, 'the scenario was not deleted');
  });

  await step('the scenario list in English', async () => {
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'Scenarios', exact: true }).click();
    await page.getByRole('link', { name: 'Весенняя акция' }).waitFor();
    await page.getByRole('link', { name: 'Scenario list' }).waitFor();
    await shot(page, 'scenarios-en.png');
  });
});
