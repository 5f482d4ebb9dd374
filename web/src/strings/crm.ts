// Contacts beyond the list and card: filters, bulk actions, export, duplicates, profile.

export const en = {};

export const ru: Record<keyof typeof en, string> = {};
