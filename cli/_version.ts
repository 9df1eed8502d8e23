/**
 * The version, from deno.json: the one place it is written.
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };

/** The package's version, as deno.json says. */
export const VERSION: string = config.version;
