/**
 * What both pools (src/pool.ts's processes, src/nats_pool.ts's NATS work queue) and their
 * workers share, in one place: how a task module is named, the `data:` module a worker starts
 * on, the refusal of handles where they cannot go, and dying with the parent.
 *
 * @module
 */

import { PR } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { SharedMemory, SharedRegion } from "./shm.ts";
import { UnixSocket } from "./socket.ts";
import { PipeReader, PipeWriter } from "./pipe.ts";
import { signalNumber } from "./signal.ts";
import type { CloneHooks } from "./_clone_codec.ts";
import { describe } from "./_validate.ts";

/** A task module's URL: a URL as it is, a string with a scheme as a URL, a path from the cwd. */
export function taskModuleUrl(module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== "string" || module.length === 0) {
    throw new TypeError(
      `the task module must be a URL or a non-empty string, got ${describe(module)}`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return new URL(module).href;
  return new URL(module, `file://${Deno.cwd()}/`).href;
}

/**
 * The `data:` module a worker starts on: it imports `serve` from `from` and calls it with
 * `before`, then `() => import("<module>")`, then `after`. The import has a literal specifier,
 * so it is part of the module graph: the worker needs no read permission for the task module,
 * and a module that does not load is an error the worker catches.
 */
export function workerEntry(
  from: string,
  serve: string,
  module: string,
  before: unknown[] = [],
  after: unknown[] = [],
): string {
  const args = [
    ...before.map((a) => JSON.stringify(a)),
    `() => import(${JSON.stringify(module)})`,
    ...after.map((a) => JSON.stringify(a)),
  ];
  return `data:application/typescript,${
    encodeURIComponent(
      `import { ${serve} } from ${JSON.stringify(from)};\nawait ${serve}(${args.join(", ")});\n`,
    )
  }`;
}

/** Clone hooks that refuse every handle, saying `why` (results; tasks across machines). */
export function refuseHandles(why: string): CloneHooks {
  return {
    encodeHandle(value: object): undefined {
      if (
        value instanceof SharedMemory || value instanceof SharedRegion ||
        value instanceof UnixSocket || value instanceof PipeReader || value instanceof PipeWriter
      ) {
        throw new DOMException(`${value.constructor.name}: ${why}`, "DataCloneError");
      }
      return undefined;
    },
  };
}

/**
 * Asks the kernel for SIGKILL when the parent dies (`PR_SET_PDEATHSIG`), then checks that
 * `parent` is still the parent: it may have gone between the spawn and the call, and then nobody
 * would send the signal. Returns false in that case.
 */
export function dieWithParent(parent: number): boolean {
  libc().prctl(PR.SET_PDEATHSIG, BigInt(signalNumber("SIGKILL")), 0n, 0n, 0n);
  return libc().getppid() === parent;
}
