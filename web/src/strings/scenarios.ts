// Scenarios and what they use: call results, questionnaires, e-mail templates.

export const en = {};

export const ru: Record<keyof typeof en, string> = {};
