// Administration: team, roles, telephony, scenarios, results, questionnaires, templates, mail accounts.

export const en = {};

export const ru: Record<keyof typeof en, string> = {};
