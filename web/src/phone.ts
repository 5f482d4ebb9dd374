// The softphone's state, which screens show; the softphone itself (JsSIP) is
// loaded only when a screen first needs it, so the first page stays small.

import { signal } from "./signal";

export type Line =
  | { state: "off" }
  | { state: "connecting" }
  | { state: "ready" }
  /** Cannot work: `reason` says why (no node for browsers, refused registration). */
  | { state: "failed"; reason: string };

export type Call =
  | { state: "idle" }
  | { state: "calling" | "ringing" | "talking"; number: string; muted: boolean; record?: string }
  /** `record`: the id of the call's record, for the result saved after it. */
  | { state: "ended"; number: string; cause: string; record?: string };

export const line = signal<Line>({ state: "off" });
export const call = signal<Call>({ state: "idle" });


/** The softphone, loaded once on first use. */
export const softphone = () => import("./softphone");
