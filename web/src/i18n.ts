// Every string the app shows, in Russian and English. The browser's language
// decides at first; the choice is kept.

import { signal } from "./signal";

const en = {
  "app.name": "Callisto",
  "nav.contacts": "Contacts",
  "nav.calling": "Calling",
  "nav.team": "Team",
  "nav.scenarios": "Scenarios",
  "nav.reports": "Reports",
  "nav.logout": "Log out",
  "lang.switch": "Русский",
  "login.title": "Log in",
  "login.email": "E-mail",
  "login.password": "Password",
  "login.submit": "Log in",
  "login.to_signup": "New company? Sign up",
  "signup.title": "Sign up your company",
  "signup.company": "Company name",
  "signup.submit": "Sign up",
  "signup.sent": "We sent a confirmation link to {email}. Follow it, then log in.",
  "signup.to_login": "Already signed up? Log in",
  "confirm.title": "Confirming your e-mail",
  "confirm.done": "Your e-mail is confirmed. You can log in now.",
  "confirm.no_token": "This link has no confirmation token.",
  "contacts.title": "Contacts",
  "contacts.search": "Search by name, phone or e-mail",
  "contacts.name": "Name",
  "contacts.phones": "Phones",
  "contacts.email": "E-mail",
  "contacts.city": "City",
  "contacts.tags": "Tags",
  "contacts.empty": "No contacts match.",
  "contacts.more": "Show more",
  "contacts.count": "{n} shown",
  "calling.title": "Calling",
  "calling.no_lists": "No work lists for you yet. An administrator makes them from a scenario and a filter.",
  "calling.other_list": "Another list",
  "calling.none_now": "No card can be offered now.",
  "calling.keep_looking": "No card found yet in this part of the base; try again to look further.",
  "calling.skipped": "Passed over: {closed} closed, {recent} called recently, {hours} outside their hours, {claimed} taken by colleagues.",
  "calling.try_again": "Try again",
  "calling.result": "Result",
  "calling.call_back_at": "Call back at",
  "calling.comment": "Comment",
  "calling.save_next": "Save and next",
  "calling.save_stay": "Save and stay",
  "calling.skip": "Skip",
  "calling.saved": "Saved.",
  "phone.line.off": "Phone: off",
  "phone.line.connecting": "Phone: connecting…",
  "phone.line.ready": "Phone: ready",
  "phone.failed": "Phone: not working ({reason})",
  "phone.call": "Call {number}",
  "phone.state.calling": "Calling…",
  "phone.state.ringing": "Ringing…",
  "phone.state.talking": "On the call",
  "phone.mute": "Mute",
  "phone.unmute": "Unmute",
  "phone.hang_up": "Hang up",
  "phone.ended": "Call ended ({cause})",
  "state.label": "My state",
  "state.available": "Available",
  "state.not_ready": "Not ready",
  "state.wrap_up": "Wrap-up",
  "state.dnd": "Do not disturb",
  "state.offline": "Offline",
  "state.reason": "Why not ready?",
  "pending.title": "Not built yet",
  "pending.body": "This part of the web app is not built yet. Its API is described at /api/openapi.json.",
  "error.offline": "The server cannot be reached. Check your connection; the app retries on the next action.",
  "error.generic": "Something went wrong: {message}",
  "loading": "Loading…",
};

export type Key = keyof typeof en;

const ru: Record<Key, string> = {
  "app.name": "Callisto",
  "nav.contacts": "Контакты",
  "nav.calling": "Обзвон",
  "nav.team": "Сотрудники",
  "nav.scenarios": "Сценарии",
  "nav.reports": "Отчёты",
  "nav.logout": "Выйти",
  "lang.switch": "English",
  "login.title": "Вход",
  "login.email": "E-mail",
  "login.password": "Пароль",
  "login.submit": "Войти",
  "login.to_signup": "Новая компания? Зарегистрируйтесь",
  "signup.title": "Регистрация компании",
  "signup.company": "Название компании",
  "signup.submit": "Зарегистрироваться",
  "signup.sent": "Мы отправили ссылку для подтверждения на {email}. Перейдите по ней и войдите.",
  "signup.to_login": "Уже зарегистрированы? Войти",
  "confirm.title": "Подтверждение e-mail",
  "confirm.done": "E-mail подтверждён. Теперь можно войти.",
  "confirm.no_token": "В ссылке нет кода подтверждения.",
  "contacts.title": "Контакты",
  "contacts.search": "Поиск по имени, телефону или e-mail",
  "contacts.name": "Имя",
  "contacts.phones": "Телефоны",
  "contacts.email": "E-mail",
  "contacts.city": "Город",
  "contacts.tags": "Теги",
  "contacts.empty": "Контактов не найдено.",
  "contacts.more": "Показать ещё",
  "contacts.count": "Показано: {n}",
  "calling.title": "Обзвон",
  "calling.no_lists": "Для вас пока нет списков обзвона. Их создаёт администратор из сценария и фильтра.",
  "calling.other_list": "Другой список",
  "calling.none_now": "Сейчас некому звонить.",
  "calling.keep_looking": "В этой части базы карточек пока нет; попробуйте ещё раз, чтобы искать дальше.",
  "calling.skipped": "Пропущено: закрыто {closed}, недавно звонили {recent}, не их время {hours}, заняты коллегами {claimed}.",
  "calling.try_again": "Попробовать ещё",
  "calling.result": "Результат",
  "calling.call_back_at": "Перезвонить",
  "calling.comment": "Комментарий",
  "calling.save_next": "Сохранить и дальше",
  "calling.save_stay": "Сохранить и остаться",
  "calling.skip": "Пропустить",
  "calling.saved": "Сохранено.",
  "phone.line.off": "Телефон: выключен",
  "phone.line.connecting": "Телефон: подключается…",
  "phone.line.ready": "Телефон: готов",
  "phone.failed": "Телефон: не работает ({reason})",
  "phone.call": "Позвонить {number}",
  "phone.state.calling": "Вызов…",
  "phone.state.ringing": "Идёт вызов…",
  "phone.state.talking": "Разговор",
  "phone.mute": "Выключить микрофон",
  "phone.unmute": "Включить микрофон",
  "phone.hang_up": "Положить трубку",
  "phone.ended": "Звонок завершён ({cause})",
  "state.label": "Мой статус",
  "state.available": "На месте",
  "state.not_ready": "Не готов",
  "state.wrap_up": "Обработка звонка",
  "state.dnd": "Не беспокоить",
  "state.offline": "Не в сети",
  "state.reason": "Почему не готов?",
  "pending.title": "Ещё не готово",
  "pending.body": "Этот раздел веб-приложения ещё не сделан. Его API описан в /api/openapi.json.",
  "error.offline": "Сервер недоступен. Проверьте связь; приложение повторит попытку при следующем действии.",
  "error.generic": "Что-то пошло не так: {message}",
  "loading": "Загрузка…",
};

export type Lang = "ru" | "en";
const LANG_KEY = "callisto.lang";

function initial(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "ru" || saved === "en") return saved;
  return navigator.language.toLowerCase().startsWith("ru") ? "ru" : "en";
}

export const lang = signal<Lang>(initial());

export function setLang(l: Lang) {
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
  lang.set(l);
}

/** The string for `key` in the current language, `{name}` filled from `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const text = (lang.get() === "ru" ? ru : en)[key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ""));
}
