/**
 * Shared test helpers, by what they help with: running other programs (tests/_run.ts) and tests
 * on kernel objects with their leak checks (tests/_ipc_test.ts). Tests import them from here.
 *
 * @module
 */

export * from "./_run.ts";
export * from "./_ipc_test.ts";
export { ROOT } from "../tools/_host.ts";
