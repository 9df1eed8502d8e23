// ZeroMQ for the suite: the package users pick for messaging, from npm (pinned).
/** The npm package and version the suite measures, in Node and (probing) in Deno. */
export const ZEROMQ_PACKAGE = "zeromq@6.5.0";
/**
 * Its Deno specifier, built at run time so that `deno check` and CI never fetch it: only the
 * suite's probe imports it.
 */
export const ZEROMQ: string = `npm:${ZEROMQ_PACKAGE}`;
