/**
 * How a route verifies its callers. Only the one-time code exists today; the static PIN mode and
 * others plug in as new modes, each with its own flow (src/main.ts picks the flow by mode).
 */
export const ROUTE_MODES = ['otp'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

/** A route: which destinations a caller reaches, chosen by the previous hop (sub-IVR context or Stasis arg route=). */
export interface Route {
  id: number;
  title: string;
  previousHop: string;
  /** "exten", "exten@context" or "exten@context:priority" */
  successDestination: string;
  failedDestination: string;
  enabled: boolean;
  mode: RouteMode;
}
