// The softphone's state, which screens show; the softphone itself (JsSIP) is
// loaded only when a screen first needs it, so the first page stays small.

import { signal } from "./signal";

export type Line =
  | { state: "off" }
  /** `lost`: the line was up and its connection dropped (JsSIP reconnects). */
  | { state: "connecting"; lost?: boolean }
  | { state: "ready" }
  /** Cannot work: `reason` says why (no node for browsers, refused registration). */
  | { state: "failed"; reason: string };

/** What every call knows: the other party's number, and `record`, the id of
 * the call's record (for the result saved after it), once the node names it. */
interface CallBase {
  number: string;
  record?: string;
  /** The customer called in; `line` is the company line's name and `called`
   * its number, when the node names them. */
  incoming?: { line?: string; called?: string };
}

export type Call =
  | { state: "idle" }
  /** A customer's call rings this agent: answer or decline. */
  | ({ state: "offered" } & CallBase)
  | ({ state: "calling" | "ringing" | "talking"; muted: boolean; held: boolean } & CallBase)
  | ({ state: "ended"; cause: string } & CallBase);

export const line = signal<Line>({ state: "off" });
export const call = signal<Call>({ state: "idle" });

/** Is a call up or on its way (not offered, not over)? */
export const isOnCall = (c: Call) =>
  c.state === "calling" || c.state === "ringing" || c.state === "talking";

/** The softphone, loaded once on first use. */
export const softphone = () => import("./softphone");
