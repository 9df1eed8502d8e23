/**
 * `map` over a pool, the one copy both pools use (src/pool.ts's processes, src/nats_pool.ts's
 * NATS work queue): items taken from an iterable only as results are taken (at most
 * `concurrency` ahead), results yielded in the items' order or as they finish, the first failure
 * thrown where it comes, and the pool told when the map ends early.
 *
 * @module
 */

import { describe, validateBoolean, validateInteger, validateOptionKeys } from "./_validate.ts";
import { validateWaitOptions, type WaitOptions } from "./_wait.ts";

/** Options for a pool's `run`. */
export interface RunOptions extends WaitOptions {
  /** Runs again after its worker died (default: the pool's `retries`). */
  retries?: number;
}

/** Options for a pool's `map`. */
export interface MapOptions extends RunOptions {
  /** Results in the order of the items (default true), or as they finish. */
  ordered?: boolean;
  /** Items taken from the iterable and not yet yielded, at most (default: the pool's). */
  concurrency?: number;
}

/** A map's arguments, checked. */
export interface CheckedMap {
  items: Iterable<unknown> | AsyncIterable<unknown>;
  ordered: boolean;
  concurrency: number;
  /** The options each task gets. */
  run: RunOptions;
}

/** Checks a map's arguments (TypeError/RangeError), before anything is taken or sent. */
export function validateMap(
  name: unknown,
  items: unknown,
  options: unknown,
  defaultConcurrency: number,
): CheckedMap {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`a task name must be a non-empty string, got ${describe(name)}`);
  }
  const iterable = items as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  if (
    items === null || typeof items !== "object" && typeof items !== "function" ||
    (typeof iterable[Symbol.iterator] !== "function" &&
      typeof iterable[Symbol.asyncIterator] !== "function")
  ) {
    throw new TypeError(`items must be an iterable, got ${describe(items)}`);
  }
  const o = validateOptionKeys<MapOptions>(options, [
    "signal",
    "timeout",
    "retries",
    "ordered",
    "concurrency",
  ], "map");
  const ordered = validateBoolean(o.ordered ?? true, "ordered");
  const concurrency = validateInteger(
    o.concurrency ?? defaultConcurrency,
    "concurrency",
    1,
    1 << 20,
  );
  const run: RunOptions = {};
  if (o.signal !== undefined) run.signal = o.signal;
  if (o.timeout !== undefined) run.timeout = o.timeout;
  if (o.retries !== undefined) run.retries = validateInteger(o.retries, "retries", 0, 1000);
  validateWaitOptions(run);
  return { items: items as CheckedMap["items"], ordered, concurrency, run };
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The map: `submit` runs one item (its promise never throws synchronously), `ended` is called
 * once when the map finishes, early or not.
 */
export async function* mapTasks<T>(
  m: CheckedMap,
  submit: (item: unknown) => Promise<unknown>,
  ended: () => void,
): AsyncGenerator<T, void, undefined> {
  const { items, ordered, concurrency } = m;
  const source = Symbol.asyncIterator in items
    ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    : (items as Iterable<unknown>)[Symbol.iterator]();
  const results = new Map<number, Outcome>();
  let wake: (() => void) | undefined;
  let next = 0; // index of the next item to take
  let yielded = 0; // index of the next result to yield (ordered)
  let pending = 0; // taken and not yet yielded
  let exhausted = false;
  const finished: number[] = []; // unordered: indices as they finish
  try {
    for (;;) {
      while (!exhausted && pending < concurrency) {
        const r = await source.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        const index = next++;
        pending++;
        submit(r.value).then(
          (value) => ({ ok: true, value }) as Outcome,
          (error) => ({ ok: false, error }) as Outcome,
        ).then((outcome) => {
          results.set(index, outcome);
          finished.push(index);
          wake?.();
        });
      }
      if (pending === 0 && exhausted) return;
      const key = ordered ? yielded : finished[0];
      const outcome = key === undefined ? undefined : results.get(key);
      if (outcome === undefined || key === undefined) {
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
        continue;
      }
      results.delete(key);
      if (ordered) {
        yielded++;
        finished.splice(finished.indexOf(key), 1);
      } else finished.shift();
      pending--;
      if (!outcome.ok) throw outcome.error;
      yield outcome.value as T;
    }
  } finally {
    ended();
    if (!exhausted) await (source as Iterator<unknown>).return?.();
  }
}
