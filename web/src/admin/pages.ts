// The administration screens, one chunk loaded on first visit (see lazy.tsx).
export { MailAccounts } from "./Mail";
export { Team } from "./Team";
export { Telephony } from "./Telephony";
